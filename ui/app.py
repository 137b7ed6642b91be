"""The Gradio Blocks app: layout and wiring only. Every event calls ``ui.handlers.Handlers``,
which calls the same `rag` API as the CLI."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no phoning home

import gradio as gr  # noqa: E402

from rag.answer.assistant import Assistant  # noqa: E402
from ui import evaltab  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from ui.guard import AuthGuard  # noqa: E402
from ui.handlers import Handlers  # noqa: E402
from ui.render import SOURCE_PLACEHOLDER, transcript_html  # noqa: E402

STATIC = Path(__file__).resolve().parent / "static"
CLICKS_JS = (STATIC / "clicks.js").read_text(encoding="utf-8")
VIEWER_JS = (STATIC / "viewer.js").read_text(encoding="utf-8")
CSS = (STATIC / "app.css").read_text(encoding="utf-8")
# System fonts only (the default theme fetches Google Fonts): the app must render offline.
FONTS = ["system-ui", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei", "sans-serif"]
MONO = ["ui-monospace", "Consolas", "WenQuanYi Zen Hei Mono", "monospace"]
CHAT_CONCURRENCY = 4  # questions answered at once; more only queue behind the 2-core embedder


def theme() -> gr.themes.Theme:
    return gr.themes.Soft(primary_hue="blue", font=FONTS, font_mono=MONO)


def _filters(prefix: str):
    with gr.Row():
        year = gr.Dropdown(label="年份", choices=[("全部", "")], value="", elem_id=f"{prefix}-year", min_width=100)
        dep = gr.Dropdown(label="答复部门", choices=[("全部", "")], value="", elem_id=f"{prefix}-department",
                          min_width=160)
        who = gr.Dropdown(label="提案者", choices=[("全部", "")], value="", elem_id=f"{prefix}-proposer",
                          min_width=140)
    return year, dep, who


def build_app(assistant: Assistant, *, handlers: Handlers | None = None, evaluations=None) -> gr.Blocks:
    """The app; ``evaluations`` (``evals.api.Evaluations``) enables the 评测 tab."""
    h = handlers or Handlers(assistant)
    with gr.Blocks(title="提案助手", analytics_enabled=False) as demo:
        header = gr.HTML(h.header(), elem_id="app-header")
        with gr.Group(visible=False, elem_id="no-index") as no_index:
            gr.HTML('<div class="notice-box warn" id="no-index-notice">提案库还是空的：可以在「资料库」上传提案文件，'
                    f"或先载入 {h.samples_count()} 件示例提案试用。</div>")
            load_btn = gr.Button("载入示例提案", variant="primary", elem_id="load-samples")
            load_status = gr.HTML()

        with gr.Tabs():
            # ---- 问答 ------------------------------------------------------------------
            with gr.Tab("问答", id="chat"):
                turns = gr.State([])
                # the open conversation's id survives a reload; its turns come back from the store
                cid = gr.BrowserState("", storage_key="proposals-conversation")
                with gr.Row():
                    with gr.Column(scale=1, min_width=200, elem_id="conv-side"):
                        new_chat = gr.Button("＋ 新对话", elem_id="new-chat", size="sm")
                        conv_list = gr.HTML(elem_id="conv-list", js_on_load=CLICKS_JS, max_height=460)
                        conv_title = gr.Textbox(label="对话标题", elem_id="conv-title", max_lines=1)
                        with gr.Row():
                            rename = gr.Button("重命名", size="sm", elem_id="conv-rename", min_width=60)
                            delete = gr.Button("删除对话", size="sm", variant="stop", elem_id="conv-delete",
                                               min_width=60)
                        export = gr.Button("导出 Markdown", size="sm", elem_id="conv-export")
                        export_file = gr.File(label="导出的对话", interactive=False, elem_id="conv-export-file",
                                              visible=False)
                    with gr.Column(scale=3):
                        c_year, c_dep, c_who = _filters("chat")
                        transcript = gr.HTML(transcript_html([]), elem_id="transcript", js_on_load=CLICKS_JS,
                                             max_height=620, autoscroll=True)
                        with gr.Row():
                            question = gr.Textbox(label="问题", placeholder="输入问题，按回车发送", show_label=False,
                                                  scale=5, elem_id="question", max_lines=4)
                            send = gr.Button("发送", variant="primary", scale=1, elem_id="send", min_width=80)
                    with gr.Column(scale=2):
                        gr.Markdown("#### 原文")
                        source = gr.HTML(SOURCE_PLACEHOLDER, elem_id="source", js_on_load=VIEWER_JS,
                                         max_height=720, padding=True, container=True)

            # ---- 提案 ------------------------------------------------------------------
            with gr.Tab("提案", id="proposals"):
                with gr.Row():
                    query = gr.Textbox(label="搜索（编号、标题、提案者或内容）", elem_id="browse-query", scale=3)
                    b_year, b_dep, b_who = _filters("browse")
                search = gr.Button("搜索", variant="primary", elem_id="browse-search")
                with gr.Row():
                    with gr.Column(scale=2):
                        plist = gr.HTML(elem_id="proposal-list", js_on_load=CLICKS_JS, max_height=720)
                    with gr.Column(scale=3):
                        pview = gr.HTML('<p class="hint">点击左侧列表中的提案查看全文。</p>', elem_id="proposal-view",
                                        js_on_load=CLICKS_JS + VIEWER_JS, max_height=900, padding=True,
                                        container=True)

            # ---- 答复提纲 --------------------------------------------------------------
            with gr.Tab("答复提纲", id="outline"):
                outline_state = gr.State(None)
                with gr.Row():
                    with gr.Column(scale=3):
                        o_text = gr.Textbox(label="新提案全文（粘贴，或上传 .txt、.docx、.pdf 文件）", lines=12, max_lines=30,
                                            elem_id="outline-text")
                        o_file = gr.File(label="上传提案文件", file_types=[".txt", ".docx", ".pdf"],
                                         type="filepath", elem_id="outline-file")
                        with gr.Row():
                            o_dep = gr.Dropdown(label="答复部门", choices=[], allow_custom_value=True,
                                                elem_id="outline-department")
                            o_go = gr.Button("生成答复提纲", variant="primary", elem_id="outline-go")
                        o_out = gr.HTML(elem_id="outline-out", js_on_load=CLICKS_JS)
                        o_md = gr.File(label="下载 Markdown", interactive=False, elem_id="outline-md")
                    with gr.Column(scale=2):
                        gr.Markdown("#### 先例原文")
                        o_source = gr.HTML('<p class="hint">点击提纲中的引用标记查看先例答复的原文。</p>',
                                           elem_id="outline-source", js_on_load=VIEWER_JS, max_height=800,
                                           padding=True, container=True)

            # ---- 评测 ------------------------------------------------------------------
            with gr.Tab("评测", id="eval"):
                evaltab.build(assistant, CLICKS_JS, evaluations)

            # ---- 资料库 ----------------------------------------------------------------
            with gr.Tab("资料库", id="library"):
                files = gr.File(label="上传提案文件（.txt 页面格式、.docx、.pdf 或 .jsonl，可多选）", file_count="multiple",
                                type="filepath", elem_id="upload")
                gr.Markdown("与已收录提案编号相同的文件默认跳过并列出；勾选下面一项则以新文件替换该提案。", elem_classes="hint")
                replace_box = gr.Checkbox(label="同编号的提案用新上传的文件替换", value=False, elem_id="ingest-replace")
                ingest_btn = gr.Button("导入", variant="primary", elem_id="ingest")
                ingest_status = gr.HTML(elem_id="ingest-status")
                ingest_errors = gr.HTML(elem_id="ingest-errors")
                gr.Markdown("#### 已收录的提案")
                lib_status = gr.HTML(elem_id="library-status")
                lib_view = gr.HTML(elem_id="library-view", padding=True, js_on_load=CLICKS_JS)
                library = gr.HTML(elem_id="library-list", js_on_load=CLICKS_JS)

        # ---- wiring ------------------------------------------------------------------------
        # Only the chat is a public API endpoint (bench/load_ui.py drives it); the rest serve the page.
        hidden = dict(api_visibility="private")
        refresh_outputs = [header, no_index, c_year, c_dep, c_who, b_year, b_dep, b_who, o_dep]
        demo.load(h.refresh, outputs=refresh_outputs, queue=False, **hidden)
        demo.load(h.library, outputs=library, queue=False, **hidden)
        demo.load(h.browse, inputs=[query, b_year, b_dep, b_who], outputs=plist, queue=False, **hidden)

        conv_outputs = [turns, transcript, conv_list, conv_title, cid]
        demo.load(h.restore, inputs=cid, outputs=conv_outputs, queue=False, **hidden)
        # progress shows on the transcript only: never a spinner or an error badge over the input box
        ask_args = dict(fn=h.chat, inputs=[question, turns, c_year, c_dep, c_who, cid],
                        outputs=[transcript, turns, question, no_index, cid, conv_list],
                        concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat", api_name="chat",
                        show_progress_on=[transcript])
        title_args = dict(fn=h.conversation_title, inputs=cid, outputs=conv_title, queue=False, **hidden)
        send.click(**ask_args).then(**title_args)
        question.submit(**{**ask_args, "api_name": None, **hidden}).then(**title_args)
        transcript.click(h.open_from_chat, inputs=turns, outputs=source, queue=False, **hidden)
        new_chat.click(h.new_conversation, outputs=conv_outputs + [source], queue=False, **hidden)
        conv_list.click(h.open_conversation, outputs=conv_outputs + [source], queue=False, **hidden)
        for trigger in (rename.click, conv_title.submit):
            trigger(h.rename_conversation, inputs=[cid, conv_title], outputs=conv_list, queue=False, **hidden)
        delete.click(h.delete_conversation, inputs=cid, outputs=conv_outputs + [source], queue=False, **hidden)
        export.click(h.export_conversation, inputs=cid, outputs=export_file, queue=False, **hidden)

        for trigger in (search.click, query.submit):
            trigger(h.browse, inputs=[query, b_year, b_dep, b_who], outputs=plist, **hidden)
        plist.click(h.open_proposal, outputs=pview, **hidden)
        pview.click(h.open_proposal, outputs=pview, **hidden)

        o_file.upload(h.read_upload, inputs=o_file, outputs=o_text, **hidden)
        o_go.click(h.outline, inputs=[o_text, o_dep], outputs=[o_out, o_md, outline_state], **hidden)
        o_out.click(h.open_from_outline, inputs=outline_state, outputs=o_source, queue=False, **hidden)

        one_ingest = dict(concurrency_limit=1, concurrency_id="ingest", **hidden)
        # one progress bar, on the summary; the upload box is emptied once its files are in
        ingest_btn.click(h.ingest_uploads, inputs=[files, replace_box], outputs=[ingest_status, ingest_errors, library, files],
                         show_progress_on=[ingest_status], **one_ingest) \
            .then(h.refresh, outputs=refresh_outputs, **hidden)
        # the progress bar shows under the button; the report lands in 资料库 too
        load_btn.click(h.load_samples, outputs=[load_status, ingest_errors, library], show_progress_on=[load_status],
                       **one_ingest).then(h.refresh, outputs=refresh_outputs, **hidden)
        for lib in (library, lib_view):  # rows and 删除 in the list; 确认删除 / 取消 in the view above it
            lib.click(h.library_click, outputs=[lib_view, library, lib_status], concurrency_limit=1,
                      concurrency_id="ingest", show_progress_on=[lib_status], **hidden) \
                .then(h.refresh, outputs=refresh_outputs, **hidden)
    return demo


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True, quiet: bool = False):
    """Start the server. Returns (app, local url, share url) when ``block`` is false."""
    demo.queue(default_concurrency_limit=2)
    return demo.launch(server_name=host, server_port=port, auth=auth, share=False, inbrowser=False,
                       prevent_thread_lock=not block, quiet=quiet, show_error=False, ssr_mode=False,
                       theme=theme(), css=CSS, footer_links=[], max_file_size="20mb",
                       auth_message="提案助手：请输入用户名和密码" if auth else None,
                       app_kwargs={"middleware": [Middleware(AuthGuard)]} if auth else None)
