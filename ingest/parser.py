"""Parse the scraped page layout of a Dongguan CPPCC proposal into a ``Proposal``.

The layout (see ``samples/README.md``): 案由 / 内容 / 建议 / 提案者 / 部门答复 (one block per
department: name line, 尊敬的… line, body) / 办理单位 / 网友评价. Real files vary: ``:`` or ``：``,
spaced labels (``内    容``), NBSP, half- or full-width brackets, GB18030 or UTF-8 (with BOM).
Every paragraph keeps its character offsets into the decoded text.
"""
from __future__ import annotations

import re
from pathlib import Path

from ingest.documents import read_document
from ingest.layout import LABELS, heading_of
from ingest.layout import SALUTATION as _SALUTATION
from rag.core.proposal import Paragraph, Proposal, Reply
from rag.core.errors import ErrorCode as E
from rag.core.errors import IngestError

MAX_PARAGRAPH_CHARS = 20_000
_CASE = re.compile(r"^[(（]\s*(\d{8})\s*[)）]\s*(.*)$")
_VOTES = re.compile(r"支持\s*(\d+)\s*反对\s*(\d+)")
_SPLIT_NAMES = re.compile(r"[、,，;；/]+|\s{1,}")
_SPLIT_UNITS = re.compile(r"[、,，;；]+")
_PENDING = re.compile(r"^暂无答复")


class _Lines:
    """Lines of the text with their offsets and 1-based numbers."""

    def __init__(self, text: str):
        self.items: list[tuple[int, int, str]] = []  # (line number, start offset, raw line)
        pos = 0
        for i, raw in enumerate(text.splitlines(keepends=True), 1):
            self.items.append((i, pos, raw.rstrip("\r\n")))
            pos += len(raw)


def _strip_span(raw: str, start: int, offset: int = 0) -> tuple[str, int, int]:
    """Trim whitespace (NBSP, U+3000 too) from ``raw[offset:]``; return text and absolute span."""
    seg = raw[offset:]
    left = len(seg) - len(seg.lstrip(" \t\u00a0\u3000"))
    body = seg.strip(" \t\u00a0\u3000")
    a = start + offset + left
    return body, a, a + len(body)


def parse_text(text: str, source: str = "<text>", *, require_id: bool = True) -> Proposal:
    lines = _Lines(text).items
    section = None
    pid = title = None
    year = 0
    p = Proposal(id="", year=0, title="", source=source, text=text)
    reply: Reply | None = None
    heading_stack: list[tuple[int, str]] = []
    case_line = 0

    def para(raw: str, start: int, lineno: int, offset: int = 0, with_heading: bool = True) -> Paragraph | None:
        body, a, b = _strip_span(raw, start, offset)
        if not body:
            return None
        if len(body) > MAX_PARAGRAPH_CHARS:
            raise IngestError(source, f"paragraph of {len(body):,} characters (limit {MAX_PARAGRAPH_CHARS:,})",
                              lineno, code=E.PARAGRAPH_TOO_LONG, limit=MAX_PARAGRAPH_CHARS)
        path: tuple[str, ...] = ()
        only = False
        if with_heading:
            h = heading_of(body)
            if h:
                rank, htext, only = h
                while heading_stack and heading_stack[-1][0] >= rank:
                    heading_stack.pop()
                heading_stack.append((rank, htext))
            path = tuple(t for _, t in heading_stack)
        return Paragraph(text=body, start=a, end=b, heading=path, is_heading=only, line=lineno)

    for idx, (lineno, start, raw) in enumerate(lines):
        label = None
        m = None
        for name, pat in LABELS.items():
            m = pat.match(raw)
            if m and (name != "建议" or section in (None, "title", "content")) and (
                    name != "内容" or section in (None, "title")):
                label = name
                break
        if label and section == "replies" and label not in ("办理单位", "网友评价"):
            label = None  # "建议" at the start of a reply paragraph is text, not a header
        if label:
            rest_off = m.end()  # type: ignore[union-attr]
            rest = raw[rest_off:].strip(" \t\u00a0\u3000")
            if label == "案由":
                cm = _CASE.match(rest)
                case_line = lineno
                if not cm:
                    if require_id:
                        raise IngestError(source, "案由 line has no proposal id in brackets, "
                                                  "expected '案由:(20230127)标题'", lineno, code=E.NO_PROPOSAL_ID)
                    title = rest
                else:
                    pid, title = cm.group(1), cm.group(2).strip()
                    year = int(pid[:4])
                p.header_lines["案由"] = raw.strip(" \t\u00a0\u3000")
                section = "title"
            elif label == "内容":
                section = "content"
                heading_stack.clear()
                if rest:
                    pp = para(raw, start, lineno, rest_off)
                    if pp:
                        p.content.append(pp)
            elif label == "建议":
                section = "suggestions"
                if rest:
                    pp = para(raw, start, lineno, rest_off, with_heading=False)
                    if pp:
                        p.suggestions.append(pp)
            elif label == "提案者":
                section = "proposers"
                p.proposers = [n for n in _SPLIT_NAMES.split(rest) if n]
                p.header_lines["提案者"] = raw.strip(" \t\u00a0\u3000")
            elif label == "部门答复":
                section = "replies"
                p.header_lines["部门答复"] = raw.strip(" \t\u00a0\u3000")
            elif label == "办理单位":
                section = "units"
                p.handling_units = [u.strip() for u in _SPLIT_UNITS.split(rest) if u.strip()]
                p.header_lines["办理单位"] = raw.strip(" \t\u00a0\u3000")
            elif label == "网友评价":
                section = "votes"
                p.header_lines["网友评价"] = raw.strip(" \t\u00a0\u3000")
                vm = _VOTES.search(rest)
                if vm:
                    p.votes = (int(vm.group(1)), int(vm.group(2)))
            continue

        body = raw.strip(" \t\u00a0\u3000")
        if not body:
            continue
        if section is None:
            raise IngestError(source, "missing 案由 line: the file must start with '案由:(<id>)<title>'", lineno,
                              code=E.NO_CASE_LINE)
        if section == "title":
            raise IngestError(source, f"unexpected text before the 内容 header: {body[:20]!r}", lineno,
                              code=E.TEXT_BEFORE_CONTENT)
        if section == "content":
            pp = para(raw, start, lineno)
            if pp:
                p.content.append(pp)
        elif section == "suggestions":
            pp = para(raw, start, lineno, with_heading=False)
            if pp:
                p.suggestions.append(pp)
        elif section == "proposers":
            if not p.proposers:
                p.proposers = [n for n in _SPLIT_NAMES.split(body) if n]
                p.header_lines["提案者"] = body
        elif section == "replies":
            if _PENDING.match(body):
                p.reply_status = "pending"
                p.header_lines["暂无答复"] = body
                continue
            nxt = next((r.strip(" \t\u00a0\u3000") for _, _, r in lines[idx + 1:]
                        if r.strip(" \t\u00a0\u3000")), "")
            if _SALUTATION.match(body):
                if reply is None:
                    raise IngestError(source, "salutation line without a department line before it", lineno,
                                      code=E.SALUTATION_WITHOUT_DEPARTMENT)
                reply.salutation = body
                continue
            if _SALUTATION.match(nxt) and len(body) <= 40 and not re.search(r"[。，,；;]", body):
                reply = Reply(department=body, line=lineno)
                p.replies.append(reply)
                heading_stack.clear()
                continue
            if reply is None:
                raise IngestError(source, "reply text before any department line "
                                          "(expected a department name, then '尊敬的…')", lineno,
                                  code=E.REPLY_WITHOUT_DEPARTMENT)
            pp = para(raw, start, lineno)
            if pp:
                reply.paragraphs.append(pp)
        elif section == "votes":
            vm = _VOTES.search(body)
            if vm:
                p.votes = (int(vm.group(1)), int(vm.group(2)))
                p.header_lines["支持"] = body
        elif section == "units":
            continue

    if pid is None and require_id:
        raise IngestError(source, "missing 案由 line: the file must start with '案由:(<id>)<title>'", 1,
                          code=E.NO_CASE_LINE)
    if not p.content and not p.suggestions:
        raise IngestError(source, "no 内容 or 建议 text found", case_line or 1, code=E.NO_BODY)
    p.id, p.year, p.title = pid or "", year, title or ""
    if p.replies:
        p.reply_status = "answered"
        for r in p.replies:
            if not r.paragraphs:
                raise IngestError(source, f"reply of {r.department} has no text", r.line, code=E.EMPTY_REPLY,
                                  department=r.department)
    return p


def parse_file(path: str | Path) -> Proposal:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(str(path), f"cannot read: {e.strerror}", code=E.CANNOT_READ) from None
    return parse_text(read_document(str(path), data), str(path))  # .txt, .docx or a text PDF
