"""Word and PDF proposals go through the same layout parser as text: the tests write the
documents themselves from the sample corpus (python-docx, fpdf2 with a CJK font)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.chunker import chunk_proposal
from ingest.documents import read_document, unwrap
from ingest.parser import parse_file, parse_text
from rag.core.errors import IngestError
from tests.cli import PROPOSALS, cli_env
from tests.conftest import ROOT, SAMPLES
from tests.documents import write_docx, write_pdf, write_scan

SOURCE = SAMPLES / "20230156.txt"  # two replies, numbered headings, long paragraphs


def same_chunks(doc: Path) -> None:
    want = chunk_proposal(parse_file(SOURCE), 320)
    got = chunk_proposal(parse_file(doc), 320)
    assert [(c.id, c.text, c.heading) for c in got] == [(c.id, c.text, c.heading) for c in want]


def test_docx_parses_like_the_text_file(tmp_path):
    same_chunks(write_docx(SOURCE, tmp_path / "p.docx"))


def test_text_pdf_is_unwrapped_and_parses_like_the_text_file(tmp_path):
    from pypdf import PdfReader

    pdf = write_pdf(SOURCE, tmp_path / "p.pdf")
    visual = sum(len((page.extract_text() or "").splitlines()) for page in PdfReader(str(pdf)).pages)
    assert visual > len(SOURCE.read_text(encoding="utf-8").splitlines()) + 10  # the paragraphs did wrap
    same_chunks(pdf)


def test_scanned_pdf_is_refused_naming_the_file(tmp_path):
    scan = write_scan(tmp_path / "扫描件.pdf")
    with pytest.raises(IngestError) as e:
        read_document(str(scan), scan.read_bytes())
    assert e.value.path == str(scan) and "no text layer" in e.value.reason
    assert str(scan) in str(e.value)


def test_document_without_case_or_suggestion_is_refused(tmp_path):
    from docx import Document

    doc = Document()
    doc.add_paragraph("会议通知")
    doc.add_paragraph("定于下周一上午九点在三楼会议室召开工作会议，请准时参加。")
    path = tmp_path / "通知.docx"
    doc.save(str(path))
    with pytest.raises(IngestError) as e:
        parse_file(path)
    assert e.value.path == str(path) and "neither a 案由 nor a 建议" in e.value.reason
    not_docx = tmp_path / "假的.docx"
    not_docx.write_bytes(b"plain text, not a zip")
    with pytest.raises(IngestError, match="not a readable Word"):
        parse_file(not_docx)


def test_unwrap_joins_only_lines_that_fill_the_column():
    full = "一" * 30  # a visual line that reaches the right margin
    lines = ["案由:(20260001)关于某事的建议", "内容:", full, full, "二二二。", full, "三三。", "建议:",
             "一、第一条建议。", full, "结尾。", "提案者 张三"]
    assert unwrap(lines) == ["案由:(20260001)关于某事的建议", "内容:", full * 2 + "二二二。", full + "三三。", "建议:",
                             "一、第一条建议。", full + "结尾。", "提案者 张三"]
    short = ["案由:(20260001)标题", "内容:", "短段落一。", "短段落二。"]
    assert unwrap(short) == short  # no text column: nothing is joined


def test_outline_tab_reads_word_and_pdf_uploads(tmp_path, monkeypatch):
    from ui.handlers import Handlers

    h = Handlers.__new__(Handlers)  # reading an upload needs no assistant
    docx = write_docx(SOURCE, tmp_path / "p.docx")
    text = h.read_upload(str(docx))
    assert parse_text(text, "x").title == parse_file(SOURCE).title
    import gradio as gr

    shown = []
    monkeypatch.setattr(gr, "Warning", lambda message, **kw: shown.append(message))
    kept = h.read_upload(str(write_scan(tmp_path / "扫描件.pdf")))
    assert shown and "扫描件.pdf：PDF 没有文字层" in shown[0]
    assert kept == gr.update()  # the outline box keeps what it had


@pytest.mark.slow
def test_cli_ingests_word_and_pdf_and_outlines_a_docx(tmp_path, embed_cache):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for f in SAMPLES.glob("*.txt"):
        if f != SOURCE and f.name != "20250129.txt":
            shutil.copy(f, folder / f.name)
    write_docx(SOURCE, folder / "20230156.docx")
    write_pdf(SAMPLES / "20250129.txt", folder / "20250129.pdf")
    write_scan(folder / "扫描件.pdf")
    data = tmp_path / "data"
    env = cli_env(embed_cache)
    r = subprocess.run([*PROPOSALS, "ingest", str(folder), "--json", "--data-dir", str(data)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 1, r.stderr[-2000:]  # one file failed, the others went in
    report = json.loads(r.stdout)
    assert report["proposals"] == 13
    assert [(Path(f["path"]).name, f["reason"].split(" (")[0]) for f in report["failures"]] == [
        ("扫描件.pdf", "the PDF has no text layer")]
    shown = subprocess.run([*PROPOSALS, "show", "20250129", "--json", "--data-dir", str(data)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert [x["text"] for x in json.loads(shown.stdout)["suggestions"]] == \
        [x.text for x in parse_file(SAMPLES / "20250129.txt").suggestions]

    new = write_docx(SOURCE, tmp_path / "新提案.docx")
    out = subprocess.run([*PROPOSALS, "outline", str(new), "--department", "市发展和改革局", "--json",
                          "--data-dir", str(data)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    ol = json.loads(out.stdout)
    assert ol["sections"] and ol["precedents"]
    bad = subprocess.run([*PROPOSALS, "outline", str(folder / "扫描件.pdf"), "--department", "市发展和改革局",
                          "--data-dir", str(data)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    said = bad.stderr.replace("\n", "")  # the console wraps long lines
    assert bad.returncode == 1 and "扫描件.pdf：PDF 没有文字层" in said
