"""Query analysis: intent (fact / list / catalogue / meta / summary / needs_context), filters spotted
in the question, and follow-ups resolved against the conversation ("那财政局呢?").

Follow-ups, offline: the earlier questions (``history``, oldest first) resolve the common
ellipses against the last of them — another department of the same proposal ("市财政局呢？"),
another item of the same list ("那塘尾古村呢？"), the same subject ("这些村…", "它…") — and
the last question's topic words join the search, so the conversation stays on its proposal.
A follow-up asked with no history that cannot stand alone gets intent ``needs_context``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.core.departments import cut_department, department_variants
from rag.core.terms import key_terms
from rag.core.words import is_common_noun, tokens
from rag.core.types import Filters

PARTIES = ("民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "台盟")
_LIST = re.compile(r"哪些提案|哪几件|哪几份|哪件提案|哪份提案|提案有哪些|有哪些提案|哪些.{0,8}提案|列出.{0,6}提案|都有哪些|"
                   r"(提|提出|提交)的提案(是什么|是哪|有什么)")  # "…提的建议是什么" asks for the 建议 block (a summary)
_CATALOGUE_VERB = re.compile(r"(答复|办理|承办)(过|了)?(哪|的提案)|(提出|提交|提的|交的|提了|提过)(的)?(提案|哪)|联名|"
                             r"年(的|提出的|提交的)?提案")
# what a question about one proposal's header asks (who proposed it, who replied, the votes)
META_ASK = re.compile(r"谁提|提案者|谁提出|由谁|哪个部门(办理|答复|负责)|哪些部门(办理|答复)|办理单位|主办单位|"
                      r"(有|有没有)(部门)?答复|答复了吗|回复了吗|网友|支持票|反对票|多少人支持")
_ABOUT_SUGGESTION = re.compile(r"建议|提议|提出")
_YEAR = re.compile(r"(20\d{2})\s*年")
_FOLLOWUP = re.compile(r"^(那么|那|还有|换成|如果是|至于)?(.{1,16}?)(呢|怎么样|又如何|如何)[?？]?$")
# endings with no predicate of their own: "市财政局呢？" leans on an earlier question even
# without an opener; "…怎么样？" often has one ("充电桩建设进展如何？")
_BARE_ENDINGS = ("呢", "又如何")
# "X怎么答复…", "采取了哪些措施", "提了哪些建议", "答复主要讲了哪些内容": the gist of a reply or
# of the 建议 block (rag/answer/summary.py), not one figure
_SUMMARY = re.compile(r"(怎么|如何)(答复|回复|回应)|(答复|回复|回应)(的|里)?(主要)?(了|讲了|说了|有|包括|提到了)?"
                      r"(哪些|什么|些什么|几方面|要点)|(采取|做|开展|推出|出台)(了|过)?(哪些|什么)|"
                      r"(提|提出|给出)了?(哪些|什么|几条)(建议|意见)|建议(有|是)(哪些|什么)|哪些(措施|举措|要点|工作|方面)")
# "X委员建议…，教育局是怎么落实的？": one suggestion and what was done about it (a fact question)
_CROSS = re.compile(r"建议[^，,。？?]{4,}[，,]")
# openings and words that lean on an earlier question
_LEAN_START = re.compile(r"^(那么|那|还有|另外|其中|此外|至于|换成|如果是)")
_ANAPHOR = re.compile(r"这些|那些|这个|那个|这笔|那笔|这项|那项|这家|那家|上述|它们|它")
_ASKING = re.compile(r"多少|几|什么|哪")
_PID = re.compile(r"(?<!\d)(20\d{6})(?!\d)")


@dataclass
class Vocabulary:
    """Names the analyser can spot, built from the catalogue."""

    departments: list[str] = field(default_factory=list)
    proposers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        forms: dict[str, str] = {}
        for d in self.departments:
            for f in department_variants(d):
                forms.setdefault(f, d)
        self._dept_forms = sorted(forms.items(), key=lambda kv: -len(kv[0]))
        self._people = sorted(self.proposers, key=len, reverse=True)

    def department_in(self, text: str) -> str | None:
        for form, name in self._dept_forms:
            if form in text and len(form) >= 3:
                return name
        return None

    def proposer_in(self, text: str) -> str | None:
        for p in self._people:
            if p in text:
                return p
        return None


@dataclass
class Analysis:
    question: str  # as asked
    query: str  # what is searched (follow-ups rewritten into a full question)
    intent: str  # fact | list | catalogue | meta | summary | needs_context
    filters: Filters
    group: str | None = None  # catalogue predicates: "parties" (民主党派), "joint" (联名)
    rewritten: bool = False
    search: str | None = None  # what retrieval searches when it differs from ``query`` (a follow-up)

    @property
    def search_text(self) -> str:
        return self.search or self.query


def analyse(question: str, vocab: Vocabulary, history: list[str] | None = None,
            filters: Filters | None = None) -> Analysis:
    q = question.strip()
    rewritten = False
    search = None
    history = [h.strip() for h in history or [] if h and h.strip()]
    if history:
        prev = resolve_history(history, vocab)
        # the opener ("那…", "其中…") only says "as before": the rest is the question
        resolved = _LEAN_START.sub("", resolve_followup(q, [prev], vocab), count=1) or q
        if resolved != q:
            q, rewritten = resolved, True
        if not names_own_subject(q, vocab):
            # the conversation's topic joins the search: "现在接入了多少家企业？" after a
            # question about one platform is about that platform
            old = vocab.department_in(prev)
            forms = department_variants(old) if old else ()
            extra = [t for t in key_terms(prev) if t not in q and not any(t in f for f in forms)]
            search = f"{q} {' '.join(extra)}" if extra else None
    elif needs_context(q, vocab):
        return Analysis(question=question, query=q, intent="needs_context", filters=Filters().merged(filters))
    intent = "fact"
    if _LIST.search(q):
        intent = "list"
    elif _SUMMARY.search(q) and not _CROSS.search(q):
        intent = "summary"
    elif META_ASK.search(q) and not (_ABOUT_SUGGESTION.search(q) and vocab.department_in(q)):
        # "建议发放消费券，卫生健康局答复了吗" asks what a department said, not whether it replied
        intent = "meta"

    dept = vocab.department_in(q)
    proposer = vocab.proposer_in(q)
    pid_m = _PID.search(q)
    year_m = _YEAR.search(q)
    group = None
    if intent == "list":
        if "民主党派" in q or "党派" in q:
            group = "parties"
        elif "联名" in q or re.search(r"几位|多位|多名", q):
            group = "joint"
        topical = re.sub(r"20\d{2}\s*年|哪些提案|哪几件|哪件提案|提案有哪些|有哪些|答复过|答复了|提出的|提交的|"
                         r"[市的了过是哪些件份提案？?，,。]", "", q)
        topical = cut_department(topical, dept)
        if proposer:
            topical = topical.replace(proposer, "")
        if group or _CATALOGUE_VERB.search(q) and len(topical) <= 6:
            intent = "catalogue"
    found = Filters(
        # a year is a filter only where the question selects proposals by it; in a fact
        # question ("2021年4月印发…") it is part of what is asked
        year=int(year_m.group(1)) if year_m and intent in ("list", "catalogue") else None,
        department=dept,
        proposer=proposer,
        proposal_id=pid_m.group(1) if pid_m else None,
    )
    return Analysis(question=question, query=q, intent=intent,
                    filters=found.merged(filters), group=group, rewritten=rewritten, search=search)


def looks_like_followup(question: str) -> bool:
    """Does the question lean on an earlier one? An opening such as 那/还有/其中, a short
    "X呢？", or a pronoun for something named before ("这些村", "这个平台", "它")."""
    q = question.strip()
    return bool(_LEAN_START.match(q) or (len(q) <= 20 and re.sub(r"[?？]$", "", q).endswith(_BARE_ENDINGS))
                or _ANAPHOR.search(q))


def names_own_subject(q: str, vocab: Vocabulary) -> bool:
    """The question names its own proposal: an id, a proposer, a 《title》 or "关于…的提案"."""
    return bool(_PID.search(q) or vocab.proposer_in(q) or re.search(r"《[^》]+》|关于.{2,}的(提案|建议)", q))


def needs_context(q: str, vocab: Vocabulary) -> bool:
    """A follow-up that cannot stand alone: "市财政局呢？", "那塘尾古村呢？" (no predicate), or a
    question whose subject is a pronoun ("这些村什么时候能全部解决？")."""
    if names_own_subject(q, vocab):
        return False
    m = _FOLLOWUP.match(q)
    # "…怎么样/如何？" leans on an earlier question only after an opener ("那东城怎么样？")
    if m and len(q) <= 20 and not _ASKING.search(m.group(2)) and (m.group(1) or m.group(3) in _BARE_ENDINGS):
        return True
    return bool(re.match(r"(那么|那)?(" + _ANAPHOR.pattern + ")", q))


def resolve_history(history: list[str], vocab: Vocabulary) -> str:
    """The last earlier question, itself resolved against the ones before it."""
    prev = history[0]
    for h in history[1:]:
        prev = resolve_followup(h, [prev], vocab)
    return prev


def resolve_followup(q: str, history: list[str], vocab: Vocabulary) -> str:
    """The follow-up as a question that stands alone, written from the last earlier question:

    - "那财政局呢?" after "科技局怎么答复人才引进的建议?" → "财政局怎么答复人才引进的建议?"
      (likewise another proposer or year);
    - "市财政局呢？它给镇街的补助是按什么标准算的？" → "市财政局给镇街的补助是按什么标准算的？";
    - "那塘尾古村呢？" after "南社明清古村落2023年接待了多少游客？" → "塘尾古村2023年接待了多少游客？";
    - "这些村什么时候能全部解决？" after "…超过1公里的自然村，还剩多少个没解决？" → the pronoun
      becomes the earlier question's noun phrase ("…超过1公里的自然村什么时候能全部解决？").

    Anything else comes back unchanged.
    """
    if not history:
        return q
    prev = history[-1]
    clauses = re.split(r"(?<=[?？])", q, maxsplit=1)
    if len(clauses) == 2 and clauses[1].strip():
        head, rest = clauses[0], clauses[1].strip()
        m = _FOLLOWUP.match(head)
        if m:
            new = m.group(2).strip()
            who = vocab.department_in(new) or _looks_like_department(new) or vocab.proposer_in(new)
            if who:
                return _pronoun_to(rest, who) if _ANAPHOR.search(rest) else f"{who}{rest}"
        return resolve_followup(rest, history, vocab) if len(clauses[0]) <= 8 else q
    m = _FOLLOWUP.match(q)
    if m and len(q) <= 20:
        new = m.group(2).strip()
        d_new, d_old = vocab.department_in(new) or _looks_like_department(new), vocab.department_in(prev)
        if d_new and len(new) - len(d_new) > 2:
            return q  # "市场监管局那边产品抽检的结果怎么样？" asks something of its own
        if d_new:
            if d_old:
                for form in department_variants(d_old):
                    if form in prev:
                        return prev.replace(form, d_new, 1)
            return f"{d_new}{prev}"
        p_new, p_old = vocab.proposer_in(new), vocab.proposer_in(prev)
        if p_new:
            return prev.replace(p_old, p_new, 1) if p_old else f"{p_new}{prev}"
        y_new, y_old = _YEAR.search(new), _YEAR.search(prev)
        if y_new:
            return prev.replace(y_old.group(0), y_new.group(0), 1) if y_old else f"{y_new.group(0)}{prev}"
        if not _ASKING.search(new):
            return _swap_item(prev, new)
        return q
    a = _ANAPHOR.search(q)
    if a:
        noun = _noun_after(q, a.end())
        # "这些村" → the earlier phrase ending in 村; a noun the earlier question does not use
        # ("这笔钱" after "…服务费…多少钱") → the earlier question's subject
        phrase = _antecedent(prev, noun) if noun else None
        phrase = phrase or _antecedent(prev, "")
        if phrase:
            return q[:a.start()] + phrase + q[a.end() + len(noun):]
    return q


def _noun_after(q: str, at: int) -> str:
    """The word a pronoun governs: "这个平台…" → "平台", "这些村…" → "村"; "" for a bare "它"."""
    words = tokens(q[at:], keep_stopwords=True)
    w = words[0] if words and q.startswith(words[0], at) else ""
    if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", w) and is_common_noun(w):
        return w
    # one-character nouns ("村", "钱") are not in jieba's noun list; function words are not nouns
    ch = q[at:at + 1]
    return ch if re.fullmatch(r"[\u4e00-\u9fff]", ch) and ch not in _FUNCTION_CHARS and not _ASKING.match(ch) else ""


_FUNCTION_CHARS = set("的了是在有和与及或也都还就会能要里中上下把被将从向对为给让使建用做搞说讲提")


# where a noun phrase of a question begins: after these words (or a clause break)
_PHRASE_BREAK = re.compile(r"[，,。？?；;、]|对|为|在|把|给|和|与|从|向|关于|针对")


def _phrase_before(text: str, end: int) -> str:
    """The noun phrase of ``text`` that ends at ``end``."""
    start = 0
    for m in _PHRASE_BREAK.finditer(text, 0, end):
        start = m.end()
    return text[start:end].strip()


def _antecedent(prev: str, noun: str) -> str | None:
    """The phrase of the earlier question that a pronoun stands for: ending in the same noun
    ("这些村" → "…的自然村"), or, for a bare "它", the earlier question's subject."""
    if noun:
        for m in reversed(list(re.finditer(re.escape(noun), prev))):
            # "多少家企业" asks; it names nothing
            if _ASKING.search(prev[max(0, m.start() - 3):m.start()]):
                continue
            phrase = _phrase_before(prev, m.end())
            if len(phrase) > len(noun):
                return phrase
        return None
    m = re.search(r"现在|目前|如今|是|有|的|怎么|如何|什么|多少|几", prev)
    phrase = _phrase_before(prev, m.start()) if m else ""
    return phrase if len(phrase) >= 2 else None


def _swap_item(prev: str, new: str) -> str:
    """"那塘尾古村呢？" after a question about 南社明清古村落: the item that shares the most
    characters with the new one is replaced by it; with none in common the new item leads."""
    best, span = 0, None
    for i in range(len(prev)):
        for j in range(i + 2, min(len(prev), i + 12) + 1):
            if prev[i:j] in new and j - i > best:
                best, span = j - i, (i, j)
    if span is None:
        return f"{new}，{prev}"
    i, j = span
    while j < len(prev) and "\u4e00" <= prev[j] <= "\u9fff" and not _ASKING.match(prev[j:]) \
            and prev[j] not in "的是在有对为把":
        j += 1  # to the end of the word: "古村" → "古村落"
    start = _phrase_before(prev, i)
    i -= len(start)
    return prev[:i] + new + prev[j:]


def _pronoun_to(text: str, name: str) -> str:
    a = _ANAPHOR.search(text)
    return text[:a.start()] + name + text[a.end():] if a else text


def _looks_like_department(s: str) -> str | None:
    s = s.strip()
    if re.fullmatch(r"(市)?[\u4e00-\u9fff]{1,10}(局|委|办|支队|中心|管委会)", s):
        return s
    return None

