"""What each event of the app does: call the `rag` API, turn the result into HTML.

No retrieval or answer logic lives here. Project errors become Chinese ``gr.Error`` messages
(``ui.errors.friendly``); a question waits while an ingest rewrites the index (``ReadWriteLock``).
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from ingest.pipeline import ACCEPTED
from rag.answer.assistant import Assistant
from rag.core.errors import NoIndexError, ProposalError
from rag.core.types import Filters, proposal_of
from ui import features
from rag.core.errors import ErrorCode
from rag.core.errors_zh import WORDS, words
from ui.progress import stage_callback
from ui.errors import EMPTY_QUESTION, NO_INDEX, friendly, user_error
from ui.render import (SOURCE_PLACEHOLDER, ChatTurn, FileError, Focus, esc, file_errors_html, notice_html,
                       proposal_html, proposal_list_html, source_html, transcript_html)
from ui.rwlock import ReadWriteLock

log = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
STAGES = {"parse": "解析文件", "chunk": "切分段落", "embed": "计算向量"}
HISTORY_TURNS = 4  # earlier questions handed to the assistant for follow-ups ("那交通局呢？")
ALL = ("全部", "")
_END = object()


def _opt(v) -> str | None:
    return v if v not in (None, "") else None


def filters_of(year, department, proposer) -> Filters | None:
    f = Filters(year=int(year) if _opt(year) else None, department=_opt(department), proposer=_opt(proposer))
    return None if f.is_empty() else f


class Handlers:
    def __init__(self, assistant: Assistant, *, samples_dir: Path = SAMPLES_DIR):
        self.a = assistant
        self.samples_dir = samples_dir
        self.lock = ReadWriteLock()

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
    def chat(self, question: str, turns: list[ChatTurn], year, department, proposer):
        """Yields (transcript, turns, cleared input, no-index notice visibility) as the answer grows."""
        question = (question or "").strip()
        if not question:
            raise user_error(EMPTY_QUESTION)
        history = [t.question for t in turns if t.answer is not None][-HISTORY_TURNS:]
        turn = ChatTurn(question)
        turns = list(turns) + [turn]
        if self.lock.busy_writing:
            turn.partial = "正在导入提案，导入完成后立即作答…"
        yield transcript_html(turns), turns, "", gr.update()
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
                    yield transcript_html(turns), turns, "", gr.update()
                else:
                    turn.answer = item
        except NoIndexError:
            turn.error = NO_INDEX
            show_load = gr.update(visible=True)
        except Exception as e:  # noqa: BLE001 — shown as a plain sentence, logged in full
            turn.error = friendly(e)
        yield transcript_html(turns), turns, "", show_load

    def clear_chat(self):
        return [], transcript_html([]), SOURCE_PLACEHOLDER

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
            raise user_error(friendly(e)) from None
        return proposal_list_html(rows)

    def open_proposal(self, evt: gr.EventData) -> str:
        """A row of the list opens its proposal; a matched reply paragraph is then highlighted in it."""
        data = evt._data or {}
        if data.get("chunk"):
            chunk_id = data["chunk"]
            return self.proposal_view(proposal_of(chunk_id), focus=chunk_id)
        return self.proposal_view(data.get("pid") or "")

    def open_plain(self, evt: gr.EventData) -> str:
        """The library's rows: the proposal's text only."""
        return self.proposal_view((evt._data or {}).get("pid") or "", with_alignment=False)

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
            raise user_error(friendly(e)) from None
        return body

    # ---- 资料库 -----------------------------------------------------------------------------
    def library(self) -> str:
        with self.lock.reading():
            rows, counts = self.a.library()
        return proposal_list_html(rows, counts)

    def ingest_uploads(self, files, progress=gr.Progress()):
        """Copy the uploads under the data directory (so their source path lasts) and ingest them."""
        if not files:
            raise user_error("请先选择要上传的提案文件（.txt、.jsonl、.docx 或 .pdf）。")
        dest = Path(self.a.settings.data_dir) / "uploads"
        dest.mkdir(parents=True, exist_ok=True)
        bad: list[FileError] = []
        paths: list[Path] = []
        names: dict[str, str] = {}
        for f in files:
            src = Path(f if isinstance(f, str) else f.name)
            if src.suffix.lower() not in ACCEPTED:
                bad.append(FileError(src.name, None, WORDS[ErrorCode.UNSUPPORTED_TYPE]))
                continue
            target = dest / src.name
            shutil.copyfile(src, target)
            paths.append(target)
            names[str(target.resolve())] = src.name
        return self._ingest(paths, bad, names, progress, keep_failed=False)

    def load_samples(self, progress=gr.Progress()):
        if not self.samples_dir.is_dir():
            raise user_error(f"找不到示例提案目录 {self.samples_dir}。")
        return self._ingest([self.samples_dir], [], {}, progress, keep_failed=True)

    def _ingest(self, paths: list[Path], bad: list[FileError], names: dict[str, str], progress, *,
                keep_failed: bool):
        report = None
        if paths:
            try:
                # questions wait only while the stores are written, not while vectors are computed
                report = self.a.ingest(paths, progress=stage_callback(progress, lambda s: STAGES.get(s, s)),
                                       writing=self.lock.writing)
            except ProposalError as e:
                raise user_error(friendly(e)) from None
            for e in report.failures:
                bad.append(FileError(names.get(str(Path(e.path).resolve()), Path(e.path).name), e.line,
                                     words(e)))
                if not keep_failed and str(Path(e.path).resolve()) in names:
                    Path(e.path).unlink(missing_ok=True)  # keep only files that made it in
        if report is None:
            summary = notice_html("没有可导入的文件。", "warn")
        else:
            ok = report.files - len({e.name for e in bad})
            summary = notice_html(f"导入完成：{report.files} 个文件中 {max(ok, 0)} 个成功，"
                                  f"共 {report.proposals} 件提案（其中 {report.proposals_changed} 件有变化），"
                                  f"新增 {report.added} 个段落、更新 {report.updated} 个，"
                                  f"用时 {report.timings_s.get('total', 0):.1f} 秒。",
                                  "ok" if not bad else "warn")
        return summary, file_errors_html(bad), self.library()

    # ---- 答复提纲 ---------------------------------------------------------------------------
    def read_upload(self, file) -> str:
        """An uploaded proposal file → its text (for the outline box); a bad file is a Chinese error."""
        from ingest.documents import DOCUMENT_TYPES, read_document
        from rag.core.errors import IngestError

        if not file:
            return gr.update()
        path = Path(file if isinstance(file, str) else file.name)
        if path.suffix.lower() not in (".txt",) + DOCUMENT_TYPES:
            raise user_error(f"{path.name}：{WORDS[ErrorCode.UNSUPPORTED_TYPE]}")
        try:
            return read_document(path.name, path.read_bytes())
        except IngestError as e:
            raise user_error(f"{path.name}：{words(e)}") from None

    def outline(self, text: str, department: str):
        text = (text or "").strip()
        if not text:
            raise user_error("请先粘贴或上传一件提案的全文。")
        if not (department or "").strip():
            raise user_error("请选择或填写答复部门。")
        try:
            with self.lock.reading():
                ol = features.draft_outline(self.a, text, department.strip())
        except ProposalError as e:
            raise user_error(friendly(e)) from None
        md = Path(tempfile.mkdtemp(prefix="outline-")) / "答复提纲.md"
        md.write_text(ol.markdown, encoding="utf-8")
        return features.outline_html(ol), str(md), ol.to_json()

    def open_from_outline(self, outline: dict | None, evt: gr.EventData) -> str:
        chunk_id = (evt._data or {}).get("chunk") or ""
        return self.source(chunk_id, features.outline_quote(outline, chunk_id))
