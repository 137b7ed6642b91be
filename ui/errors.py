"""The project's errors in plain Chinese, for the browser (never a stack trace)."""
from __future__ import annotations

import logging

import gradio as gr

from rag.core.errors import ErrorCode, IngestError, ProposalError
from rag.core.errors_zh import INTERNAL, WORDS, words  # noqa: F401  INTERNAL: the generic sentence

log = logging.getLogger(__name__)

NO_INDEX = WORDS[ErrorCode.NO_INDEX]
EMPTY_QUESTION = WORDS[ErrorCode.EMPTY_QUESTION]


def friendly(e: BaseException) -> str:
    """One sentence a member or staff can act on."""
    if isinstance(e, IngestError):
        return f"文件无法导入：{words(e)}"
    if isinstance(e, ProposalError):
        if e.code is ErrorCode.OTHER:
            log.warning("project error shown as a generic message: %s", e)
        return words(e)
    log.exception("unexpected error in the app", exc_info=e)
    return INTERNAL


def user_error(message: str) -> gr.Error:
    """A toast the user can act on (titled in Chinese; no traceback in the server log)."""
    return gr.Error(message, title="提示", print_exception=False)
