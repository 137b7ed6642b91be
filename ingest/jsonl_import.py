"""Import already-structured proposals from JSONL (one object per line, schema in README).

Each record is validated by the pydantic models below (a bad record is an error naming the
file, the line and the field; the other records still load), rendered into the canonical
page layout and parsed like a file, so chunks from JSONL have the same structure, ids and
offsets (into the rendered text) as any other. A rendered record must parse back to what it
holds: a value that would open a section of its own (a line break in a title, a paragraph
starting with ``建议:``) is an error, never a silent change of the layout.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from rag.core.proposal import Proposal
from ingest.parser import parse_text
from rag.core.errors import ErrorCode as E
from rag.core.errors import IngestError

_BREAK = re.compile(r"[\r\n\u0085\u2028\u2029\x0b\x0c]")


def _one_line(v: str) -> str:
    if _BREAK.search(v):
        raise ValueError("must be one line (it contains a line break)")
    return v.strip()


def _department_line(v: str) -> str:
    # the parser knows a department line by being short and without sentence punctuation
    if len(v) > 40 or re.search(r"[。，,；;]", v):
        raise ValueError("must be a department name (at most 40 characters, no 。，；)")
    return v


def _salutation(v: str) -> str:
    if v and not v.startswith("尊敬的"):
        raise ValueError("must start with 尊敬的 (e.g. 尊敬的张三委员:)")
    return v


Line = Annotated[StrictStr, AfterValidator(_one_line)]
Names = Union[list[Line], Line]
Paragraphs = Union[list[StrictStr], StrictStr]  # a paragraph with line breaks becomes several


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class VotesRecord(_Record):
    support: StrictInt = Field(0, ge=0)
    oppose: StrictInt = Field(0, ge=0)


class ReplyRecord(_Record):
    department: Annotated[Line, Field(min_length=1), AfterValidator(_department_line)]
    salutation: Annotated[Line, AfterValidator(_salutation)] | None = None
    paragraphs: Paragraphs = []


class ProposalRecord(_Record):
    id: Annotated[Union[StrictStr, StrictInt], AfterValidator(lambda v: _one_line(str(v)))]
    title: Annotated[Line, Field(min_length=1)]
    proposers: Names = []
    content: Paragraphs = []
    suggestions: Paragraphs = []
    replies: list[ReplyRecord] = []
    handling_units: Names = []
    votes: VotesRecord | None = None
    reply_status: Literal["pending", "answered", "none"] | None = None


def _lines(v: list[str] | str) -> list[str]:
    items = [v] if isinstance(v, str) else v
    return [ln.strip() for item in items for ln in _BREAK.split(item) if ln.strip()]


def _names(v: list[str] | str) -> list[str]:
    return [x for x in ([v] if isinstance(v, str) else v) if x]


def field_name(loc: tuple) -> str:
    """('replies', 0, 'department') → replies[0].department (union branch names dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "int") or "[" in part or "(" in part:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "record"


def validate(rec: object, path: str, line: int) -> ProposalRecord:
    if not isinstance(rec, dict):
        raise IngestError(path, "a line must be a JSON object", line, code=E.NOT_AN_OBJECT)
    try:
        return ProposalRecord.model_validate(rec)
    except ValidationError as e:
        err = e.errors()[0]
        pid = rec.get("id")
        who = f"proposal {pid}: " if isinstance(pid, (str, int)) and str(pid).strip() else ""
        msg = re.sub(r" or instance of \w+", " (an object)", err["msg"].removeprefix("Value error, "))
        if err["type"] == "missing":
            raise IngestError(path, f"{who}missing required field {field_name(err['loc'])!r}", line,
                              code=E.MISSING_FIELD, field=field_name(err["loc"])) from None
        raise IngestError(path, f"{who}field {field_name(err['loc'])!r}: {msg}", line,
                          code=E.BAD_FIELD, field=field_name(err["loc"])) from None


def render(rec: dict | ProposalRecord, path: str = "<jsonl>", line: int = 0) -> str:
    r = rec if isinstance(rec, ProposalRecord) else validate(rec, path, line)
    pid = r.id
    if not (len(pid) == 8 and pid.isdigit()):
        raise IngestError(path, f"field 'id' must be 8 digits (year + number), got {pid!r}", line, code=E.BAD_ID)
    out = [f"案由:({pid}){r.title}", "内容:"]
    out += [f"  {p}" for p in _lines(r.content)]
    out.append("建议:")
    out += [f"  {p}" for p in _lines(r.suggestions)]
    out.append("提案者 " + "、".join(_names(r.proposers)))
    out.append("部门答复")
    if not r.replies and r.reply_status == "pending":
        out.append("暂无答复")
    for rep in r.replies:
        out += [rep.department, rep.salutation or "尊敬的委员:"]
        out += [f"  {p}" for p in _lines(rep.paragraphs)]
    if _names(r.handling_units):
        out.append("办理单位 " + ",".join(_names(r.handling_units)))
    if r.votes is not None:
        out += ["网友评价", f"支持 {r.votes.support}   反对 {r.votes.oppose}"]
    return "\n".join(out) + "\n"


def _check_round_trip(r: ProposalRecord, p: Proposal, path: str, line: int) -> None:
    """The parsed proposal holds exactly the record's paragraphs (no value opened a section)."""
    want = {"content": len(_lines(r.content)), "suggestions": len(_lines(r.suggestions)),
            "replies": len(r.replies)}
    got = {"content": len(p.content), "suggestions": len(p.suggestions), "replies": len(p.replies)}
    for k in want:
        if want[k] != got[k]:
            raise IngestError(path, f"proposal {r.id}: field {k!r} has {want[k]} paragraphs but {got[k]} were "
                                    "read back: a value starts with a section label (案由/内容/建议/提案者/"
                                    "部门答复/办理单位/网友评价) or a salutation", line,
                              code=E.BAD_FIELD, field=k)
    for i, (rep, parsed) in enumerate(zip(r.replies, p.replies)):
        if len(_lines(rep.paragraphs)) != len(parsed.paragraphs):
            raise IngestError(path, f"proposal {r.id}: field 'replies[{i}].paragraphs' does not read back "
                                    "as written (a paragraph starts with a section label or 尊敬的)", line,
                              code=E.BAD_FIELD, field=f"replies[{i}].paragraphs")


def read_jsonl(path: str | Path) -> tuple[list[Proposal], list[IngestError]]:
    """Proposals of a JSONL file; a bad line is an error naming the line, the others still load."""
    path = str(path)
    good: list[Proposal] = []
    bad: list[IngestError] = []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        return [], [IngestError(path, f"cannot read as UTF-8 JSONL: {e}", code=E.UNDECODABLE)]
    for n, raw in enumerate(text.split("\n"), 1):  # JSON escapes line breaks: only \n ends a record
        if not raw.strip():
            continue
        try:
            rec = validate(json.loads(raw), path, n)
            p = parse_text(render(rec, path, n), f"{path}:{n}")
            _check_round_trip(rec, p, path, n)
            p.source = f"{path}#L{n}"
            good.append(p)
        except json.JSONDecodeError as e:
            bad.append(IngestError(path, f"invalid JSON: {e.msg} (column {e.colno})", n,
                                   code=E.INVALID_JSON, column=e.colno))
        except IngestError as e:
            bad.append(e if e.path == path else IngestError(path, e.reason, n, code=e.code, **e.params))
    return good, bad
