"""The staff tools as the app shows them: reply outlines and 建议 ↔ 答复 alignment."""
from __future__ import annotations

from rag.staff.align import align_proposal
from rag.staff.outline import draft_outline  # noqa: F401  the outline tab calls it through here
from ui.render import alignment_html as render_alignment
from ui.render import notice_html
from ui.render import outline_html as render_outline


def outline_html(outline) -> str:
    return render_outline(outline.to_json())


def outline_quote(outline: dict | None, chunk_id: str) -> str | None:
    for s in (outline or {}).get("sections", []):
        for b in s.get("bullets", []):
            for c in b.get("citations", []):
                if isinstance(c, dict) and c.get("chunk_id") == chunk_id:
                    return c.get("quote")
    return None


def alignment_html(assistant, proposal) -> str:
    """建议 next to the reply paragraphs answering them; a notice when there is nothing to align."""
    if proposal.reply_status != "answered":
        return notice_html("该提案暂无部门答复，没有可对照的答复段落。", "info")
    if not proposal.suggestions:
        return notice_html("该提案没有“建议”部分，没有可对照的建议。", "info")
    return render_alignment(proposal, align_proposal(assistant, proposal.id))
