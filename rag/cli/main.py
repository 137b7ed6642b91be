"""`proposals` — the command line, on top of every other package. Errors become one clean line here."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from rag.cli import api as api_commands
from rag.cli import evals as eval_commands
from rag.cli import library as library_commands
from rag.cli import serve as serve_commands
from rag.cli import staff as staff_commands
from rag.cli import verify as verify_commands
from rag.cli.common import (AnswererChoice, AnswererOpt, DataDir, RetrieverChoice, RetrieverOpt, SectionChoice, app,
                            assistant, console, error_line, fail, stage_progress)
from rag.core.errors import ErrorCode, IngestError, ProposalError, RequestError
from rag.core.proposal import REPLY_STATUS_ZH
from rag.core.types import Filters
from rag.core.lexicon import SECTION_LABEL


@app.command(help="解析、切分并索引提案文件。有文件失败时退出状态为 1（其余文件照常导入）。")
def ingest(paths: list[Path] = typer.Argument(..., help="提案文件（.txt、.jsonl、.docx、.pdf）或文件夹", metavar="路径..."),
           prune: bool = typer.Option(False, help="删除源文件已不存在的提案"),
           replace: bool = typer.Option(False, help="允许文件替换索引中来自另一个文件的同编号提案（否则报告并跳过）"),
           as_json: bool = typer.Option(False, "--json", help="以 JSON 输出导入报告"),
           data_dir: Optional[Path] = DataDir) -> None:
    try:
        a = assistant(data_dir)
        a.index.claim_writer("`proposals ingest`")  # refused at once when the app writes this directory
        with stage_progress(disable=as_json, label=lambda s: STAGE_ZH.get(s, s)) as progress:
            report = a.ingest(paths, prune=prune, replace=replace, progress=progress)
    except ProposalError as e:
        fail(e)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        console.print(f"文件 {report.files} 个 · 提案 {report.proposals} 件（有变化 {report.proposals_changed} 件）· "
                      f"段落新增 {report.added}、更新 {report.updated}、未变 {report.unchanged}、删除 {report.removed} · "
                      f"计算向量 {report.embedded} 个 · 用时 {report.timings_s.get('total', 0):.1f} 秒", highlight=False)
        for e in report.failures:
            console.print(f"[red]未导入[/red] {escape(error_line(e))}")
        for x in report.suspicious:
            console.print(f"[yellow]可疑[/yellow] {escape(x['chunk_id'])}（{escape(x['path'])}）：含有对助手下指令的文字，"
                          f"已作为资料保存、不会被引用为答案：{escape(x['text'])}", highlight=False)
    raise typer.Exit(0 if report.ok else 1)


STAGE_ZH = {"parse": "解析文件", "chunk": "切分段落", "embed": "计算向量"}


@app.command(help="按目录重新同步 Chroma 和 BM25（导入被中断或文件损坏之后）。")
def rebuild(data_dir: Optional[Path] = DataDir) -> None:
    from ingest.pipeline import Ingester

    try:
        a = assistant(data_dir)
        a.index.claim_writer("`proposals rebuild`")
        r = Ingester(a.index).rebuild()
    except ProposalError as e:
        fail(e)
    console.print(f"已重建：{r.proposals} 件提案，{r.unchanged} 个段落，计算向量 {r.embedded} 个", highlight=False)


@app.command(help="各存储的计数，以及它们是否一致（不一致时退出状态为 1）。")
def stats(data_dir: Optional[Path] = DataDir) -> None:
    try:
        s = assistant(data_dir).stats()
    except ProposalError as e:
        fail(e)
    print(json.dumps(s, ensure_ascii=False, indent=1))
    raise typer.Exit(1 if s["problems"] else 0)


def votes_zh(votes: tuple[int, int] | None) -> str:
    return f"支持 {votes[0]} · 反对 {votes[1]}" if votes else "无"


@app.command(help="显示一件提案解析后的结构：案由、内容、建议、各部门答复。")
def show(pid: str = typer.Argument(..., help="提案编号（8 位数字）", metavar="编号"),
         as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
         data_dir: Optional[Path] = DataDir) -> None:
    try:
        p = assistant(data_dir).proposal(pid)
    except ProposalError as e:
        fail(e)
    if p is None:
        fail(RequestError(f"no proposal {pid} in the index", code=ErrorCode.UNKNOWN_PROPOSAL, id=pid))
    if as_json:
        print(json.dumps(p.to_dict(), ensure_ascii=False, indent=1))
        return
    out = Console(soft_wrap=True)  # every value below is corpus text: never read as markup
    out.rule(escape(f"{p.id} {p.title}"))
    out.print(f"年份 {p.year} · 提案者 {'、'.join(p.proposers) or '无'} · 办理单位 {'、'.join(p.handling_units) or '无'} · "
              f"答复状态 {REPLY_STATUS_ZH.get(p.reply_status, p.reply_status)} · 网友评价 {votes_zh(p.votes)}",
              markup=False, highlight=False)
    for name, paras in (("内容", p.content), ("建议", p.suggestions)):
        out.print(f"[bold]{name}[/bold]")
        for i, para in enumerate(paras, 1):
            out.print(f"  {i}. {para.text}", markup=False, highlight=False)
    for r in p.replies:
        out.print(f"[bold]答复 · {escape(r.department)}[/bold]  {escape(r.salutation)}", highlight=False)
        for i, para in enumerate(r.paragraphs, 1):
            path = " › ".join(para.heading)
            out.print(f"  {i}. [dim]{escape(path)}[/dim]", highlight=False)
            out.print(f"     {para.text}", markup=False, highlight=False)


@app.command(help="回答一个问题，每句注明所依据的段落（提案库中没有答案时拒答）。")
def ask(question: Optional[str] = typer.Argument(None, help="问题（用 --jsonl 批量提问时省略）", metavar="问题"),
        year: Optional[int] = typer.Option(None, help="只看这一年的提案", metavar="年份"),
        department: Optional[str] = typer.Option(None, help="只看这个部门的答复（科技局 = 市科技局 = 市科学技术局）",
                                                 metavar="部门"),
        proposer: Optional[str] = typer.Option(None, help="只看这位提案者的提案", metavar="提案者"),
        section: Optional[SectionChoice] = typer.Option(
            None, help="只在这一部分中检索：content 内容，suggestion 建议，reply 部门答复，meta 提案信息"),
        as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象（见 README“JSON contract”）"),
        jsonl: Optional[Path] = typer.Option(None, "--jsonl", metavar="文件",
                                             help="问题文件：每行一个 {\"id\",\"question\",\"history\"?}"
                                                  "（history 为此前的问题，从早到晚），每行输出一个 JSON 答案"),
        retriever: RetrieverChoice = RetrieverOpt,
        answerer: AnswererChoice = AnswererOpt,
        data_dir: Optional[Path] = DataDir) -> None:
    filters = Filters(year=year, department=department, proposer=proposer,
                      section=section.value if section else None)
    filters = None if filters.is_empty() else filters
    try:
        if not jsonl and not (question or "").strip():
            fail(RequestError("give a question, or --jsonl FILE", code=ErrorCode.EMPTY_QUESTION))
        a = assistant(data_dir, retriever=retriever, answerer=answerer)
        if jsonl:
            raise typer.Exit(ask_batch(a, jsonl, filters))
        ans = a.ask(question, filters=filters)
    except ProposalError as e:
        fail(e)
    if as_json:
        print(json.dumps(ans.to_json(), ensure_ascii=False, indent=1))
        return
    out = Console(soft_wrap=True)  # answers quote corpus text: escaped, never read as markup
    if ans.notice:
        out.print(f"[yellow]{escape(ans.notice)}[/yellow]")
    out.print(ans.answer, markup=False, highlight=False)
    for c in ans.citations:
        where = c.heading or c.department or SECTION_LABEL.get(c.section, c.section)
        out.print(f"[cyan]{escape(f'[{c.marker}]')}[/cyan] {escape(f'{c.proposal_id} · {where}')}\n"
                  f"    {escape(f'「{c.quote}」')}", highlight=False)
    if ans.abstained and ans.leads:
        out.print("可能相关的提案：" + "、".join(ans.leads), markup=False)
    out.print(f"[dim]{MODE_ZH.get(ans.mode, ans.mode)} · {ans.timings_ms.get('total', 0):.0f} 毫秒[/dim]")


def ask_batch(a, jsonl: Path, filters: Filters | None) -> int:
    """One JSON line out per question line in: the answer, or ``{"id", "line", "error"}`` for a
    line that cannot be asked (the batch goes on). Returns the exit status: 1 when any failed."""
    try:
        lines = jsonl.read_text(encoding="utf-8-sig").split("\n")
    except FileNotFoundError:
        fail(IngestError(jsonl, "no such file", code=ErrorCode.NO_SUCH_FILE))
    except UnicodeDecodeError as e:
        fail(IngestError(jsonl, f"not UTF-8: {e}", code=ErrorCode.UNDECODABLE))
    except OSError as e:
        fail(IngestError(jsonl, f"cannot read: {e.strerror or e}", code=ErrorCode.CANNOT_READ))
    failed = total = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        total += 1
        rec: object = None
        try:
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise IngestError(jsonl, f"invalid JSON: {e}", n, code=ErrorCode.INVALID_JSON) from None
            if not isinstance(rec, dict):
                raise IngestError(jsonl, "not a JSON object", n, code=ErrorCode.NOT_AN_OBJECT)
            if "question" not in rec:
                raise IngestError(jsonl, 'no "question"', n, code=ErrorCode.MISSING_FIELD, field="question")
            history = rec.get("history") or []
            if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
                raise IngestError(jsonl, "history: a list of earlier questions (strings, oldest first)", n,
                                  code=ErrorCode.BAD_FIELD, field="history")
            out = a.ask(rec["question"], filters=filters, id=rec.get("id"), history=history).to_json()
        except IngestError as e:  # the line itself: error_line names the file and line
            out = {"error": error_line(e)}
        except ProposalError as e:  # the question on it
            out = {"error": f"{jsonl}:{n}：{error_line(e)}"}
        if "error" in out:
            failed += 1
            rid = rec.get("id") if isinstance(rec, dict) else None
            out = {"id": rid, "line": n, "error": out["error"]}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    if failed:
        console.print(f"[red]{total} 个问题中有 {failed} 个未能回答[/red]（其输出行带有 \"error\" 字段）")
    return 1 if failed else 0


MODE_ZH = {"extractive": "抽取式", "llm": "大模型"}


for _commands in (api_commands, eval_commands, serve_commands, staff_commands, verify_commands, library_commands):
    _commands.register(app)


def main() -> None:
    try:
        app()
    except ProposalError as e:  # anything not caught by a command
        console.print(f"[red]错误：[/red]{escape(error_line(e))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
