"""Which reply paragraphs answer which suggestion of a proposal.

For each 建议 of a replied proposal, every reply paragraph (all departments, boilerplate
left out) is scored against it: idf-weighted coverage of the suggestion's topic words plus
embedding similarity of the bare paragraphs (through the embedding cache). A
match is ``addressed`` when it is close and reports work done with something concrete
(a figure, a date, a named document), ``mentioned`` when it is related but only promises or
talks in general; a suggestion with no match is ``not_addressed``. ``align_all`` turns this
into a corpus report of unaddressed suggestions by department and year.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rag.core.errors import ErrorCode, RequestError
from rag.core.terms import coverage
from rag.staff.outline import _item_heading, _unit, is_boilerplate, label_of, reply_kind, topic_terms
from rag.core.textnorm import facts_in
from rag.core.types import Chunk

if TYPE_CHECKING:
    from rag.answer.assistant import Assistant

ADDRESSED, MENTIONED, NOT_ADDRESSED = "addressed", "mentioned", "not_addressed"
VERDICT_ZH = {ADDRESSED: "已具体回应", MENTIONED: "有所提及", NOT_ADDRESSED: "未回应"}
_RANK = {ADDRESSED: 2, MENTIONED: 1, NOT_ADDRESSED: 0}


@dataclass(frozen=True)
class ReplyMatch:
    chunk: Chunk
    score: float
    verdict: str  # addressed | mentioned

    def to_json(self) -> dict:
        c = self.chunk
        return {"chunk_id": c.id, "department": c.department, "heading": c.heading, "text": c.text,
                "score": round(self.score, 4), "verdict": self.verdict}


@dataclass
class SuggestionAlignment:
    suggestion: Chunk
    matches: list[ReplyMatch] = field(default_factory=list)  # addressed before mentioned, best first
    verdict: str = NOT_ADDRESSED

    def to_json(self) -> dict:
        return {"chunk_id": self.suggestion.id, "suggestion": self.suggestion.text, "verdict": self.verdict,
                "matches": [m.to_json() for m in self.matches]}


@dataclass
class Aligner:
    """Scoring weights and verdict thresholds, tuned on the hand-labelled pairs in
    tests/test_align.py (docs/staff.md)."""

    lexical_weight: float = 0.7
    dense_weight: float = 0.3
    dense_low: float = 0.90  # passage–passage e5 cosines of paragraphs on one proposal start about here
    dense_high: float = 0.97
    mention: float = 0.25  # score from which a paragraph counts as related
    concrete: float = 0.35  # score from which a paragraph reporting figures counts as an answer
    relative: float = 0.6  # a match must reach this share of the suggestion's best score
    max_matches: int = 3

    def score(self, assistant: "Assistant", suggestions: list[Chunk], replies: list[Chunk]) -> np.ndarray:
        """suggestions × replies scores in [0, 1]."""
        if not suggestions or not replies:
            return np.zeros((len(suggestions), len(replies)))
        idf = assistant.index.bm25.idf
        emb = assistant.index.embedder
        # the bare text: the indexed text starts with the proposal's title, which every pair shares
        vs = np.array([_unit(v) for v in emb.embed_passages([c.text for c in suggestions])])
        vr = np.array([_unit(v) for v in emb.embed_passages([c.text for c in replies])])
        dense = np.clip((vs @ vr.T - self.dense_low) / (self.dense_high - self.dense_low), 0, 1)
        lex = np.array([[coverage(topic_terms(s.text), r.text + _item_heading(r), idf) for r in replies]
                        for s in suggestions])
        return self.lexical_weight * lex + self.dense_weight * dense

    def verdict(self, chunk: Chunk, score: float) -> str | None:
        if score >= self.concrete and reply_kind(chunk) == "measure" and facts_in(chunk.text):
            return ADDRESSED
        return MENTIONED if score >= self.mention else None

    def align(self, assistant: "Assistant", suggestions: list[Chunk], replies: list[Chunk]) -> list[SuggestionAlignment]:
        replies = [r for r in replies if not is_boilerplate(r)]
        scores = self.score(assistant, suggestions, replies)
        out = []
        for i, s in enumerate(suggestions):
            row = scores[i] if len(replies) else np.zeros(0)
            best = float(row.max()) if len(row) else 0.0
            matches = []
            for j in np.argsort(-row, kind="stable"):
                sc = float(row[j])
                v = self.verdict(replies[j], sc) if sc >= self.relative * best else None
                if v is not None:
                    matches.append(ReplyMatch(replies[j], sc, v))
                if len(matches) >= self.max_matches:
                    break
            matches.sort(key=lambda m: (-_RANK[m.verdict], -m.score))  # concrete answers first
            verdict = matches[0].verdict if matches else NOT_ADDRESSED
            out.append(SuggestionAlignment(s, matches, verdict))
        return out


def align_proposal(assistant: "Assistant", pid: str, *, aligner: Aligner | None = None) -> list[SuggestionAlignment]:
    """For each suggestion of proposal ``pid``, the reply paragraphs that answer it."""
    assistant.index.ensure_ready()
    p = assistant.catalogue.proposal(pid)
    if p is None:
        raise RequestError(f"no proposal {pid} in the index", code=ErrorCode.UNKNOWN_PROPOSAL, id=pid, hint="see `proposals stats` or ingest it first")
    if p.reply_status != "answered":
        raise RequestError(f"proposal {pid} has no reply to align ({p.reply_status})",
                           code=ErrorCode.NOTHING_TO_ALIGN, id=pid, what="答复")
    chunks = assistant.catalogue.proposal_chunks(pid)
    suggestions = [c for c in chunks if c.section == "suggestion"]
    if not suggestions:
        raise RequestError(f"proposal {pid} has no 建议 paragraphs to align", code=ErrorCode.NOTHING_TO_ALIGN,
                           id=pid, what="建议")
    return (aligner or Aligner()).align(assistant, suggestions, [c for c in chunks if c.section == "reply"])


@dataclass
class UnaddressedItem:
    proposal_id: str
    title: str
    year: int
    department: str  # the lead handling unit (first replying department when none is listed)
    suggestion: Chunk
    verdict: str


@dataclass
class AlignmentReport:
    proposals: int  # replied proposals aligned
    suggestions: int
    counts: dict[str, int]  # verdict → suggestions
    items: list[UnaddressedItem]  # suggestions not addressed
    skipped: list[str] = field(default_factory=list)  # proposals without a reply or without 建议

    def by_department_year(self) -> dict[tuple[str, int], list[UnaddressedItem]]:
        groups: dict[tuple[str, int], list[UnaddressedItem]] = defaultdict(list)
        for it in self.items:
            groups[(it.department, it.year)].append(it)
        return dict(sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1])))

    def to_json(self) -> dict:
        return {
            "proposals": self.proposals, "suggestions": self.suggestions, "counts": self.counts,
            "skipped": self.skipped,
            "unaddressed": [
                {"department": d, "year": y,
                 "items": [{"proposal_id": it.proposal_id, "title": it.title, "chunk_id": it.suggestion.id,
                            "suggestion": it.suggestion.text} for it in items]}
                for (d, y), items in self.by_department_year().items()],
        }

    def markdown(self) -> str:
        c = self.counts
        lines = ["# 建议答复情况报告", "",
                 f"共比对已答复提案 {self.proposals} 件、建议 {self.suggestions} 条：已具体回应 {c.get(ADDRESSED, 0)} 条，"
                 f"有所提及 {c.get(MENTIONED, 0)} 条，未回应 {c.get(NOT_ADDRESSED, 0)} 条。", ""]
        if not self.items:
            lines.append("没有未回应的建议。")
        else:
            lines += ["| 办理单位 | 年份 | 未回应建议 |", "|---|---|---|"]
            groups = self.by_department_year()
            for (d, y), items in groups.items():
                lines.append(f"| {d} | {y} | {len(items)} |")
            for (d, y), items in groups.items():
                lines += ["", f"## {d} · {y}年", ""]
                lines += [f"- 提案{it.proposal_id}《{it.title}》：{label_of(it.suggestion.text)}" for it in items]
        if self.skipped:
            lines += ["", f"未比对（无答复或无建议）：{'、'.join(self.skipped)}"]
        return "\n".join(lines) + "\n"


def align_all(assistant: "Assistant", *, aligner: Aligner | None = None) -> AlignmentReport:
    """Suggestions no reply paragraph answers, over every replied proposal in the corpus."""
    assistant.index.ensure_ready()
    al = aligner or Aligner()
    counts = {ADDRESSED: 0, MENTIONED: 0, NOT_ADDRESSED: 0}
    items: list[UnaddressedItem] = []
    aligned = total = 0
    skipped = []
    for row in sorted(assistant.catalogue.rows(), key=lambda r: r["id"]):
        chunks = assistant.catalogue.proposal_chunks(row["id"])
        suggestions = [c for c in chunks if c.section == "suggestion"]
        if row["reply_status"] != "answered" or not suggestions:
            skipped.append(row["id"])
            continue
        aligned += 1
        lead = (row["handling_units"] or row["departments"] or ["（未注明）"])[0]
        for a in al.align(assistant, suggestions, [c for c in chunks if c.section == "reply"]):
            total += 1
            counts[a.verdict] += 1
            if a.verdict == NOT_ADDRESSED:
                items.append(UnaddressedItem(row["id"], row["title"], row["year"], lead, a.suggestion, a.verdict))
    return AlignmentReport(aligned, total, counts, items, skipped)


__all__ = ["align_proposal", "align_all", "Aligner", "AlignmentReport", "SuggestionAlignment", "ReplyMatch",
           "ADDRESSED", "MENTIONED", "NOT_ADDRESSED", "VERDICT_ZH"]
