"""Citation quality, ALCE-style (Gao et al. 2023), over answers in the ``Answer.to_json()`` shape.

Per sentence, *recall*: the sentence has at least one citation and its cited chunks
together support it. Per citation, *precision*: it supports the sentence alone, or the
sentence is supported with it and not without it.

"Supports", offline, is the verdict of the grounding judge the answerers' verifier uses
(``rag/answer/judge.py``: figures, dates, names, each clause's words, polarity and scope)
over the *valid* cited chunks, each with the identity it vouches for (proposal id, title,
proposers, department, heading, year); a citation is valid when its quote occurs verbatim
(normalised) in its chunk, or when it gives no quote. A run file gives the chunk's text in
``contexts``; a chunk not there is looked up in the parsed corpus; when neither knows it,
the quote itself stands in for the chunk and must be verbatim in the proposal's source file.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from evals.corpus import CorpusView
from evals.metrics import is_refusal
from rag.answer.judge import JUDGE, Evidence
from rag.answer.judge import Judge as GroundingJudge
from rag.answer.verify import split_sentences
from rag.core.textnorm import contains, facts_in, norm
from rag.core.types import Chunk
from rag.core.lexicon import MARKER



@dataclass
class CitationVerdict:
    marker: str
    chunk_id: str | None
    proposal_id: str | None
    quote: str
    quote_ok: bool  # the quote is verbatim in its chunk (or, for an unknown chunk, in the source)
    precise: bool = False
    judge_precise: bool | None = None


@dataclass
class SentenceVerdict:
    text: str
    facts: list[str]
    missing: list[str]  # what no valid cited chunk supports (the judge's reason), [] when supported
    supported: bool
    citations: list[CitationVerdict] = field(default_factory=list)
    judge_supported: bool | None = None


@dataclass
class Grounding:
    sentences: list[SentenceVerdict]
    recall: float | None  # None: nothing to score (a refusal, or no claim)
    precision: float | None
    judge_recall: float | None = None
    judge_precision: float | None = None


def is_connective(body: str) -> bool:
    """Lead-ins and list headers ("以下提案与该问题相关：") make no claim; the verifier's rule."""
    b = body.strip()
    return not b or b.endswith((":", "：")) or len(norm(b)) <= 12 or bool(re.fullmatch(r"\d+[.、]\s*", b))


@dataclass
class Cited:
    """What one citation vouches for: its support text, when its quote checks out."""

    verdict: CitationVerdict
    evidence: Evidence | None  # None when the citation is not valid
    passage: str  # the raw chunk text (shown to the LLM judge)


def resolve_citation(cit: dict, contexts: dict[str, dict], corpus: CorpusView | None) -> Cited:
    cid, pid, quote = cit.get("chunk_id"), cit.get("proposal_id"), str(cit.get("quote") or "")
    known = corpus.chunks.get(cid) if corpus and cid else None
    ctx = contexts.get(cid) if cid else None
    text = ctx["text"] if ctx and ctx.get("text") is not None else (known.text if known else None)
    if text is not None:
        ok = not quote or contains(text, quote)  # no quote: the judge alone decides
        chunk = replace(known, text=text) if known else _chunk_like(cit, ctx or {}, text, corpus)
    else:  # a chunk nobody can show: its quote must at least be in the source file
        ok = bool(corpus) and corpus.quote_in_source(quote, pid)  # type: ignore[union-attr]
        chunk, text = _chunk_like(cit, {}, quote, corpus), quote
    v = CitationVerdict(str(cit.get("marker", "")), cid, pid, quote, ok)
    return Cited(v, Evidence.of_chunk(chunk) if ok else None, text)


def _chunk_like(cit: dict, ctx: dict, text: str, corpus: CorpusView | None) -> Chunk:
    pid = str(cit.get("proposal_id") or ctx.get("proposal_id") or "")
    info = corpus.proposals.get(pid) if corpus else None
    return Chunk(id=str(cit.get("chunk_id") or ""), proposal_id=pid, year=info.year if info else 0,
                 title=info.title if info else "", section=str(cit.get("section") or ctx.get("section") or ""),
                 n="", text=text, proposers=info.proposers if info else "",
                 department=cit.get("department") or ctx.get("department"),
                 heading=cit.get("heading") or ctx.get("heading"))


def supports(sentence: str, cited: list[Cited], judge: GroundingJudge = JUDGE) -> tuple[bool, list[str]]:
    """(supported, what is unsupported) for a sentence against a set of citations."""
    valid = [c.evidence for c in cited if c.verdict.quote_ok and c.evidence is not None]
    if not valid:
        return False, ["no valid citation"]
    v = judge.judge(sentence, valid)
    return v.supported, [] if v.supported else [v.item or v.reason]


Judge = Callable[[str, list[str]], bool]  # (sentence, passages) -> do the passages support it?


def grade_citations(answer: dict, corpus: CorpusView | None = None, judge: Judge | None = None) -> Grounding:
    if is_refusal(answer):
        return Grounding([], None, None)
    contexts = {c.get("chunk_id"): c for c in answer.get("contexts") or [] if isinstance(c, dict)}
    by_marker = {str(c.get("marker")): c for c in answer.get("citations") or [] if isinstance(c, dict)}
    sentences: list[SentenceVerdict] = []
    for sent in split_sentences(str(answer.get("answer") or "")):
        body = MARKER.sub("", sent).strip()
        markers = list(dict.fromkeys(MARKER.findall(sent)))
        if is_connective(body) and not markers:
            continue
        cited = [resolve_citation(by_marker[m], contexts, corpus) if m in by_marker
                 else Cited(CitationVerdict(m, None, None, "", False), None, "") for m in markers]
        facts = facts_in(body)
        ok, missing = supports(body, cited)
        for c in cited:
            alone, _ = supports(body, [c])
            without, _ = supports(body, [o for o in cited if o is not c])
            c.verdict.precise = alone or (ok and not without)
        sv = SentenceVerdict(body, facts, missing, ok, [c.verdict for c in cited])
        if judge is not None:
            _judge_sentence(sv, cited, judge)
        sentences.append(sv)
    cits = [c for s in sentences for c in s.citations]
    g = Grounding(sentences, _mean([s.supported for s in sentences]), _mean([c.precise for c in cits]))
    if judge is not None:
        g.judge_recall = _mean([s.judge_supported for s in sentences])
        g.judge_precision = _mean([c.judge_precise for c in cits])
    return g


def _judge_sentence(sv: SentenceVerdict, cited: list[Cited], judge: Judge) -> None:
    passages = [c.passage for c in cited if c.passage]
    sv.judge_supported = bool(passages) and judge(sv.text, passages)
    for c in cited:
        if not c.passage:
            c.verdict.judge_precise = False
            continue
        alone = judge(sv.text, [c.passage])
        others = [o.passage for o in cited if o is not c and o.passage]
        needed = sv.judge_supported and not (others and judge(sv.text, others))
        c.verdict.judge_precise = alone or needed


def _mean(xs: list) -> float | None:
    xs = [float(x) for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None
