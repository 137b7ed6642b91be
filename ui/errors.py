"""The project's errors in plain Chinese, for the browser (never a stack trace)."""
from __future__ import annotations

import logging

import gradio as gr

from rag.core.errors import (ConfigError, IndexMismatchError, IngestError, LLMError, NoIndexError, ProposalError,
                        StoreError)
from ui.render import reason_zh

log = logging.getLogger(__name__)

NO_INDEX = "提案库还是空的：请先在「资料库」上传提案文件，或点击「载入示例提案」。"
EMPTY_QUESTION = "请先输入问题。"
INTERNAL = "出现了意外错误，请稍后重试；如果反复出现，请联系管理员查看服务日志。"


def friendly(e: BaseException) -> str:
    """One sentence a member or staff can act on."""
    if isinstance(e, NoIndexError):
        return NO_INDEX
    if isinstance(e, IndexMismatchError):
        return "提案库的索引不完整（可能上次导入被中断）。请在「资料库」重新导入文件，或由管理员运行 proposals rebuild。"
    if isinstance(e, StoreError):
        return "无法读写提案库的数据目录（磁盘已满或没有权限）。请联系管理员。"
    if isinstance(e, IngestError):
        return f"文件无法导入：{reason_zh(e.reason)}"
    if isinstance(e, LLMError):
        return "大模型调用失败，请稍后重试，或改用离线抽取式答案。"
    if isinstance(e, ConfigError):
        return "服务配置有误，请联系管理员。"
    if isinstance(e, ProposalError):
        if e.message == "问题为空":
            return EMPTY_QUESTION
        # messages already written in Chinese pass through; the rest get a generic sentence
        if any("\u4e00" <= ch <= "\u9fff" for ch in e.message):
            return e.message
        log.warning("project error shown as a generic message: %s", e)
        return INTERNAL
    log.exception("unexpected error in the app", exc_info=e)
    return INTERNAL


def user_error(message: str) -> gr.Error:
    """A toast the user can act on (titled in Chinese; no traceback in the server log)."""
    return gr.Error(message, title="提示", print_exception=False)
