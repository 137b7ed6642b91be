"""The parsed structure of one proposal."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

REPLY_STATUS_ZH = {"answered": "已答复", "pending": "暂无答复", "none": "无答复"}  # reply_status as shown


@dataclass
class Paragraph:
    text: str  # verbatim (indentation stripped)
    start: int = -1  # character offsets into the decoded file text
    end: int = -1
    heading: tuple[str, ...] = ()  # enclosing headings, outermost first (own heading last)
    is_heading: bool = False  # a line that is only a heading, e.g. "一、办理工作举措及成效"
    line: int = 0


@dataclass
class Reply:
    department: str
    salutation: str = ""
    paragraphs: list[Paragraph] = field(default_factory=list)
    line: int = 0


@dataclass
class Proposal:
    id: str
    year: int
    title: str
    proposers: list[str] = field(default_factory=list)
    content: list[Paragraph] = field(default_factory=list)
    suggestions: list[Paragraph] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    handling_units: list[str] = field(default_factory=list)
    votes: tuple[int, int] | None = None  # (support, oppose)
    reply_status: str = "none"  # answered | pending (暂无答复) | none (no reply block)
    source: str = ""
    text: str = ""  # the decoded file text the offsets point into
    header_lines: dict[str, str] = field(default_factory=dict)  # verbatim 案由/提案者/办理单位/... lines

    @property
    def departments(self) -> list[str]:
        return [r.department for r in self.replies]

    def to_dict(self, with_text: bool = False) -> dict:
        d = asdict(self)
        if not with_text:
            d.pop("text")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Proposal":
        def para(p: dict) -> Paragraph:
            return Paragraph(text=p["text"], start=p.get("start", -1), end=p.get("end", -1),
                             heading=tuple(p.get("heading", ())), is_heading=p.get("is_heading", False),
                             line=p.get("line", 0))
        return cls(
            id=str(d["id"]), year=int(d["year"]), title=d["title"],
            proposers=list(d.get("proposers", [])),
            content=[para(p) for p in d.get("content", [])],
            suggestions=[para(p) for p in d.get("suggestions", [])],
            replies=[Reply(department=r["department"], salutation=r.get("salutation", ""),
                           paragraphs=[para(p) for p in r.get("paragraphs", [])], line=r.get("line", 0))
                     for r in d.get("replies", [])],
            handling_units=list(d.get("handling_units", [])),
            votes=tuple(d["votes"]) if d.get("votes") else None,
            reply_status=d.get("reply_status", "none"), source=d.get("source", ""),
            text=d.get("text", ""), header_lines=dict(d.get("header_lines", {})),
        )
