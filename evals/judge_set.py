"""The grounding judge measured on labelled sentences (``evals/datasets/judge/``).

A record is ``{"id", "question", "sentence" (with [n] markers), "passages": {"1": "<whole
paragraph>", ...}, "label", "kind", "quote", "source"}``; ``label``, ``kind``, ``quote`` and
``source`` are optional, and ``passages`` may instead be ``chunk_ids`` (``{"1": id}`` or a
list, numbered from 1) of the current index. Each sentence of the record is judged with the
passages its markers cite, exactly as the answerers' verifier judges a sentence: a given
quote must be found in a cited passage (it only locates; none is needed), then the judge
decides. Agreement is reported per kind, for supported sentences with and without their
quotes, and by grouped cross-validation (folds by proposal) for the judge's thresholds.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from evals.dataset import DatasetError
from rag.answer.judge import JUDGE, Evidence, Judge
from rag.answer.verify import split_sentences
from rag.core.lexicon import MARKER
from rag.core.textnorm import contains
from rag.core.types import Chunk

SUPPORTED_KINDS = ("verbatim", "paraphrase", "condensed", "merged")
UNSUPPORTED_KINDS = ("figure", "wrong_paragraph", "year", "unit", "entity", "polarity", "scope")
JUDGE_SET = Path(__file__).parent / "datasets" / "judge" / "judge_dev.jsonl"
HOLDOUT = Path(__file__).parent / "datasets" / "judge" / "judge_holdout.jsonl"
ChunkLookup = Callable[[list[str]], list[Chunk]]


@dataclass
class JudgeRecord:
    id: str
    sentence: str
    passages: dict[str, str] = field(default_factory=dict)
    chunk_ids: dict[str, str] = field(default_factory=dict)
    label: str | None = None
    kind: str | None = None
    quote: str | None = None
    source: str = ""
    question: str = ""
    where: str = ""  # "file:line", for errors about this record

    @property
    def year(self) -> int | None:
        """The proposal's year (ids are year + number), for 今年/年底 in passages given as text."""
        m = re.match(r"((?:19|20)\d{2})\d{4}\b", self.source)
        return int(m.group(1)) if m else None


def read_judge_records(path: str | Path) -> tuple[list[JudgeRecord], list[DatasetError]]:
    """The records of ``path`` and the errors of the lines that are not records (each
    naming the file, line and field); the good lines still count."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as e:
        raise DatasetError(path, f"cannot read: {e.strerror}") from None
    records, errors = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(_record(path, n, line))
        except DatasetError as e:
            errors.append(e)
    return records, errors


def _record(path: Path, n: int, line: str) -> JudgeRecord:
    try:
        rec = json.loads(line)
    except ValueError as e:
        raise DatasetError(path, f"not valid JSON ({e.msg})", n) from None
    if not isinstance(rec, dict):
        raise DatasetError(path, "expected a JSON object", n)
    for name in ("id", "sentence"):
        if not isinstance(rec.get(name), (str, int)) or not str(rec.get(name)).strip():
            raise DatasetError(path, f"field {name!r} is missing or not a string", n)
    passages, chunk_ids = rec.get("passages"), rec.get("chunk_ids")
    if passages is None and chunk_ids is None:
        raise DatasetError(path, "needs field 'passages' (marker → paragraph) or 'chunk_ids'", n)
    if passages is not None and not (isinstance(passages, dict) and all(isinstance(v, str) for v in passages.values())):
        raise DatasetError(path, "field 'passages' should map markers to paragraph strings", n)
    if isinstance(chunk_ids, list):
        chunk_ids = {str(i): c for i, c in enumerate(chunk_ids, 1)}
    if chunk_ids is not None and not (isinstance(chunk_ids, dict) and all(isinstance(v, str) for v in chunk_ids.values())):
        raise DatasetError(path, "field 'chunk_ids' should be a list of chunk ids or map markers to them", n)
    label = rec.get("label")
    if label is not None and label not in ("supported", "unsupported"):
        raise DatasetError(path, "field 'label' should be \"supported\" or \"unsupported\"", n)
    quote = rec.get("quote")
    if quote is not None and not isinstance(quote, str):
        raise DatasetError(path, "field 'quote' should be a string", n)
    return JudgeRecord(str(rec["id"]), str(rec["sentence"]), {str(k): v for k, v in (passages or {}).items()},
                       {str(k): v for k, v in (chunk_ids or {}).items()}, label,
                       str(rec["kind"]) if rec.get("kind") is not None else None, quote or None,
                       str(rec.get("source") or ""), str(rec.get("question") or ""), f"{path}:{n}")


# ---- judging ------------------------------------------------------------------------------
def evidence_of(rec: JudgeRecord, lookup: ChunkLookup | None = None) -> dict[str, Evidence]:
    """Marker → evidence: a passage's text (with the proposal's year), or a chunk of the index."""
    out = {m: Evidence(t, year=rec.year) for m, t in rec.passages.items()}
    if rec.chunk_ids:
        if lookup is None:
            raise DatasetError(rec.where or rec.id, "field 'chunk_ids' needs an index (--data-dir)")
        chunks = {c.id: c for c in lookup(list(rec.chunk_ids.values()))}
        for m, cid in rec.chunk_ids.items():
            if cid not in chunks:
                raise DatasetError(rec.where or rec.id, f"field 'chunk_ids': chunk {cid} is not in the index")
            out[m] = Evidence.of_chunk(chunks[cid])
    return out


def judge_record(rec: JudgeRecord, evidence: dict[str, Evidence], judge: Judge = JUDGE,
                 use_quote: bool = True) -> dict:
    """``{"id", "supported", "sentences": [{"text", "supported", "reason"}]}`` for one record."""
    out = []
    if use_quote and rec.quote and not any(contains(e.text, rec.quote) for e in evidence.values()):
        return {"id": rec.id, "supported": False,
                "sentences": [{"text": MARKER.sub("", rec.sentence).strip(), "supported": False,
                               "reason": "the quote is in no cited paragraph"}]}
    for sent in split_sentences(rec.sentence) or [rec.sentence]:
        body = MARKER.sub("", sent).strip()
        if not body:
            continue
        markers = list(dict.fromkeys(MARKER.findall(sent))) or list(evidence)
        v = judge.judge(sent, [evidence[m] for m in markers if m in evidence])
        out.append({"text": body, "supported": v.supported, "reason": v.reason})
    return {"id": rec.id, "supported": bool(out) and all(s["supported"] for s in out), "sentences": out}


def run(records: Iterable[JudgeRecord], judge: Judge = JUDGE, lookup: ChunkLookup | None = None,
        use_quote: bool = True) -> list[dict]:
    return [judge_record(r, evidence_of(r, lookup), judge, use_quote) for r in records]


# ---- agreement ----------------------------------------------------------------------------
@dataclass
class Agreement:
    """Share of records where the judge agrees with the label, per kind and overall."""

    by_kind: dict[str, tuple[int, int]]  # kind -> (agreed, n)

    @classmethod
    def of(cls, records: list[JudgeRecord], verdicts: list[dict]) -> "Agreement":
        by: dict[str, list[int]] = {}
        for r, v in zip(records, verdicts):
            if r.label is None:
                continue
            a = by.setdefault(r.kind or r.label, [0, 0])
            a[0] += int(v["supported"] == (r.label == "supported"))
            a[1] += 1
        return cls({k: (a, n) for k, (a, n) in by.items()})

    def share(self, kinds: Iterable[str] | None = None) -> float | None:
        ks = list(self.by_kind) if kinds is None else [k for k in kinds if k in self.by_kind]
        n = sum(self.by_kind[k][1] for k in ks)
        return sum(self.by_kind[k][0] for k in ks) / n if n else None

    @property
    def kept(self) -> float | None:
        return self.share(SUPPORTED_KINDS)

    @property
    def caught(self) -> float | None:
        return self.share([k for k in self.by_kind if k not in SUPPORTED_KINDS])

    def to_json(self) -> dict:
        return {"overall": self.share(), "supported_kept": self.kept, "unsupported_caught": self.caught,
                "by_kind": {k: {"agreed": a, "n": n, "share": a / n} for k, (a, n) in sorted(self.by_kind.items())}}


def agreement(records: list[JudgeRecord], judge: Judge = JUDGE, lookup: ChunkLookup | None = None,
              use_quote: bool = True) -> Agreement:
    return Agreement.of(records, run(records, judge, lookup, use_quote))


@lru_cache(maxsize=1)
def shipped_agreement() -> dict | None:
    """The judge's agreement on the shipped labelled dev set (None when it is absent)."""
    if not JUDGE_SET.exists():
        return None
    records, _ = read_judge_records(JUDGE_SET)
    out = agreement(records).to_json()
    out["dataset"] = str(JUDGE_SET.relative_to(JUDGE_SET.parents[3]))
    out["n"] = len(records)
    return out


# ---- grouped cross-validation ---------------------------------------------------------------
def folds(records: list[JudgeRecord], k: int = 5) -> list[list[JudgeRecord]]:
    """``k`` folds with whole proposals (``source``) in each, balanced by record count."""
    groups: dict[str, list[JudgeRecord]] = {}
    for r in records:
        groups.setdefault(r.source or r.id, []).append(r)
    out: list[list[JudgeRecord]] = [[] for _ in range(k)]
    for _, rs in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        min(out, key=len).extend(rs)
    return out


GRID = {"min_clause_share": (0.2, 0.3, 0.4, 0.5, 0.6), "anchored_discount": (0.4, 0.6, 0.8, 1.0)}


def score(a: Agreement) -> float:
    """What the thresholds are chosen for: the worse of kept and caught (both goals count)."""
    return min(a.kept or 0.0, a.caught or 0.0)


def choose(records: list[JudgeRecord], grid: dict[str, tuple] = GRID) -> Judge:
    """The thresholds that score best on ``records``; among equals the strictest (a missed
    unsupported sentence costs more than a struck supported one)."""
    best, best_key = JUDGE, None
    for share in grid["min_clause_share"]:
        for disc in grid["anchored_discount"]:
            j = replace(JUDGE, min_clause_share=share, anchored_discount=disc)
            key = (round(score(agreement(records, j)), 9), share, disc)
            if best_key is None or key > best_key:
                best, best_key = j, key
    return best


def cross_validate(records: list[JudgeRecord], k: int = 5, grid: dict[str, tuple] = GRID) -> tuple[Agreement, list[Judge]]:
    """Agreement on each held-out fold with the thresholds chosen on the other folds."""
    parts = folds(records, k)
    by: dict[str, list[int]] = {}
    chosen = []
    for i, test in enumerate(parts):
        train = [r for j, p in enumerate(parts) if j != i for r in p]
        judge = choose(train, grid)
        chosen.append(judge)
        for kind, (a, n) in agreement(test, judge).by_kind.items():
            t = by.setdefault(kind, [0, 0])
            t[0] += a
            t[1] += n
    return Agreement({k: (a, n) for k, (a, n) in by.items()}), chosen


def table(columns: dict[str, Agreement]) -> str:
    """A markdown table: one row per kind, one column per agreement."""
    kinds = [k for k in SUPPORTED_KINDS + UNSUPPORTED_KINDS if any(k in a.by_kind for a in columns.values())]
    kinds += sorted({k for a in columns.values() for k in a.by_kind} - set(kinds))
    head = "| kind | n | " + " | ".join(columns) + " |"
    rows = [head, "|---" * (len(columns) + 2) + "|"]

    def cell(a: Agreement, k: str) -> str:
        return f"{a.by_kind[k][0] / a.by_kind[k][1]:.3f}" if k in a.by_kind else "—"

    first = next(iter(columns.values()))
    for k in kinds:
        n = first.by_kind.get(k, (0, 0))[1]
        rows.append(f"| {k} | {n} | " + " | ".join(cell(a, k) for a in columns.values()) + " |")
    for name, fn in (("supported kept", "kept"), ("unsupported caught", "caught"), ("overall", "share")):
        vals = [getattr(a, fn) if fn != "share" else a.share() for a in columns.values()]
        rows.append(f"| **{name}** | | " + " | ".join("—" if v is None else f"**{v:.3f}**" for v in vals) + " |")
    return "\n".join(rows)
