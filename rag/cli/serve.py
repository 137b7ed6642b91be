"""`proposals serve`: the browser app (added to the CLI by ``rag.cli``)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: Optional[str] = typer.Option(None, help="address to bind (default PROPOSALS_HOST or 127.0.0.1); "
                                                             "anything but loopback needs PROPOSALS_AUTH"),
              port: Optional[int] = typer.Option(None, help="port (default PROPOSALS_PORT or 7860)"),
              answerer: str = typer.Option("auto", help="auto | extractive | llm"),
              retriever: str = typer.Option("hybrid", help="hybrid | dense | bm25"),
              data_dir: Optional[Path] = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR",
                                                      help="where the index lives (default ./data)")) -> None:
        """Open the app in the browser: 问答, 提案, 答复提纲, 评测, 资料库."""
        from rag.cli.common import fail
        from rag.core.errors import ProposalError
        from rag.core.settings import Settings
        from evals.api import Evaluations
        from ui.server import serve as run

        try:
            settings = Settings(data_dir=data_dir) if data_dir else Settings()
            run(settings, host=host, port=port, answerer=answerer, retriever=retriever, evaluations=Evaluations())
        except ProposalError as e:
            fail(e)
