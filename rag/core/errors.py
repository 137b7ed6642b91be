"""The project's error tree. Translated at the edges: CLI → typer error, UI → gr.Error."""
from __future__ import annotations


class ProposalError(Exception):
    """Base of every error the project raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class IngestError(ProposalError):
    """A file that cannot be read as a proposal; names the file and, where it applies, the line."""

    def __init__(self, path: str, message: str, line: int | None = None, *, hint: str | None = None):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}", hint=hint)
        self.reason = message


class ConfigError(ProposalError):
    """A setting is missing or wrong; the message says how to fix it."""


class StoreError(ProposalError):
    """A store cannot be opened or written (permissions, disk full, server down)."""


class IndexMismatchError(StoreError):
    """Chroma, BM25 and the catalogue disagree (an interrupted ingest, or a damaged file)."""


class NoIndexError(StoreError):
    """Nothing has been ingested yet."""


class LLMError(ProposalError):
    """The chat model failed (timeout, HTTP error, malformed output)."""
