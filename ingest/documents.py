"""A proposal file → its text in the page layout, whatever the format: plain text (UTF-8,
GB18030), Word (.docx) or a PDF with a text layer. The layout parser reads the result.
"""
from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

from ingest.decode import MAX_FILE_BYTES, decode_file
from ingest.layout import LABELS, SALUTATION, heading_of
from rag.core.errors import ErrorCode as E
from rag.core.errors import IngestError

DOCUMENT_TYPES = (".docx", ".pdf")
TEXT_TYPES = (".txt", ".jsonl")
_PAGE_NUMBER = re.compile(r"^[\s\-—–第页/共\d]*$")
MIN_COLUMN = 40  # display width (a CJK character is 2); a page's text column is wider than this
_END = "。！？!?；;：:”’」）)"


def read_document(path: str, data: bytes) -> str:
    """The text of the file named ``path`` (its suffix says the format)."""
    suffix = Path(path).suffix.lower()
    if suffix not in DOCUMENT_TYPES:
        return decode_file(path, data)
    if not data.strip():
        raise IngestError(path, "empty file", code=E.EMPTY_FILE)
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(path, f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}",
                          code=E.FILE_TOO_LARGE, limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    text = docx_text(path, data) if suffix == ".docx" else pdf_text(path, data)
    if not any(LABELS[name].match(ln) for ln in text.splitlines() for name in ("案由", "建议")):
        raise IngestError(path, "document has neither a 案由 nor a 建议 heading; is it a proposal?",
                          code=E.NOT_A_PROPOSAL)
    return text


def docx_text(path: str, data: bytes) -> str:
    """Paragraphs in document order, one per line (table cells too: some offices lay the
    header fields out in a table)."""
    import zipfile

    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        doc = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise IngestError(path, f"not a readable Word (.docx) file: {e}", code=E.UNREADABLE_DOCUMENT,
                          kind="Word（.docx）") from None
    lines: list[str] = []
    body = doc.element.body
    for el in body.iterchildren():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append("".join(t.text or "" for t in el.iter() if t.tag.endswith("}t")))
        elif tag == "tbl":
            for row in el.iter():
                if row.tag.endswith("}tr"):
                    cells = ["".join(t.text or "" for t in c.iter() if t.tag.endswith("}t"))
                             for c in row if c.tag.endswith("}tc")]
                    lines.append(" ".join(dict.fromkeys(x.strip() for x in cells if x.strip())))
    return "\n".join(lines)


def pdf_text(path: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise IngestError(path, "the PDF is encrypted; save an unprotected copy", code=E.ENCRYPTED_PDF)
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as e:
        raise IngestError(path, f"not a readable PDF: {e}", code=E.UNREADABLE_DOCUMENT, kind="PDF") from None
    if sum(len(p.strip()) for p in pages) < 20:
        raise IngestError(path, f"the PDF has no text layer ({len(pages)} pages of images, e.g. a scan); "
                                "OCR it or export the text from the original document", code=E.NO_TEXT_LAYER)
    lines = [ln.rstrip() for p in pages for ln in p.splitlines()]
    return "\n".join(unwrap([ln for ln in lines if ln.strip() and not _PAGE_NUMBER.match(ln)]))


def starts_block(line: str) -> bool:
    """A layout label (案由, 内容, 建议 …) or a salutation: never the rest of the line before."""
    s = line.strip()
    return bool(SALUTATION.match(s)) or any(p.match(s) for p in LABELS.values())


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def unwrap(lines: list[str]) -> list[str]:
    """PDF text comes in visual lines; a paragraph wrapped at the right margin is joined again.

    The text column is the width that many lines share (wrapped lines fill it; it is at least
    ``MIN_COLUMN``). A line that fills it continues on the next one, unless the next starts a
    layout label, or the line ends a sentence and the next starts a heading. Without such a
    column nothing is joined.
    """
    if not lines:
        return []
    widths = [width(ln.strip()) for ln in lines]
    column = sorted(widths)[int(0.9 * (len(widths) - 1))]  # robust to a stray long line
    if column < MIN_COLUMN or sum(abs(w - column) <= 4 for w in widths) < max(3, len(widths) // 10):
        return lines
    out = [lines[0]]
    for prev_w, ln in zip(widths, lines[1:]):
        prev = out[-1].rstrip()
        if prev_w >= column - 4 and not starts_block(ln) and not (prev[-1:] in _END and heading_of(ln.strip())):
            out[-1] = prev + ln.strip()
        else:
            out.append(ln)
    return out
