"""The data that crosses module boundaries (Chunk → Hit → Answer → Citation) and the ``Retriever`` seam.

The ``Answerer`` seam is in ``rag.answer.answerer``; the store surface in ``rag.stores.index``.

Everything else (stores, retrievers, answerers, UI, evals) plugs into these.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol, runtime_checkable

Section = Literal["content", "suggestion", "reply", "meta"]
SECTIONS: tuple[str, ...] = ("content", "suggestion", "reply", "meta")


def meta_chunk_id(proposal_id: str) -> str:
    """The id of a proposal's ``meta`` chunk (its header lines)."""
    return f"{proposal_id}:meta:0"


HEADING_SEP = " › "  # joins a chunk's heading path: "市教育局 › 一、… › （一）…"


def proposal_of(chunk_id: str) -> str:
    """The proposal id a chunk id starts with."""
    return chunk_id.split(":", 1)[0]


@dataclass(frozen=True)
class Chunk:
    """One paragraph (or part of one) of one proposal, with where it came from.

    ``text`` is verbatim: ``source_text[start:end] == text`` for every chunk but the
    synthetic ``meta`` chunk (start == end == -1), which joins verbatim header lines.
    """

    id: str  # <proposal>:<section>[:<department>]:<n>
    proposal_id: str
    year: int
    title: str
    section: str
    n: str  # paragraph number within its section, "12" or "12.2" for a split part
    text: str
    proposers: str = ""  # joined with 、
    department: str | None = None
    heading: str | None = None  # heading path joined with HEADING_SEP
    handling_units: str = ""  # joined with ,
    source: str = ""
    start: int = -1
    end: int = -1
    context: str = ""  # short header embedded/indexed with the text, never quoted

    @property
    def indexed_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text

    def metadata(self) -> dict[str, str | int]:
        """Scalar-only metadata (vector stores reject lists and None)."""
        from rag.core.departments import department_key

        return {
            "proposal_id": self.proposal_id,
            "year": self.year,
            "title": self.title,
            "section": self.section,
            "n": self.n,
            "proposers": self.proposers,
            "department": self.department or "",
            "department_key": department_key(self.department) if self.department else "",
            "heading": self.heading or "",
            "handling_units": self.handling_units,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "context": self.context,
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, md: dict) -> "Chunk":
        return cls(
            id=chunk_id, text=text,
            proposal_id=str(md["proposal_id"]), year=int(md["year"]), title=str(md["title"]),
            section=str(md["section"]), n=str(md["n"]), proposers=str(md.get("proposers", "")),
            department=md.get("department") or None, heading=md.get("heading") or None,
            handling_units=str(md.get("handling_units", "")), source=str(md.get("source", "")),
            start=int(md.get("start", -1)), end=int(md.get("end", -1)),
            context=str(md.get("context", "")),
        )


@dataclass(frozen=True)
class Filters:
    """Restrictions on what may be retrieved. ``None`` means unrestricted."""

    year: int | None = None
    department: str | None = None
    proposer: str | None = None
    section: str | None = None
    proposal_id: str | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in asdict(self).values())

    def merged(self, other: "Filters | None") -> "Filters":
        """``other``'s set fields win."""
        if other is None:
            return self
        mine = asdict(self)
        mine.update({k: v for k, v in asdict(other).items() if v is not None})
        return Filters(**mine)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    retriever: str = ""


@dataclass(frozen=True)
class Citation:
    marker: str
    chunk_id: str
    proposal_id: str
    section: str
    department: str | None
    heading: str | None
    quote: str

    @classmethod
    def of(cls, marker: str, chunk: Chunk, quote: str) -> "Citation":
        return cls(marker, chunk.id, chunk.proposal_id, chunk.section, chunk.department,
                   chunk.heading, quote)


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    mode: str  # "extractive" | "llm"
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    id: str | None = None
    intent: str = "fact"
    notice: str | None = None  # e.g. the LLM failed and the extractive answer stands in
    leads: list[str] = field(default_factory=list)  # nearest proposal ids offered on refusal
    removed: list[str] = field(default_factory=list)  # sentences the verifier struck out

    def to_json(self) -> dict:
        """The documented JSON contract (README "JSON contract")."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "mode": self.mode,
            "intent": self.intent,
            "notice": self.notice,
            "leads": self.leads,
            "citations": [asdict(c) for c in self.citations],
            "contexts": [
                {"chunk_id": h.chunk.id, "proposal_id": h.chunk.proposal_id,
                 "section": h.chunk.section, "department": h.chunk.department,
                 "heading": h.chunk.heading, "text": h.chunk.text, "score": round(float(h.score), 6)}
                for h in self.contexts
            ],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@runtime_checkable
class Retriever(Protocol):
    name: str

    def retrieve(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """At most ``k`` hits, best first, unique chunk ids, honouring ``filters``."""
        ...

    def warm(self) -> None:
        """Load now what the first question would (a model, a column cache over every chunk)."""
        ...
