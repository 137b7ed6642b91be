"""`proposals api`: the HTTP API, OpenAI-compatible (added to the CLI by ``rag.cli``; docs/api.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rag.cli.common import AnswererChoice, AnswererOpt, DataDir, RetrieverChoice, RetrieverOpt


def register(app: typer.Typer) -> None:
    @app.command(help="启动 HTTP API：/v1/chat/completions（OpenAI 格式，附引用）、/v1/ask、/docs。")
    def api(host: Optional[str] = typer.Option(None, metavar="地址",
                                               help="监听地址（默认 PROPOSALS_HOST 或 127.0.0.1）；"
                                                    "非本机地址必须设置 PROPOSALS_API_TOKEN"),
            port: Optional[int] = typer.Option(None, metavar="端口", help="端口（默认 PROPOSALS_API_PORT 或 7861）"),
            answerer: AnswererChoice = AnswererOpt,
            retriever: RetrieverChoice = RetrieverOpt,
            data_dir: Optional[Path] = DataDir) -> None:
        from rag.cli.common import fail
        from rag.core.errors import ProposalError
        from rag.core.settings import Settings
        from ui.api import serve_api

        try:
            settings = Settings(data_dir=data_dir) if data_dir else Settings()
            serve_api(settings, host=host, port=port, answerer=answerer.value, retriever=retriever.value)
        except ProposalError as e:
            fail(e)
