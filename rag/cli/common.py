"""What every `proposals` command shares: the Typer app, the console, error output, the assistant."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from rag.core.errors import ProposalError
from rag.core.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="提案助手: cited answers over CPPCC proposals and department replies.")
console = Console(stderr=True)


def fail(e: ProposalError, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {e}")
    raise typer.Exit(code)


def assistant(data_dir: Optional[Path] = None, **kw):
    from rag.answer.assistant import Assistant

    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    return Assistant(settings, **kw)


DataDir = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR", help="where the index lives (default ./data)")
