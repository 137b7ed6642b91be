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


def opens_with_courtesy(first_sentence: str) -> bool:
    """A reply paragraph that opens with courtesy ("…的建议收悉。", "感谢…"): a summary skips
    it whatever its length (``is_courtesy`` keeps a long one, which may state a measure)."""
    return bool(COURTESY.search(first_sentence))


# a year stated or asked: "2023年"
YEAR = re.compile(r"((?:19|20)\d\d)\s*年")

# what a question asks for
# "哪几个" asks which ones (names), "几个" how many
HOW_MANY = r"(?<!哪)几[个条家所项天年月次名人位座处类层张]"
ASKS_NUMBER = re.compile(r"多少|" + HOW_MANY + r"|比例|标准|占比|多长|多久|多大|多高|多远|金额|权重|时间|什么时候|何时|哪一年|哪年")
ASKS_WHEN = re.compile(r"什么时候|何时|哪一年|哪年|几月|日期|时间")
# what was done or how things stand now: a reply says it, a proposal only the problem.
# ASKS_DONE is the narrow core (the ranker's feature: widening it to ASKS_REPLY lowers CV
# paragraph hit@5 0.917 → 0.915, `python -m bench.fit_ranker`); ASKS_REPLY adds plans,
# "how to prevent/solve" and time after now (the answer selector's).
_DONE = r"落实|答复|回应|采纳|怎么样|打算|进展|办理|回复|做了|出台|现在|目前|如今|已经"
ASKS_DONE = re.compile(_DONE)
ASKS_REPLY = re.compile(_DONE + r"|建了|怎么做|之后|以后|还剩"
                        r"|(?:怎么|如何)(?:防止|避免|解决|保障|确保|保证|管|监管|处理)")
ASKS_NOW = re.compile(r"现在|目前|如今|之后|以后|还剩|还有多")
# "怎么答复 / 怎么落实 / 采取了哪些措施" ask for the gist of a reply: more than one sentence
ASKS_HOW = re.compile(r"怎么(答复|回应|回复|做|办|落实)|如何(答复|回应|落实)|采取了哪些|有哪些(措施|举措)")
ASKS_SUGGESTION = re.compile(r"建议|提议|提出|呼吁")
# a sentence that reports a change to a new level ("压缩至3.2个工作日")
CHANGE = re.compile(r"(?:缩短|压缩|降低|降|下降|减少|减|提高|提升|增加|增|扩大|扩充|上升|调整|放宽)[至到为]")


# what each section of a proposal is called where users read it
SECTION_LABEL = {"content": "提案内容", "suggestion": "建议", "reply": "部门答复", "meta": "提案信息"}
