"""Learning to rank paragraphs: a logistic combination of the dense and BM25 runs with title,
department, section and proposal-level evidence, fitted by ``python -m bench.fit_ranker``
on the dev sets' evidence (grouped by proposal) and shipped in ``ranker_weights.json``.

Applying it needs numpy only; the candidates are the union of the two runs.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from rag.core.departments import department_key
from rag.core.lexicon import ASKS_DONE, ASKS_SUGGESTION, is_courtesy
from rag.core.terms import coverage, key_terms
from rag.core.types import Chunk, Hit

WEIGHTS = Path(__file__).with_name("ranker_weights.json")
_DIGIT = re.compile(r"\d")

RANK_FEATURES = (
    # each run enters once: dense by its (bounded) score, BM25 by its rank (its scores are
    # unbounded and vary with the question's length); the other two measured as noise (docs)
    "dense",        # min-max normalised dense score (0 when not in the dense run)
    "bm25_rr",      # 1 / (1 + rank) in the BM25 run
    "both",         # in both runs
    "text_cov",     # idf share of the question's key words in the paragraph with its heading
    "dept_match",   # the question names the department of this reply
    "dept_other",   # the question names a department and this is another's reply
    "reply_wanted",       # a reply where what was done is asked
    "suggestion_wanted",  # a 建议 where a suggestion is asked
    "prop_dense",   # the best dense score of this proposal's paragraphs in the runs
    "prop_bm25",    # the best BM25 score of this proposal's paragraphs
    "meta",         # the proposal's header chunk
    # what the paragraph is, whatever the question: a reply's opening or closing courtesy
    # ranks above its measures on words alone; a measure usually states a figure and runs long
    "courtesy",     # an opening or closing courtesy paragraph (rag.core.lexicon.is_courtesy)
    "figure",       # states a figure (a digit)
    "length",       # log of its length in characters
)


def _norm(run: list[Hit]) -> dict[str, tuple[float, int]]:
    if not run:
        return {}
    vals = np.array([h.score for h in run], dtype=np.float64)
    lo, hi = vals.min(), vals.max()
    return {h.chunk.id: (float((v - lo) / (hi - lo)) if hi > lo else 1.0, r) for r, (h, v) in enumerate(zip(run, vals))}


def rank_features(query: str, dense: list[Hit], bm25: list[Hit], idf, known_share: float,
                  department: str | None) -> tuple[list[Chunk], np.ndarray]:
    d, b = _norm(dense), _norm(bm25)
    chunks: dict[str, Chunk] = {}
    for h in dense + bm25:
        chunks.setdefault(h.chunk.id, h.chunk)
    prop_d: dict[str, float] = {}
    prop_b: dict[str, float] = {}
    for cid, c in chunks.items():
        prop_d[c.proposal_id] = max(prop_d.get(c.proposal_id, 0.0), d.get(cid, (0.0, 0))[0])
        prop_b[c.proposal_id] = max(prop_b.get(c.proposal_id, 0.0), b.get(cid, (0.0, 0))[0])
    terms = key_terms(query)
    wants_reply = bool(ASKS_DONE.search(query))
    wants_sugg = bool(ASKS_SUGGESTION.search(query))
    dkey = department_key(department) if department else ""
    rows = []
    out = list(chunks.values())
    for c in out:
        dv, dr = d.get(c.id, (0.0, None))
        br = b.get(c.id, (0.0, None))[1]
        reply = c.section == "reply"
        rows.append((dv, 1 / (1 + br) if br is not None else 0.0, float(dr is not None and br is not None),
                     coverage(terms, c.text + (c.heading or ""), idf),
                     float(bool(dkey and reply and department_key(c.department or "") == dkey)),
                     float(bool(dkey and reply and department_key(c.department or "") != dkey)),
                     float(wants_reply and reply), float(wants_sugg and c.section == "suggestion"),
                     prop_d[c.proposal_id], prop_b[c.proposal_id] * known_share, float(c.section == "meta"),
                     float(is_courtesy(c.text)), float(bool(_DIGIT.search(c.text))), math.log1p(len(c.text))))
    return out, np.asarray(rows, dtype=np.float64).reshape(len(out), len(RANK_FEATURES))


@dataclass
class RankerModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    meta: dict

    def score(self, X: np.ndarray) -> np.ndarray:
        idx = [RANK_FEATURES.index(f) for f in self.features]
        return ((X[:, idx] - self.mean) / self.scale) @ self.coef + self.intercept

    def to_json(self) -> dict:
        r = lambda a: [round(float(x), 6) for x in a]  # noqa: E731
        return {"features": list(self.features), "mean": r(self.mean), "scale": r(self.scale), "coef": r(self.coef),
                "intercept": round(float(self.intercept), 6), "meta": self.meta}

    @classmethod
    def from_json(cls, d: dict) -> "RankerModel":
        return cls(tuple(d["features"]), np.asarray(d["mean"]), np.asarray(d["scale"]), np.asarray(d["coef"]),
                   float(d["intercept"]), d.get("meta", {}))

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> "RankerModel | None":
        if not path.exists():
            return None
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def learned(query: str, dense: list[Hit], bm25: list[Hit], model: RankerModel, idf, known_share: float,
            department: str | None) -> list[tuple[Chunk, float]]:
    chunks, X = rank_features(query, dense, bm25, idf, known_share, department)
    if not chunks:
        return []
    s = model.score(X)
    order = np.argsort(-s, kind="stable")
    return [(chunks[i], float(s[i])) for i in order]


@cache
def default_ranker() -> RankerModel:
    """The shipped ranker (``ranker_weights.json``), read once."""
    got = RankerModel.load()
    if got is None:
        from rag.core.errors import ConfigError

        raise ConfigError("the ranker's weights are missing (rag/retrieval/ranker_weights.json)",
                          hint="use PROPOSALS_FUSION=weighted, or run `python -m bench.fit_ranker`")
    return got
