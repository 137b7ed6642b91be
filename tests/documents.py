"""Word and PDF versions of the sample proposals, written for the tests (python-docx; fpdf2
with Debian's CJK font)."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # Debian fonts-wqy-zenhei


def write_docx(src: Path, dest: Path, new_id: str | None = None) -> Path:
    """One Word paragraph per line of the sample, as an office's document would have it."""
    from docx import Document

    text = src.read_text(encoding="utf-8")
    if new_id:
        text = re.sub(r"\(\d{8}\)", f"({new_id})", text, count=1)
    doc = Document()
    for line in text.splitlines():
        doc.add_paragraph(line)
    doc.save(str(dest))
    return dest


def write_pdf(src: Path, dest: Path) -> Path:
    """A text PDF: each line of the sample set as a paragraph that wraps at the right margin."""
    if not CJK_FONT.exists():
        pytest.skip(f"{CJK_FONT} is absent (apt-get install fonts-wqy-zenhei); fpdf2 needs a CJK font")
    from fpdf import FPDF

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # the font's bitmap tables are not subset
    pdf = FPDF()
    pdf.add_font("zh", fname=str(CJK_FONT), collection_font_number=0)
    pdf.set_font("zh", size=11)
    pdf.add_page()
    for line in src.read_text(encoding="utf-8").splitlines():
        pdf.multi_cell(0, 6, line.strip() or " ", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(dest))
    return dest


def write_scan(dest: Path) -> Path:
    """A PDF with pages but no text layer, as a scanner makes it."""
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.set_fill_color(190, 190, 190)
        pdf.rect(20, 20, 170, 250, style="F")
    pdf.output(str(dest))
    return dest
