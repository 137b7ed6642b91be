"""What every `proposals` command shares: the Typer app, the console, error output, the assistant,
and the choices options take."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn

from rag.cli.zh import ZhTyper
from rag.core.errors import IngestError, ProposalError
from rag.core.errors_zh import where, words
from rag.core.settings import Settings

app = ZhTyper(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
              help="提案助手：依据东莞市政协提案及部门答复作答，每句注明出处。",
              options_metavar="[选项]", subcommand_metavar="命令 [参数]...")
# soft_wrap: Rich must not break Chinese lines at its own width (mid-word); the terminal wraps them
console = Console(stderr=True, soft_wrap=True)


class SectionChoice(str, Enum):
    content = "content"
    suggestion = "suggestion"
    reply = "reply"
    meta = "meta"


class RetrieverChoice(str, Enum):
    hybrid = "hybrid"
    dense = "dense"
    bm25 = "bm25"


class AnswererChoice(str, Enum):
    auto = "auto"
    extractive = "extractive"
    llm = "llm"


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

    kw = {k: v.value if isinstance(v, Enum) else v for k, v in kw.items()}
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    return Assistant(settings, **kw)


@contextmanager
def stage_progress(disable: bool = False,
                   label: Callable[[str], str] = str) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(stage, done, total)`` callback drawing one bar per stage on a terminal (each
    named by ``label(stage)``), and printing plain ``stage done/total`` lines to stderr when that
    is not a terminal."""
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
                tasks[stage] = bar.add_task(label(stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


DataDir = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR", metavar="目录",
                       help="索引所在的数据目录（默认 ./data）")
RetrieverOpt = typer.Option(RetrieverChoice.hybrid, "--retriever",
                            help="检索方式：hybrid 向量与 BM25 融合，dense 仅向量，bm25 仅关键词")
AnswererOpt = typer.Option(AnswererChoice.auto, "--answerer",
                           help="作答方式：auto 设置了 OPENAI_API_KEY 时用大模型、否则离线抽取；"
                                "extractive 离线抽取；llm 大模型")
