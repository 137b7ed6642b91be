"""Is the answer in what was retrieved? Weighted coverage of the question's key terms.

A plausible question whose answer is not in the corpus ("红楼院区改造项目的总投资") shares
its common words with some paragraph but not its rare ones; idf weighting makes those count.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from rag.textnorm import nfkc, norm
from rag.tokenize import tokens
from rag.types import Hit

# words that say what kind of answer is wanted, not what it is about
QUESTION_WORDS = frozenset(
    "多少 什么 标准 怎么样 哪几 哪几个 哪几条 哪几家 几个 几条 几家 现在 一般 大概 大约 分别 采纳 回应 落实 "
    "打算 时候 什么时候 多久 多长 多大 哪里 哪儿 哪个 那份 那件 这件 这份 里说 答复里 给出 是否 有没有 "
    "怎么 如何 为何 为什么 能否 可否 还剩 剩下 达到 一共 总共 累计 全市 我们 咱们 本地 现在 目前".split())


# what is asked *of* something ("收费标准", "占比"): part of the focus, not a question word
ATTRIBUTES = frozenset({"标准", "比例", "占比"})


def key_terms(question: str) -> list[str]:
    return list(dict.fromkeys(t for t in tokens(question) if t not in QUESTION_WORDS and len(t) >= 2))


def coverage(terms: list[str], text: str, idf: Callable[[str], float]) -> float:
    if not terms:
        return 0.0
    t = norm(text)
    total = sum(idf(x) for x in terms)
    return sum(idf(x) for x in terms if norm(x) in t) / total if total else 0.0


def best_coverage(question: str, hits: list[Hit], idf: Callable[[str], float], top: int = 3) -> float:
    """The best coverage of one retrieved chunk (with its title and heading) among the top few."""
    from rag.verify import support_text

    terms = key_terms(question)
    return max((coverage(terms, support_text(h.chunk), idf) for h in hits[:top]), default=0.0)


_ASK = re.compile(r"(是|有|为|达到了?|达|增至|增加了?|提高到|提高了?|下降了?|降到|缩短到|占|要|得|需要|花了?|投入了?)?"
                  r"(多少|几[个条家所项天年月次名人位座处类层张]|多大|多长|多久|什么标准|什么时候|多高|多远)")


def focus_terms(question: str) -> list[str]:
    """The thing whose amount is asked: "红楼院区改造项目的总投资是多少" → ["总投资"].

    Taken from the words right before (or right after) the question word in its clause; an
    answer sentence must mention one of them, or it answers a different question.
    """
    out: list[str] = []
    for clause in re.split(r"[，,。？?；;！!]", nfkc(question)):
        m = _ASK.search(clause)
        if not m:
            continue
        before = re.sub(r"(的|了|现在|目前|一共|总共|大概|大约|分别|各|同比|环比|还|能|要|得|每年|一年)+$", "",
                        clause[: m.start()])
        after = clause[m.end():]
        head = [t for t in tokens(before[-6:]) if (t not in QUESTION_WORDS or t in ATTRIBUTES) and len(t) >= 2]
        tail = [t for t in tokens(after[:6]) if t not in QUESTION_WORDS and len(t) >= 2]
        # jieba's search mode yields "投资" and "总投资": the last, shortest head is the noun
        out += head[-1:] + tail[:1]
    return list(dict.fromkeys(out))


def mentions_all(text: str, terms: list[str]) -> bool:
    """Every term's characters occur in ``text`` ("老人" is mentioned by "老年人口")."""
    t = set(norm(text))
    return all(set(norm(x)) <= t for x in terms)

