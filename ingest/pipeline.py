"""Files → parsed proposals → chunks → catalogue, Chroma and BM25, idempotently.

Order of writes (so a kill -9 at any moment converges on the next run):
1. manifest marked ``dirty``;
2. each changed proposal replaces exactly its chunks in the catalogue (one transaction);
3. Chroma is synced to the catalogue by id and content hash (upsert missing/changed, delete extra);
4. BM25 is rebuilt from the catalogue into a new folder;
5. manifest written ``clean`` with the counts every store must then show.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.chunker import chunk_proposal
from ingest.documents import DOCUMENT_TYPES, TEXT_TYPES
from ingest.jsonl_import import read_jsonl
from rag.core.proposal import Proposal
from ingest.parser import parse_file
from rag.stores.bm25_index import BM25Index
from rag.core.errors import ErrorCode, IngestError, StoreError
from rag.stores.index import Index
from rag.core.textnorm import answer_sentences
from rag.core.words import tokens
from rag.core.types import Chunk

PARSER_VERSION = "1"
Progress = Callable[[str, int, int], None]
ACCEPTED = TEXT_TYPES + DOCUMENT_TYPES  # what a folder's files are collected by


@dataclass
class IngestReport:
    files: int = 0
    proposals: int = 0
    proposals_changed: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    failures: list[IngestError] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "failures"}
        d["failures"] = [{"path": e.path, "line": e.line, "reason": e.reason} for e in self.failures]
        return d


def chunk_hash(c: Chunk) -> str:
    return hashlib.sha256(json.dumps(asdict(c), ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[IngestError]]:
    files: list[Path] = []
    errors: list[IngestError] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in ACCEPTED)
        elif p.is_file():
            files.append(p)
        else:
            errors.append(IngestError(str(p), "no such file or directory", code=ErrorCode.NO_SUCH_FILE))
    return list(dict.fromkeys(f.resolve() for f in files)), errors


def _source_exists(source: str) -> bool:
    return Path(source.split("#L")[0]).exists()


class Ingester:
    def __init__(self, index: Index, chunk_tokens: int | None = None, sentence_vectors: bool = True):
        self.index = index
        self.budget = chunk_tokens or index.settings.chunk_tokens
        # the extractive answerer ranks sentences by meaning too; their vectors go to the
        # embedding cache at ingest so that a question never waits for them (retrieval-only
        # benchmarks turn this off)
        self.sentence_vectors = sentence_vectors

    def parse(self, files: list[Path], report: IngestReport,
              progress: Progress | None = None) -> list[tuple[Proposal, str]]:
        """Parsed proposals with their content hashes; failures go into the report."""
        out: list[tuple[Proposal, str]] = []
        seen: dict[str, str] = {}
        for i, f in enumerate(files, 1):
            if progress:
                progress("parse", i, len(files))
            try:
                if f.suffix.lower() == ".jsonl":
                    props, errs = read_jsonl(f)
                    report.failures += errs
                else:
                    props = [parse_file(f)]
            except IngestError as e:
                report.failures.append(e)
                continue
            for p in props:
                if p.id in seen:
                    report.failures.append(IngestError(str(f), f"proposal {p.id} is also in {seen[p.id]}; "
                                                               "this copy was skipped",
                                                       code=ErrorCode.DUPLICATE_ID, id=p.id, other=seen[p.id]))
                    continue
                seen[p.id] = p.source
                sha = hashlib.sha256(f"{PARSER_VERSION}:{self.budget}:{p.text}".encode()).hexdigest()[:32]
                out.append((p, sha))
        return out

    def run(self, paths: Iterable[str | Path], *, prune: bool = False,
            progress: Progress | None = None) -> IngestReport:
        with self.index.ingest_lock():
            return self._run(paths, prune=prune, progress=progress)

    def _run(self, paths: Iterable[str | Path], *, prune: bool = False,
             progress: Progress | None = None) -> IngestReport:
        t0 = time.perf_counter()
        report = IngestReport()
        files, missing = collect_files(paths)
        report.failures += missing
        report.files = len(files)
        parsed = self.parse(files, report, progress)
        report.proposals = len(parsed)
        t_parse = time.perf_counter()

        cat = self.index.catalogue
        known = cat.file_shas()
        before = cat.chunk_hashes()
        changed = [(p, sha) for p, sha in parsed if known.get(p.id) != (p.source, sha)]
        stale = [pid for pid, (src, _) in known.items() if prune and not _source_exists(src)
                 and pid not in {p.id for p, _ in parsed}]
        manifest = self.index.manifest()
        dirty = bool(changed or stale) or manifest.get("state") != "clean"
        if not dirty:
            report.unchanged = len(before)
            report.timings_s = {"parse": t_parse - t0, "total": time.perf_counter() - t0}
            return report

        self.index.write_manifest(state="dirty")
        for i, (p, sha) in enumerate(changed, 1):
            if progress:
                progress("chunk", i, len(changed))
            chunks = chunk_proposal(p, self.budget)
            cat.replace_proposal(p, sha, chunks, [chunk_hash(c) for c in chunks],
                                 [tokens(c.indexed_text) for c in chunks])
        for pid in stale:
            cat.delete_proposal(pid)
        report.proposals_changed = len(changed) + len(stale)
        t_cat = time.perf_counter()

        after = cat.chunk_hashes()
        report.added = sum(1 for k in after if k not in before)
        report.updated = sum(1 for k, h in after.items() if k in before and before[k] != h)
        report.unchanged = sum(1 for k, h in after.items() if before.get(k) == h)
        report.removed = sum(1 for k in before if k not in after)

        embed_s = self.sync_vectors(after, progress)
        t_vec = time.perf_counter()
        self.rebuild_bm25()
        t_bm25 = time.perf_counter()
        counts = cat.counts()
        self.index.write_manifest(state="clean", proposals=counts["proposals"], chunks=counts["chunks"],
                                  embed_model=self.index.embedder.model_id)
        report.embedded = self.index.embedder.computed
        report.timings_s = {"parse": t_parse - t0, "chunk+catalogue": t_cat - t_parse,
                            "embed": embed_s, "chroma": (t_vec - t_cat) - embed_s,
                            "bm25": t_bm25 - t_vec, "total": time.perf_counter() - t0}
        return report

    def sync_vectors(self, wanted: dict[str, str], progress: Progress | None = None,
                     batch: int = 64) -> float:
        """Make Chroma hold exactly the catalogue's chunks; returns seconds spent embedding.
        (A batch with its sentence vectors takes tens of seconds on 2 busy cores; progress is
        reported per batch, so batches stay small.)"""
        have = self.index.store.hashes()
        extra = [k for k in have if k not in wanted]
        todo = [k for k, h in wanted.items() if have.get(k) != h]
        if extra:
            self.index.store.delete(extra)
        embed_s = 0.0
        emb = self.index.embedder
        for i in range(0, len(todo), batch):
            ids = todo[i:i + batch]
            chunks = self.index.catalogue.chunks(ids)
            t = time.perf_counter()
            vecs = emb.embed_passages([c.indexed_text for c in chunks])
            if self.sentence_vectors:
                emb.embed_passages([s for c in chunks if c.section != "meta" for s in answer_sentences(c.text)],
                                   count=False)
            embed_s += time.perf_counter() - t
            self.index.store.upsert(chunks, vecs, [wanted[c.id] for c in chunks])
            if progress:
                progress("embed", min(i + batch, len(todo)), len(todo))
        return embed_s

    def rebuild_bm25(self) -> None:
        gen = int(self.index.manifest().get("generation", 0)) + 1
        ids, toks = self.index.catalogue.chunk_tokens()
        name = f"bm25-{gen}"
        try:
            BM25Index.build(ids, toks).save(self.index.dir / name)
        except OSError as e:
            raise StoreError(f"cannot write the BM25 index: {e.strerror}",
                             hint="free disk space or fix permissions, then ingest again") from None
        with self.index._lock:  # a question loading the old generation finishes before it goes
            old = self.index.manifest().get("bm25")
            self.index.write_manifest(bm25=name, generation=gen)
            for d in self.index.dir.glob("bm25-*"):  # older generations, partial builds
                if d.name not in (name,) and d.name != old:
                    shutil.rmtree(d, ignore_errors=True)
            if old and old != name:
                shutil.rmtree(self.index.dir / old, ignore_errors=True)

    def rebuild(self, progress: Progress | None = None) -> IngestReport:
        """Re-sync Chroma and BM25 from the catalogue (after a crash or a damaged file)."""
        with self.index.ingest_lock():
            return self._rebuild(progress)

    def _rebuild(self, progress: Progress | None = None) -> IngestReport:
        t0 = time.perf_counter()
        self.index.write_manifest(state="dirty")
        wanted = self.index.catalogue.chunk_hashes()
        embed_s = self.sync_vectors(wanted, progress)
        self.rebuild_bm25()
        counts = self.index.catalogue.counts()
        self.index.write_manifest(state="clean", proposals=counts["proposals"], chunks=counts["chunks"],
                                  embed_model=self.index.embedder.model_id)
        return IngestReport(proposals=counts["proposals"], unchanged=counts["chunks"],
                            embedded=self.index.embedder.computed,
                            timings_s={"embed": embed_s, "total": time.perf_counter() - t0})
