"""Chinese tokenisation for BM25 and for lexical overlap (jieba, search mode).

jieba's dictionary is process-wide, so it is never taught a corpus's own words: the tokens of
a text depend on the text alone, not on which index the process opened before (search mode
still yields the parts of a name, "民进" "东莞" "市委", which is what BM25 matches).
"""
from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

import jieba

from rag.core.textnorm import nfkc

jieba.setLogLevel(logging.WARNING)
_lock = threading.Lock()
_ready = False

# Function words and question words that carry no topic.
STOPWORDS = frozenset(
    "的 了 和 与 及 或 是 在 对 为 把 被 将 等 也 都 而 并 就 有 这 那 其 之 于 以 中 上 下 里 个 我 你 他 她 它 "
    "们 我们 你们 他们 什么 怎么 怎样 如何 哪些 哪个 哪里 哪 吗 呢 吧 啊 多少 几 是否 有没有 有无 请问 "
    "一下 一些 一共 目前 已经 关于 提案 建议 答复 委员 部门 情况 问题 方面 工作 进行 开展 相关 "
    "说 讲 提到 提出 提 过 给 让 要 会 能 可以 还 又 再 没有 不 没 多 大概 到底 具体 主要 一个 市 我市 东莞 东莞市".split()
)
_PUNCT = re.compile(r"^[\W_]+$")


def _ensure() -> None:
    global _ready
    if not _ready:
        with _lock:
            if not _ready:
                jieba.initialize()
                _ready = True


def warm() -> None:
    """Load jieba's dictionary and its part-of-speech tagger now (a serving process calls it
    at start) rather than inside the first question that needs them: the tagger alone takes
    0.4–1.3 s to load."""
    _ensure()
    from jieba import posseg

    posseg.lcut("提案")


@lru_cache(maxsize=50_000)
def _cut(text: str) -> tuple[str, ...]:
    _ensure()
    return tuple(jieba.cut_for_search(text))


def tokens(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased jieba tokens without punctuation (and without stopwords unless asked)."""
    out = []
    for t in _cut(nfkc(text).lower()):
        t = t.strip()
        if not t or _PUNCT.match(t):
            continue
        if not keep_stopwords and t in STOPWORDS:
            continue
        out.append(t)
    return out


@lru_cache(maxsize=50_000)
def words(text: str) -> tuple[str, ...]:
    """jieba's precise cut (each character in one word): where a name's parts are, which
    search mode's overlapping tokens do not say ("东莞/职业/技术/学院" vs one "保险公司")."""
    _ensure()
    return tuple(jieba.cut(nfkc(text)))


def whole_words(words: list[str]) -> list[str]:
    """``words`` without the parts that jieba's search mode also yields of a longer one among
    them ("务工", "工人", "人员" of "务工人员")."""
    return [w for w in words if not any(w != u and w in u for u in words)]


@lru_cache(maxsize=4096)
def word_class(word: str) -> str:
    """jieba's part-of-speech tag of a dictionary word ("中考" n, "看病" v, "东莞" ns), "" for
    a word its general dictionary does not hold or splits."""
    _ensure()
    if not jieba.dt.FREQ.get(word):
        return ""
    from jieba import posseg  # loaded only when a question needs it

    tagged = posseg.lcut(word)
    return tagged[0].flag if len(tagged) == 1 else ""


def is_common_noun(word: str) -> bool:
    """In jieba's general dictionary and tagged as a noun ("中考" yes; "看病", a verb, no)."""
    return word_class(word).startswith("n")


def is_activity(word: str) -> bool:
    """A verb or verbal noun of the dictionary ("服务", "生产", "施工")."""
    return word_class(word) in ("v", "vn")


def is_proper_noun(word: str) -> bool:
    """A place, organisation, person or other proper name of the dictionary ("东莞", "华为公司")."""
    return word_class(word) in ("ns", "nt", "nz", "nr")
