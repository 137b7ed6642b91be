"""Pure functions that turn the `rag` API's objects into HTML for the app.

Everything that comes from the corpus or the user is escaped here (``esc``): the app shows
source text, it never renders it as markup. Clickable things carry their target in a
``data-`` attribute (``data-chunk``, ``data-pid``); the app's JS forwards the click to Python.
"""
from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rag.core.proposal import REPLY_STATUS_ZH, Paragraph, Proposal
from rag.core.types import Answer, Chunk, Citation
from rag.core.lexicon import MARKER, SECTION_LABEL
from rag.staff.align import VERDICT_ZH

MODE_LABEL = {"extractive": "抽取式", "llm": "大模型"}
STATUS_LABEL = REPLY_STATUS_ZH


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _lines(text: str) -> str:
    return esc(text).replace("\n", "<br>")


# ---- chat -----------------------------------------------------------------------------------
@dataclass
class ChatTurn:
    """One question of a browser session and what came back (an answer or a plain error)."""

    question: str
    answer: Answer | None = None
    error: str | None = None
    partial: str | None = None  # streamed text before the verified answer arrives


def _chunks_of(answer: Answer) -> dict[str, Chunk]:
    return {h.chunk.id: h.chunk for h in answer.contexts}


def where(c: Citation) -> str:
    """Human label of a citation's place: department › heading, or the section's name."""
    if c.heading:
        return c.heading
    if c.department:
        return c.department
    return SECTION_LABEL.get(c.section, c.section)


def answer_text_html(text: str, citations: Sequence[Citation]) -> str:
    """The answer, escaped, with each ``[n]`` that names a citation turned into a button."""
    by_marker = {c.marker: c for c in citations}
    out, last = [], 0
    for m in MARKER.finditer(text):
        out.append(_lines(text[last:m.start()]))
        c = by_marker.get(m.group(1))
        if c is None:
            out.append(esc(m.group(0)))
        else:
            out.append(f'<button type="button" class="cite" data-chunk="{esc(c.chunk_id)}" '
                       f'title="查看原文：{esc(c.proposal_id)} · {esc(where(c))}">[{esc(c.marker)}]</button>')
        last = m.end()
    out.append(_lines(text[last:]))
    return "".join(out)


def source_card_html(c: Citation, chunk: Chunk | None) -> str:
    title = f"《{chunk.title}》" if chunk else ""
    return (f'<button type="button" class="source-card" data-chunk="{esc(c.chunk_id)}">'
            f'<span class="card-head"><span class="card-marker">[{esc(c.marker)}]</span> '
            f'{esc(c.proposal_id)}{esc(title)}</span>'
            f'<span class="card-where">{esc(where(c))}</span>'
            f'<span class="card-quote">「{esc(c.quote)}」</span></button>')


def copy_text(answer: Answer) -> str:
    """The answer with its sources as plain text, for the clipboard."""
    chunks = _chunks_of(answer)
    lines = [answer.answer]
    if answer.notice:
        lines.insert(0, answer.notice)
    if answer.citations:
        lines += ["", "来源："]
        for c in answer.citations:
            ch = chunks.get(c.chunk_id)
            title = f"《{ch.title}》" if ch else ""
            lines.append(f"[{c.marker}] 提案{c.proposal_id}{title} · {where(c)}")
            lines.append(f"    「{c.quote}」")
    return "\n".join(lines)


def answer_html(answer: Answer) -> str:
    """One answer bubble: mode badge, notice, text with markers, source cards, copy button."""
    mode = MODE_LABEL.get(answer.mode, answer.mode)
    kind = "refusal" if answer.abstained else "answer"
    parts = [f'<div class="bubble {kind}" data-mode="{esc(answer.mode)}">',
             f'<div class="bubble-head"><span class="badge mode-{esc(answer.mode)}">{esc(mode)}</span>']
    if answer.abstained:
        parts.append('<span class="badge refusal-badge">未找到依据</span>')
    parts.append("</div>")
    if answer.notice:
        parts.append(f'<div class="notice">{esc(answer.notice)}</div>')
    parts.append(f'<div class="answer-text">{answer_text_html(answer.answer, answer.citations)}</div>')
    if answer.abstained and answer.leads:
        leads = "".join(f'<button type="button" class="lead" data-pid="{esc(p)}">{esc(p)}</button>'
                        for p in answer.leads)
        parts.append(f'<div class="leads">可能相关的提案：{leads}</div>')
    if answer.citations:
        chunks = _chunks_of(answer)
        cards = "".join(source_card_html(c, chunks.get(c.chunk_id)) for c in answer.citations)
        parts.append(f'<div class="sources"><div class="sources-title">来源</div>{cards}</div>')
    if not answer.abstained:
        parts.append(f'<button type="button" class="copy-answer" data-copy="{esc(copy_text(answer))}">'
                     "复制答案及来源</button>")
    parts.append("</div>")
    return "".join(parts)


def transcript_html(turns: Sequence[ChatTurn]) -> str:
    if not turns:
        return ('<div class="transcript empty"><p class="hint">请输入问题，例如：'
                "“科技局怎么答复人才引进的建议？”。答案中的 [1] 等标记可点击查看原文。</p></div>")
    out = ['<div class="transcript">']
    for t in turns:
        out.append(f'<div class="turn"><div class="bubble question">{_lines(t.question)}</div>')
        if t.answer is not None:
            out.append(answer_html(t.answer))
        elif t.error is not None:
            out.append(f'<div class="bubble error">{_lines(t.error)}</div>')
        else:
            text = _lines(MARKER.sub("", t.partial)) if t.partial else "正在检索…"
            out.append(f'<div class="bubble pending">{text}</div>')
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def conversation_list_html(convs: Sequence, current: str | None = None) -> str:
    """The saved conversations (``rag.stores.conversations.Conversation``), newest first; a click opens one."""
    if not convs:
        return '<p class="hint conv-empty">还没有保存的对话。提问后，对话会自动保存在这里。</p>'
    rows = []
    for c in convs:
        when = time.strftime("%m-%d %H:%M", time.localtime(c.updated))
        cls = "conv current" if c.id == current else "conv"
        rows.append(f'<button type="button" class="{cls}" data-cid="{esc(c.id)}" title="{esc(c.title)}">'
                    f'<span class="conv-title">{esc(c.title)}</span><span class="conv-when">{esc(when)}</span></button>')
    return f'<div class="conv-list">{"".join(rows)}</div>'


# ---- proposals ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Focus:
    """What to highlight in a proposal: a chunk, and the quote inside it."""

    chunk: Chunk
    quote: str | None = None


def _para_html(p: Paragraph, focus: Focus | None, *, tag: str = "p", extra: str = "") -> str:
    if p.is_heading:
        return f'<h5 class="para-heading">{esc(p.text)}</h5>'
    if focus is None or not _contains(p, focus.chunk):
        return f'<{tag} class="para"{extra}>{esc(p.text)}</{tag}>'
    a, b = _span_in(p, focus)
    body = f'{esc(p.text[:a])}<mark>{esc(p.text[a:b])}</mark>{esc(p.text[b:])}'
    return f'<{tag} class="para cited" id="cited"{extra}>{body}</{tag}>'


def _contains(p: Paragraph, c: Chunk) -> bool:
    if c.start >= 0 and p.start >= 0:
        return p.start <= c.start and c.end <= p.end
    return bool(c.text) and c.text in p.text


def _span_in(p: Paragraph, focus: Focus) -> tuple[int, int]:
    """Where to put ``<mark>`` in ``p``: the quote inside the chunk's span, else the whole chunk."""
    c = focus.chunk
    lo = c.start - p.start if c.start >= 0 and p.start >= 0 else max(p.text.find(c.text), 0)
    hi = lo + len(c.text)
    if focus.quote:
        i = p.text.find(focus.quote, lo, hi)
        if i >= 0:
            return i, i + len(focus.quote)
    return lo, hi


def _meta_html(meta: Chunk | None, focus: Focus | None) -> str:
    """The header block (案由, 提案者, 办理单位, 网友评价) with a cited header line marked."""
    if meta is None:
        return ""
    cited = focus is not None and focus.chunk.section == "meta"
    rows = []
    for line in meta.text.splitlines():
        if cited and focus.quote and focus.quote in line:
            i = line.find(focus.quote)
            rows.append(f'<div class="para cited" id="cited">{esc(line[:i])}<mark>{esc(focus.quote)}</mark>'
                        f'{esc(line[i + len(focus.quote):])}</div>')
        else:
            rows.append(f'<div class="para">{esc(line)}</div>')
    if cited and not any('id="cited"' in r for r in rows):  # quote not on one line: mark the block
        rows = [r.replace('class="para"', 'class="para cited"', 1) for r in rows]
        rows[0] = rows[0].replace("<div ", '<div id="cited" ', 1)
    return f'<section class="sec sec-meta"><h4>{SECTION_LABEL["meta"]}</h4>{"".join(rows)}</section>'


def proposal_facts_html(p: Proposal) -> str:
    facts = [("编号", p.id), ("年份", f"{p.year}年"), ("提案者", "、".join(p.proposers) or "—"),
             ("答复", "、".join(p.departments) or STATUS_LABEL.get(p.reply_status, p.reply_status)),
             ("办理单位", "、".join(p.handling_units) or "—")]
    if p.votes:
        facts.append(("网友评价", f"支持 {p.votes[0]} · 反对 {p.votes[1]}"))
    return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts) + "</dl>"


def focus_header_html(p: Proposal, c: Chunk) -> str:
    """What was cited: title, proposer, year, section, department, heading path."""
    rows = [("提案", f"{p.id}《{p.title}》"), ("提案者", "、".join(p.proposers) or "—"), ("年份", f"{p.year}年"),
            ("部分", SECTION_LABEL.get(c.section, c.section))]
    if c.department:
        rows.append(("答复部门", c.department))
    if c.heading:
        rows.append(("标题路径", c.heading))
    return ('<div class="focus-head"><dl class="facts">'
            + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows) + "</dl></div>")


def proposal_html(p: Proposal, *, focus: Focus | None = None, meta: Chunk | None = None) -> str:
    """A whole proposal by section, escaped; the focused chunk's paragraph marked."""
    out = [f'<article class="proposal" data-proposal="{esc(p.id)}">']
    if focus is not None:
        out.append(focus_header_html(p, focus.chunk))
    out.append(f'<h3 class="proposal-title">{esc(p.id)}《{esc(p.title)}》</h3>')
    out.append(proposal_facts_html(p))
    if focus is not None and focus.chunk.section == "meta":
        out.append(_meta_html(meta, focus))
    for key, paras in (("content", p.content), ("suggestion", p.suggestions)):
        f = focus if focus is not None and focus.chunk.section == key else None
        body = "".join(_para_html(x, f) for x in paras) or '<p class="hint">（无）</p>'
        out.append(f'<section class="sec sec-{key}"><h4>{SECTION_LABEL[key]}</h4>{body}</section>')
    if p.replies:
        for r in p.replies:
            f = focus if focus is not None and focus.chunk.section == "reply" \
                and focus.chunk.department == r.department else None
            body = "".join(_para_html(x, f) for x in r.paragraphs)
            sal = f'<p class="salutation">{esc(r.salutation)}</p>' if r.salutation else ""
            out.append(f'<section class="sec sec-reply"><h4>{SECTION_LABEL["reply"]} · {esc(r.department)}</h4>'
                       f"{sal}{body}</section>")
    else:
        out.append(f'<section class="sec sec-reply"><h4>{SECTION_LABEL["reply"]}</h4>'
                   f'<p class="hint">{esc(STATUS_LABEL.get(p.reply_status, p.reply_status))}</p></section>')
    out.append("</article>")
    return "".join(out)


def source_html(p: Proposal | None, chunk: Chunk | None, quote: str | None, meta: Chunk | None = None) -> str:
    """The source panel: the cited paragraph highlighted inside its proposal."""
    if p is None or chunk is None:
        return '<div class="source-empty hint">该来源已不在提案库中（可能已被重新导入）。</div>'
    return proposal_html(p, focus=Focus(chunk, quote), meta=meta)


SOURCE_PLACEHOLDER = '<div class="source-empty hint">点击答案中的 [1] 等标记或来源卡片，在此查看原文段落。</div>'


def proposal_list_html(rows: Sequence[dict], counts: dict[str, int] | None = None, *,
                       removable: bool = False) -> str:
    """The proposal browser's table; each row opens its proposal (in 资料库, with a 删除 button)."""
    if not rows:
        return '<p class="hint">没有符合条件的提案。</p>'
    head = "<tr><th>编号</th><th>年份</th><th>标题</th><th>提案者</th><th>答复部门</th>" \
           + ("<th>段落</th>" if counts is not None else "") + ("<th></th>" if removable else "") + "</tr>"
    body = []
    for r in rows:
        deps = "、".join(r["departments"]) or STATUS_LABEL.get(r["reply_status"], r["reply_status"])
        n = f"<td>{counts.get(r['id'], 0)}</td>" if counts is not None else ""
        rm = (f'<td><button type="button" class="remove" data-remove="{esc(r["id"])}" '
              f'title="从提案库删除 {esc(r["id"])}">删除</button></td>') if removable else ""
        body.append(f'<tr class="prow" data-pid="{esc(r["id"])}"><td>{esc(r["id"])}</td><td>{esc(r["year"])}</td>'
                    f'<td class="ptitle">{esc(r["title"])}</td><td>{esc(r["proposers"])}</td>'
                    f"<td>{esc(deps)}</td>{n}{rm}</tr>")
    return f'<table class="plist"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


# ---- ingest ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileError:
    name: str  # the file name as the user uploaded it
    line: int | None
    reason: str  # already in Chinese


def file_errors_html(errors: Iterable[FileError]) -> str:
    rows = "".join(f"<tr><td>{esc(e.name)}</td><td>{esc(e.line or '')}</td><td>{esc(e.reason)}</td></tr>"
                   for e in errors)
    if not rows:
        return ""
    return ('<div class="file-errors"><h4>以下文件未能导入</h4><table class="errors">'
            f"<thead><tr><th>文件</th><th>行</th><th>原因</th></tr></thead><tbody>{rows}</tbody></table></div>")


# ---- small pieces ---------------------------------------------------------------------------
def remove_confirm_html(pid: str, title: str) -> str:
    return (f'<div class="notice-box warn remove-confirm">确定从提案库删除提案 {esc(pid)}《{esc(title)}》吗？'
            "删除后，问答和检索都不会再用到它；要恢复，重新导入它的文件即可。"
            f'<div class="confirm-row"><button type="button" class="danger" data-confirm="{esc(pid)}">确认删除</button>'
            f'<button type="button" class="plain" data-cancel="1">取消</button></div></div>')


def ingest_summary_html(report, uploaded: Sequence[str] | None, bad: Sequence[FileError],
                        names: dict[str, str]) -> str:
    """One line that adds up, then one row per file: how many proposals each gave, or why it failed.

    ``uploaded`` are the file names as chosen (None when a folder was ingested); ``names`` maps the
    stored copies back to them."""
    read = {names.get(path, path.rsplit("/", 1)[-1]): n for path, n in report.per_file.items()}
    failed = {e.name for e in bad}
    files = list(uploaded) if uploaded is not None else list(read)
    ok = [f for f in files if read.get(f, 0) > 0]
    new = report.proposals_changed - report.replaced
    same = max(report.proposals - report.proposals_changed, 0)
    kind = "ok" if len(ok) == len(files) and not failed else ("warn" if ok else "error")
    head = (f"{len(files)} 个文件：{len(ok)} 个导入成功，{len(files) - len(ok)} 个失败；"
            f"共 {report.proposals} 件提案（新增 {new} 件、替换 {report.replaced} 件、未变 {same} 件）。")
    rows = []
    for f in files:
        n = read.get(f, 0)
        state = ("部分行有误" if f in failed else "成功") if n else "失败"
        rows.append(f'<tr class="file-{"ok" if n else "failed"}"><td>{esc(f)}</td><td>{esc(state)}</td>'
                    f"<td>{n}</td></tr>")
    table = ('<table class="errors ingest-files"><thead><tr><th>文件</th><th>结果</th><th>提案数</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>') if uploaded is not None else ""
    return f'<div class="notice-box {kind}" id="ingest-summary">{esc(head)}</div>{table}'


def notice_html(text: str, kind: str = "info") -> str:
    return f'<div class="notice-box {esc(kind)}">{_lines(text)}</div>'


# ---- 答复提纲 -------------------------------------------------------------------------------
def _cited_text_html(text: str, citations: Sequence[dict]) -> str:
    """Like ``answer_text_html`` for citations in their JSON shape (outline bullets, eval answers)."""
    cites = [Citation(**{k: c.get(k) for k in Citation.__dataclass_fields__}) for c in citations
             if isinstance(c, dict) and c.get("chunk_id")]
    return answer_text_html(text, cites)


def outline_html(o: dict) -> str:
    """An outline (``Outline.to_json()``) laid out as the reply it drafts: salutation, opening,
    一、办理工作举措及成效 and 二、下一步工作计划 with one item per suggestion, closing; the
    precedent bullets carry clickable markers, numbered in this reading order."""
    from rag.staff.outline import MEASURE_TODO, PLAN_TODO

    ordinals = "一二三四五六七八九十"
    mode = MODE_LABEL.get(o.get("mode", ""), o.get("mode", ""))
    sections = o.get("sections") or []
    out = ['<div class="outline">',
           f'<div class="bubble-head"><span class="badge mode-{esc(o.get("mode", ""))}">{esc(mode)}</span></div>',
           f'<h3>关于《{esc(o.get("title", ""))}》的答复提纲（{esc(o.get("department", ""))}）</h3>']
    out += [f'<div class="notice">{esc(n)}</div>' for n in o.get("notices") or []]
    if o.get("salutation"):
        out.append(f'<p class="salutation">{esc(o["salutation"])}</p>')
    if o.get("opening"):
        out.append(f'<p class="opening">{esc(o["opening"])}</p>')
    for part, kind, todo in (("一、办理工作举措及成效", "measure", MEASURE_TODO), ("二、下一步工作计划", "plan", PLAN_TODO)):
        out.append(f'<section class="reply-part reply-{kind}"><h4>{part}</h4>')
        for i, s in enumerate(sections):
            n = ordinals[i] if i < len(ordinals) else str(i + 1)
            label = s.get("label") or s.get("suggestion", "")
            out.append(f'<div class="sugg"><h5>（{n}）{esc(label)}</h5>')
            if kind == "measure" and s.get("suggestion") and s.get("suggestion") != label:
                out.append(f'<p class="hint sugg-text">建议原文：{esc(s["suggestion"])}</p>')
            items = [f'<li class="todo">{esc(todo)}</li>']
            if s.get("note") and kind == "measure":
                items.append(f'<li class="no-precedent">{esc(s["note"])}</li>')
            items += [f'<li class="ref">参考：{_cited_text_html(b.get("text", ""), b.get("citations") or [])}</li>'
                      for b in s.get("bullets") or [] if b.get("kind", "measure") == kind]
            out.append(f'<ul>{"".join(items)}</ul></div>')
        out.append("</section>")
    if o.get("closing"):
        out.append(f'<p class="closing">{esc(o["closing"])}</p>')
    prec = o.get("precedents") or []
    if prec:
        out.append(f'<p class="hint">引用的先例提案：{esc("、".join(map(str, prec)))}</p>')
    out.append("</div>")
    return "".join(out)


# ---- 评测 -----------------------------------------------------------------------------------
METRIC_ZH = {
    "proposal_recall@10": "提案召回@10", "paragraph_hit@10": "段落命中@10", "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10", "citation_recall": "引用召回", "citation_precision": "引用精确",
    "judge_citation_recall": "评审·引用召回", "judge_citation_precision": "评审·引用精确",
    "fact_recall": "事实召回", "number_accuracy": "数字准确", "refusal_rate": "应拒答时拒答",
    "false_refusal_rate": "误拒率", "latency_p50_ms": "延迟 p50 (ms)", "latency_p95_ms": "延迟 p95 (ms)",
    "answer_chars": "答案字数", "precedent_recall": "先例召回", "precedent_precision": "先例精确",
}
Fmt = Callable[[str, "float | None"], str]  # a metric value as text (the evals' own formatter)
# what each figure means, for someone who is not an evaluator, and which way is better
METRIC_HELP = {
    "proposal_recall@10": "前 10 条检索结果里找到应找提案的比例。越高越好。",
    "paragraph_hit@10": "前 10 条检索结果里含有标注依据段落的题目比例。越高越好。",
    "mrr@10": "第一个依据段落排得有多靠前：排第 1 记 1 分，第 2 记 1/2，依此类推。越高越好。",
    "ndcg@10": "全部依据段落整体排得是否靠前。越高越好。",
    "citation_recall": "答案里有引用原文支撑的句子所占比例。越高越好。",
    "citation_precision": "引用的段落确实支撑所在句子的比例。越高越好。",
    "judge_citation_recall": "由大模型评审复核的引用召回。越高越好。",
    "judge_citation_precision": "由大模型评审复核的引用精确。越高越好。",
    "fact_recall": "标准答案要点出现在答案里的比例。越高越好。",
    "number_accuracy": "答案中的数字与原文一致的比例。越高越好。",
    "refusal_rate": "提案库里没有答案的问题，助手如实说“未找到依据”的比例。越高越好。",
    "false_refusal_rate": "本可回答的问题却被拒答的比例。越低越好。",
    "latency_p50_ms": "一半问题在这个时间内得到答案。越低越好。",
    "latency_p95_ms": "95% 的问题在这个时间内得到答案。越低越好。",
    "answer_chars": "答案的平均字数，仅供参考，没有好坏之分。",
    "precedent_recall": "答复提纲引用了应参考的先例提案的比例。越高越好。",
    "precedent_precision": "答复提纲引用的先例中确实应参考的比例。越高越好。",
}
CHART_METRICS = ("paragraph_hit@10", "citation_precision", "fact_recall", "number_accuracy", "refusal_rate")
TYPE_ZH = {"fact": "事实", "number": "数字", "cross": "跨段综合", "list": "列举", "paraphrase": "换一种说法",
           "unanswerable": "无答案（应拒答）", "filter": "按条件筛选", "meta": "提案信息"}


def eval_cards_html(overall: dict[str, float], order: Sequence[str], fmt: Fmt, title: str = "") -> str:
    cards = []
    for m in [k for k in order if k in overall] + [k for k in overall if k not in order]:
        note = METRIC_HELP.get(m, "")
        cards.append(f'<div class="metric" title="{esc(m)}"><div class="metric-value">{esc(fmt(m, overall[m]))}</div>'
                     f'<div class="metric-name">{esc(METRIC_ZH.get(m, m))}</div>'
                     + (f'<div class="metric-help">{esc(note)}</div>' if note else "") + "</div>")
    head = f"<h4>{esc(title)}</h4>" if title else ""
    return f'<div class="metrics">{head}<div class="metric-row">{"".join(cards)}</div></div>'


def eval_charts_html(by_type: dict[str, dict[str, float]], fmt: Fmt, metrics: Sequence[str] = CHART_METRICS) -> str:
    """One bar group per metric, a bar per question type (rates in 0..1)."""
    groups = []
    for m in metrics:
        rows = [(t, v[m]) for t, v in by_type.items() if m in v]
        if not rows:
            continue
        bars = "".join(f'<div class="bar-row"><span>{esc(TYPE_ZH.get(t, t))}</span>'
                       f'<div><div class="bar" style="width:{max(0.0, min(1.0, float(x))) * 100:.1f}%"></div></div>'
                       f"<span>{esc(fmt(m, x))}</span></div>" for t, x in rows)
        groups.append(f'<div class="chart"><h5>{esc(METRIC_ZH.get(m, m))}</h5><div class="bars">{bars}</div></div>')
    if not groups:
        return ""
    return f'<div class="charts"><h4>按题型</h4>{"".join(groups)}</div>'


def eval_questions_html(questions: Sequence, fmt: Fmt,
                        metrics: Sequence[str] = ("fact_recall", "citation_precision")) -> str:
    """The drill-down table: one clickable row per question (``QuestionResult``)."""
    head = "".join(f"<th>{esc(METRIC_ZH.get(m, m))}</th>" for m in metrics)
    rows = []
    for q in questions:
        refused = "—" if q.answer is None else ("拒答" if q.answer.get("abstained") else "作答")
        cells = "".join(f"<td>{esc(fmt(m, q.metrics.get(m)))}</td>" for m in metrics)
        rows.append(f'<tr class="qrow" data-q="{esc(q.id)}"><td>{esc(q.id)}</td>'
                    f'<td>{esc(TYPE_ZH.get(q.type, q.type))}</td>'
                    f"<td>{esc(q.question)}</td><td>{refused}</td>{cells}</tr>")
    return (f'<table class="qtable"><thead><tr><th>编号</th><th>题型</th><th>问题</th><th>结果</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def eval_question_html(q, fmt: Fmt) -> str:
    """One question in full: the answer with its citations, expected facts found or not, evidence."""
    out = [f'<div class="eval-q"><h4>{esc(q.id)} · {esc(TYPE_ZH.get(q.type, q.type))}</h4>',
           f'<div class="bubble question">{esc(q.question)}</div>']
    a = q.answer
    if a is None:
        out.append('<p class="hint">运行结果中没有这道题的答案。</p>')
    else:
        kind = "refusal" if a.get("abstained") else "answer"
        cites = a.get("citations") or []
        out.append(f'<div class="bubble {kind}"><div class="answer-text">{_cited_text_html(a.get("answer", ""), cites)}'
                   "</div>")
        if cites:
            out.append('<div class="sources">' + "".join(
                f'<div class="card-quote">[{esc(c.get("marker"))}] {esc(c.get("proposal_id"))} · '
                f'{esc(c.get("heading") or c.get("department") or SECTION_LABEL.get(c.get("section"), ""))}：'
                f'「{esc(c.get("quote"))}」</div>' for c in cites) + "</div>")
        out.append("</div>")
    if q.answer_facts:
        found = q.facts_found or [False] * len(q.answer_facts)
        items = "".join(f'<li>{"✓" if ok else "✗"} {esc(f)}</li>' for f, ok in zip(q.answer_facts, found))
        out.append(f"<div><strong>应包含的事实</strong><ul>{items}</ul></div>")
    if q.evidence:
        items = "".join(f"<li>{esc(e.proposal)} · {esc(e.department or SECTION_LABEL.get(e.section, e.section))}："
                        f"「{esc(e.quote)}」</li>" for e in q.evidence)
        out.append(f"<div><strong>标注的依据</strong><ul>{items}</ul></div>")
    bad = [s for s in q.sentences if not s.supported]
    if bad:
        items = "".join(f"<li>{esc(s.text)}（缺少依据：{esc('、'.join(s.missing))}）</li>" for s in bad)
        out.append(f"<div><strong>未被引用支撑的句子</strong><ul>{items}</ul></div>")
    if q.metrics:
        out.append(eval_cards_html(q.metrics, list(METRIC_ZH), fmt))
    out.append("</div>")
    return "".join(out)


# ---- 建议与答复对照 ---------------------------------------------------------------------------


def alignment_html(p: Proposal, alignments: Sequence) -> str:
    """Each 建议 next to the reply paragraphs that answer it (``rag.staff.align.SuggestionAlignment``).

    A matched paragraph carries its chunk id: a click shows it highlighted in the full text below.
    """
    rows = []
    for a in alignments:
        v = a.verdict
        left = (f'<div class="align-sugg"><span class="badge verdict-{esc(v)}">{esc(VERDICT_ZH.get(v, v))}</span> '
                f"{esc(a.suggestion.text)}</div>")
        matches = []
        for m in a.matches:
            c = m.chunk
            matches.append(f'<button type="button" class="align-match {esc(m.verdict)}" data-chunk="{esc(c.id)}">'
                           f'<span class="align-meta">{esc(c.heading or c.department or "")} · '
                           f'{esc(VERDICT_ZH.get(m.verdict, m.verdict))} · 相关度 {m.score:.2f}</span>'
                           f"<span>{esc(c.text)}</span></button>")
        right = "".join(matches) or '<p class="hint">答复中没有找到回应这条建议的段落。</p>'
        rows.append(f'<div class="align-row">{left}<div class="align-reply">{right}</div></div>')
    return (f'<section class="alignment"><h4>建议与答复对照</h4><div class="align-head align-row">'
            f"<strong>建议</strong><strong>回应它的答复段落</strong></div>{''.join(rows)}</section>")
