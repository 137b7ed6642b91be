"""The offline answerer: picks the sentences that answer the question from the top chunks
and quotes them verbatim, each with its marker. Numbers, dates and names therefore come
out exactly as the source has them. List questions get one line per proposal."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from rag.core.hostile import addresses_assistant
from rag.answer.selector import (WITHOUT_VECTORS, Candidate, SelectorModel, candidates, char_overlap, features,
                                 has_quantity, is_item_heading)  # noqa: F401
from rag.core.terms import coverage, key_terms
from rag.core.textnorm import answer_sentences
from rag.core.types import Answer, Chunk, Citation, Hit
from rag.answer.verify import REFUSAL, support_text
from rag.core.lexicon import ASKS_NOW, ASKS_NUMBER, ASKS_REPLY, CHANGE, COURTESY, MARKER

__all__ = ["ExtractiveAnswerer", "describe", "quoted", "is_item_heading", "has_quantity"]

_DIGIT = re.compile(r"\d")
# the topical-list scorer: a fixed blend of named inputs (its weights were never fitted; a
# model fitted on the same inputs does no better on CV: `python -m bench.list_answers`)
LIST_INPUTS = ("cov", "ctx", "chars", "dense", "no_figure", "reply_wanted", "now_change", "now_content", "courtesy",
               "rank")
LIST_BLEND = {"cov": 0.5, "ctx": 0.3, "chars": 0.2, "no_figure": -0.15, "reply_wanted": 0.1, "now_change": 0.15,
              "now_content": -0.1, "courtesy": -0.3, "rank": -0.03}  # "dense": the answerer's dense_weight


def quoted(text: str) -> str:
    """Source text as it goes into an answer: a "[2]" written in a proposal would read as a
    citation marker, so it becomes the full-width "［2］" (equal under NFKC, so the quote
    still matches its chunk verbatim for the verifier)."""
    return MARKER.sub(r"［\1］", text)


@dataclass
class Scored:
    score: float
    chunk: Chunk
    rank: int
    text: str


def describe(c: Chunk) -> str:
    """How a chunk is introduced in an answer: who said it, in which proposal."""
    if c.section == "reply":
        return f"{c.department}答复（提案{c.proposal_id}）"
    if c.section == "suggestion":
        return f"提案{c.proposal_id}（{c.proposers}）建议"
    return f"提案{c.proposal_id}（{c.proposers}）"


@cache
def default_selector() -> SelectorModel:
    """The shipped selector (``selector_weights.json``), read once."""
    got = SelectorModel.load()
    if got is None:
        from rag.core.errors import ConfigError

        raise ConfigError("the answer selector's weights are missing (rag/answer/selector_weights.json)",
                          hint="reinstall the package, or run `python -m bench.fit_selector`")
    return got


class ExtractiveAnswerer:
    mode = "extractive"

    def __init__(self, idf: Callable[[str], float], *, known: Callable[[str], bool] = lambda t: True,
                 max_sentences: int = 2, min_score: float = 0.08, candidates: int = 6,
                 similarity: Callable[[str, list[str]], np.ndarray] | None = None, dense_weight: float = 0.2,
                 selector: SelectorModel | None = None):
        self.idf = idf
        # fact answers: the learned selector (rag.answer.selector); lists keep the blend below
        self.selector = selector or default_selector()
        self.known = known  # is a word used anywhere in the corpus?
        # cosine of the question with each sentence (vectors cached at ingest): lets a
        # paraphrase ("看护班") find the sentence that says it otherwise ("托管班")
        self.similarity = similarity
        self.dense_weight = dense_weight
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.candidates = candidates

    # ---- sentence selection -------------------------------------------------------------
    def list_inputs(self, question: str, hits: list[Hit], window: int | None = None) -> tuple[list[Scored], np.ndarray]:
        """The candidate sentences of the first ``window`` hits (default ``candidates``) and one
        row of ``LIST_INPUTS`` each (``bench.list_answers`` scores models on the same rows)."""
        terms = key_terms(question)
        wants_number = bool(ASKS_NUMBER.search(question))
        wants_reply = bool(ASKS_REPLY.search(question))
        wants_now = bool(ASKS_NOW.search(question))
        out, rows = [], []
        for rank, h in enumerate(hits[: window or self.candidates]):
            if h.chunk.section == "meta":
                continue
            ctx = coverage(terms, support_text(h.chunk), self.idf)
            for s in answer_sentences(h.chunk.text):
                if addresses_assistant(s):  # orders to the assistant are data: never quoted as an answer
                    continue
                change = wants_now and bool(CHANGE.search(s))
                rows.append([coverage(terms, s, self.idf), ctx, char_overlap(question, s), 0.0,
                             float(wants_number and not _DIGIT.search(s)), float(wants_reply and h.chunk.section == "reply"),
                             float(change), float(wants_now and not change and h.chunk.section == "content"),
                             float(bool(COURTESY.search(s))), float(rank)])
                out.append(Scored(0.0, h.chunk, rank, s))
        X = np.asarray(rows, dtype=np.float64).reshape(len(out), len(LIST_INPUTS))
        if self.similarity is not None and len(out) > 1:
            # relative to the best and worst candidate: cosines of e5 sit in a narrow band
            raw = self.similarity(question, [x.text for x in out])  # None while the embedder is down
            sims = np.asarray(raw if raw is not None else np.zeros(len(out)), dtype=np.float64)
            lo, hi = float(sims.min()), float(sims.max())
            if hi > lo:
                X[:, LIST_INPUTS.index("dense")] = (sims - lo) / (hi - lo)
        return out, X

    def score_sentences(self, question: str, hits: list[Hit], window: int | None = None) -> list[Scored]:
        out, X = self.list_inputs(question, hits, window)
        weights = np.array([self.dense_weight if f == "dense" else LIST_BLEND[f] for f in LIST_INPUTS])
        for x, v in zip(out, X @ weights):
            x.score = float(v)
        out.sort(key=lambda x: -x.score)
        return out

    def select(self, question: str, hits: list[Hit], followup: bool = False) -> list[Candidate]:
        """The sentences that answer ``question``, best first; none when no candidate's
        probability clears the selector's threshold (then the answer is a refusal).
        ``followup``: the question leans on the conversation (its topic joined the search)."""
        cands = candidates(hits, self.candidates)
        if not cands:
            return []
        raw = self.similarity(question, [c.text for c in cands]) if self.similarity is not None else None
        sims = np.asarray(raw, dtype=np.float64) if raw is not None else None
        X = features(question, cands, sims, self.idf, self.known, followup=followup)
        missing = frozenset() if sims is not None else WITHOUT_VECTORS
        return self.selector.select(question, cands, X, self.max_sentences, missing)

    def answer(self, request) -> Answer:
        """The ``Answerer`` call: quote the sentences that answer ``request``'s question."""
        return self.draft(request.query, request.hits, "list" if request.intent == "list" else "fact",
                          followup=request.analysis.search is not None)

    def draft(self, question: str, hits: list[Hit], intent: str = "fact", followup: bool = False) -> Answer:
        if intent == "list":
            return self.answer_list(question, hits)
        chosen = self.select(question, hits, followup)
        if not chosen:
            return Answer(question=question, answer=REFUSAL, abstained=True, mode=self.mode, contexts=hits,
                          intent=intent)
        # keep source order when both come from one chunk, so the quote reads naturally
        chosen.sort(key=lambda s: (s.rank, s.chunk.text.find(s.text)))
        lines, cites = [], []
        for s in chosen:
            m = str(len(cites) + 1)  # one marker per quoted sentence: each citation carries its own quote
            lines.append((describe(s.chunk), f"{quoted(s.text)}[{m}]"))
            cites.append(Citation.of(m, s.chunk, s.text))
        return Answer(question=question, answer=_join(lines), abstained=False, mode=self.mode, citations=cites,
                      contexts=hits, intent=intent)

    # ---- topical lists ------------------------------------------------------------------
    def answer_list(self, question: str, hits: list[Hit], max_items: int = 6, min_share: float = 0.45) -> Answer:
        """One line per proposal (diversity), each with the sentence that makes it relevant."""
        best: dict[str, Scored] = {}
        for s in self.score_sentences(question, hits) if hits else []:
            if s.chunk.proposal_id not in best:
                best[s.chunk.proposal_id] = s
        # score_sentences looks at the first few hits only; lists need the whole run
        if len(best) < max_items:
            for s in self.score_sentences(question, hits, window=len(hits)):
                best.setdefault(s.chunk.proposal_id, s)
        ranked = sorted(best.values(), key=lambda s: -s.score)
        if not ranked or ranked[0].score < self.min_score:
            return Answer(question=question, answer=REFUSAL, abstained=True, mode=self.mode, contexts=hits,
                          intent="list")
        top = [s for s in ranked if s.score >= min_share * ranked[0].score and s.score >= self.min_score][:max_items]
        lines = ["以下提案与该问题相关："]
        cites = []
        for i, s in enumerate(top, 1):
            c = s.chunk
            lines.append(f"{i}. {c.proposal_id}《{c.title}》（{c.proposers}）：{quoted(s.text)}[{i}]")
            cites.append(Citation.of(str(i), c, s.text))
        return Answer(question=question, answer="\n".join(lines), abstained=False, mode=self.mode,
                      citations=cites, contexts=hits, intent="list")


def _join(lines: list[tuple[str, str]]) -> str:
    out, prev = [], None
    for lead, body in lines:
        out.append(body if lead == prev else f"{lead}：{body}")
        prev = lead
    return "\n".join(out)
