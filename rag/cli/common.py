"""What every `proposals` command shares: the Typer app, the console, error output, the assistant."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn

from rag.core.errors import IngestError, ProposalError
from rag.core.errors_zh import where, words
from rag.core.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="提案助手: cited answers over CPPCC proposals and department replies.")
console = Console(stderr=True)


def error_line(e: ProposalError) -> str:
    """The error in Chinese (``rag.core.errors_zh``), then the detail that says how to fix it."""
    if isinstance(e, IngestError):
        return f"{where(e)}：{words(e)}"
    return f"{words(e)}（{e}）"


def fail(e: ProposalError, code: int = 1) -> None:
    console.print(f"[red]错误：[/red]{escape(error_line(e))}")
    raise typer.Exit(code)


def assistant(data_dir: Optional[Path] = None, **kw):
    from rag.answer.assistant import Assistant

    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    return Assistant(settings, **kw)


@contextmanager
def stage_progress(disable: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(stage, done, total)`` callback drawing one bar per stage on a terminal, and
    printing plain ``stage done/total`` lines to stderr when that is not a terminal."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=console, transient=True, disable=disable or not console.is_terminal) as bar:
        tasks: dict[str, int] = {}
        shown: dict[str, int] = {}  # stage -> last tenth printed

        def progress(stage: str, done: int, total: int) -> None:
            if not disable and not console.is_terminal:  # a log or a pipe: plain lines, about one per 10 %
                step = done * 10 // max(total, 1)
                if shown.get(stage) != step:
                    shown[stage] = step
                    print(f"{stage} {done}/{total}", file=sys.stderr, flush=True)
                return
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


DataDir = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR", help="where the index lives (default ./data)")
