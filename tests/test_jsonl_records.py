"""JSONL records are validated one by one: a bad value is an error naming the file, the line
and the field, never a traceback that sinks the whole ingest; a value that would change the
rendered layout (a line break in a title, a paragraph opening a section) is refused."""
from __future__ import annotations

import json
import shutil

import pytest

from ingest.jsonl_import import read_jsonl
from rag.core.errors import ErrorCode
from rag.core.errors_zh import words as zh
from ingest.pipeline import Ingester
from rag.stores.index import Index
from tests.conftest import SAMPLES

GOOD = {"id": "20269001", "title": "关于测试记录校验的建议", "proposers": ["张三"], "content": ["第一段内容。"],
        "suggestions": ["一、第一条建议。"],
        "replies": [{"department": "市测试局", "paragraphs": ["已完成试点12个。"]}],
        "votes": {"support": 5, "oppose": 1}}


def record(**change) -> dict:
    rec = json.loads(json.dumps(GOOD))
    rec.update(change)
    return rec


# (record, field named in the error, words of the reason) — the cases first
BAD = [
    (record(id="20269022", votes=5), "votes", "object"),
    (record(id="20269023", votes={"support": "很多"}), "votes.support", "integer"),
    (record(id="20269024", replies=[{"department": 7, "paragraphs": ["x"]}]), "replies[0].department", "string"),
    (record(id="20269025", title="t\n内容:\n注入的段落"), "title", "line break"),
    (record(id="20269026", proposers=["张三\n李四"]), "proposers[0]", "line break"),
    (record(id="20269027", replies=[{"department": "市测试局\n尊敬的委员:", "paragraphs": ["x"]}]),
     "replies[0].department", "line break"),
    (record(id="20269028", handling_units=["市测试局\r\n办理单位 市假局"]), "handling_units[0]", "line break"),
    (record(id="20269029", content=["正文。", "建议:注入的建议"]), "content", "section label"),
    (record(id="20269030", replies=[{"department": "市测试局", "salutation": "您好", "paragraphs": ["x"]}]),
     "replies[0].salutation", "尊敬的"),
    (record(id="20269031", votes={"support": -3}), "votes.support", "greater than or equal"),
    (record(id=["20269032"]), "id", "valid"),
    ({"id": "20269033"}, "title", "missing"),
]


@pytest.fixture
def export(tmp_path):
    """GOOD on line 1, then one bad record per line, then a good one last."""
    last = record(id="20269099", title="最后一条正常的记录")
    lines = [json.dumps(GOOD, ensure_ascii=False)] + [json.dumps(r, ensure_ascii=False) for r, _, _ in BAD]
    lines.append(json.dumps(last, ensure_ascii=False))
    f = tmp_path / "export.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


def test_each_bad_record_is_named_by_line_and_field_and_the_others_load(export):
    good, bad = read_jsonl(export)
    assert [p.id for p in good] == ["20269001", "20269099"]
    assert [e.line for e in bad] == list(range(2, 2 + len(BAD)))
    for e, (_, field, words) in zip(bad, BAD):
        assert e.path == str(export)
        assert f"'{field}'" in e.reason, e.reason
        assert words in e.reason, e.reason
        if e.code in (ErrorCode.BAD_FIELD, ErrorCode.MISSING_FIELD):  # the edges name the field in Chinese
            assert e.params["field"] == field and field in zh(e)


def test_a_title_with_line_breaks_never_reaches_the_layout(export):
    good, _ = read_jsonl(export)
    assert all("注入" not in p.text for p in good)


def test_a_paragraph_with_line_breaks_becomes_paragraphs(tmp_path):
    f = tmp_path / "one.jsonl"
    f.write_text(json.dumps(record(content="第一段。\n第二段。\r\n\n第三段。"), ensure_ascii=False), encoding="utf-8")
    good, bad = read_jsonl(f)
    assert bad == [] and [p.text for p in good[0].content] == ["第一段。", "第二段。", "第三段。"]


def test_a_bad_record_beside_a_folder_does_not_stop_the_ingest(export, tmp_path, make_settings):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("20210301.txt", "20250063.txt"):
        shutil.copy(SAMPLES / name, corpus / name)
    shutil.copy(export, corpus / "export.jsonl")
    index = Index(make_settings(tmp_path / "data"))
    report = Ingester(index, sentence_vectors=False).run([corpus])
    assert report.proposals == 4 and len(report.failures) == len(BAD)
    assert {r["id"] for r in index.catalogue.rows()} == {"20210301", "20250063", "20269001", "20269099"}
    assert index.problems() == []
