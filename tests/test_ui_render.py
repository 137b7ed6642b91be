"""The app's HTML helpers (``ui/render.py``): escaping, markers, the highlighted source paragraph."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from rag.core.proposal import Paragraph, Proposal, Reply
from rag.core.types import Answer, Chunk, Citation, Hit
from ui import render


class Tags(HTMLParser):
    """Every start tag with its attributes, to check markup structurally."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


def mark_text(html: str) -> list[str]:
    return [render.html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", html, re.S)]


EVIL = '<script>window.__pwned=1</script><b>粗体</b><img src=x onerror="alert(1)">'


def _chunk(**kw) -> Chunk:
    base = dict(id="20990001:reply:测试局:1", proposal_id="20990001", year=2099, title="测试<提案>",
                section="reply", n="1", text="答复正文。" + EVIL, department="市测试局", heading="市测试局",
                start=0, end=0)
    base.update(kw)
    return Chunk(**base)


def _answer(text: str, citations: list[Citation], chunks: list[Chunk], **kw) -> Answer:
    return Answer(question="q", answer=text, abstained=kw.pop("abstained", False), mode=kw.pop("mode", "extractive"),
                  citations=citations, contexts=[Hit(c, 1.0) for c in chunks], **kw)


def test_answer_markers_become_buttons_and_text_is_escaped():
    c = _chunk()
    cite = Citation.of("1", c, "答复正文。")
    html = render.answer_html(_answer(f"结论{EVIL}[1]，另见[7]。", [cite], [c]))
    tags = Tags(html)
    buttons = [a for a in tags.named("button") if "cite" in a.get("class", "")]
    assert [b["data-chunk"] for b in buttons] == [c.id]  # [7] names no citation: stays text
    assert "[7]" in html
    assert not tags.named("script") and not tags.named("img") and not tags.named("b")
    assert "&lt;script&gt;" in html and "&lt;b&gt;粗体&lt;/b&gt;" in html


def test_source_cards_copy_text_mode_badge_and_refusal_look():
    c = _chunk()
    ans = _answer("结论。[1]", [Citation.of("1", c, "答复正文。")], [c], notice="大模型调用失败，以下为离线抽取式答案。")
    html = render.answer_html(ans)
    tags = Tags(html)
    cards = [a for a in tags.named("button") if "source-card" in a.get("class", "")]
    assert [a["data-chunk"] for a in cards] == [c.id]
    copy = next(a for a in tags.named("button") if "copy-answer" in a.get("class", ""))
    assert copy["data-copy"].startswith("大模型调用失败") and "来源：" in copy["data-copy"]
    assert "[1] 提案20990001《测试<提案>》 · 市测试局" in copy["data-copy"]
    assert "抽取式" in html and 'class="notice"' in html

    refusal = render.answer_html(Answer(question="q", answer="未在提案库中找到与该问题相关的内容。", abstained=True,
                                        mode="llm", leads=["20220077"]))
    assert 'class="bubble refusal"' in refusal and 'class="bubble answer"' not in refusal
    assert "大模型" in refusal and 'data-pid="20220077"' in refusal and "copy-answer" not in refusal


def test_transcript_shows_pending_error_and_each_turn():
    turns = [render.ChatTurn("第一问", error="提案库还是空的"), render.ChatTurn("第二问<i>", partial="正在写[1]")]
    html = render.transcript_html(turns)
    assert html.count('class="bubble question"') == 2
    assert 'class="bubble error"' in html and 'class="bubble pending"' in html
    assert "第二问&lt;i&gt;" in html and "正在写[1]" not in html  # markers appear only once verified


def test_source_html_marks_the_quote_inside_the_cited_paragraph(sample_assistant):
    """A real reply chunk of the sample corpus: the quote is marked in the right paragraph only."""
    cat = sample_assistant.catalogue
    chunk = next(c for c in cat.proposal_chunks("20220239") if c.section == "reply" and "15万元" in c.text)
    quote = chunk.text[chunk.text.index("每台10万元"):chunk.text.index("15万元") + 4]
    html = render.source_html(cat.proposal("20220239"), chunk, quote)
    assert mark_text(html) == [quote]
    cited = re.findall(r'<p class="para cited"[^>]*>(.*?)</p>', html, re.S)
    assert len(cited) == 1 and render.html.unescape(re.sub(r"</?mark>", "", cited[0])).find(chunk.text) >= 0
    # the marked paragraph sits in its department's reply section, under the focus header
    section = html[:html.index('class="para cited"')].rsplit("<section", 1)[1]
    assert f"部门答复 · {chunk.department}" in section
    head = Tags(html)
    assert any("focus-head" in a.get("class", "") for a in head.named("div"))
    for label in ("提案者", "年份", "部分", "答复部门", "标题路径"):
        assert f"<dt>{label}</dt>" in html
    assert chunk.heading and render.esc(chunk.heading) in html


def test_source_html_quote_not_found_marks_the_whole_chunk(sample_assistant):
    cat = sample_assistant.catalogue
    chunk = next(c for c in cat.proposal_chunks("20230156") if c.section == "suggestion")
    html = render.source_html(cat.proposal("20230156"), chunk, "一句不在原文中的话")
    assert mark_text(html) == [chunk.text]


def test_meta_citation_marks_the_header_line(sample_assistant):
    cat = sample_assistant.catalogue
    meta = cat.chunks(["20220077:meta:0"])[0]
    line = next(ln for ln in meta.text.splitlines() if ln.startswith("提案者"))
    html = render.source_html(cat.proposal("20220077"), meta, line, meta)
    assert mark_text(html) == [line]
    assert "<h4>提案信息</h4>" in html


def test_proposal_html_escapes_every_corpus_string():
    p = Proposal(id="20990001", year=2099, title=EVIL, proposers=["<b>某</b>"],
                 content=[Paragraph(EVIL, 0, len(EVIL))], suggestions=[Paragraph("一、" + EVIL)],
                 replies=[Reply("市<i>测试</i>局", salutation=EVIL, paragraphs=[Paragraph(EVIL)])],
                 handling_units=["<u>单位</u>"], reply_status="answered")
    html = render.proposal_html(p)
    tags = {t for t, _ in Tags(html).tags}
    assert tags.isdisjoint({"script", "b", "img", "i", "u"})
    assert html.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") >= 5


def test_proposal_list_rows_open_their_proposal():
    rows = [{"id": "20220077", "year": 2022, "title": "人才<引进>", "proposers": "林晓东", "departments": [],
             "reply_status": "pending"}]
    html = render.proposal_list_html(rows, {"20220077": 21})
    assert [a["data-pid"] for a in Tags(html).named("tr") if "data-pid" in a] == ["20220077"]
    assert "人才&lt;引进&gt;" in html and "暂无答复" in html and "<td>21</td>" in html
    assert "没有符合条件" in render.proposal_list_html([])


@pytest.mark.parametrize("data,expected", [
    (b"", "文件是空的"),
    (b"\x00\x01binary", "二进制文件"),
    ("内容:\n正文".encode(), "缺少“案由”行"),
    ("案由:(20220077)标题\n内容:\n正文\n部门答复\n市教育局\n尊敬的委员:\n".encode(), "市教育局 的答复没有正文"),
])
def test_ingest_errors_in_chinese(data, expected):
    """The parser's errors carry codes; their Chinese words come from the one table."""
    from ingest.decode import decode_file
    from ingest.parser import parse_text
    from rag.core.errors import IngestError
    from rag.core.errors_zh import words

    with pytest.raises(IngestError) as got:
        parse_text(decode_file("a.txt", data), "a.txt")
    assert expected in words(got.value)


def test_every_error_code_has_words():
    from rag.core.errors import ErrorCode
    from rag.core.errors_zh import WORDS

    assert set(WORDS) == set(ErrorCode)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in w) for w in WORDS.values())


def test_file_errors_table_escapes_names():
    html = render.file_errors_html([render.FileError("<x>.txt", 3, "文件是空的")])
    assert "&lt;x&gt;.txt" in html and "<td>3</td>" in html
    assert render.file_errors_html([]) == ""


def test_outline_html_has_clickable_citations():
    o = {"title": "标题<b>", "department": "市人社局", "mode": "extractive", "notices": ["提示"],
         "precedents": ["20220077"],
         "sections": [{"suggestion": "一、建议", "label": "建议", "note": None,
                       "bullets": [{"text": "市科技局：做法[1]", "kind": "measure",
                                    "citations": [{"marker": "1", "chunk_id": "20220077:reply:科技局:3",
                                                   "proposal_id": "20220077", "section": "reply",
                                                   "department": "市科学技术局", "heading": None, "quote": "做法"}]},
                                   {"text": "下一步[2]", "kind": "plan", "citations": []}]}]}
    html = render.outline_html(o)
    assert [a["data-chunk"] for a in Tags(html).named("button")] == ["20220077:reply:科技局:3"]
    assert "标题&lt;b&gt;" in html and "二、下一步工作计划" in html and "[2]" in html
    # the reply's own structure is on screen, in the order of the reply
    o.update(salutation="尊敬的张三委员：", opening="您提出的……收悉。", closing="感谢您对我们工作的关心和支持！")
    html = render.outline_html(o)
    parts = ["尊敬的张三委员：", "您提出的……收悉。", "一、办理工作举措及成效", "二、下一步工作计划", "感谢您"]
    assert [html.index(p) for p in parts] == sorted(html.index(p) for p in parts)


def test_eval_rendering_of_a_config_result():
    from evals.report import fmt
    from evals.results import METRICS, ConfigResult, QuestionResult

    qs = [QuestionResult("s-1", "number", "多少<钱>？", {"answer": "15万元[1]", "abstained": False, "citations": [
              {"marker": "1", "chunk_id": "x:reply:1", "proposal_id": "x", "section": "reply", "department": "市财政局",
               "heading": None, "quote": "15万元"}]}, {"fact_recall": 1.0, "citation_precision": 0.5},
              answer_facts=["15万元", "10万元"], facts_found=[True, False], latency_ms=12.0),
          QuestionResult("s-2", "unanswerable", "火星？", {"answer": "未找到", "abstained": True}, {"refusal_rate": 1.0})]
    cr = ConfigResult.summarise("hybrid", qs)
    cards = render.eval_cards_html(cr.overall, METRICS, fmt, "hybrid")
    assert "事实召回" in cards and "1.000" in cards and "延迟 p50 (ms)" in cards
    charts = render.eval_charts_html(cr.by_type, fmt)
    assert "数字" in charts and 'style="width:50.0%"' in charts  # citation precision 0.5 of number questions
    table = render.eval_questions_html(cr.questions, fmt)
    assert [a["data-q"] for a in Tags(table).named("tr") if "data-q" in a] == ["s-1", "s-2"]
    detail = render.eval_question_html(qs[0], fmt)
    assert "多少&lt;钱&gt;" in detail and "✓ 15万元" in detail and "✗ 10万元" in detail


def test_each_metric_card_says_what_it_means_and_which_way_is_better():
    html = render.eval_cards_html({"mrr@10": 0.5, "false_refusal_rate": 0.1}, ["mrr@10"], lambda m, v: f"{v:.3f}")
    helps = re.findall(r'<div class="metric-help">(.*?)</div>', html)
    assert len(helps) == 2 and "越高越好" in helps[0] and "越低越好" in helps[1]
    assert all(m in render.METRIC_HELP for m in render.METRIC_ZH)  # every metric shown has its sentence
