"""Rankings and selector rows built from the run cache (``bench.cv_data``), no model needed.

``Corpus`` opens one index read-only: chunks from the catalogue, idf from BM25, sentence
vectors from the embedding cache (computed at ingest). ``fused`` re-makes the hybrid
ranking of a cached run; ``rows`` gives the selector's candidates, features and labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.cv_data import Record, work_dir
from evals.metrics import evidence_in
from rag.answer.selector import Candidate, candidates, features
from rag.core.textnorm import contains, norm
from rag.core.types import Hit
from rag.retrieval.retrievers import ADAPT_BELOW, weighted

SELECT_DEPTH = 6  # paragraphs whose sentences are candidates


class Corpus:
    def __init__(self, name: str, base: Path | None = None):
        from rag.core.settings import Settings
        from rag.stores.index import Index

        base = work_dir(base)
        self.name = name
        self.index = Index(Settings(data_dir=base / f"idx-{name}", embed_cache=base / "emb.sqlite"))
        self.bm25 = self.index.bm25
        self._chunks = {c.id: c for c in self.index.catalogue.chunks(None)}

    def hits(self, run: list[tuple[str, float]], name: str) -> list[Hit]:
        return [Hit(self._chunks[c], s, name) for c, s in run if c in self._chunks]

    def sims(self, qvec: np.ndarray, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        m = self.index.embedder.embed_passages(texts, count=False)
        return (m @ qvec) / (np.linalg.norm(m, axis=1) * np.linalg.norm(qvec) + 1e-9)


def fused(rec: Record, corpus: Corpus, k: int = 10) -> list[Hit]:
    """The default hybrid ranking (min-max weighted blend with the paraphrase adaptation)."""
    dense, bm = corpus.hits(rec.dense, "dense"), corpus.hits(rec.bm25, "bm25")
    w = [1.0, 1.0]
    if rec.known_share < ADAPT_BELOW:
        w[1] *= rec.known_share ** 2
    return [Hit(c, s, "hybrid") for c, s in weighted([dense, bm], w)][:k]


def hit_at(hits: list[Hit], rec: Record, k: int = 5) -> float | None:
    if not rec.evidence or rec.type == "unanswerable":
        return None
    texts = [h.chunk.text for h in hits[:k]]
    return sum(any(evidence_in(t, e.quote) for t in texts) for e in rec.evidence) / len(rec.evidence)


def is_positive(sentence: str, rec: Record) -> bool:
    """The sentence states an answer fact; for a question without facts, it holds an evidence
    quote (or lies inside one). A cross question's evidence also quotes the suggestion it
    names, which does not answer it: facts are what an answer must state."""
    if rec.facts:
        return any(contains(sentence, f) for f in rec.facts)
    s = norm(sentence)
    for e in rec.evidence:
        q = norm(e.quote)
        if q in s or (len(s) >= 8 and s in q):
            return True
    return any(contains(sentence, f) for f in rec.facts)


@dataclass
class QuestionRows:
    rec: Record
    hits: list[Hit]
    cands: list[Candidate]
    X: np.ndarray
    y: np.ndarray


def rows(rec: Record, corpus: Corpus, hits: list[Hit]) -> QuestionRows:
    cands = candidates(hits, SELECT_DEPTH)
    sims = corpus.sims(rec.qvec, [c.text for c in cands]) if cands else None
    X = features(rec.query, cands, sims, corpus.bm25.idf, corpus.bm25.knows, followup=bool(rec.search))
    y = np.array([rec.type != "unanswerable" and is_positive(c.text, rec) for c in cands], dtype=np.int8)
    return QuestionRows(rec, hits, cands, X, y)
