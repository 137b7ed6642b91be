"""What a question asks for, clause by clause, and whether a sentence can be its answer.

"麻涌镇地下调蓄池试点的总投资是多少？" asks for an amount of money (kind), of the
总投资 (focus), of 麻涌镇地下调蓄池试点 (subject). A retrieved sentence that gives some
other project's investment, another pollutant's concentration ("氨氮浓度" for "化学需氧量
浓度") or a share where money was asked answers a different question: the extractive
answerer refuses rather than quote it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.core.terms import QUESTION_WORDS, key_terms
from rag.core.textnorm import nfkc, norm
from rag.core.words import is_activity, is_common_noun, is_proper_noun, tokens, whole_words, words
from rag.core.lexicon import HOW_MANY, ORDINAL, YEAR

# what is asked *of* something ("收费标准", "占比"): part of the focus, not a question word
ATTRIBUTES = frozenset({"标准", "比例", "占比"})
# "哪家公司运营" asks for a name of one of these kinds (the answer names it: ``gives_kind``)
_NAME_NOUNS = "公司|企业|集团|医院|银行|学校|机构|单位"
_WHICH = "哪一?[家所]|哪个"
# the question word, with the verb that often leads it ("提高到多少")
_ASK = re.compile(r"(是|有|为|达到了?|达|增至|增加了?|提高到|提高了?|下降了?|降到|缩短到|占|要|得|需要|花了?|投入了?)?"
                  r"(多少|" + HOW_MANY + r"|多大|多长时间|多长|多久|什么标准|什么时候|何时|哪一年|多高|多远"
                  r"|(?:" + _WHICH + r")(?=\w{0,4}?(?:" + _NAME_NOUNS + r")))")
_TRAILING = re.compile(r"(的|了|现在|目前|一共|总共|大概|大约|分别|各|同比|环比|还|能|要|得|每年|一年)+$")

# the kind of figure, read from the words around the question word
_WHEN = re.compile(r"什么时候|何时|哪一年|哪年|几月")
_DURATION = re.compile(r"多久|多长时间|几天|几个月|几年|时限|用时|时长|等待时间")  # "多长" alone may be a length
# money nouns that say what the money is ("租金", "课酬"), and the ones that say nothing of it
_MONEY_NOUNS = (r"投资|经费|预算|补贴|补助|奖励|奖补|收费|缴费|学费|保费|价格|税收|工资"
                r"|造价|成本|收入|营收|营业额|成交额|产值|租金|房租|票价|罚款|赔偿|课酬|酬金|报酬"
                r"|津贴|薪酬|奖金")
_MONEY_OF = re.compile(_MONEY_NOUNS)
_MONEY = re.compile(_MONEY_NOUNS + r"|资金|费用|金额|交.{0,2}税|钱|[万亿]?元")
_SHARE = re.compile(r"比例|占比|比重|权重|[^利效]率|百分之|几成")
# the answer names one: a name ending in its kind's word, not the question's own words
_NAMED = re.compile(_NAME_NOUNS)
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_HAN2 = re.compile(r"[\u4e00-\u9fff]{2,}")  # a word of two or more Chinese characters
_NAME_ENDS = {k: re.compile(f"(?:{v})$") for k, v in {
    "公司": "公司|集团|企业", "企业": "公司|集团|企业|厂", "集团": "集团|公司",
    "医院": "医院|卫生院|保健院|中心", "银行": "银行", "学校": "学校|学院|大学|中学|小学|幼儿园",
    "机构": "机构|中心|协会|公司|医院|院|所", "单位": "单位|局|委|办|中心|公司|集团|协会|医院|院|所|站"}.items()}
_CLASSIFIER = re.compile(r"^(?:多少|几)([个条家所项座处名人位张次辆套间户场台批宗层类])")

_NUMERAL = r"(?:\d|[一二三四五六七八九十两百千])"
UNITS = {
    "money": re.compile(r"\d\s*(?:[万亿千百])?元"),
    "share": re.compile(r"\d\s*[%‰]|\d\s*成|百分之|\d\s*[:：]\s*\d|分之"),
    "date": re.compile(r"\d{4}\s*年|\d{1,2}\s*月|年底|年初|年内|上半年|下半年|季度|今年|明年|\d{4}\s*[.\-/]\s*\d"),
    # "多长时间…一次" may be answered by a frequency: "每周至少巡诊1次"
    "duration": re.compile(_NUMERAL + r"\s*(?:个)?(?:工作日|天|日|周|星期|个?月|年|小时|分钟)|每\s*(?:[天日周月年]|星期|季度)"),
}
# classifiers that answer each other ("几家" is answered by "15所"); 个 takes any
_SAME_CLASSIFIER = {"家": "家所个", "所": "所家个", "名": "名人", "人": "人名", "位": "位名人", "处": "处个",
                    "座": "座个", "项": "项个", "条": "条个", "类": "类个项"}
_ANY_CLASSIFIER = "个条家所项座处名人位张次辆套间户场台批宗层类"


_TITLE = re.compile(r"《[^《》]*》")


@dataclass(frozen=True)
class Ask:
    clause: str
    kind: str | None                # "money", "share", "duration", "count:家" or None
    focus: tuple[str, ...]          # what the figure is of: ("总投资",)
    qualifiers: tuple[str, ...]     # words qualifying the focus in its noun phrase: ("化学", "需氧量")
    subject: tuple[str, ...]        # the content words before the question word
    years: tuple[str, ...] = ()     # years named in the clause ("2023年…是多少")
    money: tuple[str, ...] = ()     # when money is asked, the money nouns the clause names ("投资")


def _content(text: str) -> list[str]:
    return list(dict.fromkeys(t for t in tokens(text) if t not in QUESTION_WORDS and len(t) >= 2))


def _kind(word: str, before: str, after: str) -> str | None:
    if re.match(_WHICH, word):
        m = _NAMED.search(after[:6])
        return "name:" + m.group(0) if m else None
    if _WHEN.search(word):
        return "date"
    if _DURATION.search(word):
        return "duration"
    m = _CLASSIFIER.search(word)
    if m:
        return "count:" + m.group(1)
    # the nearest noun decides ("补助资金最终的执行率" asks a share): the words right at the
    # question word first, then the wider phrase
    for n in (3, 8):
        region = before[-n:] + after[:n]
        if _MONEY.search(region):
            return "money"
        if _SHARE.search(region):
            return "share"
    return None


def asks(question: str) -> list[Ask]:
    """One ``Ask`` per question word ("…投多少钱、建设改造多少座泵站" gives two)."""
    out: list[Ask] = []
    for clause in re.split(r"[，,。？?；;！!]", nfkc(question)):
        start = 0
        for m in _ASK.finditer(clause):
            before = _TRAILING.sub("", clause[start:m.start()].split("、")[-1])
            after = clause[m.end():].split("、")[0]
            start = m.end()
            head = [t for t in tokens(before[-6:]) if (t not in QUESTION_WORDS or t in ATTRIBUTES) and len(t) >= 2]
            tail = [t for t in tokens(after[:6]) if t not in QUESTION_WORDS and len(t) >= 2]
            # jieba's search mode yields "投资" and "总投资": the last, shortest head is the noun
            focus = tuple(dict.fromkeys(head[-1:] + tail[:1]))
            # "…段的化学需氧量浓度", "河长制工作经费": the words between the last 的 (or of the
            # compound before the question word) and the focus qualify it
            phrase = before.rsplit("的", 1)[1] if "的" in before else before[-7:]
            qualifiers = tuple(t for t in _content(phrase) if t not in focus and not any(t in f for f in focus)) \
                if focus and phrase.endswith(focus[0]) else ()
            subject = tuple(t for t in _content(before) if t not in focus)
            if not subject and focus == ("标准",):
                # "…设从教津贴，…标准是多少？": the clause leans on an earlier one, and the
                # answer states the rate ("每人每月300元") without repeating the word
                focus = ()
            kind = _kind(m.group(2) + after[:1], before, after)
            if kind and kind.startswith("name:"):
                # "哪家公司运营": the noun after the question word is the kind of name, not a focus
                focus, qualifiers = (), ()
            money = tuple(dict.fromkeys(_MONEY_OF.findall(clause))) if kind == "money" else ()
            out.append(Ask(clause, kind, focus, qualifiers, subject, tuple(YEAR.findall(clause)), money))
    return out


def figure_text(sentence: str) -> str:
    """The part of a sentence that can state a figure: a number inside a document's title
    ("《…(2021—2023年)》") or a leading list number ("（3）") is not one."""
    return ORDINAL.sub("", _TITLE.sub("", sentence))


def gives_kind(kind: str | None, sentence: str, clause: str = "") -> bool:
    """Does ``sentence`` state a figure of this kind (money in 元, a share in %, a count in 家…),
    or for "哪家公司" a name of that kind which ``clause`` (the question's) does not already give?"""
    s = figure_text(nfkc(sentence))
    if kind is None:
        return True
    if kind.startswith("name:"):
        asked = norm(clause)
        return any(norm(n) not in asked for n in names_of_kind(kind[5:], s))
    if kind.startswith("count:"):
        c = kind[6:]
        ok = _ANY_CLASSIFIER if c == "个" else _SAME_CLASSIFIER.get(c, c)
        return bool(re.search(_NUMERAL + r"\s*(?:万|亿|千|百)?\s*[" + ok + "]", s))
    return bool(UNITS[kind].search(s))


def names_of_kind(noun: str, sentence: str) -> list[str]:
    """The names of this kind ("学校": "东莞职业技术学院") a sentence gives, as the kind's word
    ending a word of a name ("东莞/银行", "妇幼保健/院", "东莞巴士/有限公司"). A dictionary
    word alone ("由保险公司", "、国有企业") names a category, not a body, and so does an
    activity before the kind's word ("物业/服务/企业", "电梯/生产/企业") unless a proper noun
    opens the name ("东莞/建设/投资/集团")."""
    ends = _NAME_ENDS[noun]
    ws = words(sentence)
    out = []
    for i, w in enumerate(ws):
        pair = ws[i - 1] + w if i and _HAN2.fullmatch(ws[i - 1]) else ""
        m = ends.search(w)
        if m and len(w) > len(m.group(0)) and not is_common_noun(w):
            out.append(w)
        elif (m or ends.search(pair)) and pair:
            if not is_activity(ws[i - 1]):
                out.append(pair)
                continue
            j = i - 2  # the words before, back to punctuation, up to three
            while j >= 0 and j > i - 5 and _HAN.fullmatch(ws[j]):
                j -= 1
            run = ws[j + 1:i - 1]
            k = next((k for k, x in enumerate(run) if is_proper_noun(x)), None)
            if k is not None:
                out.append("".join(run[k:]) + pair)
    return out


def subject_share(terms: tuple[str, ...], text: str, idf: Callable[[str], float]) -> float:
    """How much of the subject ``text`` mentions: per term the share of its characters present
    (a paraphrase keeps some: "每亩" ~ "亩均"), weighted by idf (a rare word says more)."""
    terms = tuple(t for t in terms if not t.isdigit())
    have = set(norm(text))
    total = sum(idf(t) for t in terms)
    if not total:
        return 1.0
    return sum(idf(t) * sum(ch in have for ch in norm(t)) / len(norm(t)) for t in terms) / total


def money_of_other(wanted: list[Ask], sentence: str) -> bool:
    """Money is asked of one thing and the sentence states money of others only: "年租金收入由
    …620万元提高到1,580万元" for "总投资是多少", "按每宗100元…给予补贴" for "赔偿金额".
    Nouns sharing a character are one thing ("补贴" ~ "补助", "租金" ~ "房租"); a generic word
    ("资金", "多少钱") names nothing, so it is never a mismatch."""
    asked = {n for a in wanted for n in a.money}
    if not asked:
        return False
    s = figure_text(nfkc(sentence))
    stated = set(_MONEY_OF.findall(s))
    return bool(stated) and bool(UNITS["money"].search(s)) and \
        not any(set(a) & set(b) for a in asked for b in stated)


def _qualified_otherwise(ask: Ask, sentence: str) -> bool:
    """The sentence gives the focus of something else: "氨氮浓度" when "化学需氧量浓度" was
    asked, "管养经费" for "河长制工作经费": a qualifier is missing from the sentence and the
    word right before the focus there is a different content word."""
    s = norm(sentence)
    if not ask.focus or all(norm(q) in s for q in ask.qualifiers):
        return False
    head = norm(ask.focus[-1])
    i = s.find(head)
    if i <= 0:
        return False
    prev = _content(s[max(0, i - 6):i])
    return bool(prev) and not any(p in norm(ask.clause) for p in prev[-1:])


def answers(ask: Ask, sentence: str, heading: str, known: Callable[[str], bool], idf: Callable[[str], float],
            min_subject: float = 0.25) -> bool:
    """Can ``sentence`` (under ``heading``) answer this ask?"""
    text = sentence + heading
    if not gives_kind(ask.kind, sentence, ask.clause):
        return False
    if not all(set(norm(f)) <= set(norm(text)) for f in ask.focus if known(f)):
        return False
    subject = tuple(t for t in ask.subject if known(t))
    # the subject must be there in some form: not one character of "麻涌镇地下调蓄池试点"
    # in a sentence about 洪梅镇 and 望牛墩镇 means it is about something else
    if len(subject) >= 2 and subject_share(subject, text, idf) < min_subject:
        return False
    # a figure of 2020 does not answer a question about 2023
    stated = set(YEAR.findall(nfkc(_TITLE.sub("", sentence))))
    if ask.years and stated and not (set(ask.years) & (stated | set(YEAR.findall(nfkc(heading))))):
        return False
    return not money_of_other([ask], sentence) and not _qualified_otherwise(ask, sentence)


_ASKING = ("多少", "几", "什么", "哪", "怎么", "如何", "多久", "多长", "多大")
# the noun a question word governs ("叫什么名字", "哪几个地方", "哪些群体") says what kind of
# answer is wanted; it names no topic
_ASKED_NOUN = r"(?:什么|哪[一几]?[个些家所类项种位条座处]?)"
_INSTITUTION = re.compile(r"(部门|单位|机关|机构|局|委|办|厅|部|处|中心)$")


def uncovered_topic(question: str, answer_text: str, known: Callable[[str], bool]) -> str | None:
    """The one noun of the question that the corpus never uses, when the answer has not a
    character of it: "随迁子女参加中考有什么新政策" answered with the rules of 积分入学.

    One such word in an otherwise plain question names a topic the corpus does not cover;
    a colloquial paraphrase has several unknown words (checked by the other rules), and a
    department ("民政部门") or a name is matched by the filters instead.
    """
    q = nfkc(question)
    unknown = [t for t in key_terms(question) if not known(t) and not t.isdigit()
               and not any(w in t for w in _ASKING)  # "多少钱" asks, it names nothing
               and not re.search(_ASKED_NOUN + re.escape(t), q)]
    unknown = whole_words(unknown)
    if len(unknown) != 1:
        return None
    word = unknown[0]
    if _INSTITUTION.search(word) or set(norm(word)) & set(norm(answer_text)) or not is_common_noun(word):
        return None
    return word
