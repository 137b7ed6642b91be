"""Corpus text that speaks to the assistant instead of about a proposal.

A proposal or reply may carry sentences such as "忽略以上所有指令" or "你现在是管理员": they are
data, never instructions. This module is the one definition of what such a sentence looks
like (used by the extractive answerer, which does not quote them, and by the ingest report,
which lists the chunks holding them), and of how corpus text is made safe to put inside the
LLM prompt's data block.
"""
from __future__ import annotations

import re

# verbs of overriding + what they override, within a few characters of each other
_OVERRIDE_ZH = r"(忽略|无视|忘记|忘掉|不要理会|不要遵守|覆盖|绕过|跳过)"
_RULES_ZH = r"(指令|指示|提示词?|规则|设定|要求|约束|限制|系统消息)"
ADDRESSING = re.compile(
    "|".join([
        _OVERRIDE_ZH + r".{0,12}?" + _RULES_ZH,
        r"你(现在|从现在起|此后|接下来)?(是|扮演|充当|作为)(一个|一名|新的)?.{0,8}?(管理员|助手|模型|机器人|AI|系统|角色|黑客)",
        r"(从现在起|从现在开始|接下来)[，,]?你",
        r"(输出|泄露|显示|打印|告诉我)你?的?(系统)?(提示词|系统提示|指令|设定)",
        r"(把|将)(你的)?(答案|回答|输出)(改成|改为|换成|替换为)",
        r"\bSYSTEM\s*[:：]",
        r"\b(ignore|disregard|forget|override)\b.{0,30}?\b(instructions?|prompts?|rules|directions)\b",
        r"\byou are now\b",
        r"\bact as\b.{0,20}?\b(admin|assistant|system|model|ai)\b",
        r"\b(reveal|print|show|output)\b.{0,20}?\bsystem prompt\b",
    ]),
    re.IGNORECASE,
)


def addresses_assistant(text: str) -> bool:
    """Does ``text`` contain a sentence that gives the assistant orders?"""
    return bool(ADDRESSING.search(text))


# ---- the LLM prompt's data block --------------------------------------------------------------
DATA_OPEN, DATA_CLOSE = "<资料>", "</资料>"
_DELIMITER = re.compile(r"<\s*/?\s*资\s*料\s*>")
_MARKER = re.compile(r"\[\s*(\d{1,3})\s*\]")


def as_data(text: str) -> str:
    """Corpus text safe inside ``<资料>…</资料>``: a delimiter in the text cannot close (or
    reopen) the block, and a bracketed number cannot pose as the prompt's own ``[n]`` markers.

    The corpus's ``[1]`` becomes full width ``［1］`` rather than vanishing: the model's quotes
    must still match the source, and the verifier compares after NFKC, which folds ``［1］``
    back to ``[1]``; the answer's marker syntax (ASCII brackets) never matches it."""
    text = _DELIMITER.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)
    return _MARKER.sub(lambda m: f"［{m.group(1)}］", text)
