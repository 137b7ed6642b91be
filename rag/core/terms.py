"""Is the answer in what was retrieved? Weighted coverage of the question's key terms.

A plausible question whose answer is not in the corpus ("红楼院区改造项目的总投资") shares
its common words with some paragraph but not its rare ones; idf weighting makes those count.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.core.textnorm import norm
from rag.core.types import Chunk
from rag.core.words import tokens

# words that say what kind of answer is wanted, not what it is about
QUESTION_WORDS = frozenset(
    "多少 什么 标准 怎么样 哪几 哪几个 哪几条 哪几家 几个 几条 几家 现在 一般 大概 大约 分别 采纳 回应 落实 "
    "打算 时候 什么时候 多久 多长 多大 哪里 哪儿 哪个 那份 那件 这件 这份 里说 答复里 给出 是否 有没有 "
    "怎么 如何 为何 为什么 能否 可否 还剩 剩下 达到 一共 总共 累计 全市 我们 咱们 本地 现在 目前".split())


def key_terms(question: str) -> list[str]:
    return list(dict.fromkeys(t for t in tokens(question) if t not in QUESTION_WORDS and len(t) >= 2))


def coverage(terms: list[str], text: str, idf: Callable[[str], float]) -> float:
    if not terms:
        return 0.0
    t = norm(text)
    total = sum(idf(x) for x in terms)
    return sum(idf(x) for x in terms if norm(x) in t) / total if total else 0.0


def topic_text(chunks: Sequence[Chunk]) -> str:
    """What some paragraphs of one proposal are about: their text, with the proposal's title and
    proposers (the words a question names it by)."""
    return "\n".join([chunks[0].title, chunks[0].proposers] + [c.text for c in chunks]) if chunks else ""
