"""The ``Answerer`` seam: every way of drafting an answer takes one ``Request`` and returns a
draft ``Answer`` (citations pointing into the request's hits) or ``None`` when it has nothing
to say, so the next answerer in the route tries. The verifier checks every draft after."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from rag.answer.analyze import Analysis
from rag.core.types import Answer, Hit


@dataclass(frozen=True)
class Request:
    analysis: Analysis
    hits: list[Hit] = field(default_factory=list)  # ranked retrieval
    packed: list[Hit] = field(default_factory=list)  # the best hits within the context budget

    @property
    def query(self) -> str:
        return self.analysis.query

    @property
    def intent(self) -> str:
        return self.analysis.intent


@runtime_checkable
class Answerer(Protocol):
    mode: str  # "extractive" | "llm": what the answer's ``mode`` says

    def answer(self, request: Request) -> Answer | None:
        """A draft whose citations point into ``request.hits`` (or ``packed``), or ``None``."""
        ...


@runtime_checkable
class StreamingAnswerer(Answerer, Protocol):
    def stream(self, request: Request) -> Iterator[str | Answer]:
        """Text as it is written (each item the whole text so far), then the draft ``Answer``."""
        ...


class AnswererFailed(Exception):
    """An answerer could not run (the chat model timed out, errored or wrote nothing usable);
    the route goes on to the next answerer and the answer carries ``notice``."""

    def __init__(self, notice: str):
        super().__init__(notice)
        self.notice = notice
