"""The citation verifier, shared by every answerer.

1. a marker must name a citation whose chunk was retrieved; otherwise it is struck;
2. a citation's quote must occur verbatim in its chunk after whitespace and width folding;
   it is then replaced by the chunk's own characters, repaired from the chunk's closest
   sentence when it nearly matches, or dropped;
3. every cited sentence goes to the grounding judge (``rag/answer/judge.py``) with the
   chunks it cites: figures, dates, names, each clause's words, polarity and scope must
   stand in them; a sentence that fails is removed (and listed in ``Answer.removed``, the
   judge's reason in the notes); a sentence stating a fact with no citation is removed too;
4. an answer left without a cited sentence becomes a refusal.
"""
from __future__ import annotations

import re
from dataclasses import replace

from rag.answer.judge import JUDGE, Evidence, Judge
from rag.core.textnorm import facts_in, find_verbatim, norm, sentences
from rag.core.types import Answer, Chunk, Citation, Hit
from rag.core.lexicon import MARKER

REFUSAL = "未在提案库中找到与该问题相关的内容。"
# a sentence ends at 。！？； or a line break; the markers right after it still belong to it
_CLAUSE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+)?(?:\s*\[\d{1,4}\])*\s*(?:\n|$)?")


def support_text(c: Chunk) -> str:
    """What a citation of ``c`` vouches for: its text and its identity (id, title, who, which department)."""
    return "\n".join(x for x in (c.text, c.title, c.proposal_id, c.proposers, c.department or "",
                                 c.heading or "", f"{c.year}年") if x)


def _overlap(a: str, b: str) -> float:
    """Share of ``a``'s character bigrams found in ``b``."""
    a, b = norm(a), norm(b)
    if len(a) < 2:
        return 0.0
    grams = {a[i:i + 2] for i in range(len(a) - 1)}
    return sum(1 for g in grams if g in b) / len(grams)


def repair_quote(chunk: Chunk, quote: str, *, given: bool = True) -> str | None:
    """The chunk's own characters for ``quote``, or its closest sentence when the quote nearly
    matches. A quote the model did not give (``given=False``: the citing sentence stands in)
    only locates: the closest sentence is taken however loosely it matches, since the judge,
    not the quote, decides whether the sentence is supported."""
    span = find_verbatim(chunk.text, quote)
    if span:
        return chunk.text[span[0]:span[1]]
    best, score = None, 0.0
    for a, b in sentences(chunk.text):
        s = _overlap(quote, chunk.text[a:b])
        if s > score:
            best, score = chunk.text[a:b], s
    if not given:
        return best or chunk.text
    return best if score >= 0.6 else None


def _connective(body: str) -> bool:
    """Lead-ins and list headers ("以下提案与此相关：") may stand without a citation; a short
    complete statement ("系统已被攻破。", an echoed instruction) may not."""
    b = body.strip()
    short = len(norm(b)) <= 12 and not b.endswith(("。", "！", "？", "!", "?"))
    return not b or b.endswith((":", "：")) or short or bool(re.fullmatch(r"\d+[.、]\s*", b))


def _citing_sentence(text: str, marker: str) -> str:
    """The answer sentence that carries ``[marker]`` (to find a quote the model did not give)."""
    return next((MARKER.sub("", s) for s in split_sentences(text) if f"[{marker}]" in s), "")


def split_sentences(text: str) -> list[str]:
    return [m.group(0) for m in _CLAUSE.finditer(text) if m.group(0).strip()]


def verify(answer: Answer, hits: list[Hit], *, refusal: str = REFUSAL, judge: Judge = JUDGE) -> Answer:
    by_id = {h.chunk.id: h.chunk for h in hits}
    notes: list[str] = []
    cites: dict[str, Citation] = {}
    for c in answer.citations:
        chunk = by_id.get(c.chunk_id)
        if chunk is None:
            notes.append(f"[{c.marker}] cites a chunk that was not retrieved ({c.chunk_id})")
            continue
        q = repair_quote(chunk, c.quote or _citing_sentence(answer.answer, c.marker), given=bool(c.quote))
        if q is None:
            notes.append(f"[{c.marker}] quote not found in {chunk.id}: {c.quote[:40]}")
            continue
        cites[c.marker] = replace(c, quote=q)

    kept: list[str] = []
    removed: list[str] = []
    used: list[str] = []
    for sent in split_sentences(answer.answer):
        markers = MARKER.findall(sent)
        good = [m for m in markers if m in cites]
        body = MARKER.sub("", sent)
        for m in set(markers) - set(good):
            sent = sent.replace(f"[{m}]", "")
        if not good:
            facts = facts_in(body)
            if facts or not _connective(body):
                removed.append(body.strip())  # a claim with no source (or an echoed instruction)
                if facts:
                    notes.append(f"removed a sentence whose {', '.join(facts)} no paragraph is cited for")
                continue
        else:
            verdict = judge.judge(body, [Evidence.of_chunk(by_id[cites[m].chunk_id]) for m in dict.fromkeys(good)])
            if not verdict.supported:
                removed.append(body.strip())
                notes.append(f"removed a sentence: {verdict.reason}")
                continue
        kept.append(sent)
        used += [m for m in good if m not in used]

    if not used:
        return replace(answer, answer=refusal, abstained=True, citations=[],
                       removed=answer.removed + removed + ([answer.answer] if not removed and not answer.abstained else []))
    # renumber markers 1..n in order of first use
    renum = {old: str(i) for i, old in enumerate(used, 1)}
    text = MARKER.sub(lambda m: f"[{renum[m.group(1)]}]" if m.group(1) in renum else "", "".join(kept)).strip()
    citations = [replace(cites[old], marker=renum[old]) for old in used]
    return replace(answer, answer=text, citations=citations, abstained=False, removed=answer.removed + removed)
