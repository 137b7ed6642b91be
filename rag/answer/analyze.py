"""Query analysis: intent (fact / list / catalogue / meta / outline), filters spotted in the
question, and follow-ups resolved against the conversation ("那财政局呢?")."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.core.departments import department_variants
from rag.core.types import Filters

PARTIES = ("民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "台盟")
_LIST = re.compile(r"哪些提案|哪几件|哪几份|哪件提案|哪份提案|提案有哪些|有哪些提案|哪些.{0,8}提案|列出.{0,6}提案|都有哪些")
_CATALOGUE_VERB = re.compile(r"(答复|办理|承办)(过|了)?(哪|的提案)|(提出|提交|提的|交的)(的)?(提案|哪)|联名|年(的|提出的|提交的)?提案")
_META = re.compile(r"谁提|提案者|谁提出|由谁|哪个部门(办理|答复|负责)|哪些部门(办理|答复)|办理单位|主办单位|"
                   r"(有|有没有)(部门)?答复|答复了吗|回复了吗|网友|支持票|反对票|多少人支持")
_ABOUT_SUGGESTION = re.compile(r"建议|提议|提出")
_YEAR = re.compile(r"(20\d{2})\s*年")
_FOLLOWUP = re.compile(r"^(那|那么|还有|换成|如果是)?(.{1,16})(呢|怎么样|又如何|如何)[?？]?$")
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
    intent: str  # fact | list | catalogue | meta
    filters: Filters
    group: str | None = None  # catalogue predicates: "parties" (民主党派), "joint" (联名)
    rewritten: bool = False


def analyse(question: str, vocab: Vocabulary, history: list[str] | None = None,
            filters: Filters | None = None) -> Analysis:
    q = question.strip()
    rewritten = False
    if history:
        resolved = resolve_followup(q, history, vocab)
        if resolved != q:
            q, rewritten = resolved, True
    intent = "fact"
    if _LIST.search(q):
        intent = "list"
    elif _META.search(q) and not (_ABOUT_SUGGESTION.search(q) and vocab.department_in(q)):
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
        if dept:
            for f in department_variants(dept):
                topical = topical.replace(f, "")
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
                    filters=found.merged(filters), group=group, rewritten=rewritten)


def resolve_followup(q: str, history: list[str], vocab: Vocabulary) -> str:
    """"那财政局呢?" after "科技局怎么答复人才引进的建议?" → "财政局怎么答复人才引进的建议?".

    Only short questions that name a new department, proposer or year and end in 呢/怎么样
    are rewritten; anything else is taken as a new question.
    """
    m = _FOLLOWUP.match(q)
    if not m or len(q) > 20 or not history:
        return q
    new = m.group(2).strip()
    prev = history[-1]
    d_new, d_old = vocab.department_in(new) or _looks_like_department(new), vocab.department_in(prev)
    if d_new:
        if d_old:
            for form in sorted(department_variants(d_old), key=len, reverse=True):
                if form in prev:
                    return prev.replace(form, d_new, 1)
        return f"{d_new}{prev}"
    p_new, p_old = vocab.proposer_in(new), vocab.proposer_in(prev)
    if p_new:
        return prev.replace(p_old, p_new, 1) if p_old else f"{p_new}{prev}"
    y_new, y_old = _YEAR.search(new), _YEAR.search(prev)
    if y_new:
        return prev.replace(y_old.group(0), y_new.group(0), 1) if y_old else f"{y_new.group(0)}{prev}"
    return q


def _looks_like_department(s: str) -> str | None:
    s = s.strip()
    if re.fullmatch(r"(市)?[\u4e00-\u9fff]{1,10}(局|委|办|支队|中心|管委会)", s):
        return s
    return None

