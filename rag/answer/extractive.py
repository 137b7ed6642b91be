"""The offline answerer: picks the sentences that answer the question from the top chunks
and quotes them verbatim, each with its marker. Numbers, dates and names therefore come
out exactly as the source has them. List questions get one line per proposal."""
from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.answer.asks import answers, asks, figure_text, uncovered_topic
from rag.core.hostile import addresses_assistant
from rag.core.terms import coverage, key_terms
from rag.core.textnorm import answer_sentences, norm
from rag.core.types import Answer, Chunk, Citation, Hit
from rag.answer.verify import REFUSAL, support_text
from rag.core.lexicon import COURTESY, MARKER, ORDINAL

_ASKS_NUMBER = re.compile(r"多少|几[个条家所项天年月次名人位座处类]|比例|标准|占比|多长|多久|多大|多高|多远|几层|金额|权重|时间|什么时候|何时|哪一年|哪年")
_DIGIT = re.compile(r"\d")
_DATE = re.compile(r"\d+\s*[—–-]\s*\d+\s*[年月]|\d+\s*[年月日]")
_ASKS_WHEN = re.compile(r"什么时候|何时|哪一年|哪年|几月|日期|时间")


def quoted(text: str) -> str:
    """Source text as it goes into an answer: a "[2]" written in a proposal would read as a
    citation marker, so it becomes the full-width "［2］" (equal under NFKC, so the quote
    still matches its chunk verbatim for the verifier)."""
    return MARKER.sub(r"［\1］", text)


def is_item_heading(sentence: str) -> bool:
    """A short numbered line with no figure of its own: "（三）实施青年科技人才专项。"."""
    m = ORDINAL.match(sentence)
    return bool(m) and len(sentence) <= 30 and not _DIGIT.search(sentence[m.end():])


def has_quantity(sentence: str, dates_ok: bool) -> bool:
    """A figure (see ``figure_text``) that, unless dates are wanted, is not a date."""
    s = figure_text(sentence)
    if not dates_ok:
        s = _DATE.sub("", s)
    return bool(_DIGIT.search(s))
_ASKS_HOW = re.compile(r"怎么(答复|回应|回复|做|办|落实)|如何(答复|回应|落实)|采取了哪些|有哪些(措施|举措)")
# asked how things stand now: a sentence reporting a change ("由15.6个工作日压缩至3.2个工作日",
# "将同意比例调整为…") gives the current figure; the proposal's own account gives the old one
_ASKS_NOW = re.compile(r"现在|目前|如今|之后|以后|还剩|还有多")
_CHANGE = re.compile(r"(?:缩短|压缩|降低|降|下降|减少|减|提高|提升|增加|增|扩大|扩充|上升|调整|放宽)[至到为]")
# asked about what was done, or how things stand now: a reply says it, a proposal only says the problem
_ASKS_REPLY = re.compile(r"落实|答复|回应|采纳|怎么样|打算|进展|办理|回复|做了|建了|出台|怎么做|现在|目前|如今|之后|以后|还剩|已经"
                         r"|(?:怎么|如何)(?:防止|避免|解决|保障|确保|保证|管|监管|处理)")


@dataclass
class Scored:
    score: float
    chunk: Chunk
    rank: int
    text: str


def char_overlap(question: str, sentence: str) -> float:
    """Share of the question's content characters that the sentence uses (helps paraphrases)."""
    q = {ch for ch in norm(question) if "\u4e00" <= ch <= "\u9fff"} - _FUNCTION_CHARS
    return len(q & set(norm(sentence))) / len(q) if q else 0.0


_FUNCTION_CHARS = set("的了吗呢吧啊是在有和与及或哪些什么怎么多少几个这那里说要得能会就都也还")


def describe(c: Chunk) -> str:
    """How a chunk is introduced in an answer: who said it, in which proposal."""
    if c.section == "reply":
        return f"{c.department}答复（提案{c.proposal_id}）"
    if c.section == "suggestion":
        return f"提案{c.proposal_id}（{c.proposers}）建议"
    return f"提案{c.proposal_id}（{c.proposers}）"


class ExtractiveAnswerer:
    mode = "extractive"

    def __init__(self, idf: Callable[[str], float], *, known: Callable[[str], bool] = lambda t: True,
                 max_sentences: int = 2, min_score: float = 0.08, candidates: int = 6,
                 second_ratio: float = 0.8, search: int = 8,
                 similarity: Callable[[str, list[str]], np.ndarray] | None = None, dense_weight: float = 0.2):
        self.idf = idf
        self.known = known  # is a word used anywhere in the corpus?
        # cosine of the question with each sentence (vectors cached at ingest): lets a
        # paraphrase ("看护班") find the sentence that says it otherwise ("托管班")
        self.similarity = similarity
        self.dense_weight = dense_weight
        self.search = search
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.candidates = candidates
        self.second_ratio = second_ratio

    # ---- sentence selection -------------------------------------------------------------
    def score_sentences(self, question: str, hits: list[Hit]) -> list[Scored]:
        terms = key_terms(question)
        wants_number = bool(_ASKS_NUMBER.search(question))
        wants_reply = bool(_ASKS_REPLY.search(question))
        wants_now = bool(_ASKS_NOW.search(question))
        out = []
        for rank, h in enumerate(hits[: self.candidates]):
            if h.chunk.section == "meta":
                continue
            ctx = coverage(terms, support_text(h.chunk), self.idf)
            for s in answer_sentences(h.chunk.text):
                if addresses_assistant(s):  # orders to the assistant are data: never quoted as an answer
                    continue
                cov = coverage(terms, s, self.idf)
                score = 0.5 * cov + 0.3 * ctx + 0.2 * char_overlap(question, s) - 0.03 * rank
                if wants_number and not _DIGIT.search(s):
                    score -= 0.15
                if wants_reply and h.chunk.section == "reply":
                    score += 0.1
                if wants_now:
                    score += 0.15 if _CHANGE.search(s) else -0.1 if h.chunk.section == "content" else 0.0
                if COURTESY.search(s):
                    score -= 0.3
                out.append(Scored(score, h.chunk, rank, s))
        if self.similarity is not None and len(out) > 1:
            # relative to the best and worst candidate: cosines of e5 sit in a narrow band
            sims = np.asarray(self.similarity(question, [x.text for x in out]), dtype=np.float32)
            lo, hi = float(sims.min()), float(sims.max())
            if hi > lo:
                for x, v in zip(out, sims):
                    x.score += self.dense_weight * (float(v) - lo) / (hi - lo)
        out.sort(key=lambda x: -x.score)
        return out

    def answer(self, request) -> Answer:
        """The ``Answerer`` call: quote the sentences that answer ``request``'s question."""
        return self.draft(request.query, request.hits, "list" if request.intent == "list" else "fact")

    def draft(self, question: str, hits: list[Hit], intent: str = "fact") -> Answer:
        if intent == "list":
            return self.answer_list(question, hits)
        scored = self.score_sentences(question, hits)
        wants_number = bool(_ASKS_NUMBER.search(question))
        dates_ok = bool(_ASKS_WHEN.search(question))
        # a sentence must answer one of the question's asks: the right kind of figure, of
        # the thing asked, about the subject asked (rag.answer.asks); words the corpus never uses
        # (colloquial paraphrases) cannot be checked this way and are left out
        wanted = asks(question)

        def fits(s: Scored) -> bool:
            if s.score < self.min_score or COURTESY.search(s.text) \
                    or (wants_number and not has_quantity(s.text, dates_ok)):
                return False
            return not wanted or any(answers(a, s.text, s.chunk.heading or "", self.known, self.idf) for a in wanted)

        ok = [s for s in scored[: self.search] if fits(s)]
        if not ok:
            return Answer(question=question, answer=REFUSAL, abstained=True, mode=self.mode, contexts=hits,
                          intent=intent)
        # "怎么答复…" asks for the gist of a reply: allow one more sentence
        limit = self.max_sentences + (1 if _ASKS_HOW.search(question) else 0)
        chosen = [ok[0]]
        # an item heading ("一、推进公交场站充电设施建设。") names a measure without saying what
        # was done: it neither takes a sentence's place nor sets the bar for the next one
        ref = next((s.score for s in ok if not is_item_heading(s.text)), ok[0].score)
        for s in ok[1:]:
            said = sum(1 for c in chosen if not is_item_heading(c.text))
            if said >= limit or s.score < self.second_ratio * ref:
                break
            if s.text != chosen[0].text:
                chosen.append(s)
        # "…建议…，教育局是怎么落实的？": the proposal's words alone do not answer it
        if _ASKS_REPLY.search(question) and all(s.chunk.section != "reply" for s in chosen):
            reply = next((s for s in ok if s.chunk.section == "reply" and s.score >= 0.5 * ok[0].score), None)
            if reply is not None:
                chosen = chosen[: limit - 1] + [reply]
        if uncovered_topic(question, "".join(s.text for s in chosen), self.known):
            return Answer(question=question, answer=REFUSAL, abstained=True, mode=self.mode, contexts=hits,
                          intent=intent)
        # keep source order when both come from one chunk, so the quote reads naturally
        chosen.sort(key=lambda s: (s.rank, s.chunk.text.find(s.text)))
        lines, cites = [], []
        for s in chosen:
            m = str(len(cites) + 1)  # one marker per quoted sentence: each citation carries its own quote
            lead = describe(s.chunk)
            same_lead = lines and lines[-1][0] == lead
            lines.append((lead, f"{quoted(s.text)}[{m}]"))
            cites.append(Citation.of(m, s.chunk, s.text))
            if same_lead:
                lines[-1] = (lead, lines[-1][1])
        text = _join(lines)
        return Answer(question=question, answer=text, abstained=False, mode=self.mode, citations=cites,
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
            wide = copy.copy(self)  # same idf, vocabulary and similarity: only the window widens
            wide.candidates = len(hits)
            more = wide.score_sentences(question, hits)
            for s in more:
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
