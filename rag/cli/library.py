"""`proposals remove`: take proposals out of the index (catalogue, Chroma and BM25 together)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    from rag.cli.common import DataDir, assistant, console, fail

    @app.command(help="从提案库删除提案：目录、向量库和 BM25 索引按导入时的顺序一起更新。\n\n"
                      "要替换一件提案，直接导入它的新版本文件（提案编号相同即替换）。")
    def remove(ids: list[str] = typer.Argument(..., help="要删除的提案编号（8 位数字，可写多个）", metavar="编号..."),
               data_dir: Optional[Path] = DataDir) -> None:
        from rag.core.errors import ProposalError

        try:
            a = assistant(data_dir)
            a.index.claim_writer("`proposals remove`")  # refused at once when the app writes this directory
            try:
                r = a.remove(ids)
            finally:
                a.index.release_writer()
        except ProposalError as e:
            fail(e)
        console.print(f"已删除 {r.proposals_changed} 件提案（{r.removed} 个段落）；提案库现有 {r.proposals} 件提案、"
                      f"{r.unchanged} 个段落。", highlight=False)
