"""Parser and chunker over every real, dev and sample file, plus golden structures."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunker import chunk_proposal
from ingest.decode import decode_file
from ingest.parser import parse_file, parse_text
from rag.core.errors import IngestError
from tests.conftest import DEVSET, SAMPLES, SEEDS, shared_or_skip

SAMPLE_FILES = sorted(SAMPLES.glob("*.txt"))

# id → (content paragraphs, suggestions, [(department, paragraphs incl. heading lines)], reply status)
SAMPLE_COUNTS = {
    "20210301": (4, 4, [("市城市管理和综合执法局", 11)], "answered"),
    "20210455": (4, 4, [("市教育局", 10), ("市人力资源和社会保障局", 6)], "answered"),
    "20220077": (4, 4, [("市科学技术局", 12), ("市人力资源和社会保障局", 3)], "answered"),
    "20220239": (5, 5, [("市住房和城乡建设局", 9), ("市市场监督管理局", 5), ("市财政局", 3)], "answered"),
    "20230156": (4, 4, [("市发展和改革局", 11), ("市交通运输局", 5)], "answered"),
    "20250063": (5, 4, [], "pending"),
    "20250129": (5, 4, [], "none"),
}
DEVSET_DEPARTMENTS = {
    "20210097": ["市文化广电旅游体育局"], "20210238": ["市卫生健康局", "市民政局"],
    "20210519": ["市农业农村局"], "20220158": ["市自然资源局", "市工业和信息化局"],
    "20220415": ["市教育局"], "20230127": ["市公安局"], "20230488": ["市教育局", "市卫生健康局"],
    "20230611": ["市政务服务数据管理局"], "20230842": ["市水务局"], "20240052": ["市水务局"],
    "20240217": [], "20240306": ["市人力资源社会保障局", "市教育局", "市住房和城乡建设局"],
}


def all_files() -> list[Path]:
    files = list(SAMPLE_FILES)
    if DEVSET.exists():
        files += sorted((DEVSET / "corpus").glob("*.txt"))
    if SEEDS.exists():
        files += sorted(SEEDS.glob("*.txt"))
    return files


@pytest.mark.parametrize("path", all_files(), ids=lambda p: p.name)
def test_every_paragraph_and_chunk_reproduces_its_text_from_the_file(path):
    p = parse_file(path)
    paras = p.content + p.suggestions + [x for r in p.replies for x in r.paragraphs]
    for para in paras:
        assert p.text[para.start:para.end] == para.text
    chunks = chunk_proposal(p, budget=120)  # a small budget forces splits
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids))
    for c in chunks:
        if c.section == "meta":
            assert c.start == -1 and p.id in c.text
            continue
        assert p.text[c.start:c.end] == c.text
    # split parts tile each paragraph exactly: nothing lost, nothing repeated
    for para in paras:
        if para.is_heading:
            continue
        parts = [c for c in chunks if para.start <= c.start < para.end]
        assert "".join(c.text for c in parts) == para.text


@pytest.mark.parametrize("pid,expected", SAMPLE_COUNTS.items())
def test_sample_structure_counts(pid, expected):
    p = parse_file(SAMPLES / f"{pid}.txt")
    content, suggestions, replies, status = expected
    assert (len(p.content), len(p.suggestions), p.reply_status) == (content, suggestions, status)
    assert [(r.department, len(r.paragraphs)) for r in p.replies] == replies


def test_devset_departments_per_file():
    corpus = shared_or_skip(DEVSET / "corpus")
    for pid, deps in DEVSET_DEPARTMENTS.items():
        p = parse_file(corpus / f"{pid}.txt")
        assert p.departments == deps, pid
        assert len(p.suggestions) in (4, 5) and len(p.content) == 4
    assert parse_file(corpus / "20240217.txt").reply_status == "pending"


def test_golden_seed_structure():
    seed = shared_or_skip(SEEDS) / "000_18b6f81471f295e7.txt"
    p = parse_file(seed)
    assert (p.id, p.year, p.proposers, p.votes) == ("20220364", 2022, ["刘川"], (0, 1))
    assert p.title.startswith("以科技创新为动力、先进制造业为载体")
    assert p.handling_units == ["科技局", "市工信局", "松山湖管委会"]
    assert [r.department for r in p.replies] == ["科技局"]
    r = p.replies[0]
    assert r.salutation == "尊敬的市政协刘川委员:"
    third = next(x for x in r.paragraphs if x.text.startswith("(三)培育发展创新型企业"))
    assert third.heading == ("一、办理工作举措及成效", "(三)培育发展创新型企业")
    chunk = next(c for c in chunk_proposal(p) if c.text.startswith("(三)培育发展创新型企业"))
    assert chunk.heading == "科技局 › 一、办理工作举措及成效 › (三)培育发展创新型企业"
    assert chunk.id.startswith("20220364:reply:科技局:")
    assert len(p.suggestions) == 5 and p.suggestions[0].text.startswith("一、加快松山湖科学城建设")


def test_golden_three_replies_with_mixed_headings():
    p = parse_file(shared_or_skip(DEVSET / "corpus") / "20240306.txt")
    edu = p.replies[1]
    assert edu.department == "市教育局"
    assert [x.heading for x in edu.paragraphs[1:3]] == [("1.扩大公办学位供给",), ("2.优化积分入学政策",)]
    hr = p.replies[0]
    assert hr.paragraphs[1].is_heading and hr.paragraphs[1].text == "一、办理情况"
    assert hr.paragraphs[2].heading == ("一、办理情况", "(一)大力开展技能提升培训")


def test_golden_sample_nested_numeric_headings_and_gb18030():
    p = parse_file(SAMPLES / "20230156.txt")
    first = p.replies[0].paragraphs
    assert first[1].text == "1.工作开展情况" and first[1].is_heading
    assert first[2].heading == ("1.工作开展情况", "(1)加快完善规划和政策")
    assert first[8].heading[0] == "2.下一步工作计划" and not first[8].is_heading
    gb = SAMPLES / "20210455.txt"
    raw = gb.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    g = parse_file(gb)
    assert g.id == "20210455" and g.proposers == ["黎志文", "蔡雅婷"]


def test_bom_nbsp_and_spaced_labels():
    bom = SAMPLES / "20220512.txt"
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    assert parse_file(bom).id == "20220512"
    nbsp = SAMPLES / "20230714.txt"
    assert "\u00a0" in nbsp.read_text(encoding="utf-8")
    p = parse_file(nbsp)
    assert p.proposers == ["郑国华", "曾丽萍", "谢永强"] and p.votes is not None
    spaced = parse_text("案    由：（20990001）标题\n内\u00a0\u00a0容：\n  内容段落。\n建    议:\n  一、建议一。\n"
                        "提案者\u00a0某某、某人\n部门答复\n暂无答复\n办理单位 市甲局，市乙局\n网友评价\n支持 3   反对 1\n")
    assert (spaced.id, spaced.proposers, spaced.reply_status) == ("20990001", ["某某", "某人"], "pending")
    assert spaced.handling_units == ["市甲局", "市乙局"] and spaced.votes == (3, 1)


def test_organisation_proposer_and_no_reply_block():
    p = parse_file(SAMPLES / "20250129.txt")
    assert p.reply_status == "none" and p.replies == []
    assert parse_file(SAMPLES / "20220239.txt").proposers == ["民建东莞市委"]


@pytest.mark.parametrize("data,message,line", [
    (b"", "empty file", None),
    (b"   \n\n", "empty file", None),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" + bytes(range(256)), "binary", None),
    ("内容:\n  没有案由。\n".encode(), "missing 案由", 1),
    ("案由:没有编号的标题\n内容:\n  x\n".encode(), "no proposal id", 1),
    (b"\xff\xfe\xfa\xfb" * 50, "undecodable", 1),
    ("案由:(20990004)标题\n内容:\n  第一段。\n".encode() + b"  \x80\x81\xfe\xff\n", "undecodable", 4),
], ids=["empty", "blank", "binary", "no-case-line", "no-id", "junk", "bad-byte-line-4"])
def test_bad_files_raise_errors_naming_file_and_line(tmp_path, data, message, line):
    f = tmp_path / "bad.txt"
    f.write_bytes(data)
    with pytest.raises(IngestError, match=message) as err:
        parse_file(f)
    assert err.value.path == str(f) and str(f) in str(err.value)
    assert err.value.line == line


def test_huge_paragraph_is_rejected_with_its_line(tmp_path):
    f = tmp_path / "huge.txt"
    f.write_text("案由:(20990002)标题\n内容:\n  " + "很长的段落。" * 200_000 + "\n建议:\n  一、建议。\n", encoding="utf-8")
    with pytest.raises(IngestError, match="paragraph of") as err:
        parse_file(f)
    assert err.value.line == 3


def test_decode_prefers_utf8_then_gb18030():
    text = "案由:(20990003)标题"
    assert decode_file("x", text.encode("utf-8-sig")) == text
    assert decode_file("x", text.encode("gb18030")) == text
