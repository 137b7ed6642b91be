"""Proposal → chunks: one per paragraph, one per suggestion, long paragraphs split at
sentence ends into parts ``n.1``, ``n.2`` (no character lost or repeated), one ``meta``
chunk per proposal."""
from __future__ import annotations

from rag.core.proposal import Paragraph, Proposal
from rag.core import token_budget as tokens
from rag.core.departments import department_key
from rag.core.textnorm import sentences
from rag.core.types import HEADING_SEP, Chunk, meta_chunk_id
from rag.core.lexicon import SECTION_LABEL



def _split(text: str, budget: int) -> list[tuple[int, int]]:
    """Spans of ``text`` of at most ``budget`` tokens, cut at sentence ends (。！？；)."""
    if tokens.count(text) <= budget:
        return [(0, len(text))]
    spans = sentences(text)
    # sentences() trims whitespace between sentences; widen spans so parts tile the text exactly
    tiles = []
    for i, (a, _) in enumerate(spans):
        b = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        tiles.append((0 if i == 0 else a, b))
    parts: list[tuple[int, int]] = []
    cur_a, cur_b = tiles[0]
    for a, b in tiles[1:]:
        if tokens.count(text[cur_a:b]) <= budget:
            cur_b = b
        else:
            parts.append((cur_a, cur_b))
            cur_a, cur_b = a, b
    parts.append((cur_a, cur_b))
    out: list[tuple[int, int]] = []
    for a, b in parts:  # one sentence over budget: cut it by characters
        if tokens.count(text[a:b]) <= budget * 1.5:
            out.append((a, b))
            continue
        step = max(budget // 2, 50)
        out.extend((i, min(i + step, b)) for i in range(a, b, step))
    return out


def meta_text(p: Proposal) -> str:
    """The header lines as they stand in the file (案由, 提案者, 部门答复, each replying
    department's name line, 暂无答复, 办理单位, 支持/反对), one per line: a citation of the
    meta chunk quotes one of them, so every quote can be found in the source file."""
    h = p.header_lines
    lines = [h.get("案由"), h.get("提案者"), h.get("部门答复")]
    lines += [r.department for r in p.replies] if p.reply_status == "answered" else [h.get("暂无答复")]
    lines += [h.get("办理单位"), h.get("支持")]
    return "\n".join(x for x in lines if x) or f"({p.id}){p.title}"


def meta_context(p: Proposal) -> str:
    """What the header implies but does not say in so many words (the year, who replied):
    indexed with the meta chunk so that "2023年…谁答复了" finds it, never quoted."""
    if p.reply_status == "answered":
        status = "答复部门:" + "、".join(p.departments)
    else:
        status = "暂无答复" if p.reply_status == "pending" else "部门答复:无"
    return f"《{p.title}》{SECTION_LABEL['meta']} 年份:{p.year}年 {status}"


def chunk_proposal(p: Proposal, budget: int = 320) -> list[Chunk]:
    base = dict(proposal_id=p.id, year=p.year, title=p.title, proposers="、".join(p.proposers),
                handling_units=",".join(p.handling_units), source=p.source)
    out: list[Chunk] = [Chunk(id=meta_chunk_id(p.id), section="meta", n="0", text=meta_text(p),
                              context=meta_context(p), **base)]

    def emit(section: str, paras: list[Paragraph], department: str | None = None) -> None:
        prefix = f"{p.id}:{section}:" + (f"{department_key(department)}:" if department else "")
        for i, para in enumerate(paras, 1):
            if para.is_heading:
                continue  # its words live on in every child's heading path
            path = ((department,) if department else ()) + tuple(para.heading)
            heading = HEADING_SEP.join(path) or None
            ctx = f"《{p.title}》{SECTION_LABEL[section]}" + (f" {heading}" if heading else "")
            spans = _split(para.text, budget)
            for j, (a, b) in enumerate(spans, 1):
                n = str(i) if len(spans) == 1 else f"{i}.{j}"
                out.append(Chunk(id=prefix + n, section=section, n=n, text=para.text[a:b],
                                 department=department, heading=heading, context=ctx,
                                 start=para.start + a, end=para.start + b, **base))

    emit("content", p.content)
    emit("suggestion", p.suggestions)
    for r in p.replies:
        emit("reply", r.paragraphs, r.department)
    return out
