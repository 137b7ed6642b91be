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
from rag.cli import serve as serve_commands
from rag.cli import staff as staff_commands
from rag.cli import verify as verify_commands
from rag.cli.common import DataDir, app, assistant, console, error_line, fail, stage_progress
from rag.core.errors import ErrorCode, ProposalError, RequestError
from rag.core.types import Filters
from rag.core.lexicon import SECTION_LABEL

@app.command()
def ingest(paths: list[Path] = typer.Argument(..., help="proposal files (.txt, .jsonl, .docx, .pdf) or folders"),
           prune: bool = typer.Option(False, help="remove proposals whose files are gone"),
           replace: bool = typer.Option(False, help="let a file replace a proposal the index holds from "
                                                    "another file (otherwise reported and skipped)"),
           as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
           data_dir: Optional[Path] = DataDir) -> None:
    """Parse, chunk and index proposals. Exit status 1 when any file failed (the rest still ingest)."""
    try:
        a = assistant(data_dir)
        a.index.claim_writer("`proposals ingest`")  # refused at once when the app writes this directory
        with stage_progress(disable=as_json) as progress:
            report = a.ingest(paths, prune=prune, replace=replace, progress=progress)
    except ProposalError as e:
        fail(e)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        console.print(f"files {report.files} · proposals {report.proposals} (changed {report.proposals_changed}) · "
                      f"chunks added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                      f"removed {report.removed} · embedded {report.embedded} · "
                      f"{report.timings_s.get('total', 0):.1f}s")
        for e in report.failures:
            console.print(f"[red]未导入[/red] {escape(error_line(e))}")
        for x in report.suspicious:
            console.print(f"[yellow]可疑[/yellow] {escape(x['chunk_id'])}（{escape(x['path'])}）：含有对助手下指令的文字，"
                          f"已作为资料保存、不会被引用为答案：{escape(x['text'])}", highlight=False)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def rebuild(data_dir: Optional[Path] = DataDir) -> None:
    """Re-sync Chroma and BM25 from the catalogue (after an interrupted ingest or a damaged file)."""
    from ingest.pipeline import Ingester

    try:
        a = assistant(data_dir)
        a.index.claim_writer("`proposals rebuild`")
        r = Ingester(a.index).rebuild()
    except ProposalError as e:
        fail(e)
    console.print(f"rebuilt: {r.proposals} proposals, {r.unchanged} chunks, embedded {r.embedded}")


@app.command()
def stats(data_dir: Optional[Path] = DataDir) -> None:
    """Counts per store and whether they agree."""
    try:
        s = assistant(data_dir).stats()
    except ProposalError as e:
        fail(e)
    print(json.dumps(s, ensure_ascii=False, indent=1))
    raise typer.Exit(1 if s["problems"] else 0)


@app.command()
def show(pid: str, as_json: bool = typer.Option(False, "--json"), data_dir: Optional[Path] = DataDir) -> None:
    """The parsed structure of one proposal."""
    try:
        p = assistant(data_dir).proposal(pid)
    except ProposalError as e:
        fail(e)
    if p is None:
        fail(RequestError(f"no proposal {pid} in the index", code=ErrorCode.UNKNOWN_PROPOSAL, id=pid))
    if as_json:
        print(json.dumps(p.to_dict(), ensure_ascii=False, indent=1))
        return
    out = Console()  # every value below is corpus text: escaped, never read as markup
    out.rule(escape(f"{p.id} {p.title}"))
    out.print(f"年份 {p.year} · 提案者 {'、'.join(p.proposers)} · 办理单位 {','.join(p.handling_units)} · "
              f"答复 {p.reply_status} · 网友评价 {p.votes}", markup=False, highlight=False)
    for name, paras in (("内容", p.content), ("建议", p.suggestions)):
        out.print(f"[bold]{name}[/bold]")
        for i, para in enumerate(paras, 1):
            out.print(f"  {i}. {para.text}", markup=False, highlight=False)
    for r in p.replies:
        out.print(f"[bold]答复 · {escape(r.department)}[/bold]  {escape(r.salutation)}", highlight=False)
        for i, para in enumerate(r.paragraphs, 1):
            path = " › ".join(para.heading)
            out.print(f"  {i}. [dim]{escape(path)}[/dim]\n     {escape(para.text)}", highlight=False)


@app.command()
def ask(question: Optional[str] = typer.Argument(None),
        year: Optional[int] = typer.Option(None), department: Optional[str] = typer.Option(None),
        proposer: Optional[str] = typer.Option(None),
        section: Optional[str] = typer.Option(None, help="content | suggestion | reply | meta"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object (README: JSON contract)"),
        jsonl: Optional[Path] = typer.Option(
            None, "--jsonl", help="questions file: one {\"id\",\"question\",\"history\"?} per line"),
        retriever: str = typer.Option("hybrid", help="hybrid | dense | bm25"),
        answerer: str = typer.Option("auto", help="auto | extractive | llm"),
        data_dir: Optional[Path] = DataDir) -> None:
    """Answer a question with paragraph citations (or refuse when the corpus has no answer)."""
    filters = Filters(year=year, department=department, proposer=proposer, section=section)
    filters = None if filters.is_empty() else filters
    try:
        a = assistant(data_dir, retriever=retriever, answerer=answerer)
        if jsonl:
            raise typer.Exit(ask_batch(a, jsonl, filters))
        if not question:
            fail(RequestError("give a question, or --jsonl FILE"))
        ans = a.ask(question, filters=filters)
    except ProposalError as e:
        fail(e)
    if as_json:
        print(json.dumps(ans.to_json(), ensure_ascii=False, indent=1))
        return
    out = Console()  # answers quote corpus text: escaped, never read as markup
    if ans.notice:
        out.print(f"[yellow]{escape(ans.notice)}[/yellow]")
    out.print(ans.answer, markup=False, highlight=False)
    for c in ans.citations:
        where = c.heading or c.department or SECTION_LABEL[c.section]
        out.print(f"[cyan]{escape(f'[{c.marker}]')}[/cyan] {escape(f'{c.proposal_id} · {where}')}\n"
                  f"    {escape(f'「{c.quote}」')}", highlight=False)
    if ans.abstained and ans.leads:
        out.print("可能相关的提案：" + "、".join(ans.leads), markup=False)
    out.print(f"[dim]{ans.mode} · {ans.timings_ms.get('total', 0):.0f} ms[/dim]")


def ask_batch(a, jsonl: Path, filters: Filters | None) -> int:
    """One JSON line out per question line in: the answer, or ``{"id", "line", "error"}`` for a
    line that cannot be asked (the batch goes on). Returns the exit status: 1 when any failed."""
    try:
        lines = jsonl.read_text(encoding="utf-8-sig").split("\n")
    except (OSError, UnicodeDecodeError) as e:
        fail(RequestError(f"{jsonl}: cannot read as UTF-8: {getattr(e, 'strerror', None) or e}"))
    failed = total = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        total += 1
        rec: object = None
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "question" not in rec:
                raise RequestError('expected a JSON object with a "question"')
            history = rec.get("history") or []
            if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
                raise RequestError("field 'history' should be a list of earlier questions (strings, oldest first)")
            out = a.ask(rec["question"], filters=filters, id=rec.get("id"), history=history).to_json()
        except ValueError as e:  # not JSON
            out = {"error": f"invalid JSON: {e}"}
        except ProposalError as e:
            out = {"error": error_line(e)}
        if "error" in out:
            failed += 1
            rid = rec.get("id") if isinstance(rec, dict) else None
            out = {"id": rid, "line": n, "error": f"{jsonl}:{n}: {out['error']}"}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    if failed:
        console.print(f"[red]{failed} of {total} questions failed[/red] (their lines carry an \"error\")")
    return 1 if failed else 0


for _commands in (api_commands, eval_commands, serve_commands, staff_commands, verify_commands):
    _commands.register(app)


def main() -> None:
    try:
        app()
    except ProposalError as e:  # anything not caught by a command
        console.print(f"[red]错误：[/red]{escape(error_line(e))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
