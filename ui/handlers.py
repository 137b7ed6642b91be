"""What each event of the app does: call the `rag` API, turn the result into HTML.

No retrieval or answer logic lives here. Project errors become Chinese ``gr.Error`` messages
(``ui.errors.friendly``); a question waits while an ingest rewrites the index (``ReadWriteLock``).
"""
from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from ingest.pipeline import ACCEPTED
from rag.answer.assistant import Assistant
from rag.core.errors import NoIndexError, ProposalError
from rag.core.errors import ErrorCode
from rag.core.errors_zh import WORDS, words
from rag.core.types import Filters, proposal_of
from rag.stores.conversations import LOCAL_USER, ConversationStore, conversation_markdown
from ui import features
from ui.errors import EMPTY_QUESTION, NO_INDEX, friendly
from ui.progress import stage_callback
from ui.render import (SOURCE_PLACEHOLDER, ChatTurn, FileError, Focus, conversation_list_html, esc, file_errors_html,
                       ingest_summary_html, notice_html, remove_confirm_html,
                       proposal_html, proposal_list_html, source_html, transcript_html)
from ui.rwlock import ReadWriteLock

log = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
STAGES = {"parse": "解析文件", "chunk": "切分段落", "embed": "计算向量"}
STAGE_UNITS = {"parse": "个文件", "chunk": "件提案", "embed": "个段落"}
HISTORY_TURNS = 4  # earlier questions handed to the assistant for follow-ups ("那交通局呢？")
ALL = ("全部", "")
_END = object()


def _opt(v) -> str | None:
    return v if v not in (None, "") else None


def _file_name(title: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", title).strip("_")[:40] or "对话"


def filters_of(year, department, proposer) -> Filters | None:
    f = Filters(year=int(year) if _opt(year) else None, department=_opt(department), proposer=_opt(proposer))
    return None if f.is_empty() else f


class Handlers:
    def __init__(self, assistant: Assistant, *, samples_dir: Path = SAMPLES_DIR,
                 conversations: ConversationStore | None = None):
        self.a = assistant
        self.samples_dir = samples_dir
        self.lock = ReadWriteLock()
        self._conversations = conversations  # opened on first use, in the data directory

    # ---- header, notices, filter choices ----------------------------------------------------
    def mode_label(self) -> str:
        if self.a.llm_enabled:
            return f"大模型（{self.a.settings.chat_model}）"
        return "离线抽取式"

    def header(self) -> str:
        with self.lock.reading():
            n = self.a.catalogue.counts()
        return (f'<div class="app-head"><h1>提案助手</h1><span class="badge mode-{self.a.mode}" id="mode-badge">'
                f'模式：{esc(self.mode_label())}</span><span class="stats">已收录 {n["proposals"]} 件提案 · '
                f'{n["chunks"]} 个段落</span></div>')

    def samples_count(self) -> int:
        return len(list(self.samples_dir.glob("*.txt")))

    def is_empty(self) -> bool:
        with self.lock.reading():
            return self.a.index.is_empty()

    def choices(self) -> tuple[list, list, list]:
        """(years, departments, proposers) for the filter dropdowns, each starting with 全部."""
        with self.lock.reading():
            rows = self.a.catalogue.rows()
            vocab = self.a.catalogue.vocabulary()
        years = sorted({r["year"] for r in rows}, reverse=True)
        return ([ALL] + [(f"{y}年", str(y)) for y in years],
                [ALL] + [(d, d) for d in vocab["departments"]],
                [ALL] + [(p, p) for p in vocab["proposers"]])

    def refresh(self):
        """Everything that depends on the index's contents, for page load and after an ingest."""
        years, deps, people = self.choices()
        empty = self.is_empty()
        return (self.header(), gr.update(visible=empty),
                gr.update(choices=years), gr.update(choices=deps), gr.update(choices=people),
                gr.update(choices=years), gr.update(choices=deps), gr.update(choices=people),
                gr.update(choices=[d for _, d in deps[1:]]))

    # ---- 问答 -------------------------------------------------------------------------------
    @property
    def conversations(self) -> ConversationStore:
        if self._conversations is None:
            self._conversations = ConversationStore.in_data_dir(self.a.settings.data_dir)
        return self._conversations

    @staticmethod
    def user_of(request: gr.Request | None) -> str:
        """The login name when the app has a password; the one local user otherwise."""
        return (getattr(request, "username", None) or LOCAL_USER) if request is not None else LOCAL_USER

    def conversation_list(self, user: str, current: str | None) -> str:
        return conversation_list_html(self.conversations.list(user), current)

    def restore(self, cid: str, request: gr.Request = None):
        """Page load: the conversation the browser last had open, as (turns, transcript, list, title, id)."""
        user = self.user_of(request)
        conv = self.conversations.get(user, cid or "")
        turns = [ChatTurn(t.question, t.to_answer(), t.error) for t in conv.turns] if conv else []
        current = conv.id if conv else ""
        return turns, transcript_html(turns), self.conversation_list(user, current), \
            (conv.title if conv else ""), current

    def conversation_title(self, cid: str, request: gr.Request = None):
        conv = self.conversations.get(self.user_of(request), cid or "")
        return conv.title if conv else ""

    def open_conversation(self, evt: gr.EventData, request: gr.Request = None):
        cid = (evt._data or {}).get("cid") or ""
        return (*self.restore(cid, request), SOURCE_PLACEHOLDER)

    def new_conversation(self, request: gr.Request = None):
        """(turns, transcript, list, title, id, source): an empty conversation, saved at its first question."""
        return [], transcript_html([]), self.conversation_list(self.user_of(request), ""), "", "", SOURCE_PLACEHOLDER

    def rename_conversation(self, cid: str, title: str, request: gr.Request = None):
        user = self.user_of(request)
        if not cid:
            gr.Warning("请先提问或打开一个对话，再重命名。", title="提示")
        elif not (title or "").strip():
            gr.Warning("请填写新的对话标题。", title="提示")
        else:
            self.conversations.rename(user, cid, title)
        return self.conversation_list(user, cid)

    def delete_conversation(self, cid: str, request: gr.Request = None):
        if cid:
            self.conversations.delete(self.user_of(request), cid)
        return self.new_conversation(request)

    def export_conversation(self, cid: str, request: gr.Request = None):
        conv = self.conversations.get(self.user_of(request), cid or "")
        if conv is None or not conv.turns:
            gr.Warning("当前对话还没有内容可导出。", title="提示")
            return gr.update(value=None, visible=False)
        path = Path(tempfile.mkdtemp(prefix="conversation-")) / f"{_file_name(conv.title)}.md"
        path.write_text(conversation_markdown(conv), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    def chat(self, question: str, turns: list[ChatTurn], year, department, proposer, cid: str = "",
             request: gr.Request = None):
        """Yields (transcript, turns, cleared input, no-index notice, conversation id, conversation list)
        as the answer grows; the finished turn is saved to the user's conversation."""
        question = (question or "").strip()
        if not question:  # a gentle toast; the input stays as it is and usable
            gr.Warning(EMPTY_QUESTION, title="提示")
            yield gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
            return
        user = self.user_of(request)
        history = [t.question for t in turns if t.answer is not None][-HISTORY_TURNS:]
        turn = ChatTurn(question)
        turns = list(turns) + [turn]
        if self.lock.busy_writing:
            turn.partial = "正在导入提案，导入完成后立即作答…"
        yield transcript_html(turns), turns, "", gr.update(), cid, gr.update()
        show_load = gr.update()
        try:
            it = self.a.stream(question, history=history, filters=filters_of(year, department, proposer))
            while True:
                with self.lock.reading():  # held per step, never across a yield to the browser
                    item = next(it, _END)
                if item is _END:
                    break
                if isinstance(item, str):
                    turn.partial = item
                    yield transcript_html(turns), turns, "", gr.update(), cid, gr.update()
                else:
                    turn.answer = item
        except NoIndexError:
            turn.error = NO_INDEX
            show_load = gr.update(visible=True)
        except Exception as e:  # noqa: BLE001 — shown as a plain sentence, logged in full
            turn.error = friendly(e)
        listing = gr.update()
        try:
            conv = self.conversations.add_turn(user, cid, question, turn.answer, turn.error)
            cid, listing = conv.id, self.conversation_list(user, conv.id)
        except ProposalError as e:  # the answer stands even when it cannot be saved
            log.warning("conversation not saved: %s", e)
        yield transcript_html(turns), turns, "", show_load, cid, listing

    def open_from_chat(self, turns: list[ChatTurn], evt: gr.EventData) -> str:
        data = evt._data or {}
        if data.get("pid"):
            return self.proposal_view(data["pid"], with_alignment=False)
        chunk_id = data.get("chunk") or ""
        quote = None
        for t in reversed(turns):
            if t.answer is not None:
                quote = next((c.quote for c in t.answer.citations if c.chunk_id == chunk_id), None)
                if quote is not None:
                    break
        return self.source(chunk_id, quote)

    def source(self, chunk_id: str, quote: str | None) -> str:
        if not chunk_id:
            return SOURCE_PLACEHOLDER
        with self.lock.reading():
            src = self.a.source(chunk_id)
        if src is None:
            return source_html(None, None, None)
        return source_html(src.proposal, src.chunk, quote, src.meta)

    # ---- 提案 -------------------------------------------------------------------------------
    def browse(self, query: str, year, department, proposer) -> str:
        query = (query or "").strip()
        try:
            with self.lock.reading():
                rows = self.a.find_proposals(query, filters_of(year, department, proposer))
        except ProposalError as e:
            return notice_html(friendly(e), "error")
        return proposal_list_html(rows)

    def open_proposal(self, evt: gr.EventData) -> str:
        """A row of the list opens its proposal; a matched reply paragraph is then highlighted in it."""
        data = evt._data or {}
        if data.get("chunk"):
            chunk_id = data["chunk"]
            return self.proposal_view(proposal_of(chunk_id), focus=chunk_id)
        return self.proposal_view(data.get("pid") or "")

    def proposal_view(self, pid: str, *, with_alignment: bool = True, focus: str | None = None) -> str:
        try:
            with self.lock.reading():
                p = self.a.catalogue.proposal(pid) if pid else None
                if p is None:
                    return notice_html(f"提案库中没有编号为 {pid} 的提案。", "warn")
                got = self.a.catalogue.chunks([focus]) if focus else []
                body = proposal_html(p, focus=Focus(got[0]) if got else None)
                if with_alignment:
                    body = features.alignment_html(self.a, p) + body
        except ProposalError as e:
            return notice_html(friendly(e), "error")
        return body

    # ---- 资料库 -------------------------------------------------------------------------------
    def library(self) -> str:
        with self.lock.reading():
            rows, counts = self.a.library()
        return proposal_list_html(rows, counts, removable=True)

    def library_click(self, evt: gr.EventData):
        """A row opens the proposal's text; 删除 asks to confirm; 确认删除 removes it from every store.
        Returns (view, list, status)."""
        data = evt._data or {}
        if data.get("remove"):
            return remove_confirm_html(data["remove"], self._title(data["remove"])), gr.update(), gr.update()
        if data.get("confirm"):
            return self.remove(data["confirm"])
        if data.get("cancel"):
            return "", gr.update(), gr.update()
        return self.proposal_view(data.get("pid") or "", with_alignment=False), gr.update(), gr.update()

    def _title(self, pid: str) -> str:
        with self.lock.reading():
            p = self.a.proposal(pid)
        return p.title if p else ""

    def remove(self, pid: str):
        try:
            with self.lock.writing():
                r = self.a.remove([pid])
        except ProposalError as e:
            return "", gr.update(), notice_html(friendly(e), "error")
        status = notice_html(f"已删除提案 {pid}（{r.removed} 个段落）。提案库现有 {r.proposals} 件提案。", "ok")
        return "", self.library(), status

    def ingest_uploads(self, files, replace: bool = False, progress=gr.Progress()):
        """Copy the uploads under the data directory (so their source path lasts) and ingest them;
        a proposal id the library already holds from another file is reported and skipped unless
        ``replace``. Returns (summary, per-file errors, library, cleared upload box)."""
        if not files:
            gr.Warning("请先选择要上传的提案文件（.txt、.jsonl、.docx 或 .pdf）。", title="提示")
            return gr.update(), gr.update(), gr.update(), gr.update()
        dest = Path(self.a.settings.data_dir) / "uploads"
        dest.mkdir(parents=True, exist_ok=True)
        bad: list[FileError] = []
        paths: list[Path] = []
        names: dict[str, str] = {}
        uploaded: list[str] = []
        for f in files:
            src = Path(f if isinstance(f, str) else f.name)
            uploaded.append(src.name)
            if src.suffix.lower() not in ACCEPTED:
                bad.append(FileError(src.name, None, WORDS[ErrorCode.UNSUPPORTED_TYPE]))
                continue
            target = dest / src.name
            shutil.copyfile(src, target)
            paths.append(target)
            names[str(target.resolve())] = src.name
        summary, errors, library = self._ingest(paths, bad, names, progress, keep_failed=False, uploaded=uploaded,
                                                replace=bool(replace))
        return summary, errors, library, None

    def load_samples(self, progress=gr.Progress()):
        if not self.samples_dir.is_dir():
            return notice_html(f"找不到示例提案目录 {self.samples_dir}。", "error"), gr.update(), gr.update()
        return self._ingest([self.samples_dir], [], {}, progress, keep_failed=True)

    def _ingest(self, paths: list[Path], bad: list[FileError], names: dict[str, str], progress, *,
                keep_failed: bool, uploaded: list[str] | None = None, replace: bool = False):
        report = None
        if paths:
            try:
                # questions wait only while the stores are written, not while vectors are computed
                report = self.a.ingest(paths, progress=stage_callback(
                    progress, lambda s: STAGES.get(s, s), lambda s: STAGE_UNITS.get(s, "步")),
                                       writing=self.lock.writing,
                                       replace=replace)
            except ProposalError as e:
                return notice_html(friendly(e), "error"), file_errors_html(bad), self.library()
            for e in report.failures:
                bad.append(FileError(names.get(str(Path(e.path).resolve()), Path(e.path).name), e.line,
                                     words(e)))
                if not keep_failed and str(Path(e.path).resolve()) in names and \
                        not report.per_file.get(str(Path(e.path).resolve())):
                    Path(e.path).unlink(missing_ok=True)  # keep only files that made it in
        if report is None:
            summary = notice_html("没有可导入的文件。", "warn")
        else:
            summary = ingest_summary_html(report, uploaded, bad, names)
        return summary, file_errors_html(bad), self.library()

    # ---- 答复提纲 ---------------------------------------------------------------------------
    def read_upload(self, file) -> str:
        """An uploaded proposal file → its text (for the outline box); a bad file is a toast, the box unchanged."""
        from ingest.documents import DOCUMENT_TYPES, read_document
        from rag.core.errors import IngestError

        if not file:
            return gr.update()
        path = Path(file if isinstance(file, str) else file.name)
        if path.suffix.lower() not in (".txt",) + DOCUMENT_TYPES:
            gr.Warning(f"{path.name}：{WORDS[ErrorCode.UNSUPPORTED_TYPE]}", title="文件无法读取")
            return gr.update()
        try:
            return read_document(path.name, path.read_bytes())
        except IngestError as e:
            gr.Warning(f"{path.name}：{words(e)}", title="文件无法读取")
            return gr.update()

    def outline(self, text: str, department: str):
        text = (text or "").strip()
        if not text:
            return notice_html("请先粘贴或上传一件提案的全文。", "warn"), None, None
        if not (department or "").strip():
            return notice_html("请选择或填写答复部门。", "warn"), None, None
        try:
            with self.lock.reading():
                ol = features.draft_outline(self.a, text, department.strip())
        except ProposalError as e:
            return notice_html(friendly(e), "error"), None, None
        md = Path(tempfile.mkdtemp(prefix="outline-")) / "答复提纲.md"
        md.write_text(ol.markdown, encoding="utf-8")
        return features.outline_html(ol), str(md), ol.to_json()

    def open_from_outline(self, outline: dict | None, evt: gr.EventData) -> str:
        chunk_id = (evt._data or {}).get("chunk") or ""
        return self.source(chunk_id, features.outline_quote(outline, chunk_id))
