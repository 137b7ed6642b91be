"""Summary answers: "市教育局对课后服务提案是怎么答复的？", "…采取了哪些措施？", "…提了哪些建议？".

Such a question asks for the gist of one reply (or of the 建议 block), not for one sentence.
The answerer picks the proposal and the department the question names (or the best
retrieved one), walks that section in the reply's own order and quotes the key sentence of
each of its parts, each with its own marker, within a length budget:

- the parts are the reply's headings at the level that splits it into about as many parts as
  the budget allows ("一、…" when there are several, else "（一）…" under them), a paragraph
  without a heading being a part of its own; courtesy paragraphs ("收悉", "感谢") are left out;
- the key sentence of a part is the one that says what was done with something concrete (a
  figure, a named document, a “quoted” name), preferring the part's first such sentence;
- the part's heading is written before its sentence ("（三）建立“护学岗”常态化机制：…"),
  since the heading names the measure; the citation quotes the sentence, the heading stands
  in the cited chunk's heading path;
- when there are more parts than points, those most about the question's topic are kept.

A cross question ("…建议…，市教育局是怎么落实的？") names one suggestion and asks for what was
done about it: it stays a fact question (``rag.answer.analyze``), answered by the selector.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.answer.answerer import Request
from rag.answer.extractive import quoted
from rag.core.lexicon import COURTESY, opens_with_courtesy
from rag.core.departments import cut_department, department_key, department_variants
from rag.core.terms import coverage, key_terms, topic_text
from rag.core.textnorm import answer_sentences
from rag.core.types import HEADING_SEP, Answer, Chunk, Citation, Hit
from rag.answer.verify import REFUSAL

# "提了哪些建议", "建议有哪些": the 建议 block is asked for, unless the question is about a reply
_OF_SUGGESTIONS = re.compile(r"(提|提出|给出)了?(哪些|什么|几条)(建议|意见)|建议(有|是)(哪些|什么)|(哪些|几条)建议")
# a sentence that reports something concrete: a figure, a named document, a “quoted” name
_CONCRETE = re.compile(r"\d|《[^》]+》|“[^”]+”|「[^」]+」")
_ITEM = re.compile(r"^\s*(?:[(（][0-9一二三四五六七八九十]{1,3}[)）]|[0-9一二三四五六七八九十]{1,3}[.．、])")
# words of a summary question that say "summarise", not what it is about
_SUMMARY_WORDS = re.compile(r"怎么|如何|答复|回复|回应|采取|措施|举措|哪些|什么|内容|工作|方面|要点|主要|"
                            r"做了|说了|讲了|提了|建议|提案|这件|委员|市委|东莞")


@dataclass(frozen=True)
class SummaryConfig:
    max_points: int = 6  # parts quoted at most
    max_chars: int = 700  # answer length budget (quotes and headings)
    sentences_per_point: int = 2  # quotes per part at most, budget permitting
    sentence_chars: int = 160  # a longer key sentence is cut at a clause end before this
    min_topic: float = 0.45  # share (idf) of the question's topic words the section must state:
    # the middle of the best thresholds under grouped CV (bench/summary_threshold.py, docs/answers.md)


@dataclass
class Quote:
    chunk: Chunk
    sentence: str  # verbatim, from chunk.text
    place: int  # position within its part (sentence order), for source order on output
    score: float


@dataclass
class Point:
    label: str  # the part's heading, "" when it has none
    quotes: list[Quote]  # best first while choosing; source order once chosen
    order: int  # the part's place in the section
    weight: float  # how much the part is about the question's topic
    part: str = ""  # the top heading it stands under ("二、下一步工作计划"), "" when none

    @property
    def chars(self) -> int:
        return len(self.label) + sum(len(q.sentence) for q in self.quotes)


def wants_suggestions(question: str) -> bool:
    return bool(_OF_SUGGESTIONS.search(question)) and not re.search(r"答复|回复|回应|采取|落实|措施", question)


def topic_terms(question: str, department: str | None) -> list[str]:
    """The question's content words without the summary words and the department's name."""
    forms = department_variants(department) if department else ()
    return [t for t in key_terms(question) if not _SUMMARY_WORDS.fullmatch(t) and not any(t in f for f in forms)]


def without_department(question: str, department: str | None) -> str:
    """The question with the department's name cut out, before it is tokenised: jieba joins
    the name's last character to the next word ("市卫生健康局对普惠托育…" gives "局对"), a
    word no reply contains."""
    return cut_department(question, department, "，")


def _own_heading(c: Chunk) -> tuple[str, ...]:
    """The chunk's heading path below its department."""
    if not c.heading:
        return ()
    parts = tuple(c.heading.split(HEADING_SEP))
    return parts[1:] if c.department and parts and parts[0] == c.department else parts


def _is_courtesy(c: Chunk) -> bool:
    """The opening ("…的建议收悉。…现答复如下") and closing ("感谢…") paragraphs of a reply."""
    ss = answer_sentences(c.text)
    return not ss or opens_with_courtesy(ss[0])


def _is_item_heading(s: str) -> bool:
    m = _ITEM.match(s)
    return bool(m) and len(s) <= 40


def _cut(sentence: str, limit: int) -> str:
    """A long sentence up to its last clause end (，；) before ``limit``: still verbatim."""
    if len(sentence) <= limit:
        return sentence
    cut = max(sentence.rfind(p, 0, limit) for p in "，,；;")
    return sentence[:cut + 1] if cut > limit // 3 else sentence[:limit]


def part_quotes(group: list[Chunk], terms: list[str], idf: Callable[[str], float],
                cfg: SummaryConfig) -> tuple[str, list[Quote]]:
    """(label, candidate quotes best first) of one part: its item heading when its first
    paragraph opens with one, and the sentences that say what was done with something
    concrete first, earlier ones before later ones."""
    label, out, place = "", [], 0
    for j, c in enumerate(group):
        ss = [x for x in answer_sentences(c.text) if not COURTESY.search(x)]
        if j == 0 and len(ss) > 1 and _is_item_heading(ss[0]):
            label, ss = ss[0], ss[1:]
        for x in ss:
            score = (1.0 if _CONCRETE.search(x) else 0.0) + 0.5 * coverage(terms, x, idf) - 0.15 * place
            out.append(Quote(c, _cut(x, cfg.sentence_chars), place, score))
            place += 1
    if not label and group and _own_heading(group[0]):
        # a heading on a line of its own ("一、关于人民调解队伍建设") lives in the heading path
        head = _own_heading(group[0])[-1]
        label = head if head not in group[0].text else ""
    out.sort(key=lambda q: (-q.score, q.place))
    return label, out


def parts_of(chunks: list[Chunk], max_points: int) -> list[list[Chunk]]:
    """Consecutive chunks grouped by heading, at the shallowest level that gives at least
    ``max_points`` parts (else the deepest level there is); a chunk without a heading stands
    alone. Too many parts are pruned later; too few would leave measures out."""
    paths = [_own_heading(c) for c in chunks]
    deepest = max((len(p) for p in paths), default=0)
    groups: list[list[Chunk]] = [[c] for c in chunks]
    for depth in range(1, deepest + 1):
        groups, key = [], None
        for c, p in zip(chunks, paths):
            k = p[:depth] if p else (c.id,)
            if groups and k == key:
                groups[-1].append(c)
            else:
                groups.append([c])
            key = k
        if len(groups) >= max_points:
            break
    return groups


def summarise(chunks: list[Chunk], question: str, idf: Callable[[str], float], cfg: SummaryConfig,
              department: str | None = None) -> list[Point]:
    """The points of one section (its chunks in order): one per part, within the budget."""
    return summary_of(chunks, question, idf, cfg, department)[0]


def summary_of(chunks: list[Chunk], question: str, idf: Callable[[str], float], cfg: SummaryConfig,
               department: str | None = None) -> tuple[list[Point], int]:
    """``summarise``'s points, and how many parts with something to quote the section has."""
    body = [c for c in chunks if not _is_courtesy(c)]
    terms = topic_terms(question, department)
    points: list[Point] = []
    spare: dict[int, list[Quote]] = {}
    for order, group in enumerate(parts_of(body, cfg.max_points)):
        label, quotes = part_quotes(group, terms, idf, cfg)
        if not quotes:
            continue
        text = label + "".join(c.text for c in group)
        head = _own_heading(group[0])
        points.append(Point(label, quotes[:1], order, coverage(terms, text, idf) if terms else 0.0,
                            head[0] if len(head) > 1 else ""))
        spare[order] = quotes[1:]
    total = len(points)
    if len(points) > cfg.max_points:
        # keep the parts most about the question's topic (the reply's order breaks ties)
        keep = sorted(points, key=lambda p: (-p.weight, p.order))[: cfg.max_points]
        points = sorted(keep, key=lambda p: p.order)
    out, used = [], 0
    for p in points:
        if out and used + p.chars > cfg.max_chars:
            break
        out.append(p)
        used += p.chars
    # what budget is left goes to each part's next sentence, part by part in the reply's order
    for _ in range(cfg.sentences_per_point - 1):
        for p in out:
            nxt = spare[p.order][:1]
            if nxt and used + len(nxt[0].sentence) <= cfg.max_chars:
                p.quotes.append(spare[p.order].pop(0))
                used += len(nxt[0].sentence)
    for p in out:
        p.quotes.sort(key=lambda q: q.place)
    return out, total


class SummaryAnswerer:
    """An ``Answerer`` (rag/answer/answerer.py): ``answer(request)`` drafts the summary or the refusal."""

    mode = "extractive"

    def __init__(self, proposal_chunks: Callable[[str], list[Chunk]], idf: Callable[[str], float],
                 config: SummaryConfig | None = None):
        self.proposal_chunks = proposal_chunks  # catalogue.proposal_chunks: a proposal's chunks in file order
        self.idf = idf
        self.config = config or SummaryConfig()

    def target(self, question: str, hits: list[Hit], department: str | None) -> tuple[str, str, str | None] | None:
        """(proposal id, section, department) the question asks to summarise."""
        section = "suggestion" if wants_suggestions(question) else "reply"
        dk = department_key(department) if department else ""
        for h in hits:
            c = h.chunk
            if c.section == "meta":
                continue
            if section == "suggestion":
                return c.proposal_id, section, None
            if c.section == "reply" and (not dk or department_key(c.department) == dk):
                return c.proposal_id, section, c.department
        if section == "reply" and dk:
            # the retrieved chunks are not from that department's reply: maybe from the proposal it replied to
            for h in hits:
                for c in self.proposal_chunks(h.chunk.proposal_id):
                    if c.section == "reply" and department_key(c.department) == dk:
                        return c.proposal_id, section, c.department
                break
        return None

    def answer(self, request: Request) -> Answer:
        analysis, hits = request.analysis, request.hits
        question, query, department = analysis.question, analysis.query, analysis.filters.department
        refuse = Answer(question=question, answer=REFUSAL, abstained=True, mode=self.mode, contexts=hits,
                        intent="summary")
        t = self.target(query, hits, department)
        if t is None:
            return refuse
        pid, section, dept = t
        chunks = [c for c in self.proposal_chunks(pid) if c.section == section
                  and (section != "reply" or c.department == dept)]
        # the section must be about what was asked: a department's reply to another proposal is not
        terms = topic_terms(without_department(query, department), department)
        about = topic_text(chunks)
        if not chunks or (terms and coverage(terms, about, self.idf) < self.config.min_topic):
            return refuse
        points, total = summary_of(chunks, query, self.idf, self.config, department)
        if not points:
            return refuse
        ans = render(question, points, hits, self.mode)
        if total > len(points):
            # the reader should know the list is not the whole reply
            what = "答复" if section == "reply" else "建议"
            ans.notice = f"该{what}共{total}部分，这里摘录其中{len(points)}部分，其余请查看原文。"
        return ans


def _bare(heading: str) -> str:
    """A heading without its closing punctuation, to be followed by "："."""
    return re.sub(r"[。；;:：,，\s]+$", "", heading)


def render(question: str, points: list[Point], hits: list[Hit], mode: str) -> Answer:
    c = points[0].quotes[0].chunk
    # no id or 《title》 in the lead: it carries no marker, and the verifier strikes uncited facts
    lead = f"{c.department}的答复要点如下：" if c.section == "reply" else "提案的建议要点如下："
    lines, cites = [lead], []
    # points under more than one top heading ("一、工作举措及成效", "二、下一步工作计划") are
    # shown under theirs, so that what is planned does not read as done
    parts = len({p.part for p in points}) > 1
    for i, p in enumerate(points, 1):
        if parts and p.part and (i == 1 or p.part != points[i - 2].part):
            lines.append(_bare(p.part) + "：")
        label = _bare(p.label)
        body = ""
        for q in p.quotes:
            m = str(len(cites) + 1)
            body += f"{quoted(q.sentence)}[{m}]"
            cites.append(Citation.of(m, q.chunk, q.sentence))
        lines.append(f"{i}. {label}：{body}" if label else f"{i}. {body}")
    # the paragraphs the answer quotes come first, in the reply's order (the sources a reader
    # checks), then the other retrieved ones
    quoted_chunks = {q.chunk.id: q.chunk for p in points for q in p.quotes}
    retrieved = {h.chunk.id: h for h in hits}
    contexts = [retrieved.get(cid) or Hit(ch, 0.0, "summary") for cid, ch in quoted_chunks.items()] + \
        [h for h in hits if h.chunk.id not in quoted_chunks]
    return Answer(question=question, answer="\n".join(lines), abstained=False, mode=mode, citations=cites,
                  contexts=contexts, intent="summary")
