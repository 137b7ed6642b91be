"""What a question must be before any work is spent on it: text, not empty, valid Unicode,
and at most ``PROPOSALS_MAX_QUESTION_CHARS`` characters (a very long question costs seconds of
CPU in analysis and embedding, and no real question needs it)."""
from __future__ import annotations

from rag.core.errors import ErrorCode as E
from rag.core.errors import QuestionError


def checked_question(question: object, max_chars: int) -> str:
    """``question`` stripped, or a QuestionError whose code says what is wrong with it."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, got {type(question).__name__}", code=E.QUESTION_NOT_TEXT)
    q = question.strip()
    if not q:
        raise QuestionError("empty question", code=E.EMPTY_QUESTION)
    try:
        q.encode("utf-8")
    except UnicodeEncodeError as e:  # argv decoded with surrogateescape: bytes that were not UTF-8
        raise QuestionError(f"character {e.start + 1} of the question is a byte that is not UTF-8",
                            code=E.QUESTION_NOT_UTF8, position=e.start + 1,
                            hint="check the terminal's encoding (UTF-8)") from None
    if len(q) > max_chars:
        raise QuestionError(f"the question has {len(q)} characters, the limit is {max_chars}",
                            code=E.QUESTION_TOO_LONG, chars=len(q), limit=max_chars,
                            hint="shorten it; the limit is PROPOSALS_MAX_QUESTION_CHARS")
    return q
