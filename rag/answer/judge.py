"""The grounding judge: does what a sentence cites say what the sentence says?

One judge for the answerers' verifier (``rag/answer/verify.py``) and the evals
(``evals/grounding.py``). A sentence is supported when every one of these holds against the
paragraphs it cites (each with the identity its chunk vouches for: proposal id, title,
proposers, department, heading, year):

1. **figures** — every quantity with its unit and magnitude (3,200 = 三千二百; 万元 ≠ 亿元;
   % ≠ 个百分点) is stated by a cited paragraph;
2. **dates** — every year, month, day and part of a year (年底, 上半年) is, relative ones
   resolved against the proposal's year;
3. **names** — departments (aliases folded), 镇街, named bodies (hospitals, schools, parks,
   reservoirs…), projects in “”, policies in 《》 stand in a cited paragraph, and the people
   named as authors ("郑国华委员", "提案者为…") are a cited proposal's proposers or named in it;
4. **each clause** has its words in one cited paragraph (a merged sentence takes each clause
   from the paragraph that says it), and the paragraph clause it rests on
   - says it is done when the clause says 已/建成/实现 (a plan, an aim or 尚未 is not done),
   - is as wide when the clause says 全部/所有/全面/均 (not a pilot, a part, or some towns),
   - is as strong (取消 is not 降低) and has the same negation.

Quotes are evidence to locate, never required. Word lists: ``rag/answer/claims.py``.
"""
from __future__ import annotations

from functools import lru_cache
import re
from dataclasses import dataclass, field

from rag.answer import claims as C
from rag.core.departments import department_key
from rag.core.lexicon import MARKER
from rag.core.textnorm import norm
from rag.core.types import Chunk

_NONWORD = re.compile(r"[\W_]+")
@dataclass(frozen=True)
class Evidence:
    """One cited paragraph: its text and what its chunk vouches for beyond the text."""

    text: str
    identity: str = ""
    year: int | None = None
    department: str | None = None

    @classmethod
    def of_chunk(cls, c: Chunk) -> "Evidence":
        ident = "\n".join(x for x in (c.title, c.proposal_id, c.proposers, c.department or "", c.heading or "",
                                      f"{c.year}年" if c.year else "") if x)
        return cls(c.text, ident, c.year or None, c.department)


@dataclass
class Verdict:
    supported: bool
    reason: str = ""  # what has no support; "" when supported
    check: str = ""  # figure | unit | date | entity | polarity | scope | overlap | none
    located: list[str] = field(default_factory=list)  # the paragraph clauses the sentence rests on
    item: str = ""  # the figure, date or name with no support, when it is one

    def to_json(self) -> dict:
        return {"supported": self.supported, "reason": self.reason, "check": self.check}


@dataclass(frozen=True)
class Judge:
    """``min_clause_share``: the share of a clause's character pairs one cited paragraph must
    have, times ``anchored_discount`` when the clause's figures all stand in the paragraph
    clause it rests on (both chosen by grouped cross-validation, docs/judge.md);
    ``min_clause_chars``: clauses shorter than this are connectives ("会", "此外") and need
    no words of their own."""

    min_clause_share: float = 0.4
    min_clause_chars: int = 4
    anchored_discount: float = 1.0

    def __call__(self, sentence: str, passages: list[str]) -> bool:
        """The evals' judge shape: (sentence, passage texts) -> supported."""
        return self.judge(sentence, [Evidence(p) for p in passages]).supported

    def judge(self, sentence: str, evidence: list[Evidence]) -> Verdict:
        """The verdict on ``sentence`` (markers are ignored) against the paragraphs it cites."""
        body = MARKER.sub("", sentence).strip()
        if not evidence:
            return Verdict(False, "cites no paragraph", "none")
        ctx = _context(tuple(evidence))
        for check in (self._figures, self._dates, self._names):
            v = check(body, ctx)
            if v is not None:
                return v
        return self._clauses(body, ctx)

    # ---- facts ----------------------------------------------------------------------------
    def _figures(self, body: str, ctx: "_Context") -> Verdict | None:
        for f in C.figures(body):
            if any(f.matches(g) for g in ctx.figures):
                continue
            if any(_same(g.value * k, f.value) for g in ctx.figures for k in _MAGNITUDES):
                return Verdict(False, f"unit or magnitude of {f.text} is not in the cited paragraphs", "unit",
                               item=f.text)
            if not f.unit and re.sub(r"[^\d.]", "", f.text) in ctx.flat_digits:
                continue  # a bare number the paragraph has inside a name or code ("12345热线")
            return Verdict(False, f"figure {f.text} is not in the cited paragraphs", "figure", item=f.text)
        return None

    def _dates(self, body: str, ctx: "_Context") -> Verdict | None:
        for d in C.dates(body, ctx.year):
            if any(d.supported_by(o) for o in ctx.dates):
                continue
            if d.year and d.month is None and d.part is None and str(d.year) in ctx.flat:
                continue  # 2021年 inside "2021—2025年"
            return Verdict(False, f"date {d.text} is not in the cited paragraphs", "date", item=d.text)
        return None

    def _names(self, body: str, ctx: "_Context") -> Verdict | None:
        for t in C.titles(body):
            if not _title_in(t, ctx.flat):
                return Verdict(False, f"《{t}》 is not in the cited paragraphs", "entity", item=f"《{t}》")
        for q in C.quoted(body):
            if q not in ctx.flat:
                return Verdict(False, f"“{q}” is not in the cited paragraphs", "entity", item=q)
        v = self._departments(body, ctx)
        if v is not None:
            return v
        for t in C.towns(body) - ctx.towns:
            return Verdict(False, f"place {t} is not in the cited paragraphs", "entity", item=t)
        for person in C.people(body):
            if not C.person_supported(person, ctx.flat):
                return Verdict(False, f"{person} is not a proposer of, nor named in, the cited paragraphs", "entity",
                               item=person)
        for name in C.named_bodies(body):
            # a swap shows as another body of the same kind in the paragraph (石龙医院 for 石碣医院)
            word = C.body_word(name)
            if not C.name_supported(name, ctx.flat) and any(C.body_word(o) == word for o in ctx.bodies):
                return Verdict(False, f"{name} is not in the cited paragraphs", "entity", item=name)
        return None

    def _departments(self, body: str, ctx: "_Context") -> Verdict | None:
        """Departments must be named by the paragraphs or be a cited chunk's own (a reply's
        paragraph says 我局; its chunk vouches for the department)."""
        missing = C.departments(body) - ctx.departments
        if missing:
            return Verdict(False, f"department {'、'.join(sorted(missing))} is not in the cited paragraphs", "entity")
        return None

    # ---- clauses --------------------------------------------------------------------------
    def _clauses(self, body: str, ctx: "_Context") -> Verdict:
        located: list[str] = []
        planned = False  # "力争年底前解决，实现全覆盖": the plan governs the clauses after it
        asserted = False  # "已建成1家，实现全覆盖": so does a claim of done
        for clause in C.clauses(body):
            # figures, dates and titles are checked on their own; the words are what is left
            words = _NONWORD.sub("", C.strip_titles(C.ATTRIBUTION.sub("", clause, count=1)))
            if len(words) < self.min_clause_chars:
                continue
            share, para, (where, window, sentence) = ctx.locate(words, clause)
            figs = C.figures(clause)
            # a clause whose figures all stand in the paragraph clause it rests on is located
            # by them ("到2023年已增至586名"): its few other words may be the writer's own
            anchored = bool(figs) and all(any(f.matches(g) for g in C.figures(window)) for f in figs)
            if share < self.min_clause_share * (self.anchored_discount if anchored else 1.0):
                return Verdict(False, f"no cited paragraph says “{clause}”", "overlap", located)
            located.append(where)
            v = (_near_facts(clause, window, sentence, ctx) or _modality(
                clause, where, window, ctx.prefix(para, where), ctx, para, planned, asserted))
            planned = planned or bool(C.has_any(clause, C.PLAN_SUPPORT) or C.has_any(clause, C.PLAN_WILL))
            asserted = asserted or "已" in clause
            if v is not None:
                v.located = located
                return v
        return Verdict(True, "", "", located)


_MAGNITUDES = (1.0, 1e4, 1e-4, 1e8, 1e-8, 1e3, 1e-3)  # the same digits at another magnitude: 万 for 亿


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _near_facts(clause: str, window: str, sentence: str, ctx: "_Context") -> Verdict | None:
    """A figure or date the paragraph states elsewhere may not replace the one stated where
    the clause rests: a same-value figure with another unit, or a date of the same kind with
    another value, in the paragraph sentence the clause rests on is a swap."""
    for near in (C.figures(window), C.figures(sentence)):
        for f in C.figures(clause):
            if any(f.matches(g) for g in near):
                continue
            if any(abs(g.value - f.value) < 1e-9 * max(1, abs(f.value)) for g in near):
                return Verdict(False, f"unit of {f.text} differs from the cited paragraph", "unit", item=f.text)
    for kind, found in (("place", C.towns), ("department", C.departments)):
        mine, theirs = found(C.ATTRIBUTION.sub("", clause, count=1)), found(window)
        if kind == "department":
            mine = mine - ctx.own  # a reply's own department may always be named ("市卫健局会同市财政局…")
        if mine - theirs and theirs - mine:
            return Verdict(False, f"{kind} {'、'.join(sorted(mine - theirs))} where the cited paragraph has "
                                  f"{'、'.join(sorted(theirs - mine))}", "entity")
    theirs = [b for b in C.named_bodies(window) if not C.name_supported(b, norm(clause))]
    for b in C.named_bodies(clause):
        if not C.name_supported(b, norm(window)) and theirs:
            return Verdict(False, f"{b} where the cited paragraph has {theirs[0]}", "entity")
    near_d = C.dates(sentence, ctx.year)
    for d in C.dates(clause, ctx.year):
        if any(d.supported_by(o) for o in near_d):
            continue
        if d.year is not None and d.month is None and d.part is None and any(o.year for o in near_d):
            return Verdict(False, f"date {d.text} differs from the cited paragraph", "date", item=d.text)
    return None


def _title_in(title: str, flat: str) -> bool:
    if title in flat:
        return True
    bare = re.sub(r"^(?:广东省)?(?:东莞市|东莞)", "", title)
    return len(bare) >= 4 and bare in flat


def _modality(clause: str, where: str, window: str, prefix: str, ctx: "_Context", para: int,
              planned: bool = False, asserted: bool = False) -> Verdict | None:
    """Polarity, modality, scope and strength of ``clause`` against the paragraph clause
    ``where`` it rests on (``window``: it and the clause after it; ``prefix``: what precedes
    it in its paragraph sentence; ``planned`` / ``asserted``: an earlier clause of the sentence
    is a plan / says something is done)."""
    c = norm(clause)
    planned = planned or bool(C.has_any(c, C.PLAN_SUPPORT) or C.has_any(c, C.PLAN_WILL))
    if (C.done_claim(c, "" if asserted else where) and not C.has_any(c, C.NEGATION) and not planned
            and not _says_done(where, window, prefix, ctx, para)):
        return Verdict(False, f"“{clause}” states as done what the cited paragraph does not report as done",
                       "polarity")
    if C.has_any(c, C.NEGATION) and not C.has_any(where, C.NEGATION):
        return Verdict(False, f"“{clause}” denies what the cited paragraph does not", "polarity")
    for strong, forms in C.STRONG.items():
        if strong in c and not C.has_any(where, forms):
            return Verdict(False, f"{strong}: the cited paragraph does not say so", "polarity")
    if C.done_claim(c) and not planned:
        for verb, forms in C.DONE_VERBS.items():
            if re.search(rf"已(?:经)?[^，,。；]{{0,12}}?{verb}", c) and not C.has_any(window, forms):
                return Verdict(False, f"{verb}: the cited paragraph does not say so", "polarity")
    wide = C.universal_claim(c)
    if wide:
        # a narrowing word the clause repeats ("其中4个镇街均超过5所") narrows nothing
        narrows = [w for w in C.PARTIAL if w not in c]
        said = all(w in where for w in wide) and not C.has_any(where, narrows)  # the clause says it itself
        if not said and (not C.universal_support(window) or C.has_any(window, narrows)):
            return Verdict(False, f"{wide[0]}: the cited paragraph does not say it holds for all", "scope")
    return None


def _says_done(where: str, window: str, prefix: str, ctx: "_Context", para: int) -> bool:
    """A report says what was done unless it says it is planned, aimed at, not yet done, or
    is a bare imperative list item ("（三）建立…制度" under 下一步)."""
    if C.has_any(window, C.STRICT_DONE):
        return True
    if (C.has_any(where, C.PLAN_SUPPORT) or C.has_any(where, C.PLAN_WILL) or C.has_any(where, C.NEGATION)
            or C.has_any(where, C.EFFORT)):
        return False
    if C.has_any(prefix, C.PLAN_SUPPORT) or C.has_any(prefix, C.PLAN_WILL):
        return any(d.year is not None and ctx.year is not None and d.year <= ctx.year for d in C.dates(where, ctx.year))
    if not ctx.reports(para):
        return False  # a list of what is to be done ("（二）在…建设驿站20个")
    sentence = prefix + where
    if C.ENUMERATED.match(sentence) and not C.figures(sentence) and not C.dates(sentence, ctx.year):
        return False
    return True


class _Context:
    """The cited paragraphs, read once per sentence."""

    def __init__(self, evidence: list[Evidence]):
        self.evidence = evidence
        self.flat = norm("\n".join(e.text + "\n" + e.identity for e in evidence))
        self.flat_digits = set(re.findall(r"\d+(?:\.\d+)?", self.flat))
        self.year = next((e.year for e in evidence if e.year), None)
        self.figures = [f for e in evidence for f in C.figures(e.text + "\n" + e.identity)]
        self.dates = [d for e in evidence for d in C.dates(e.text + "\n" + e.identity, e.year or self.year)]
        self.own = frozenset(department_key(e.department) for e in evidence if e.department)
        self.departments = C.departments(self.flat) | self.own
        self.towns = C.towns(self.flat)
        self.bodies = C.named_bodies(self.flat)
        self._identity = [norm(e.identity) for e in evidence]
        self._sentences = [[norm(s) for s in re.split(r"(?<=[。！？；;!?])|\n", e.text) if s.strip()]
                           for e in evidence]

    def locate(self, words: str, clause: str = "") -> tuple[float, int, tuple[str, str, str]]:
        """(share of ``words``' character pairs in the best cited paragraph, its index, the
        clause of it that shares most — among the clauses stating the same figures, when the
        clause states any — with the clause after it in the same sentence)."""
        grams = {words[i:i + 2] for i in range(len(words) - 1)} or {words}
        figs = C.figures(clause) if clause else []
        best = (-1.0, 0, ("", "", ""))
        for i, sents in enumerate(self._sentences):
            text = _NONWORD.sub("", "".join(sents) + self._identity[i])
            share = sum(1 for g in grams if g in text) / len(grams)
            if share > best[0]:
                best = (share, i, _best_clause(grams, sents, figs))
        return best

    def reports(self, para: int) -> bool:
        """Does paragraph ``para`` report what was done or how things stand, rather than list
        what is to be done? A list of tasks says 计划/力争/将于… or sets targets (“5个以上”,
        “不低于85%”) and reports no result (已, 累计, 截至, 由…提高至, a date before the
        proposal's year)."""
        text = "".join(self._sentences[para])
        if C.has_any(text, C.STRICT_DONE) or C.RESULT.search(text):
            return True
        if self.year is not None and any(d.year is not None and d.year < self.year for d in C.dates(text, self.year)):
            return True
        return not (C.has_any(text, C.PLAN_SUPPORT) or C.has_any(text, C.PLAN_WILL) or C.TARGET.search(text))

    def prefix(self, para: int, where: str) -> str:
        for s in self._sentences[para] if self._sentences else []:
            k = s.find(where)
            if k >= 0:
                return s[:k]
        return ""


@lru_cache(maxsize=256)
def _context(evidence: tuple[Evidence, ...]) -> _Context:
    """A long answer cites the same paragraphs sentence after sentence: read them once."""
    return _Context(list(evidence))


def _best_clause(grams: set[str], sents: list[str], figs: list) -> tuple[str, str, str]:
    """The paragraph clause that shares most, it with the clause after it, and its sentence."""
    best, score = ("", "", ""), (-1, -1)
    for s in sents:
        cls = C.clauses(s)
        for k, cl in enumerate(cls):
            w = _NONWORD.sub("", cl)
            anchored = sum(1 for f in figs if any(f.matches(g) for g in C.figures(cl)))
            sc = (anchored, sum(1 for g in grams if g in w))
            if sc > score:
                best, score = (cl, "，".join(cls[k:k + 2]), s), sc
    return best


JUDGE = Judge()
