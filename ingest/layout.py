"""The page layout's vocabulary: its labels (案由, 内容, 建议 …), the salutation line and the
numbered heading styles. The parser reads proposals with it; the PDF reader uses it to tell
where a paragraph wrapped at the margin ends."""
from __future__ import annotations

import re

SP = r"[\s\u00a0\u3000]*"


def _label(word: str) -> re.Pattern:
    return re.compile(r"^" + SP + SP.join(word) + SP + r"[:：]?" + SP)


LABELS = {name: _label(name) for name in ("案由", "内容", "建议", "提案者", "部门答复", "办理单位", "网友评价")}
SALUTATION = re.compile(r"^尊敬的")
HEADING_STYLES = (
    (1, re.compile(r"^[一二三四五六七八九十]+、")),
    (2, re.compile(r"^[(（][一二三四五六七八九十]+[)）]")),
    (3, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (4, re.compile(r"^[(（]\d{1,2}[)）]")),
)


def heading_of(text: str) -> tuple[int, str, bool] | None:
    """(rank, heading text, heading-only?) when ``text`` opens with a numbered heading."""
    for rank, pat in HEADING_STYLES:
        if pat.match(text):
            cut = re.search(r"[。；;:：]", text)
            if cut is None or cut.end() >= len(text.rstrip()):
                # a short line without a full stop is a title ("一、办理情况"); with one it is a sentence
                only = len(text) <= 40 and not text.rstrip().endswith(("。", "；", ";", "！", "？"))
                head = text.rstrip("。；;:：")
            else:
                only, head = False, text[: cut.start()]
            if len(head) > 40:  # a numbered sentence, not a title: keep its opening words
                comma = re.search(r"[,，]", head[:41])
                head = head[: comma.start()] if comma else head[:30] + "…"
            return rank, head, only
    return None
