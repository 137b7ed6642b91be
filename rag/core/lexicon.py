"""Every word list and text pattern more than one module needs, defined once.

Module-specific patterns stay beside the code that uses them; what is shared lives here."""
from __future__ import annotations

import re

from rag.core.textnorm import norm

# a citation marker in an answer: "[3]"
MARKER = re.compile(r"\[(\d{1,4})\]")

# a list number or ordinal at the start of a paragraph, sentence or clause:
# "一、" "（二）" "(3)" "4." "5、" "一是" — not "1.5万元"
ORDINAL = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|[(（]?[一二三四五六七八九十\d]{1,3}[)）]|"
                     r"[\d一二三四五六七八九十]{1,3}[.．、](?!\d)|[一二三四五六七八九十]是)\s*")

# courtesy sentences every reply has (opening and closing); they never answer a question
COURTESY = re.compile(r"收悉|感谢|谢谢|现答复如下|答复如下|关心和支持|关心与支持|宝贵意见|继续关注|再次感谢|参考价值|"
                      r"高度重视您|提出的关于.{0,40}的(建议|提案)")


def is_courtesy(text: str) -> bool:
    """An opening (…收悉，现答复如下) or closing (感谢…关心和支持) paragraph: courtesy, and short."""
    return bool(COURTESY.search(text)) and len(norm(text)) < 160


# what each section of a proposal is called where users read it
SECTION_LABEL = {"content": "提案内容", "suggestion": "建议", "reply": "部门答复", "meta": "提案信息"}
