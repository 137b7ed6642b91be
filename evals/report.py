"""Markdown summary and a self-contained HTML report (inline CSS and SVG, no scripts, fonts or CDN)."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

from evals.results import METRICS, EvalRun, QuestionResult

LABELS = {
    "proposal_recall@10": "proposal recall@10", "paragraph_hit@10": "paragraph hit@10", "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10", "citation_recall": "citation recall", "citation_precision": "citation precision",
    "judge_citation_recall": "citation recall (LLM judge)", "judge_citation_precision": "citation precision (LLM judge)",
    "fact_recall": "answer-fact recall", "number_accuracy": "number accuracy", "refusal_rate": "refusal rate (unanswerable)",
    "false_refusal_rate": "false-refusal rate (answerable)", "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)", "answer_chars": "answer length (chars)",
    "precedent_recall": "outline precedent recall", "precedent_precision": "outline precedent precision",
}
TYPE_METRICS = ("paragraph_hit@10", "mrr@10", "citation_recall", "citation_precision", "fact_recall",
                "number_accuracy", "refusal_rate", "false_refusal_rate")
CHART_METRICS = ("paragraph_hit@10", "citation_recall", "citation_precision", "fact_recall",
                 "refusal_rate", "false_refusal_rate")
COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")


def fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "—"
    if metric.startswith("latency") or metric == "answer_chars":
        return f"{v:.0f}"
    return f"{v:.3f}"


def _metrics_present(run: EvalRun) -> list[str]:
    have = {m for cr in run.configs.values() for m in cr.overall}
    return [m for m in METRICS if m in have]


def _n(run: EvalRun) -> int:
    return max((len(cr.questions) for cr in run.configs.values()), default=0)


# ---- markdown -----------------------------------------------------------------------------
def markdown(run: EvalRun) -> str:
    names = list(run.configs)
    out = [f"# Eval report · {run.dataset}", "",
           f"dataset `{run.dataset_path}` · corpus `{run.corpus or '—'}` · {_n(run)} questions · "
           f"answerer {run.answerer} · LLM judge {'on' if run.judge else 'off'} · {run.created}", "",
           "## Overall", "", "| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for m in _metrics_present(run):
        out.append(f"| {LABELS.get(m, m)} | " + " | ".join(fmt(m, run.configs[c].overall.get(m)) for c in names) + " |")
    out += _judge_lines(run)
    out += ["", "## By question type", ""]
    for c in names:
        cr = run.configs[c]
        cols = [m for m in TYPE_METRICS if any(m in t for t in cr.by_type.values())]
        out += [f"### {c}", "", "| type | n | " + " | ".join(LABELS[m] for m in cols) + " |",
                "|---" * (len(cols) + 2) + "|"]
        for t, vals in cr.by_type.items():
            n = sum(1 for q in cr.questions if q.type == t)
            out.append(f"| {t} | {n} | " + " | ".join(fmt(m, vals.get(m)) for m in cols) + " |")
        out.append("")
    outl = [(c, o) for c, cr in run.configs.items() for o in cr.outlines]
    if outl:
        out += ["## Outline tasks (precedent recall)", "", "| config | task | department | relevant | cited precedents | recall |",
                "|---|---|---|---|---|---|"]
        out += [f"| {c} | {o.id} | {o.department} | {', '.join(o.relevant)} | {', '.join(o.precedents) or '—'} | "
                f"{o.recall:.2f} |" for c, o in outl]
        out.append("")
    if run.checks:
        out += ["## Gate (`evals/expected.yaml`)", "", "```"] + [str(line) for line in run.checks] + ["```", ""]
    notes = run.notes + [f"{c}: {n}" for c, cr in run.configs.items() for n in cr.notes]
    if notes:
        out += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(out)


def _judge_line(run: EvalRun) -> str | None:
    j = run.grounding_judge
    if not j:
        return None
    return (f"Citation recall and precision are the grounding judge's verdicts; on its labelled set "
            f"({j['dataset']}, {j['n']} sentences) it keeps {fmt('', j['supported_kept'])} of the supported "
            f"sentences and catches {fmt('', j['unsupported_caught'])} of the unsupported ones "
            f"(agreement {fmt('', j['overall'])}; per kind: `proposals verify {j['dataset']}`).")


def _judge_lines(run: EvalRun) -> list[str]:
    line = _judge_line(run)
    return ["", line] if line else []


# ---- HTML ---------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.5;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f5}
.meta{color:#666}.ok{color:#1a7f37}.bad{color:#c62828}.muted{color:#888}
.charts{display:flex;flex-wrap:wrap;gap:1.5em}.chart{border:1px solid #eee;padding:.5em}
details{border:1px solid #e5e5e5;border-radius:4px;margin:.3em 0;padding:.3em .6em}summary{cursor:pointer}
.cfg{border-left:4px solid #ccc;margin:.6em 0 .6em .4em;padding-left:.8em}
.answer{white-space:pre-wrap;background:#fafafa;padding:.4em;border-radius:3px}
.quote{background:#fff8e1}.badge{display:inline-block;border-radius:3px;padding:0 .35em;font-size:.85em;margin-left:.3em;color:#fff}
.b-ok{background:#2e7d32}.b-bad{background:#c62828}.b-na{background:#9e9e9e}
"""


def _badge(ok: bool | None, yes: str = "✓", no: str = "✗") -> str:
    if ok is None:
        return '<span class="badge b-na">n/a</span>'
    return f'<span class="badge {"b-ok" if ok else "b-bad"}">{yes if ok else no}</span>'


def bar_chart(title: str, groups: list[str], series: dict[str, list[float | None]], width: int = 560,
              height: int = 220) -> str:
    """Grouped vertical bars (values 0..1) as inline SVG."""
    left, bottom, top = 34, 40, 24
    plot_h = height - bottom - top
    gw = (width - left - 10) / max(len(groups), 1)
    bw = gw * 0.8 / max(len(series), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><text x="{left}" y="15" font-size="13" font-weight="bold">'
             f'{escape(title)}</text>']
    for tick in (0, 0.5, 1):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick:g}</text>')
    for gi, g in enumerate(groups):
        x0 = left + gi * gw + gw * 0.1
        for si, (name, vals) in enumerate(series.items()):
            v = vals[gi]
            if v is None:
                continue
            h = plot_h * max(0.0, min(1.0, v))
            x = x0 + si * bw
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bw * 0.9:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS[si % len(COLOURS)]}"><title>{escape(name)} · {escape(g)}: {v:.3f}</title></rect>')
        parts.append(f'<text x="{left + gi * gw + gw / 2:.1f}" y="{top + plot_h + 14}" font-size="11" '
                     f'text-anchor="middle">{escape(g)}</text>')
    lx = left
    for si, name in enumerate(series):
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{COLOURS[si % len(COLOURS)]}"/>'
                     f'<text x="{lx + 14}" y="{height - 5}" font-size="11">{escape(name)}</text>')
        lx += 20 + 8 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _overall_table(run: EvalRun) -> str:
    names = list(run.configs)
    rows = ["<table><tr><th>metric</th>" + "".join(f"<th>{escape(c)}</th>" for c in names) + "</tr>"]
    for m in _metrics_present(run):
        rows.append(f"<tr><td>{escape(LABELS.get(m, m))}</td>" +
                    "".join(f"<td>{fmt(m, run.configs[c].overall.get(m))}</td>" for c in names) + "</tr>")
    return "".join(rows) + "</table>"


def _question_block(qid: str, run: EvalRun) -> str:
    per = {c: next((q for q in cr.questions if q.id == qid), None) for c, cr in run.configs.items()}
    first = next(q for q in per.values() if q is not None)
    badges = "".join(f' <span class="muted">{escape(c)}</span>{_badge(_verdict(q))}' for c, q in per.items() if q)
    parts = [f"<details><summary><b>{escape(first.id)}</b> [{escape(first.type)}] {escape(first.question)}{badges}"
             "</summary>"]
    if first.answer_facts:
        parts.append("<p>answer facts: " + "、".join(escape(f) for f in first.answer_facts) + "</p>")
    if first.evidence:
        parts.append("<p>evidence:</p><ul>" + "".join(
            f'<li>{escape(e.proposal)} · {escape(e.section)}{" · " + escape(e.department) if e.department else ""}: '
            f'<span class="quote">{escape(e.quote)}</span></li>' for e in first.evidence) + "</ul>")
    for c, q in per.items():
        if q is not None:
            parts.append(_config_block(c, q))
    parts.append("</details>")
    return "".join(parts)


def _verdict(q: QuestionResult) -> bool | None:
    """The one-glance verdict of a question: refused when it should, or found all facts."""
    if q.answer is None:
        return None
    if q.type == "unanswerable":
        return q.metrics.get("refusal_rate") == 1.0
    return q.metrics.get("fact_recall", 0.0) == 1.0 if "fact_recall" in q.metrics else None


def _config_block(c: str, q: QuestionResult) -> str:
    a = q.answer
    if a is None:
        return f'<div class="cfg"><b>{escape(c)}</b>: <span class="bad">no answer in the run file</span></div>'
    ms = " · ".join(f"{escape(LABELS.get(k, k))} {fmt(k, v)}" for k, v in q.metrics.items())
    lat = f" · {q.latency_ms:.0f} ms" if q.latency_ms is not None else ""
    parts = [f'<div class="cfg"><b>{escape(c)}</b> <span class="meta">{ms}{lat}</span>',
             f'<div class="answer">{escape(str(a.get("answer") or ""))}</div>']
    if q.answer_facts:
        parts.append("<p>facts: " + " ".join(f"{escape(f)}{_badge(ok)}" for f, ok in zip(q.answer_facts, q.facts_found))
                     + "</p>")
    if q.sentences:
        parts.append("<table><tr><th>sentence</th><th>facts</th><th>supported</th><th>citations</th></tr>")
        for s in q.sentences:
            cits = "<br>".join(
                f"[{escape(v.marker)}] {escape(v.chunk_id or '?')} quote{_badge(v.quote_ok)} precise{_badge(v.precise)}"
                + (f" judge{_badge(v.judge_precise)}" if v.judge_precise is not None else "")
                for v in s.citations) or '<span class="bad">no citation</span>'
            miss = f'<br><span class="bad">missing: {escape("、".join(s.missing))}</span>' if s.missing else ""
            judge = f" judge{_badge(s.judge_supported)}" if s.judge_supported is not None else ""
            parts.append(f"<tr><td>{escape(s.text)}</td><td>{escape('、'.join(s.facts)) or '—'}{miss}</td>"
                         f"<td>{_badge(s.supported)}{judge}</td><td>{cits}</td></tr>")
        parts.append("</table>")
    cits = a.get("citations") or []
    if cits:
        parts.append("<p>quotes:</p><ul>" + "".join(
            f'<li>[{escape(str(x.get("marker")))}] {escape(str(x.get("proposal_id") or ""))} '
            f'{escape(str(x.get("heading") or x.get("section") or ""))}: '
            f'<span class="quote">{escape(str(x.get("quote") or ""))}</span></li>' for x in cits) + "</ul>")
    ctx = a.get("contexts") or []
    if ctx:
        parts.append(f"<details><summary>retrieved contexts ({len(ctx)})</summary><ol>" + "".join(
            f'<li>{escape(str(x.get("chunk_id")))} <span class="muted">{x.get("score")}</span><br>'
            f'{escape(str(x.get("text") or "")[:300])}</li>' for x in ctx[:10]) + "</ol></details>")
    parts.append("</div>")
    return "".join(parts)


def html(run: EvalRun) -> str:
    names = list(run.configs)
    types = list(dict.fromkeys(t for cr in run.configs.values() for t in cr.by_type))
    charts = []
    for m in CHART_METRICS:
        series = {c: [run.configs[c].by_type.get(t, {}).get(m) for t in types] for c in names}
        keep = [i for i, t in enumerate(types) if any(v[i] is not None for v in series.values())]
        if keep:
            charts.append('<div class="chart">' + bar_chart(LABELS[m], [types[i] for i in keep],
                                                            {c: [v[i] for i in keep] for c, v in series.items()})
                          + "</div>")
    qids = list(dict.fromkeys(q.id for cr in run.configs.values() for q in cr.questions))
    body = [f"<h1>Eval report · {escape(run.dataset)}</h1>",
            f'<p class="meta">dataset {escape(run.dataset_path)} · corpus {escape(run.corpus or "—")} · '
            f"{_n(run)} questions · answerer {escape(run.answerer)} · LLM judge {'on' if run.judge else 'off'} · "
            f"{escape(run.created)}</p>",
            "<h2>Overall</h2>", _overall_table(run),
            f'<p class="meta">{escape(_judge_line(run) or "")}</p>',
            "<h2>By question type</h2>", f'<div class="charts">{"".join(charts)}</div>']
    outl = [(c, o) for c, cr in run.configs.items() for o in cr.outlines]
    if outl:
        body.append("<h2>Outline tasks</h2><table><tr><th>config</th><th>task</th><th>department</th><th>relevant</th>"
                    "<th>cited precedents</th><th>precedent recall</th></tr>" + "".join(
                        f"<tr><td>{escape(c)}</td><td>{escape(o.id)}</td><td>{escape(o.department)}</td>"
                        f"<td>{escape(', '.join(o.relevant))}</td><td>{escape(', '.join(o.precedents)) or '—'}</td>"
                        f"<td>{o.recall:.2f}</td></tr>" for c, o in outl) + "</table>")
    if run.checks:
        body.append("<h2>Gate</h2><ul>" + "".join(
            f'<li class="{"ok" if line.ok else "bad"}">{escape(str(line))}</li>' for line in run.checks) + "</ul>")
    body.append("<h2>Questions</h2>" + "".join(_question_block(q, run) for q in qids))
    notes = run.notes + [f"{c}: {n}" for c, cr in run.configs.items() for n in cr.notes]
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>Eval report · {escape(run.dataset)}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>")


def write_run(run: EvalRun, out_dir: str | Path) -> dict[str, Path]:
    """Run files (one JSONL per config), ``report.md``, ``report.html`` and ``results.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, cr in run.configs.items():
        if cr.run_file:  # graded from an existing run file: leave it where it is
            continue
        p = out / f"{name}.jsonl"
        with open(p, "w", encoding="utf-8") as f:
            for q in cr.questions:
                if q.answer is not None:
                    f.write(json.dumps(q.answer, ensure_ascii=False) + "\n")
        cr.run_file = str(p)
        paths[name] = p
    for fname, text in (("report.md", markdown(run)), ("report.html", html(run)),
                        ("results.json", json.dumps(run.to_json(), ensure_ascii=False, indent=1))):
        (out / fname).write_text(text, encoding="utf-8")
        paths[fname] = out / fname
    return paths
