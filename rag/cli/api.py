"""`proposals api`: the HTTP API, OpenAI-compatible (added to the CLI by ``rag.cli``; docs/api.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def api(host: Optional[str] = typer.Option(None, help="address to bind (default PROPOSALS_HOST or 127.0.0.1); "
                                                           "anything but loopback needs PROPOSALS_API_TOKEN"),
            port: Optional[int] = typer.Option(None, help="port (default PROPOSALS_API_PORT or 7861)"),
            answerer: str = typer.Option("auto", help="auto | extractive | llm: what model 'proposals' answers with"),
            retriever: str = typer.Option("hybrid", help="hybrid | dense | bm25"),
            data_dir: Optional[Path] = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR",
                                                    help="where the index lives (default ./data)")) -> None:
        """Serve the HTTP API: /v1/chat/completions (OpenAI format, with citations), /v1/ask, /docs."""
        from rag.cli.common import fail
        from rag.core.errors import ProposalError
        from rag.core.settings import Settings
        from ui.api import serve_api

        try:
            settings = Settings(data_dir=data_dir) if data_dir else Settings()
            serve_api(settings, host=host, port=port, answerer=answerer, retriever=retriever)
        except ProposalError as e:
            fail(e)
