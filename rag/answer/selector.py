"""The learned answer-sentence selector: named features of (question, candidate sentence)
and a logistic model that turns them into "this sentence answers this question".

The candidates are the sentences of the top paragraphs. Each feature is general (no word
list keyed to one question): e5 similarity, idf coverage of the question's key words,
whether the sentence states the kind of figure asked and names its focus and subject
(``rag.answer.asks``), section and department agreement, year agreement, the paragraph's
rank. The weights are fitted by ``python -m bench.fit_selector`` with
cross-validation grouped by proposal and shipped in ``selector_weights.json``; applying
them needs numpy only.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.answer.asks import Ask, answers, asks, gives_kind, money_of_other, subject_share, uncovered_topic, figure_text
from rag.core.departments import department_variants
from rag.core.lexicon import (ASKS_HOW, ASKS_NOW, ASKS_NUMBER, ASKS_REPLY, ASKS_SUGGESTION, ASKS_WHEN, CHANGE, ORDINAL,
                              YEAR)
from rag.core.terms import coverage, key_terms
from rag.core.textnorm import answer_sentences, nfkc, norm
from rag.core.types import Chunk, Hit
from rag.core.hostile import addresses_assistant

WEIGHTS = Path(__file__).with_name("selector_weights.json")

_DIGIT = re.compile(r"\d")
_DATE = re.compile(r"\d+\s*[—–-]\s*\d+\s*[年月]|\d+\s*[年月日]")
_FUNCTION_CHARS = set("的了吗呢吧啊是在有和与及或哪些什么怎么多少几个这那里说要得能会就都也还")

FEATURES = (
    "cos",            # e5 cosine of question and sentence
    "cos_gap",        # its distance below the best candidate's cosine
    "cov",            # idf-weighted share of the question's key words in the sentence
    "ctx",            # ... in the paragraph with its identity (title, department, heading, year)
    "chars",          # share of the question's content characters in the sentence
    "title_cov",      # ... key words in the proposal's title
    "no_figure",      # a figure is asked and the sentence states none (dates only when a date is asked)
    "kind_ok",        # states the kind of figure asked (money, share, date, duration, count) or the name asked
    "subject",        # how much of the asked subject it mentions
    "answers",        # all checks of rag.answer.asks pass for some ask
    "other_year",     # states a year other than the one asked
    "money_other",    # money is asked of one thing ("总投资") and the sentence states money of others only
    "reply_wanted",   # a reply sentence where what was done is asked
    "content_now",    # a proposal's own account where the current state is asked
    "change_now",     # reports a change ("压缩至3.2个工作日") where the current state is asked
    "suggestion_wanted",  # a 建议 sentence where the suggestion is asked
    "dept_match",     # the question names the department of this reply
    "item_heading",   # a short numbered line with no figure
    "uncovered",      # the question's one unknown noun is absent from the sentence
    "unknown_share",  # idf share of the question's key words the corpus never uses
    "any_answers",    # some candidate passes all checks of rag.answer.asks (question level)
    "best_focus",     # the best share of the asked focus ("总投资") a candidate names (question level)
    "year_unstated",  # a year is asked and no candidate or heading states it (question level)
    "followup",       # the question leans on the conversation (its topic joined the search)
    "rank",           # paragraph rank (0 = first)
    "length",         # log of the sentence length
)


_QUESTION_LEVEL = ("any_answers", "best_focus", "year_unstated")


@dataclass
class Candidate:
    chunk: Chunk
    rank: int
    text: str
    score: float = 0.0


def char_overlap(question: str, sentence: str) -> float:
    q = {ch for ch in norm(question) if "\u4e00" <= ch <= "\u9fff"} - _FUNCTION_CHARS
    return len(q & set(norm(sentence))) / len(q) if q else 0.0


def is_item_heading(sentence: str) -> bool:
    m = ORDINAL.match(sentence)
    return bool(m) and len(sentence) <= 30 and not _DIGIT.search(sentence[m.end():])


def has_quantity(sentence: str, dates_ok: bool) -> bool:
    s = figure_text(sentence)
    if not dates_ok:
        s = _DATE.sub("", s)
    return bool(_DIGIT.search(s))


def candidates(hits: list[Hit], depth: int) -> list[Candidate]:
    # orders to the assistant in the corpus are data: never a candidate answer
    return [Candidate(h.chunk, r, s) for r, h in enumerate(hits[:depth]) if h.chunk.section != "meta"
            for s in answer_sentences(h.chunk.text) if not addresses_assistant(s)]


@lru_cache(maxsize=4096)
def _forms(department: str) -> tuple[str, ...]:
    return tuple(f for f in department_variants(department) if len(f) >= 3)


def _names(question: str, department: str) -> bool:
    """Does the question name this department (any of its forms: 市教育局, 教育局)?"""
    return any(f in question for f in _forms(department))


def _support(c: Chunk) -> str:
    return "\n".join(x for x in (c.text, c.title, c.proposal_id, c.proposers, c.department or "",
                                 c.heading or "", f"{c.year}年") if x)


def features(question: str, cands: list[Candidate], sims: np.ndarray | None,
             idf: Callable[[str], float], known: Callable[[str], bool], followup: bool = False) -> np.ndarray:
    """One row of ``FEATURES`` per candidate."""
    terms = key_terms(question)
    wanted: list[Ask] = asks(question)
    wants_number = bool(ASKS_NUMBER.search(question))
    dates_ok = bool(ASKS_WHEN.search(question))
    wants_reply = bool(ASKS_REPLY.search(question))
    wants_now = bool(ASKS_NOW.search(question))
    wants_suggestion = bool(ASKS_SUGGESTION.search(question))
    total = sum(idf(t) for t in terms)
    unknown = sum(idf(t) for t in terms if not known(t)) / total if total else 0.0
    q_years = set(YEAR.findall(nfkc(question)))
    named = {c.chunk.department for c in cands if c.chunk.department and _names(question, c.chunk.department)}
    # the question's one noun the corpus never uses (rag.answer.asks.uncovered_topic), if any
    topic = uncovered_topic(question, "", known)
    topic_chars = set(norm(topic)) if topic else set()
    best_cos = float(np.max(sims)) if sims is not None and len(sims) else 0.0
    # what the asks need of every candidate, read once per question
    kinds = [a for a in wanted if a.kind]
    focus = [f for a in wanted for f in a.focus if known(f)]
    subjects = [tuple(t for t in a.subject if known(t)) for a in wanted if a.subject]
    ctx_cache: dict[str, tuple[float, float]] = {}
    rows, focus_shares = [], []
    for i, c in enumerate(cands):
        ch = c.chunk
        if ch.id not in ctx_cache:
            ctx_cache[ch.id] = (coverage(terms, _support(ch), idf), coverage(terms, ch.title, idf))
        ctx, tcov = ctx_cache[ch.id]
        s, head = c.text, ch.heading or ""
        cos = float(sims[i]) if sims is not None else 0.0
        subj = [subject_share(st, s + head, idf) for st in subjects]
        stated = set(YEAR.findall(nfkc(re.sub(r"《[^《》]*》", "", s)))) | set(YEAR.findall(nfkc(head)))
        reply = ch.section == "reply"
        focus_shares.append(sum(set(norm(f)) <= set(norm(s + head)) for f in focus) / len(focus) if focus else 1.0)
        rows.append((
            cos, best_cos - cos,
            coverage(terms, s, idf), ctx, char_overlap(question, s), tcov,
            float(wants_number and not has_quantity(s, dates_ok)),
            float(any(gives_kind(a.kind, s, a.clause) for a in kinds)) if kinds else 1.0,
            max(subj) if subj else 1.0,
            float(any(answers(a, s, head, known, idf) for a in wanted)) if wanted else 1.0,
            float(bool(q_years and stated and not (q_years & stated))),
            float(money_of_other(wanted, s)),
            float(wants_reply and reply),
            float(wants_now and ch.section == "content"),
            float(wants_now and bool(CHANGE.search(s))),
            float(wants_suggestion and ch.section == "suggestion"),
            float(reply and ch.department in named),
            float(is_item_heading(s)),
            float(bool(topic_chars) and not topic_chars & set(norm(s))),
            unknown,
            float(followup),
            float(c.rank),
            math.log(1 + len(s)),
        ))
    X = np.asarray(rows, dtype=np.float64).reshape(len(cands), len(FEATURES) - len(_QUESTION_LEVEL))
    # question-level columns: how well the best candidates do, so that every candidate's
    # probability drops when none of them answers (what the refusal threshold needs)
    col = {f: i for i, f in enumerate(f for f in FEATURES if f not in _QUESTION_LEVEL)}
    if len(cands):
        stated_any = any(q_years & set(YEAR.findall(nfkc(c.text + (c.chunk.heading or "")))) for c in cands)
        q = [X[:, col["answers"]].max(), max(focus_shares),
             float(bool(q_years) and not stated_any)]
    else:
        q = [0.0] * len(_QUESTION_LEVEL)
    at = FEATURES.index(_QUESTION_LEVEL[0])
    return np.hstack([X[:, :at], np.tile(q, (len(cands), 1)), X[:, at:]])


# what the refusal decision looks at: the best candidate's probability and checks, per question
WITHOUT_VECTORS = frozenset({"cos", "cos_gap"})  # what cannot be computed while the embedder is down
ANSWERABLE_FEATURES = ("top_logit", "answers", "subject", "cov", "cos", "unknown_share",
                       "kind_ok", "no_figure", "other_year", "year_unstated", "uncovered", "best_focus", "followup")


def answerable_row(X: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The question-level row of ``ANSWERABLE_FEATURES`` from the candidates' features and
    probabilities (the best candidate's)."""
    if not len(p):
        return np.zeros(len(ANSWERABLE_FEATURES))
    i = int(np.argmax(p))
    top = min(max(float(p[i]), 1e-6), 1 - 1e-6)
    row = dict(zip(FEATURES, X[i]))
    return np.array([math.log(top / (1 - top))] + [row[f] for f in ANSWERABLE_FEATURES[1:]])


@dataclass
class Logistic:
    """Standardised logistic regression: p = sigmoid(((x - mean) / scale) · coef + intercept)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def proba(self, X: np.ndarray, names: tuple[str, ...], missing: frozenset[str] = frozenset()) -> np.ndarray:
        """``missing``: features that could not be computed (no sentence vectors while the
        embedder is down) count as their training mean, so they move the score neither way."""
        idx = [names.index(f) for f in self.features]
        Z = (X[:, idx] - self.mean) / self.scale
        for j, f in enumerate(self.features):
            if f in missing:
                Z[:, j] = 0.0
        z = Z @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        r = lambda a: [round(float(x), 6) for x in a]  # noqa: E731
        return {"features": list(self.features), "mean": r(self.mean), "scale": r(self.scale), "coef": r(self.coef),
                "intercept": round(float(self.intercept), 6)}

    @classmethod
    def from_json(cls, d: dict) -> "Logistic":
        return cls(tuple(d["features"]), np.asarray(d["mean"], dtype=np.float64),
                   np.asarray(d["scale"], dtype=np.float64), np.asarray(d["coef"], dtype=np.float64),
                   float(d["intercept"]))


@dataclass
class SelectorModel:
    """Two fitted logistic models: ``sentence`` scores each candidate ("this sentence answers
    the question"); ``answerable`` scores the question from its best candidate ("the corpus
    answers it"), and the answer is refused below ``threshold``."""

    sentence: Logistic
    answerable: Logistic | None
    threshold: float        # on the answerable probability (on the best sentence's without that model)
    second_ratio: float     # a further sentence is quoted when its probability is this share of the first's
    meta: dict
    # the same two models fitted without the sentence vectors, with their own threshold: used
    # while the embedder is down (a model fitted with ``cos`` refuses too much when it is absent)
    without_vectors: "SelectorModel | None" = None
    # how many more sentences than the answerer's limit a "怎么落实 / 采取了哪些措施" question may
    # quote (the gist of a reply is several measures); chosen on cross-validation like the ratio
    how_extra: int = 1

    def proba(self, X: np.ndarray, missing: frozenset[str] = frozenset()) -> np.ndarray:
        return self.sentence.proba(X, FEATURES, missing)

    def answerable_proba(self, X: np.ndarray, p: np.ndarray, missing: frozenset[str] = frozenset()) -> float:
        if not len(p):
            return 0.0
        if self.answerable is None:
            return float(np.max(p))
        return float(self.answerable.proba(answerable_row(X, p)[None, :], ANSWERABLE_FEATURES, missing)[0])

    def limit(self, question: str, limit: int) -> int:
        return sentence_limit(question, limit, self.how_extra)

    def select(self, question: str, cands: list[Candidate], X: np.ndarray, limit: int,
               missing: frozenset[str] = frozenset()) -> list[Candidate]:
        """The sentences to quote, at most ``self.limit(question, limit)``; none to refuse."""
        if missing and self.without_vectors is not None and missing <= WITHOUT_VECTORS:
            return self.without_vectors.select(question, cands, X, limit)
        p = self.proba(X, missing) if len(cands) else np.zeros(0)
        if self.answerable_proba(X, p, missing) < self.threshold:
            return []
        return choose(cands, p, 0.0, self.second_ratio, self.limit(question, limit))

    def to_json(self) -> dict:
        d = {"sentence": self.sentence.to_json(),
             "answerable": self.answerable.to_json() if self.answerable else None,
             "threshold": round(float(self.threshold), 4), "second_ratio": round(float(self.second_ratio), 4),
             "how_extra": int(self.how_extra), "meta": self.meta}
        if self.without_vectors is not None:
            d["without_vectors"] = self.without_vectors.to_json()
        return d

    @classmethod
    def from_json(cls, d: dict) -> "SelectorModel":
        return cls(Logistic.from_json(d["sentence"]), Logistic.from_json(d["answerable"]) if d.get("answerable") else None,
                   float(d["threshold"]), float(d["second_ratio"]), d.get("meta", {}),
                   cls.from_json(d["without_vectors"]) if d.get("without_vectors") else None,
                   int(d.get("how_extra", 1)))

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> "SelectorModel | None":
        if not path.exists():
            return None
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def sentence_limit(question: str, limit: int, how_extra: int) -> int:
    """How many sentences may be quoted: ``limit``, ``how_extra`` more for a question on what was done."""
    return limit + (how_extra if ASKS_HOW.search(question) else 0)


def choose(cands: list[Candidate], proba: np.ndarray, threshold: float, second_ratio: float,
           limit: int) -> list[Candidate]:
    """The best candidate when it clears ``threshold``, then the next ones (other text) whose
    probability is at least ``second_ratio`` of the first's and clears the threshold too."""
    for c, p in zip(cands, proba):
        c.score = float(p)
    order = np.argsort(-proba, kind="stable")
    if not len(order) or proba[order[0]] < threshold:
        return []
    first = float(proba[order[0]])
    out = [cands[order[0]]]
    for j in order[1:]:
        if len(out) >= limit or proba[j] < max(threshold, second_ratio * first):
            break
        if all(cands[j].text != c.text for c in out):
            out.append(cands[j])
    return out
