"""One way to show a pipeline's ``progress(stage, done, total)`` callbacks as a Gradio progress bar."""
from __future__ import annotations

from collections.abc import Callable


def stage_callback(progress, label: Callable[[str], str]) -> Callable[[str, int, int], None]:
    """The callback ingest and evals take, drawing on the handler's ``gr.Progress``."""
    def step(stage: str, done: int, total: int) -> None:
        progress((done, total), desc=label(stage))
    return step
