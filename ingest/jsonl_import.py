"""Import already-structured proposals from JSONL (one object per line, schema in README).

Each record is rendered into the canonical page layout and parsed like a file, so chunks
from JSONL have the same structure, ids and offsets (into the rendered text) as any other.
"""
from __future__ import annotations

import json
from pathlib import Path

from rag.core.proposal import Proposal
from ingest.parser import parse_text
from rag.core.errors import ErrorCode as E
from rag.core.errors import IngestError

REQUIRED = ("id", "title")


def _strings(rec: dict, key: str, path: str, line: int) -> list[str]:
    v = rec.get(key, [])
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise IngestError(path, f"field {key!r} must be a list of strings", line, code=E.BAD_FIELD,
                          field=key)
    return v


def render(rec: dict, path: str = "<jsonl>", line: int = 0) -> str:
    for k in REQUIRED:
        if not rec.get(k):
            raise IngestError(path, f"missing required field {k!r}", line, code=E.MISSING_FIELD, field=k)
    pid = str(rec["id"])
    if not (len(pid) == 8 and pid.isdigit()):
        raise IngestError(path, f"field 'id' must be 8 digits (year + number), got {pid!r}", line, code=E.BAD_ID)
    out = [f"案由:({pid}){rec['title']}", "内容:"]
    out += [f"  {p}" for p in _strings(rec, "content", path, line)]
    out.append("建议:")
    out += [f"  {p}" for p in _strings(rec, "suggestions", path, line)]
    out.append("提案者 " + "、".join(_strings(rec, "proposers", path, line)))
    replies = rec.get("replies") or []
    if not isinstance(replies, list):
        raise IngestError(path, "field 'replies' must be a list", line, code=E.BAD_FIELD,
                          field="replies")
    out.append("部门答复")
    if not replies and rec.get("reply_status") == "pending":
        out.append("暂无答复")
    for i, r in enumerate(replies):
        if not isinstance(r, dict) or not r.get("department"):
            raise IngestError(path, f"replies[{i}] needs a 'department'", line, code=E.MISSING_FIELD,
                              field=f"replies[{i}].department")
        out += [r["department"], r.get("salutation") or "尊敬的委员:"]
        out += [f"  {p}" for p in _strings(r, "paragraphs", path, line)]
    if rec.get("handling_units"):
        out.append("办理单位 " + ",".join(_strings(rec, "handling_units", path, line)))
    votes = rec.get("votes")
    if votes:
        out += ["网友评价", f"支持 {int(votes.get('support', 0))}   反对 {int(votes.get('oppose', 0))}"]
    return "\n".join(out) + "\n"


def read_jsonl(path: str | Path) -> tuple[list[Proposal], list[IngestError]]:
    """Proposals of a JSONL file; a bad line is an error naming the line, the others still load."""
    path = str(path)
    good: list[Proposal] = []
    bad: list[IngestError] = []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        return [], [IngestError(path, f"cannot read as UTF-8 JSONL: {e}", code=E.UNDECODABLE)]
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
            if not isinstance(rec, dict):
                raise IngestError(path, "a line must be a JSON object", n, code=E.NOT_AN_OBJECT)
            p = parse_text(render(rec, path, n), f"{path}:{n}")
            p.source = f"{path}#L{n}"
            good.append(p)
        except json.JSONDecodeError as e:
            bad.append(IngestError(path, f"invalid JSON: {e.msg} (column {e.colno})", n,
                                   code=E.INVALID_JSON, column=e.colno))
        except IngestError as e:
            bad.append(e if e.path == path else IngestError(path, e.reason, n, code=e.code, **e.params))
    return good, bad
