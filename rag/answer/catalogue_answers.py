"""Answers that come from the catalogue rather than from ranked paragraphs: complete lists
("2023年市教育局答复过哪些提案?") and facts about a proposal ("谁提的", "有部门答复了吗").
Each line cites the proposal's ``meta`` chunk, whose text holds the verbatim header lines
(ingest/chunker.py ``meta_text``): every quote is a line, or part of one, of the source file."""
from __future__ import annotations

import re

from rag.answer.analyze import META_ASK, PARTIES, Analysis
from rag.stores.catalogue import Catalogue
from rag.core.terms import key_terms, topic_text
from rag.core.textnorm import norm
from rag.core.types import Answer, Chunk, Citation, Hit, meta_chunk_id
from rag.answer.verify import REFUSAL


def catalogue_ids(catalogue: Catalogue, a: Analysis) -> list[str]:
    f = a.filters
    ids = catalogue.find(year=f.year, department=f.department, proposer=f.proposer,
                         replied_only=bool(f.department and re.search(r"答复|回复", a.query)))
    if a.group == "parties":
        ids = [r["id"] for r in catalogue.rows(ids) if any(p in r["proposers"] for p in PARTIES)]
    elif a.group == "joint":
        ids = [r["id"] for r in catalogue.rows(ids) if len([x for x in r["proposers"].split("、") if x]) > 1]
    return sorted(ids)


# a chat answer lists at most this many proposals (the newest), and says how many match: a
# list of hundreds is read in 资料库, and each line is judged, so the answer's time grows with it
LIST_LIMIT = 100


def answer_catalogue(catalogue: Catalogue, a: Analysis, mode: str) -> Answer:
    matched = catalogue_ids(catalogue, a)
    ids = sorted(matched[-LIST_LIMIT:]) if len(matched) > LIST_LIMIT else matched
    hits, lines, cites = [], [], []
    rows = {r["id"]: r for r in catalogue.rows(ids)}
    metas = {c.proposal_id: c for c in catalogue.chunks([meta_chunk_id(pid) for pid in ids])}
    for pid in ids:
        c = metas.get(pid)
        if c is None or pid not in rows:
            continue
        r = rows[pid]
        m = str(len(cites) + 1)
        deps = "、".join(r["departments"]) or ("暂无答复" if r["reply_status"] == "pending" else "无答复")
        lines.append(f"{m}. {pid}《{r['title']}》（提案者：{r['proposers']}，答复部门：{deps}）[{m}]")
        case_line = c.text.splitlines()[0]
        cites.append(Citation.of(m, c, case_line))
        hits.append(Hit(c, 1.0, "catalogue"))
    if not lines:
        return Answer(question=a.question, answer=REFUSAL, abstained=True, mode=mode, intent="catalogue")
    text = "符合条件的提案如下：\n" + "\n".join(lines)
    # the count is the catalogue's, not a cited claim: it goes with the answer as its notice
    notice = None if len(matched) <= LIST_LIMIT else \
        f"共有{len(matched)}件提案符合条件，这里列出编号最新的{len(lines)}件；完整清单可在「资料库」中按条件筛选。"
    return Answer(question=a.question, answer=text, abstained=False, mode=mode, citations=cites,
                  contexts=hits, intent="catalogue", notice=notice)


_WHO = re.compile(r"谁提|提案者|谁提出|由谁")
_UNITS = re.compile(r"办理单位|主办单位|哪个部门(办理|负责)")
_VOTES = re.compile(r"网友|支持|反对")
# a proposal whose file has no 部门答复 block (reply_status "none"): said by the archive, not quoted
NO_REPLY = "提案库中这件提案的文件没有“部门答复”部分（答复状态：无答复）。"


def is_about(question: str, chunks: list[Chunk], min_share: float = 0.5) -> bool:
    """Do the retrieved paragraphs of one proposal (with its title and proposers) hold at least
    half of the question's topic words? "关于流浪犬只收容管理，有部门答复过吗？" must not be
    answered about whichever proposal came first."""
    terms = key_terms(question)
    if not terms or not chunks:
        return bool(chunks)
    text = norm(topic_text(chunks))
    return sum(norm(t) in text for t in terms) / len(terms) >= min_share


def answer_meta(catalogue: Catalogue, a: Analysis, hits: list[Hit], mode: str) -> Answer | None:
    """A fact about one proposal, taken from its header; ``None`` when no proposal is in view."""
    pid = a.filters.proposal_id or (hits[0].chunk.proposal_id if hits else None)
    if a.filters.proposer and hits:
        pid = next((h.chunk.proposal_id for h in hits if a.filters.proposer in h.chunk.proposers), pid)
    if not pid:
        return None
    # the topic is what is left once the header words are out ("网友支持票", "有部门答复")
    topic = META_ASK.sub(" ", a.query)
    if not a.filters.proposal_id and not is_about(topic, [h.chunk for h in hits if h.chunk.proposal_id == pid]):
        return None  # the best hit is another topic's proposal: the paragraph answerers (and their refusal) decide
    p = catalogue.proposal(pid)
    c = catalogue.meta_chunk(pid)
    if p is None or c is None:
        return None
    lines = {k: ln for k, ln in zip(range(99), c.text.splitlines())}
    find = lambda prefix: next((ln for ln in lines.values() if ln.replace(" ", "").startswith(prefix)), None)  # noqa: E731
    head = f"提案{pid}《{p.title}》"
    notice = None
    if _WHO.search(a.query):
        quote = find("提案者") or lines[0]
        text = f"{head}的提案者是{'、'.join(p.proposers)}。[1]"
    elif _UNITS.search(a.query):
        quote = find("办理单位") or lines[0]
        text = f"{head}的办理单位为{'、'.join(p.handling_units)}（主办：{p.handling_units[0] if p.handling_units else '未注明'}）。[1]"
    elif _VOTES.search(a.query) and p.votes:
        quote = find("支持") or lines[0]
        text = f"{head}的网友评价为支持{p.votes[0]}、反对{p.votes[1]}。[1]"
    elif p.reply_status == "pending":
        quote = "暂无答复"
        text = f"{head}目前暂无答复，尚未有部门答复该提案。[1]"
    elif p.reply_status == "answered":
        # each department is cited by its own name line, which stands in the file as written
        named = [d for d in p.departments if d in lines.values()]
        if named:
            cites = [Citation.of(str(i), c, d) for i, d in enumerate(named, 1)]
            text = f"{head}已由" + "、".join(f"{d}[{i}]" for i, d in enumerate(named, 1)) + "答复。"
            return Answer(question=a.question, answer=text, abstained=False, mode=mode, citations=cites,
                          contexts=[Hit(c, 1.0, "catalogue")] + [h for h in hits if h.chunk.id != c.id],
                          intent="meta")
        quote = lines[0]
        text = f"{head}已由{'、'.join(p.departments)}答复。[1]"
    else:
        # the file has no reply block: nothing in it says so, so the answer states what the
        # file does say (who handles it) and the archive's own finding goes in the notice
        notice = NO_REPLY
        quote = find("办理单位")
        if quote and p.handling_units:
            text = f"{head}的办理单位为{'、'.join(p.handling_units)}。[1]"
        else:
            quote = lines[0]
            text = f"{head}。[1]"
    ctx = [Hit(c, 1.0, "catalogue")] + [h for h in hits if h.chunk.id != c.id]
    return Answer(question=a.question, answer=text, abstained=False, mode=mode,
                  citations=[Citation.of("1", c, quote)], contexts=ctx, intent="meta", notice=notice)


class CatalogueAnswerer:
    """Complete lists from the catalogue ("2023年市教育局答复过哪些提案?"), one line per proposal."""

    def __init__(self, catalogue: Catalogue, mode: str = "extractive"):
        self.catalogue = catalogue
        self.mode = mode

    def answer(self, request) -> Answer:
        return answer_catalogue(self.catalogue, request.analysis, self.mode)


class MetaAnswerer:
    """A fact about one proposal from its header ("谁提的", "有部门答复了吗"); ``None`` when no
    proposal is in view, so the paragraph answerers take over."""

    def __init__(self, catalogue: Catalogue, mode: str = "extractive"):
        self.catalogue = catalogue
        self.mode = mode

    def answer(self, request) -> Answer | None:
        return answer_meta(self.catalogue, request.analysis, request.hits, self.mode)
