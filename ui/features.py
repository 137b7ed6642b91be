"""The tabs that sit on modules built alongside the app (outline, alignment, evals).

Each is imported when first used; while a module is absent the tab says 功能未就绪 instead
of failing.
"""
from __future__ import annotations

import importlib
import importlib.util

from ui.render import notice_html

NOT_READY = "功能未就绪：{what}（模块 {module} 尚未安装）。"


class NotReady(Exception):
    pass


def _module(name: str, what: str):
    if importlib.util.find_spec(name.rsplit(".", 1)[0]) is None or importlib.util.find_spec(name) is None:
        raise NotReady(NOT_READY.format(what=what, module=name))
    return importlib.import_module(name)


def available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def draft_outline(assistant, text: str, department: str):
    return _module("rag.staff.outline", "答复提纲").draft_outline(assistant, text, department)


def outline_html(outline) -> str:
    from ui.render import outline_html as render

    return render(outline.to_json())


def outline_quote(outline: dict | None, chunk_id: str) -> str | None:
    for s in (outline or {}).get("sections", []):
        for b in s.get("bullets", []):
            for c in b.get("citations", []):
                if isinstance(c, dict) and c.get("chunk_id") == chunk_id:
                    return c.get("quote")
    return None


def alignment_html(assistant, proposal) -> str:
    """建议 next to the reply paragraphs answering them; a notice when there is nothing to align."""
    try:
        align = _module("rag.staff.align", "建议与答复对照")
    except NotReady as e:
        return notice_html(str(e), "warn")
    from ui.render import alignment_html as render

    if proposal.reply_status != "answered":
        return notice_html("该提案暂无部门答复，没有可对照的答复段落。", "info")
    if not proposal.suggestions:
        return notice_html("该提案没有“建议”部分，没有可对照的建议。", "info")
    return render(proposal, align.align_proposal(assistant, proposal.id))
