"""`proposals serve`: the browser app (added to the CLI by ``rag.cli``)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rag.cli.common import AnswererChoice, AnswererOpt, DataDir, RetrieverChoice, RetrieverOpt


def register(app: typer.Typer) -> None:
    @app.command(help="启动网页应用：问答、提案、答复提纲、评测、资料库。")
    def serve(host: Optional[str] = typer.Option(None, metavar="地址",
                                                 help="监听地址（默认 PROPOSALS_HOST 或 127.0.0.1）；"
                                                      "非本机地址必须设置 PROPOSALS_AUTH"),
              port: Optional[int] = typer.Option(None, metavar="端口", help="端口（默认 PROPOSALS_PORT 或 7860）"),
              answerer: AnswererChoice = AnswererOpt,
              retriever: RetrieverChoice = RetrieverOpt,
              data_dir: Optional[Path] = DataDir) -> None:
        from rag.cli.common import fail
        from rag.core.errors import ProposalError
        from rag.core.settings import Settings
        from evals.api import Evaluations
        from ui.server import serve as run

        try:
            settings = Settings(data_dir=data_dir) if data_dir else Settings()
            run(settings, host=host, port=port, answerer=answerer.value, retriever=retriever.value,
                evaluations=Evaluations())
        except ProposalError as e:
            fail(e)
