"""One way to show a pipeline's ``progress(stage, done, total)`` callbacks as a Gradio progress bar."""
from __future__ import annotations

from collections.abc import Callable


def stage_callback(progress, label: Callable[[str], str],
                   unit: Callable[[str], str] = lambda stage: "步") -> Callable[[str, int, int], None]:
    """The callback ingest and evals take, drawing on the handler's ``gr.Progress``; ``unit``
    names what is counted (Gradio's own word is the English "steps")."""
    def step(stage: str, done: int, total: int) -> None:
        progress((done, total), desc=label(stage), unit=unit(stage))
    return step
