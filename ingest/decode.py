"""Bytes → text: UTF-8, UTF-8 with BOM, and GB18030 (common in government exports)."""
from __future__ import annotations

from rag.core.errors import ErrorCode as E
from rag.core.errors import IngestError

MAX_FILE_BYTES = 20 * 1024 * 1024


def decode_file(path: str, data: bytes) -> str:
    if not data.strip():
        raise IngestError(path, "empty file", code=E.EMPTY_FILE)
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(path, f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}",
                          code=E.FILE_TOO_LARGE, limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    if b"\x00" in data[:8192]:
        raise IngestError(path, "binary file (NUL bytes), not a text proposal", code=E.BINARY_FILE)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_err:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            bad = utf8_err.start
            line = data[:bad].count(b"\n") + 1
            raise IngestError(path, f"undecodable bytes at byte {bad} (neither UTF-8 nor GB18030)",
                              line, code=E.UNDECODABLE) from None
        # GB18030 decodes some binary junk; a real Chinese text is mostly CJK/ASCII.
        cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or c.isascii() or c in "，。：；（）“”、《》！？\u3000")
        if cjk < 0.9 * len(text):
            raise IngestError(path, "undecodable bytes: not UTF-8, and GB18030 gives no readable text",
                              code=E.UNDECODABLE)
        return text
