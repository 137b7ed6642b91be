"""The answer chain as LangChain runnables:

question (+ history) → analyse → retrieve → pack (token budget) → answer → verify → ``Answer``.

Each step is a ``RunnableLambda`` over one ``Turn``; the assistant invokes the composed
chain; ``Assistant.stream`` runs the same ``STEPS`` with the answer step handing out text.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from langchain_core.runnables import Runnable, RunnableLambda

from rag.core import token_budget as tokens
from rag.answer.analyze import Analysis
from rag.core.types import Answer, Filters, Hit


@dataclass
class Turn:
    question: str
    history: list[str] = field(default_factory=list)
    filters: Filters | None = None
    id: str | None = None
    analysis: Analysis | None = None
    hits: list[Hit] = field(default_factory=list)
    packed: list[Hit] = field(default_factory=list)
    draft: Answer | None = None
    answer: Answer | None = None
    notice: str | None = None
    t: dict[str, float] = field(default_factory=dict)


def pack(hits: list[Hit], budget: int) -> list[Hit]:
    """The best hits whose text (with header) fits ``budget`` tokens; always at least one."""
    out, used = [], 0
    for h in hits:
        n = tokens.count(h.chunk.indexed_text) + 12
        if out and used + n > budget:
            break
        out.append(h)
        used += n
    return out


def timed(name: str, fn):
    def step(turn: Turn) -> Turn:
        t0 = time.perf_counter()
        out = fn(turn)
        out.t[name] = out.t.get(name, 0.0) + (time.perf_counter() - t0) * 1000
        return out
    return RunnableLambda(step, name=name)


STEPS = ("analyse", "retrieve", "pack", "answer", "verify")


def build_chain(steps: dict) -> Runnable:
    """``steps`` maps each name of ``STEPS`` to a function Turn -> Turn; composed in that order."""
    chain = timed(STEPS[0], steps[STEPS[0]])
    for name in STEPS[1:]:
        chain = chain | timed(name, steps[name])
    return chain
