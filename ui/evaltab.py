"""The 评测 tab: pick a dataset, run the eval with a progress bar, read cards, charts and questions."""
from __future__ import annotations

import gradio as gr

from rag.core.errors import ProposalError
from ui.errors import friendly
from ui.progress import stage_callback
from ui.render import (eval_cards_html, eval_charts_html, eval_question_html, eval_questions_html, esc,
                       notice_html)

CONFIG_ZH = {"hybrid": "hybrid（向量+BM25 融合）", "bm25": "bm25（关键词）", "dense": "dense（向量）",
             "naive": "naive（朴素基线）"}


class EvalTab:
    """``evaluations`` is the evals package's service (``evals.api.Evaluations``), handed in by
    whoever starts the app: datasets, configs, metrics, run, fmt."""

    def __init__(self, assistant, evaluations):
        self.a = assistant
        self.ev = evaluations

    def datasets(self) -> list[str]:
        return self.ev.datasets()

    def run(self, dataset: str, configs: list[str], progress=gr.Progress()):
        nothing = (gr.update(),) * 6
        if not dataset:
            gr.Warning("请先选择评测数据集。", title="提示")
            return nothing
        if not configs:
            gr.Warning("请至少选择一种检索配置。", title="提示")
            return nothing

        progress(0, desc="准备评测…", unit="步")
        try:
            run = self.ev.run(dataset, configs=list(configs), progress=stage_callback(progress, self.ev.stage),
                              settings=self.a.settings, answerer=self.a.mode, judge=False)
        except ProposalError as e:
            return (notice_html(friendly(e), "error"),) + (gr.update(),) * 5
        fmt = self.ev.fmt
        cards = "".join(eval_cards_html(cr.overall, self.ev.metrics, fmt, title=CONFIG_ZH.get(name, name))
                        for name, cr in run.configs.items())
        notes = [n for cr in run.configs.values() for n in cr.notes] + run.notes
        head = notice_html(f"数据集 {run.dataset}：{len(next(iter(run.configs.values())).questions)} 道题 · "
                           f"{'、'.join(run.configs)} · {run.created}", "ok")
        if notes:
            head += "".join(f'<p class="hint">{esc(n)}</p>' for n in notes)
        names = list(run.configs)
        first = run.configs[names[0]]
        return (head + cards, eval_charts_html(first.by_type, fmt), eval_questions_html(first.questions, fmt),
                gr.update(choices=names, value=names[0], visible=len(names) > 1), run, "")

    def pick_config(self, run, name: str):
        if run is None or name not in run.configs:
            return gr.update(), gr.update(), ""
        cr = run.configs[name]
        return eval_charts_html(cr.by_type, self.ev.fmt), eval_questions_html(cr.questions, self.ev.fmt), ""

    def open_question(self, run, name: str, evt: gr.EventData) -> str:
        qid = (evt._data or {}).get("q") or ""
        if run is None:
            return ""
        cr = run.configs.get(name) or next(iter(run.configs.values()))
        q = next((x for x in cr.questions if x.id == qid), None)
        return eval_question_html(q, self.ev.fmt) if q else ""


def build(assistant, clicks_js: str, evaluations=None) -> None:
    if evaluations is None:
        gr.HTML(notice_html("本服务未启用评测功能（用 proposals serve 启动时可用）。", "warn"), elem_id="eval-not-ready")
        return
    tab = EvalTab(assistant, evaluations)
    run_state = gr.State(None)
    with gr.Row():
        dataset = gr.Dropdown(label="评测数据集", choices=tab.datasets(), value="samples", elem_id="eval-dataset")
        configs = gr.CheckboxGroup(label="检索配置", choices=[(CONFIG_ZH.get(c, c), c) for c in evaluations.configs],
                                   value=["hybrid"], elem_id="eval-configs")
    go = gr.Button("运行评测", variant="primary", elem_id="eval-run")
    summary = gr.HTML(elem_id="eval-summary")
    charts = gr.HTML(elem_id="eval-charts")
    which = gr.Dropdown(label="查看配置", choices=[], visible=False, elem_id="eval-config-pick")
    gr.Markdown("#### 逐题查看（点击一行）")
    with gr.Row():
        table = gr.HTML(elem_id="eval-questions", js_on_load=clicks_js, max_height=700)
        detail = gr.HTML(elem_id="eval-question", padding=True)
    # one progress bar, on the summary (Gradio draws one on every output otherwise)
    go.click(tab.run, inputs=[dataset, configs], outputs=[summary, charts, table, which, run_state, detail],
             concurrency_limit=1, concurrency_id="eval", api_visibility="private", show_progress_on=[summary])
    which.change(tab.pick_config, inputs=[run_state, which], outputs=[charts, table, detail],
                 api_visibility="private")
    table.click(tab.open_question, inputs=[run_state, which], outputs=detail, queue=False, api_visibility="private")
