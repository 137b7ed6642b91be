"""Files → parsed proposals → chunks → catalogue, Chroma and BM25, idempotently.

An ingest changes nothing that questions read until every store can take the change:
1. the changed proposals are parsed and chunked in memory, and every vector they need is
   computed (into the embedding cache, committed a few texts at a time, so a dead embedding
   server or a kill -9 here leaves the index as it was and a restart resumes from the cache);
2. the manifest is marked ``dirty``; Chroma gets the new and changed chunks; the new BM25 is
   built into a fresh folder from the catalogue's unchanged chunks plus the new ones;
3. the catalogue takes all changes in one transaction; Chroma drops the chunks that are gone;
4. the manifest is written ``clean`` with the new BM25 folder, the next generation and the
   counts every store must then show.
A failure in 2 or 3 (disk full, Chroma down) rolls Chroma back to the catalogue, which still
holds the previous state, so the previous index keeps answering. A kill -9 in 2-4 leaves the
manifest dirty and the next run converges.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import TYPE_CHECKING, ContextManager

if TYPE_CHECKING:
    import numpy as np
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.chunker import chunk_proposal
from ingest.documents import DOCUMENT_TYPES, TEXT_TYPES
from ingest.jsonl_import import read_jsonl
from rag.core.proposal import Proposal
from ingest.parser import parse_file
from rag.stores.bm25_index import BM25Index
from rag.core.errors import ErrorCode, IngestError, RequestError, StoreError
from rag.stores.index import Index
from rag.core.hostile import addresses_assistant
from rag.core.textnorm import answer_sentences
from rag.core.words import tokens
from rag.core.types import Chunk

PARSER_VERSION = "1"
EMBED_BATCH = 32  # texts per embedding call: each batch is in the cache before the next starts
MIN_FREE_BYTES = 1 << 20  # what an ingest leaves free on the data directory's disk at least
Progress = Callable[[str, int, int], None]
ACCEPTED = TEXT_TYPES + DOCUMENT_TYPES  # what a folder contributes; a file named directly must be one too


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
    replaced: int = 0  # proposals already in the index that a file brought a new version of
    per_file: dict[str, int] = field(default_factory=dict)  # file path → proposals read from it
    failures: list[IngestError] = field(default_factory=list)
    # chunks holding a sentence addressed to the assistant (rag.core.hostile): stored and
    # searchable as data, never quoted by the extractive answerer; listed for a person to check
    suspicious: list[dict] = field(default_factory=list)
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
    """The proposal files under ``paths``: a folder gives its .txt and .jsonl files (a broken
    symbolic link among them is an error, not a silent skip); a file named directly must
    have one of those suffixes too, so a folder and its files ingest the same."""
    files: list[Path] = []
    errors: list[IngestError] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.suffix.lower() not in ACCEPTED:
                    continue
                if f.is_file():
                    files.append(f)
                elif f.is_symlink() and not f.exists():
                    errors.append(IngestError(str(f), f"broken symbolic link (its target {os.readlink(f)} "
                                                      "does not exist)", code=ErrorCode.BROKEN_LINK))
        elif p.is_file():
            if p.suffix.lower() in ACCEPTED:
                files.append(p)
            else:
                errors.append(IngestError(str(p), f"unsupported file type {p.suffix or '(none)'!r}: a proposal "
                                                  f"file is one of {', '.join(ACCEPTED)}", code=ErrorCode.UNSUPPORTED_TYPE))
        elif p.is_symlink():
            errors.append(IngestError(str(p), f"broken symbolic link (its target {os.readlink(p)} does not exist)",
                                      code=ErrorCode.BROKEN_LINK))
        else:
            errors.append(IngestError(str(p), "no such file or directory", code=ErrorCode.NO_SUCH_FILE))
    return list(dict.fromkeys(f.resolve() for f in files)), errors


def source_file(source: str) -> str:
    """The file part of a proposal's source (a JSONL record's source ends in ``#L<line>``)."""
    return source.split("#L")[0]


def _source_exists(source: str) -> bool:
    return Path(source_file(source)).exists()


@dataclass
class Staged:
    """One changed proposal, chunked, not yet in any store."""

    proposal: Proposal
    sha: str
    chunks: list[Chunk]
    hashes: list[str]
    tokens: list[list[str]]


class Ingester:
    def __init__(self, index: Index, chunk_tokens: int | None = None, sentence_vectors: bool = True):
        self.index = index
        self.budget = chunk_tokens or index.settings.chunk_tokens
        # the extractive answerer ranks sentences by meaning too; their vectors go to the
        # embedding cache at ingest so that a question never waits for them (retrieval-only
        # benchmarks turn this off)
        self.sentence_vectors = sentence_vectors

    def parse(self, files: list[Path], report: IngestReport, progress: Progress | None = None, *,
              known: dict[str, tuple[str, str]] | None = None,
              replace: bool = False) -> list[tuple[Proposal, str]]:
        """Parsed proposals with their content hashes; failures go into the report.

        A proposal whose id the index already holds from another file is skipped and reported
        (``known``: id → (source, sha) of the index), unless ``replace`` is given."""
        out: list[tuple[Proposal, str]] = []
        seen: dict[str, str] = {}
        known = known or {}
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
            report.per_file[str(f)] = 0
            for p in props:
                line = int(p.source.split("#L")[1]) if "#L" in p.source else None
                if p.id in seen:
                    report.failures.append(IngestError(str(f), f"proposal {p.id} is also in {seen[p.id]}; "
                                                               "this copy was skipped", line,
                                                       code=ErrorCode.DUPLICATE_ID, id=p.id, other=seen[p.id]))
                    continue
                old = known.get(p.id)
                if old and not replace and source_file(old[0]) != source_file(p.source):
                    report.failures.append(IngestError(
                        str(f), f"proposal {p.id} is already in the index from {source_file(old[0])}; "
                                "this copy was skipped", line,
                        hint="ingest with --replace to replace it, or ingest the file it came from again",
                        code=ErrorCode.ALREADY_INDEXED, id=p.id, other=source_file(old[0])))
                    continue
                seen[p.id] = p.source
                report.per_file[str(f)] += 1
                sha = hashlib.sha256(f"{PARSER_VERSION}:{self.budget}:{p.text}".encode()).hexdigest()[:32]
                out.append((p, sha))
        return out

    def run(self, paths: Iterable[str | Path], *, prune: bool = False, replace: bool = False,
            progress: Progress | None = None, writing: Callable[[], ContextManager] | None = None) -> IngestReport:
        """Ingest ``paths``. ``writing``: a lock the caller's readers honour (the app's), held
        only while the stores are written, so questions go on while vectors are computed."""
        with self.index.ingest_lock():
            return self._run(paths, prune=prune, replace=replace, progress=progress, writing=writing)

    def _run(self, paths: Iterable[str | Path], *, prune: bool = False, replace: bool = False,
             progress: Progress | None = None, writing: Callable[[], ContextManager] | None = None) -> IngestReport:
        t0 = time.perf_counter()
        computed0 = self.index.embedder.computed  # the embedder's count lasts across ingests
        report = IngestReport()
        cat = self.index.catalogue
        known = cat.file_shas()
        files, missing = collect_files(paths)
        report.failures += missing
        report.files = len(files)
        parsed = self.parse(files, report, progress, known=known, replace=replace)
        report.proposals = len(parsed)
        t_parse = time.perf_counter()

        before = cat.chunk_hashes()
        changed = [(p, sha) for p, sha in parsed if known.get(p.id) != (p.source, sha)]
        stale = [pid for pid, (src, _) in known.items() if prune and not _source_exists(src)
                 and pid not in {p.id for p, _ in parsed}]
        manifest = self.index.manifest()
        if not (changed or stale) and manifest.get("state") == "clean":
            report.unchanged = len(before)
            report.timings_s = {"parse": t_parse - t0, "total": time.perf_counter() - t0}
            return report

        # 1. in memory: chunks of the changed proposals, and the chunk set the stores must end with
        staged: list[Staged] = []
        for i, (p, sha) in enumerate(changed, 1):
            if progress:
                progress("chunk", i, len(changed))
            chunks = chunk_proposal(p, self.budget)
            staged.append(Staged(p, sha, chunks, [chunk_hash(c) for c in chunks],
                                 [tokens(c.indexed_text) for c in chunks]))
            report.suspicious += [{"chunk_id": c.id, "path": source_file(p.source), "text": c.text[:80]}
                                  for c in chunks if c.section != "meta" and addresses_assistant(c.text)]
        gone = {p.id for p, _ in changed} | set(stale)
        owner = cat.chunk_columns()
        new_chunks = {c.id: c for s in staged for c in s.chunks}
        after = {k: h for k, h in before.items() if owner[k][0] not in gone}
        after.update({c.id: h for s in staged for c, h in zip(s.chunks, s.hashes)})
        report.proposals_changed = len(changed) + len(stale)
        report.replaced = sum(1 for p, _ in changed if p.id in known)
        report.added = sum(1 for k in after if k not in before)
        report.updated = sum(1 for k, h in after.items() if k in before and before[k] != h)
        report.unchanged = sum(1 for k, h in after.items() if before.get(k) == h)
        report.removed = sum(1 for k in before if k not in after)

        have = self.index.store.hashes()
        todo = [k for k, h in after.items() if have.get(k) != h]
        kept = [k for k in todo if k not in new_chunks]  # unchanged chunks missing in Chroma (a crash)
        todo_chunks = [new_chunks[k] for k in todo if k in new_chunks] + cat.chunks(kept)
        t_cat = time.perf_counter()
        vecs, embed_s = self.embed(todo_chunks, progress)
        t_emb = time.perf_counter()

        # 2.-4. the stores, each change undone while the catalogue still holds the old state;
        # only now do questions of this process wait (``writing``), not while vectors are computed
        with writing() if writing else nullcontext():
            self.check_space(todo_chunks, staged)
            self.index.write_manifest(state="dirty")
            try:
                self.index.store.upsert(todo_chunks, vecs, [after[c.id] for c in todo_chunks])
                t_up = time.perf_counter()
                ids, toks = cat.chunk_tokens()
                rows = [(i, t) for i, t in zip(ids, toks) if i in after and i not in new_chunks]
                rows += [(c.id, t) for s in staged for c, t in zip(s.chunks, s.tokens)]
                rows.sort(key=lambda r: r[0].split(":")[0])  # stable: the catalogue's order, as a rebuild has it
                name, gen = self.build_bm25([i for i, _ in rows], [t for _, t in rows])
                t_bm25 = time.perf_counter()
                cat.apply([(s.proposal, s.sha, s.chunks, s.hashes, s.tokens) for s in staged], stale)
            except BaseException:
                self._roll_back(todo_chunks, have)
                raise
            extra = [k for k in have if k not in after]
            if extra:
                self.index.store.delete(extra)
            self.switch_bm25(name, gen)
        report.embedded = self.index.embedder.computed - computed0
        report.timings_s = {"parse": t_parse - t0, "chunk": t_cat - t_parse, "embed": embed_s,
                            "chroma": t_up - t_emb, "bm25": t_bm25 - t_up,
                            "catalogue": time.perf_counter() - t_bm25, "total": time.perf_counter() - t0}
        return report

    def check_space(self, todo: list[Chunk], staged: list[Staged]) -> None:
        """Refuse before any store is written when the disk cannot take the change: an embedded
        Chroma that hits a full disk mid-write can hang on its next write in the same process,
        so finding out by trying is not an option. The estimate is generous (per chunk: its text
        several times over for the document, its full-text index and metadata, and the vector
        three times over for the write-ahead log and the HNSW graph; the BM25 folder twice)."""
        dim = self.index.embedder.dim
        need = MIN_FREE_BYTES + sum(len(s.proposal.text.encode()) * 3 for s in staged)
        if not self.index.settings.chroma_host:
            need += sum(len(c.text.encode()) * 6 + dim * 4 * 3 + 512 for c in todo)
        live = self.index.manifest().get("bm25")
        if live and (self.index.dir / live).is_dir():
            need += 2 * sum(f.stat().st_size for f in (self.index.dir / live).iterdir() if f.is_file())
        try:
            free = shutil.disk_usage(self.index.dir).free
        except OSError:
            return
        if free < need:
            raise StoreError(f"not enough disk space in {self.index.dir}: {free:,} bytes free, this ingest "
                             f"needs about {need:,}; nothing was changed",
                             hint="free disk space, then run the ingest again", code=ErrorCode.NO_SPACE)

    def embed(self, chunks: list[Chunk], progress: Progress | None = None) -> tuple["np.ndarray", float]:
        """Vectors of ``chunks`` (and of their sentences, for the answerer), through the cache."""
        import numpy as np

        emb = self.index.embedder
        t = time.perf_counter()
        out = []
        for i in range(0, len(chunks), EMBED_BATCH):
            part = chunks[i:i + EMBED_BATCH]
            out.append(emb.embed_passages([c.indexed_text for c in part]))
            if self.sentence_vectors:
                emb.embed_passages([s for c in part if c.section != "meta" for s in answer_sentences(c.text)],
                                   count=False)
            if progress:
                progress("embed", min(i + EMBED_BATCH, len(chunks)), len(chunks))
        vecs = np.vstack(out) if out else np.zeros((0, emb.dim), dtype=np.float32)
        return vecs, time.perf_counter() - t

    def _roll_back(self, written: list[Chunk], had: dict[str, str]) -> None:
        """Undo this ingest's Chroma upserts from the catalogue (still the old state) and mark
        the manifest clean again; when that fails too, the manifest stays dirty (named on load)."""
        try:
            new = [c.id for c in written if c.id not in had]
            if new:
                self.index.store.delete(new)
            back = self.index.catalogue.chunks([c.id for c in written if c.id in had])
            if back:
                vecs = self.index.embedder.embed_passages([c.indexed_text for c in back], count=False)
                self.index.store.upsert(back, vecs, [had[c.id] for c in back])
            for d in self.index.dir.glob("bm25-*.partial"):
                shutil.rmtree(d, ignore_errors=True)
            live = self.index.manifest().get("bm25")
            for d in self.index.dir.glob("bm25-*"):
                if d.name != live and not d.name.endswith(".partial"):
                    shutil.rmtree(d, ignore_errors=True)
            if not [p for p in self.index.problems() if "did not finish" not in p]:
                self.index.write_manifest(state="clean")
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass

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
        for i in range(0, len(todo), batch):
            chunks = self.index.catalogue.chunks(todo[i:i + batch])
            vecs, s = self.embed(chunks)
            embed_s += s
            self.index.store.upsert(chunks, vecs, [wanted[c.id] for c in chunks])
            if progress:
                progress("embed", min(i + batch, len(todo)), len(todo))
        return embed_s

    def build_bm25(self, ids: list[str], toks: list[list[str]]) -> tuple[str, int]:
        """A new BM25 generation in its own folder (not live until ``switch_bm25``)."""
        gen = int(self.index.manifest().get("generation", 0)) + 1
        name = f"bm25-{gen}"
        try:
            BM25Index.build(ids, toks).save(self.index.dir / name)
        except OSError as e:
            raise StoreError(f"cannot write the BM25 index: {e.strerror}",
                             hint="free disk space or fix permissions, then ingest again") from None
        return name, gen

    def switch_bm25(self, name: str, gen: int) -> None:
        """Make generation ``gen`` live: one manifest write names its BM25 folder and the counts
        every store now shows; the previous folder goes once no question can be loading it."""
        counts = self.index.catalogue.counts()
        with self.index._lock:  # a question loading the old generation finishes before it goes
            self.index.write_manifest(bm25=name, generation=gen, state="clean", proposals=counts["proposals"],
                                      chunks=counts["chunks"], embed_model=self.index.embedder.model_id)
            for d in self.index.dir.glob("bm25-*"):  # older generations, partial builds
                if d.name != name:
                    shutil.rmtree(d, ignore_errors=True)

    def rebuild_bm25(self) -> None:
        ids, toks = self.index.catalogue.chunk_tokens()
        self.switch_bm25(*self.build_bm25(ids, toks))

    def remove(self, ids: Iterable[str], progress: Progress | None = None) -> IngestReport:
        """Take proposals out of every store, in the same order of writes as an ingest.

        Every id must be in the catalogue (else nothing is written); ``removed`` counts chunks."""
        with self.index.ingest_lock():
            return self._remove(list(dict.fromkeys(ids)), progress)

    def _remove(self, ids: list[str], progress: Progress | None = None) -> IngestReport:
        t0 = time.perf_counter()
        cat = self.index.catalogue
        known = cat.file_shas()
        missing = [pid for pid in ids if pid not in known]
        if missing:
            raise RequestError(f"no proposal {', '.join(missing)} in the index", code=ErrorCode.UNKNOWN_PROPOSAL,
                               id="、".join(missing), hint="the 资料库 tab or `proposals stats` lists what is there")
        before = cat.chunk_hashes()
        self.index.write_manifest(state="dirty")
        for pid in ids:
            cat.delete_proposal(pid)
        after = cat.chunk_hashes()
        embed_s = self.sync_vectors(after, progress)
        self.rebuild_bm25()
        counts = cat.counts()
        self.index.write_manifest(state="clean", proposals=counts["proposals"], chunks=counts["chunks"],
                                  embed_model=self.index.embedder.model_id)
        return IngestReport(proposals=counts["proposals"], proposals_changed=len(ids),
                            removed=sum(1 for k in before if k not in after), unchanged=len(after),
                            timings_s={"embed": embed_s, "total": time.perf_counter() - t0})

    def rebuild(self, progress: Progress | None = None) -> IngestReport:
        """Re-sync Chroma and BM25 from the catalogue (after a crash or a damaged file)."""
        with self.index.ingest_lock():
            return self._rebuild(progress)

    def _rebuild(self, progress: Progress | None = None) -> IngestReport:
        t0 = time.perf_counter()
        computed0 = self.index.embedder.computed
        self.index.write_manifest(state="dirty")
        wanted = self.index.catalogue.chunk_hashes()
        embed_s = self.sync_vectors(wanted, progress)
        self.rebuild_bm25()
        counts = self.index.catalogue.counts()
        return IngestReport(proposals=counts["proposals"], unchanged=counts["chunks"],
                            embedded=self.index.embedder.computed - computed0,
                            timings_s={"embed": embed_s, "total": time.perf_counter() - t0})
