"""The answer to a follow-up asked with no conversation before it ("市财政局呢？" alone): it
cannot stand alone, so the earlier question is asked for rather than something else answered.
The analyser decides (``analyze.needs_context``); this answerer only says so."""
from __future__ import annotations

from rag.answer.answerer import Request
from rag.core.types import Answer

NEEDS_CONTEXT = ("这个问题承接上一轮对话（例如“市财政局呢？”“这些村…”），单独无法确定所指。"
                 "请先给出完整的问题，或在对话中接着上一个问题提问。")


class NeedsContextAnswerer:
    mode = "extractive"

    def __init__(self, mode: str = "extractive"):
        self.mode = mode

    def answer(self, request: Request) -> Answer:
        return Answer(question=request.analysis.question, answer=NEEDS_CONTEXT, abstained=True, mode=self.mode,
                      intent="needs_context")
