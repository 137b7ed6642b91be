"""Text normalisation shared by the verifier, the evals and the parser.

``norm`` folds full/half width (NFKC), drops all whitespace (NBSP included) and the
thousands separators inside numbers, so ``3,460个`` == ``3460 个`` == ``３，４６０个``.
"""
from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
SENTENCE_END = "。！？；!?;"
_SENT = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+[”’」』)]*|\n|$)")


def nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def norm(s: str) -> str:
    s = _WS.sub("", nfkc(s))
    return _THOUSANDS.sub("", s)


def norm_with_map(s: str) -> tuple[str, list[int]]:
    """``norm(s)`` and, for each output character, the index in ``s`` it came from."""
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(s):
        for c in nfkc(ch):
            if c.isspace():
                continue
            out.append(c)
            idx.append(i)
    text = "".join(out)
    # drop thousands separators while keeping the map aligned
    keep = [True] * len(text)
    for m in _THOUSANDS.finditer(text):
        keep[m.start()] = False
    return "".join(c for c, k in zip(text, keep) if k), [j for j, k in zip(idx, keep) if k]


def find_verbatim(haystack: str, needle: str) -> tuple[int, int] | None:
    """Where ``needle`` occurs in ``haystack`` after normalisation, as a span of ``haystack``."""
    n = norm(needle)
    if not n:
        return None
    exact = haystack.find(needle.strip())
    if needle.strip() and exact >= 0 and norm(needle.strip()) == n:  # the common case: quoted as written
        return exact, exact + len(needle.strip())
    if n not in norm(haystack):  # cheaper than the character map, and the usual answer for a non-quote
        return None
    h, m = norm_with_map(haystack)
    pos = h.find(n)
    if pos < 0:
        return None
    return m[pos], m[pos + len(n) - 1] + 1


def contains(haystack: str, needle: str) -> bool:
    n = norm(needle)
    return bool(n) and n in norm(haystack)


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (ends at 。！？； and line breaks), whitespace-trimmed."""
    spans = []
    for m in _SENT.finditer(text):
        a, b = m.start(), m.end()
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))
    return spans


def answer_sentences(text: str, min_chars: int = 6) -> list[str]:
    """The sentences an extractive answer may quote (shorter ones are headings or fragments).
    Ingest embeds exactly these, so the answerer finds their vectors cached."""
    return [text[a:b] for a, b in sentences(text) if b - a >= min_chars]


# Facts a sentence may state: numbers with their units, dates, percentages, 《titles》.
_NUM = re.compile(r"\d+(?:[.,]\d+)*(?:\s*(?:%|‰|万元|亿元|万|亿|元|个|家|所|人次|人|名|张|条|宗|项|平方米|平方公里|公里|米|亩|吨|小时|天|年|月|日|号|倍|辆|套|座|间|户|场|次|批|台))?")
_TITLE = re.compile(r"《[^《》]{1,60}》")


def facts_in(text: str) -> list[str]:
    """Numbers (with unit), dates and 《titles》 stated in ``text``, normalised."""
    t = nfkc(text)
    found = [norm(m.group(0)) for m in _TITLE.finditer(t)]
    stripped = _TITLE.sub(" ", t)
    for m in _NUM.finditer(stripped):
        tok = norm(m.group(0))
        if tok and not re.fullmatch(r"[0-9]", tok):  # a lone digit is usually an ordinal
            found.append(tok)
    return found


def digits_of(fact: str) -> str:
    """The numeric core of a fact token (for matching '3460个' against '3,460 个')."""
    m = re.match(r"[\d.]+", fact)
    return m.group(0) if m else fact
