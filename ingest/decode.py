"""Bytes → text: UTF-8, UTF-8 with BOM, UTF-16/32 with BOM (what Windows tools call
"Unicode"), and GB18030 (common in government exports)."""
from __future__ import annotations

import codecs

from rag.core.errors import ErrorCode as E
from rag.core.errors import IngestError

MAX_FILE_BYTES = 20 * 1024 * 1024
# longest first: the UTF-32 LE mark starts with the UTF-16 LE one
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def readable(text: str) -> bool:
    """A real Chinese text is mostly CJK, ASCII and Chinese punctuation."""
    ok = sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or c.isascii() or c in "，。：；（）“”、《》！？\u3000")
    return ok >= 0.9 * len(text)


def decode_file(path: str, data: bytes) -> str:
    if not data.strip():
        raise IngestError(path, "empty file", code=E.EMPTY_FILE)
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(path, f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}",
                          code=E.FILE_TOO_LARGE, limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as e:
                raise IngestError(path, f"undecodable bytes at byte {e.start} (the file starts with a "
                                        f"{codec.upper()} byte order mark)", code=E.UNDECODABLE) from None
            if not text.strip():
                raise IngestError(path, "empty file", code=E.EMPTY_FILE)
            if not readable(text):  # junk that merely starts with the mark's two bytes
                raise IngestError(path, f"undecodable bytes: the file starts with a {codec.upper()} byte order "
                                        "mark, but gives no readable text", 1, code=E.UNDECODABLE)
            return text
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
        if not readable(text):  # GB18030 decodes some binary junk
            raise IngestError(path, "undecodable bytes: not UTF-8, and GB18030 gives no readable text",
                              code=E.UNDECODABLE)
        return text
