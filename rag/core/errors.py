"""The project's error tree. Every error carries a ``code`` (an ``ErrorCode``) and the values its
message needs; the edges (CLI, UI, API) turn the code into their own words (``rag.core.errors_zh``)
and never read the English message, which is for logs and tracebacks."""
from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    # a file that cannot be read as a proposal
    NO_SUCH_FILE = "no_such_file"
    CANNOT_READ = "cannot_read"
    UNSUPPORTED_TYPE = "unsupported_type"
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    BINARY_FILE = "binary_file"
    UNDECODABLE = "undecodable"
    NO_CASE_LINE = "no_case_line"
    NO_PROPOSAL_ID = "no_proposal_id"
    TEXT_BEFORE_CONTENT = "text_before_content"
    SALUTATION_WITHOUT_DEPARTMENT = "salutation_without_department"
    REPLY_WITHOUT_DEPARTMENT = "reply_without_department"
    EMPTY_REPLY = "empty_reply"
    NO_BODY = "no_body"
    PARAGRAPH_TOO_LONG = "paragraph_too_long"
    DUPLICATE_ID = "duplicate_id"
    ALREADY_INDEXED = "already_indexed"
    BROKEN_LINK = "broken_link"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    BAD_FIELD = "bad_field"
    BAD_ID = "bad_id"
    NOTHING_TO_OUTLINE = "nothing_to_outline"
    NOT_A_PROPOSAL = "not_a_proposal"  # a Word/PDF document with neither 案由 nor 建议
    NO_TEXT_LAYER = "no_text_layer"  # a scanned PDF
    ENCRYPTED_PDF = "encrypted_pdf"
    UNREADABLE_DOCUMENT = "unreadable_document"  # not a valid .docx / PDF
    # a request that cannot be served
    EMPTY_QUESTION = "empty_question"
    QUESTION_TOO_LONG = "question_too_long"
    QUESTION_NOT_TEXT = "question_not_text"
    QUESTION_NOT_UTF8 = "question_not_utf8"
    BAD_REQUEST = "bad_request"
    NO_DEPARTMENT = "no_department"
    UNKNOWN_PROPOSAL = "unknown_proposal"
    NOTHING_TO_ALIGN = "nothing_to_align"
    BAD_DATASET = "bad_dataset"  # an eval dataset, run file or pin file that cannot be used
    # the system
    CONFIG = "config"
    STORE = "store"
    WRITER_BUSY = "writer_busy"
    NO_SPACE = "no_space"
    INDEX_MISMATCH = "index_mismatch"
    NO_INDEX = "no_index"
    LLM = "llm"
    OTHER = "other"


class ProposalError(Exception):
    """Base of every error the project raises on purpose."""

    code: ErrorCode = ErrorCode.OTHER

    def __init__(self, message: str, *, hint: str | None = None, code: ErrorCode | None = None, **params):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        self.params = params  # what the edge's words for ``code`` need (ids, names, counts)

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class IngestError(ProposalError):
    """A file that cannot be read as a proposal; names the file and, where it applies, the line."""

    code = ErrorCode.CANNOT_READ

    def __init__(self, path: str, message: str, line: int | None = None, *, hint: str | None = None,
                 code: ErrorCode | None = None, **params):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}", hint=hint, code=code, **params)
        self.reason = message


class RequestError(ProposalError):
    """A question or command that cannot be served as given (empty, unknown id, bad option)."""

    code = ErrorCode.BAD_REQUEST


class ConfigError(ProposalError):
    """A setting is missing or wrong; the message says how to fix it."""

    code = ErrorCode.CONFIG


class StoreError(ProposalError):
    """A store cannot be opened or written (permissions, disk full, server down)."""

    code = ErrorCode.STORE


class WriterBusyError(StoreError):
    """Another process (the app, an ingest) is the data directory's writer."""

    code = ErrorCode.WRITER_BUSY


class QuestionError(RequestError):
    """A question that cannot be asked as given (empty, too long, not valid text)."""


class IndexMismatchError(StoreError):
    """Chroma, BM25 and the catalogue disagree (an interrupted ingest, or a damaged file)."""

    code = ErrorCode.INDEX_MISMATCH


class NoIndexError(StoreError):
    """Nothing has been ingested yet."""

    code = ErrorCode.NO_INDEX


class LLMError(ProposalError):
    """The chat model failed (timeout, HTTP error, malformed output)."""

    code = ErrorCode.LLM
