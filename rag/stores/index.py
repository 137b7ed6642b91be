"""The three stores of one data directory, opened together and checked against each other.

- ``catalogue.sqlite``: proposals and chunks, the source of truth;
- Chroma (embedded under ``chroma/`` or a server): chunk vectors;
- ``bm25-<generation>/``: the BM25 index named by the manifest;
- ``manifest.json``: counts and generation of the last completed ingest, written last.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from rag.stores.bm25_index import BM25Index
from rag.stores.catalogue import Catalogue
from rag.stores.chroma_store import ChromaStore
from rag.stores.embeddings import CachedEmbedder, EmbeddingCache, make_embedder
from rag.core.errors import IndexMismatchError, NoIndexError, StoreError, WriterBusyError
from rag.core.settings import Settings

REBUILD_HINT = "run `proposals rebuild` (or ingest the same files again) to make them agree"


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise StoreError(f"cannot write {path}: {e.strerror}",
                         hint="free disk space or fix the directory's permissions, then run the ingest again") from None


class Index:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = Path(settings.data_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the data directory {self.dir}: {e.strerror}") from None
        self.catalogue = Catalogue(self.dir / "catalogue.sqlite")
        self.store = ChromaStore.open(self.dir, settings.collection, settings.chroma_host, settings.chroma_port,
                                      settings.hnsw_ef_search)
        self._bm25: BM25Index | None = None
        self._bm25_name: str | None = None
        self._embedder: CachedEmbedder | None = None
        self._lock = threading.RLock()
        self._checked: tuple[int, int, int] | None = None  # manifest stamp of the last clean check
        try:
            self._generation = self.manifest().get("generation")  # of the views opened above
        except IndexMismatchError:
            self._generation = None  # a damaged manifest is named by the first check
        self._writer = None  # the open lock file while this process is the data directory's writer

    # ---- manifest -----------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    def manifest(self) -> dict:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise IndexMismatchError(f"the manifest {self.manifest_path} is damaged: {e}", hint=REBUILD_HINT) from None

    def write_manifest(self, **fields) -> None:
        m = self.manifest()
        m.update(fields, updated=time.strftime("%Y-%m-%dT%H:%M:%S"))
        write_json_atomic(self.manifest_path, m)

    # ---- parts --------------------------------------------------------------------------
    @property
    def embedder(self) -> CachedEmbedder:
        if self._embedder is None:
            self._embedder = CachedEmbedder(make_embedder(self.settings),
                                            EmbeddingCache(Path(self.settings.embed_cache or self.dir / "embeddings.sqlite")))
        return self._embedder

    @property
    def bm25(self) -> BM25Index:
        with self._lock:
            name = self.manifest().get("bm25")
            if not name:
                raise NoIndexError("nothing has been ingested yet", hint="run `proposals ingest samples/`")
            if self._bm25 is None or name != self._bm25_name:
                self._bm25 = BM25Index.load(self.dir / name)
                self._bm25_name = name
            return self._bm25

    def is_empty(self) -> bool:
        return not self.manifest().get("bm25") and self.catalogue.counts()["proposals"] == 0

    # ---- consistency --------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What disagrees between the manifest, the catalogue, Chroma and BM25 (empty: all agree)."""
        m = self.manifest()
        if not m:
            return [] if self.catalogue.counts()["chunks"] == 0 else ["no manifest although the catalogue has data"]
        out = []
        if m.get("state") != "clean":
            out.append("the last ingest did not finish (manifest state is "
                       f"{m.get('state')!r})")
        cat = self.catalogue.counts()
        if cat["chunks"] != m.get("chunks") or cat["proposals"] != m.get("proposals"):
            out.append(f"catalogue has {cat['proposals']} proposals / {cat['chunks']} chunks, "
                       f"manifest says {m.get('proposals')} / {m.get('chunks')}")
        n = self.store.count()
        if n != m.get("chunks"):
            out.append(f"Chroma has {n} vectors, manifest says {m.get('chunks')} chunks")
        try:
            b = len(self.bm25)
            if b != m.get("chunks"):
                out.append(f"BM25 has {b} documents, manifest says {m.get('chunks')} chunks")
        except (IndexMismatchError, NoIndexError) as e:
            out.append(str(e))
        return out

    def _manifest_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.manifest_path.stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def ensure_ready(self) -> None:
        stamp = self._manifest_stamp()
        if stamp is not None and stamp == self._checked:
            return  # the stores agreed and nothing was written since (every write marks the manifest first)
        self.refresh()
        if self.is_empty():
            raise NoIndexError("the index is empty: nothing has been ingested yet",
                               hint="run `proposals ingest samples/`")
        probs = self.problems()
        if probs and not self.ingest_running():
            # the ingest that caused the mismatch may have finished between the two checks
            stamp = self._manifest_stamp()
            probs = self.problems()
            if probs and not self.ingest_running():
                raise IndexMismatchError("the index is inconsistent: " + "; ".join(probs), hint=REBUILD_HINT)
        if not probs:
            self._checked = stamp
        # while an ingest runs, questions go on: BM25 keeps its previous generation until the
        # new one is complete, and each chunk read from the catalogue or Chroma is old or new

    def refresh(self) -> None:
        """Reopen the views when another process completed an ingest (the manifest's generation
        moved): BM25 follows the manifest's folder name, the catalogue's caches follow SQLite's
        data_version, and the Chroma collection handle is fetched again."""
        m = self.manifest()
        gen = m.get("generation")
        if m.get("state") != "clean" or gen == self._generation:
            return
        with self._lock:
            self._generation = gen
            self._bm25 = None
            self.catalogue._raw_cache = None
            self.store.reopen()

    # ---- the one writer ----------------------------------------------------------------
    @property
    def writer_path(self) -> Path:
        return self.dir / "writer.lock"

    def claim_writer(self, who: str) -> None:
        """Make this process the data directory's only writer until it exits (or ``release_writer``).

        An embedded Chroma must be written by one process only: another process keeps
        its own in-memory view and then fails on ids it has never seen. A Chroma server
        (CHROMA_HOST) serves every process the same view, so nothing is claimed then. The
        claim is an flock, so it dies with its process (a kill -9 never leaves it taken)."""
        if self.settings.chroma_host or self._writer is not None:
            return
        try:
            f = open(self.writer_path, "a+", encoding="utf-8")
        except OSError as e:
            raise StoreError(f"cannot write {self.writer_path}: {e.strerror}",
                             hint="check that the data directory is writable") from None
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise WriterBusyError(f"{holder} is writing the data directory {self.dir}; "
                                  "an embedded Chroma takes one writing process only",
                                  hint="import the files in the app's 资料库 tab, or stop the app and run this "
                                       "again, or run Chroma as a server (CHROMA_HOST) for several processes"
                                  if "http://" in holder else "wait until it has finished, then run this again") from None
        f.seek(0)
        f.truncate()
        f.write(f"{who} (pid {os.getpid()})")
        f.flush()
        self._writer = f

    def release_writer(self) -> None:
        if self._writer is not None:
            fcntl.flock(self._writer, fcntl.LOCK_UN)
            self._writer.close()
            self._writer = None

    # ---- the ingest lock ----------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.dir / "ingest.lock"

    @contextmanager
    def ingest_lock(self):
        """Held by an ingest from start to end; a second ingest (thread or process) waits. An
        flock dies with its process, so a kill -9 never leaves it taken."""
        try:
            f = open(self.lock_path, "a+")
        except OSError as e:
            raise StoreError(f"cannot write {self.lock_path}: {e.strerror}",
                             hint="check that the data directory is writable") from None
        try:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()

    def ingest_running(self) -> bool:
        """Is an ingest (in this process or another) writing this data directory right now?"""
        try:
            with open(self.lock_path) as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(f, fcntl.LOCK_UN)
        except OSError:
            pass
        return False
