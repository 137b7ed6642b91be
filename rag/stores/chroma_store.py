"""The one module that talks to Chroma: embedded PersistentClient by default,
``chromadb.HttpClient`` when CHROMA_HOST is set (``chroma run --path … --host 127.0.0.1``).

Vectors are always supplied by the caller; the collection is created with
``embedding_function=None`` so Chroma's default (downloading) embedder can never run.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.core.errors import StoreError
from rag.core.types import Chunk

logging.getLogger("chromadb").setLevel(logging.ERROR)
PREFETCH = 4  # a filtered query first looks at the nearest PREFETCH*k chunks unfiltered
NARROW = 50  # plans of at most this many proposals go straight to Chroma's filter (cheap when narrow)
# HNSW's candidate list per query. e5's cosines sit in a narrow band, where Chroma's default
# of 100 misses true neighbours of a 50-deep run: on the dev corpora's 1,230 chunks 14–15% of the
# questions' runs differed from exact search at 100, none at 500 (`python -m bench.vector_recall`).
# What is missed changes with each build of the graph, and with it the fitted weights.
EF_SEARCH = 500


@dataclass
class Plan:
    """A resolved filter: which proposals, which department's replies, which section."""

    proposal_ids: frozenset[str] | None = None
    department_key: str | None = None
    section: str | None = None

    @property
    def empty_result(self) -> bool:
        return self.proposal_ids is not None and not self.proposal_ids

    @property
    def unrestricted(self) -> bool:
        return self.proposal_ids is None and self.department_key is None and self.section is None

    def allows(self, md: dict) -> bool:
        """Does a chunk with this metadata pass? (the same test as ``where_clause``)"""
        if self.proposal_ids is not None and md.get("proposal_id") not in self.proposal_ids:
            return False
        if self.department_key and md.get("section") == "reply" and md.get("department_key") != self.department_key:
            return False
        return not self.section or md.get("section") == self.section


def where_clause(plan: Plan | None) -> dict | None:
    if plan is None or plan.unrestricted:
        return None
    parts: list[dict] = []
    if plan.proposal_ids is not None:
        parts.append({"proposal_id": {"$in": sorted(plan.proposal_ids)}})
    if plan.department_key:
        parts.append({"$or": [{"section": {"$ne": "reply"}}, {"department_key": plan.department_key}]})
    if plan.section:
        parts.append({"section": plan.section})
    return parts[0] if len(parts) == 1 else {"$and": parts}


def make_client(data_dir: Path | None = None, host: str | None = None, port: int = 8000):
    import chromadb

    settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=True)
    try:
        if host:
            return chromadb.HttpClient(host=host, port=port, settings=settings)
        assert data_dir is not None
        data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(data_dir), settings=settings)
    except Exception as e:  # chromadb raises many types; name the place and the cause
        where = f"{host}:{port}" if host else str(data_dir)
        raise StoreError(f"cannot open Chroma at {where}: {e}",
                         hint="start the server with `chroma run --path DIR --host 127.0.0.1`" if host
                         else "check that the data directory is writable") from None


class ChromaStore:
    """Chunk vectors plus their scalar metadata in one Chroma collection (cosine space)."""

    backend = "chroma"

    def __init__(self, client, collection: str = "proposals", ef_search: int = EF_SEARCH):
        self.client = client
        self.name = collection
        self.ef_search = ef_search
        try:
            self.col = self._collection()
        except Exception as e:
            raise StoreError(f"cannot open Chroma collection {collection!r}: {e}") from None

    def _collection(self):
        col = self.client.get_or_create_collection(
            self.name, embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": self.ef_search}})
        # an existing collection keeps the configuration it was created with; ef_search is
        # one of the few settings Chroma lets change afterwards (before the index is loaded)
        if ((col.configuration or {}).get("hnsw") or {}).get("ef_search") != self.ef_search:
            col.modify(configuration={"hnsw": {"ef_search": self.ef_search}})
        return col

    @classmethod
    def open(cls, data_dir: Path, collection: str = "proposals", host: str | None = None,
             port: int = 8000, ef_search: int = EF_SEARCH) -> "ChromaStore":
        return cls(make_client(data_dir / "chroma" if not host else None, host, port), collection, ef_search)

    def reopen(self) -> None:
        """A fresh handle on the collection (after another process rewrote it through a server)."""
        try:
            self.col = self._collection()
        except Exception as e:
            raise StoreError(f"cannot reopen Chroma collection {self.name!r}: {e}") from None

    def count(self) -> int:
        return self.col.count()

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, hashes: list[str], batch: int = 1000) -> None:
        for i in range(0, len(chunks), batch):
            part = chunks[i:i + batch]
            mds = [dict(c.metadata(), hash=h) for c, h in zip(part, hashes[i:i + batch])]
            try:
                self.col.upsert(ids=[c.id for c in part], embeddings=vectors[i:i + batch],
                                documents=[c.text for c in part], metadatas=mds)
            except Exception as e:
                raise StoreError(f"Chroma upsert failed: {e}") from None

    def delete(self, ids: list[str], batch: int = 1000) -> None:
        for i in range(0, len(ids), batch):
            self.col.delete(ids=ids[i:i + batch])

    def hashes(self) -> dict[str, str]:
        """id → content hash of everything stored (to diff against the catalogue)."""
        out: dict[str, str] = {}
        total = self.count()
        for off in range(0, total, 5000):
            got = self.col.get(include=["metadatas"], limit=5000, offset=off)
            out.update({i: str((m or {}).get("hash", "")) for i, m in zip(got["ids"], got["metadatas"])})
        return out

    def query(self, vector: np.ndarray, k: int, plan: Plan | None = None) -> list[tuple[Chunk, float]]:
        """(chunk, cosine similarity) best first."""
        if plan is not None and plan.empty_result:
            return []
        vec = np.asarray(vector, dtype=np.float32)
        if plan is not None and not plan.unrestricted and (plan.proposal_ids is None
                                                           or len(plan.proposal_ids) > NARROW):
            # Chroma's metadata filter grows slow when many chunks pass it (docs/scaling.md).
            # When k of the nearest PREFETCH*k pass, they are the k nearest that pass; only
            # otherwise does Chroma filter.
            near = [r for r in self._query(vec, PREFETCH * k, None) if plan.allows(r[2])]
            if len(near) >= k:
                return [(Chunk.from_metadata(i, d, m), sim) for i, d, m, sim in near[:k]]
        return [(Chunk.from_metadata(i, d, m), sim) for i, d, m, sim in self._query(vec, k, where_clause(plan))]

    def _query(self, vec: np.ndarray, n: int, where: dict | None) -> list[tuple[str, str, dict, float]]:
        # Chroma clamps n_results to what it holds (an empty collection gives no ids), so no
        # count() round trip per question (the store contract tests check both cases)
        res = self.col.query(query_embeddings=[vec], n_results=n, where=where,
                             include=["documents", "metadatas", "distances"])
        return [(i, d, m or {}, 1.0 - float(dist))
                for i, d, m, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])]

    def reset(self) -> None:
        try:
            self.client.delete_collection(self.name)
        except Exception:
            pass
        self.col = self._collection()

    def as_langchain(self, embeddings):
        """The same collection as a LangChain vector store (used by the naive baseline)."""
        from langchain_chroma import Chroma

        return Chroma(client=self.client, collection_name=self.name, embedding_function=embeddings)
