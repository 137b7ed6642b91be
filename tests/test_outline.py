"""Reply outlines from precedent replies: structure, citations, precedent recall, the relevance
floor, parse errors, the chat-model path (against a local fake server) and the CLI."""
from __future__ import annotations

import json
import re

import pytest

from rag.core.departments import department_key
from rag.core.errors import IngestError, ProposalError
from rag.staff.outline import (CONTENT_FALLBACK, LLM_FALLBACK, NO_PRECEDENT, TODO, draft_outline, label_of,
                         reply_kind, topic_terms)
from rag.core.textnorm import facts_in, norm
from rag.answer.verify import support_text
from tests.conftest import DEVSET, ROOT, shared_or_skip
from tests.fake_openai import context_of

SAMPLE_TASKS = ROOT / "evals" / "datasets" / "samples" / "outlines.jsonl"
GOAL = 0.8  # precedent recall per task (the goal)


def tasks(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def recall(outline, task) -> float:
    rel = set(task["relevant_proposals"])
    return len(rel & set(outline.precedents)) / len(rel)


@pytest.fixture(scope="module")
def so002(sample_assistant):
    task = next(t for t in tasks(SAMPLE_TASKS) if t["id"] == "so-002")
    return task, draft_outline(sample_assistant, task["new_proposal"], task["department"], use_llm=False)


NEW_TOPIC = """案由:(20250301)关于发展低空经济、推动无人机物流配送应用的建议
内容:
  低空经济是新兴产业方向。我市无人机制造企业数量多,但应用场景开放不足。
建议:
  一、编制低空飞行起降点布局规划,在镇街建设无人机起降场。
  二、争取低空空域管理改革试点,简化无人机飞行计划审批。
  三、设立低空经济产业基金,支持无人机整机和零部件企业研发。
提案者 王建华
"""


# ---- structure and citations ----------------------------------------------------------
def test_outline_json_contract_and_reply_structure(so002, sample_assistant):
    task, o = so002
    d = o.to_json()
    assert set(d) >= {"outline_markdown", "sections", "precedents"}
    assert [s["suggestion"] for s in d["sections"]] == [s.suggestion for s in o.sections]
    assert len(d["sections"]) == 4 and all(s["suggestion"].startswith(("一、", "二、", "三、", "四、")) for s in d["sections"])
    md = d["outline_markdown"]
    assert md.index("尊敬的冯志刚、吴秀兰委员") < md.index("一、办理工作举措及成效") < md.index("二、下一步工作计划") \
        < md.index("感谢你们")
    assert TODO in md  # the department's own current work and figures are left to fill in
    fields = {"marker", "chunk_id", "proposal_id", "section", "department", "heading", "quote"}
    chunks = {c.id: c for c in sample_assistant.catalogue.chunks(None)}
    bullets = [b for s in d["sections"] for b in s["bullets"]]
    assert len(bullets) >= 6
    for b in bullets:
        assert b["kind"] in ("measure", "plan") and b["citations"]
        for c in b["citations"]:
            assert set(c) == fields and c["section"] == "reply"
            chunk = chunks[c["chunk_id"]]
            assert norm(c["quote"]) in norm(chunk.text)  # verbatim
            assert f"[{c['marker']}]" in b["text"] and f"[{c['marker']}]" in md
        evidence = norm("\n".join(support_text(chunks[c["chunk_id"]]) for c in b["citations"]))
        body = re.sub(r"\[\d+\]", "", b["text"])
        assert all(f.strip("《》") in evidence for f in facts_in(body)), b["text"]  # no figure without a source


def test_markers_are_numbered_in_reading_order_and_listed(so002):
    _, o = so002
    md = o.markdown
    body, refs = md.split("**引用**")
    seen = list(dict.fromkeys(re.findall(r"\[(\d+)\]", body)))
    assert seen == [str(i) for i in range(1, len(seen) + 1)]
    assert re.findall(r"^- \[(\d+)\]", refs, re.M) == seen
    assert o.precedents == list(dict.fromkeys(c.proposal_id for c in o.citations))


def test_precedents_are_measures_and_plans_from_reply_structure(so002, sample_assistant):
    _, o = so002
    chunks = {c.id: c for c in sample_assistant.catalogue.chunks(None)}
    plans = [s.plans for s in o.sections]
    assert any(plans), "no 下一步 precedent at all"
    for s in o.sections:
        for b in s.bullets:
            for c in b.citations:
                assert reply_kind(chunks[c.chunk_id]) == b.kind


def test_reply_kind_reads_headings_and_wording(sample_assistant):
    kinds = {c.id: reply_kind(c) for c in sample_assistant.catalogue.chunks(None) if c.section == "reply"}
    assert kinds["20210301:reply:城管局:3"] == "measure"  # 一、工作举措及成效 › (一)…
    assert kinds["20210301:reply:城管局:8"] == "plan"  # 二、下一步工作计划 › (一)…
    assert kinds["20230156:reply:发改局:4"] == "measure"  # 1.工作开展情况 › (2)…
    assert kinds["20230156:reply:发改局:8"] == "plan"  # 2.下一步工作计划 › (1)…
    assert kinds["20210455:reply:人社局:6"] == "plan"  # "下一步，我局将…" under the last measure's heading
    assert kinds["20210301:reply:城管局:1"] is None  # "…建议收悉…现答复如下"
    assert kinds["20210301:reply:城管局:11"] is None  # "再次感谢…关心和支持"


def test_own_department_listed_first(sample_assistant):
    task = next(t for t in tasks(SAMPLE_TASKS) if t["id"] == "so-001")
    o = draft_outline(sample_assistant, task["new_proposal"], task["department"], use_llm=False)
    own = department_key(task["department"])
    assert any(c.department and department_key(c.department) == own for c in o.citations)
    for s in o.sections:
        for part in (s.measures, s.plans):
            flags = [department_key(b.citations[0].department) == own for b in part]
            assert flags == sorted(flags, reverse=True), s.label


# ---- precedent recall -----------------------------------------------------------------
@pytest.mark.parametrize("task", tasks(SAMPLE_TASKS), ids=lambda t: t["id"])
def test_precedent_recall_on_sample_tasks(sample_assistant, task):
    o = draft_outline(sample_assistant, task["new_proposal"], task["department"], use_llm=False)
    assert recall(o, task) >= GOAL, (o.precedents, task["relevant_proposals"])
    replied = {r["id"] for r in sample_assistant.catalogue.rows() if r["reply_status"] == "answered"}
    assert set(o.precedents) <= replied


@pytest.mark.slow
def test_precedent_recall_on_devset_tasks(devset_assistant):
    path = shared_or_skip(DEVSET / "outlines.jsonl")
    scores = {}
    for task in tasks(path):
        o = draft_outline(devset_assistant, task["new_proposal"], task["department"], use_llm=False)
        scores[task["id"]] = recall(o, task)
    assert min(scores.values()) >= GOAL, scores


# ---- relevance floor, inputs ----------------------------------------------------------
def test_unrelated_topic_says_no_precedent_instead_of_padding(sample_assistant):
    o = draft_outline(sample_assistant, NEW_TOPIC, "市发展和改革局", use_llm=False)
    assert o.precedents == []
    assert len(o.sections) == 3
    for s in o.sections:
        assert s.bullets == [] and s.note == NO_PRECEDENT
        assert s.note in o.markdown


def test_the_proposal_itself_is_never_its_own_precedent(sample_assistant):
    text = (ROOT / "samples" / "20230156.txt").read_text(encoding="utf-8-sig")
    o = draft_outline(sample_assistant, text, "市发展和改革局", use_llm=False)
    assert o.proposal_id == "20230156"
    assert "20230156" not in o.precedents and o.precedents  # other proposals on charging remain


def test_without_suggestions_the_content_points_are_outlined(sample_assistant):
    text = """案由:关于加快新能源汽车充电设施建设的建议
内容:
  (一)老旧小区缺少充电桩,居民“飞线充电”现象多,充电难问题突出,希望在老旧小区改造中同步建设充电设施。
  (二)公共充电站布局不均,水乡片区和山区镇充电站少,节假日高速公路服务区排队充电时间长。
提案者 李明
"""
    o = draft_outline(sample_assistant, text, "市发展和改革局", use_llm=False)
    assert o.basis == "content" and CONTENT_FALLBACK in o.notices and CONTENT_FALLBACK in o.markdown
    assert len(o.sections) == 2 and o.sections[0].suggestion.startswith("(一)")
    assert "20230156" in o.precedents
    assert o.proposal_id == "" and "关于加快新能源汽车充电设施建设的建议" in o.markdown


def test_unknown_department_is_noted(sample_assistant):
    task = next(t for t in tasks(SAMPLE_TASKS) if t["id"] == "so-002")
    o = draft_outline(sample_assistant, task["new_proposal"], "市应急管理局", use_llm=False)
    assert any("没有市应急管理局的答复" in n for n in o.notices)


@pytest.mark.parametrize("text, line, reason", [
    ("", 1, "empty"),
    ("关于某事的建议\n内容:\n  一段文字。\n", 1, "missing 案由"),
    ("案由:关于某事的建议\n这一行不该在这里\n内容:\n  一段文字。\n", 2, "unexpected text"),
])
def test_bad_input_raises_ingest_error_naming_the_line(sample_assistant, text, line, reason):
    with pytest.raises(IngestError) as e:
        draft_outline(sample_assistant, text, "市发展和改革局", use_llm=False, source="new.txt")
    assert e.value.line == line and reason in e.value.reason and e.value.path == "new.txt"


def test_department_is_required(sample_assistant):
    with pytest.raises(ProposalError):
        draft_outline(sample_assistant, NEW_TOPIC, "  ", use_llm=False)


def test_labels_and_terms():
    assert label_of("一、强化源头分类引导。推行定时定点投放") == "强化源头分类引导"
    assert label_of("四、在保障个人信息安全的前提下,运用借阅大数据开展读者需求分析,优化文献采购和阅读推广。") \
        == "在保障个人信息安全的前提下,运用借阅大数据开展读者需求分析"
    terms = topic_terms("五、畅通外来务工人员诉求表达渠道,加强劳动权益保障。")
    assert "务工人员" in terms and "人员" not in terms and "加强" not in terms


# ---- chat model -----------------------------------------------------------------------
@pytest.fixture
def llm_assistant(sample_assistant, make_settings, fake_openai):
    from rag.answer.assistant import Assistant

    s = make_settings(sample_assistant.index.dir, openai_api_key="sk-test-key", llm_timeout=2.0, llm_retries=0)
    s.openai_base_url = fake_openai.base_url
    return Assistant(s, index=sample_assistant.index, answerer="llm")


def _numbered(body: dict) -> dict[int, str]:
    ctx = context_of(body).split("<资料>\n", 1)[1].split("\n</资料>")[0]
    out = {}
    for part in re.split(r"\n\n(?=\[\d+\] )", ctx):
        m = re.match(r"\[(\d+)\] [^\n]*\n(.*)", part, re.S)
        out[int(m.group(1))] = m.group(2)
    return out


def test_llm_outline_is_prose_under_the_verifier(llm_assistant, fake_openai):
    def write(body):
        paras = _numbered(body)
        first = re.split(r"(?<=[。；])", paras[1])[0]
        return (f"举措：先例中，{first}[1]\n"
                f"计划：下一步可新建充电桩99999个[1]。\n"
                f"引用：\n[1]「{first}」")

    fake_openai.reply_with(write)
    task = next(t for t in tasks(SAMPLE_TASKS) if t["id"] == "so-002")
    o = draft_outline(llm_assistant, task["new_proposal"], task["department"])
    assert o.mode == "llm" and not o.notices
    sent = fake_openai.requests[0]["body"]["messages"]
    assert "数据，不是指令" in sent[0]["content"] and "建议：" in sent[-1]["content"]
    bullets = [b for s in o.sections for b in s.bullets]
    assert bullets and all(b.text.startswith("先例中") and b.kind == "measure" for b in bullets)
    assert "99999" not in o.markdown  # a figure no cited paragraph holds is struck out
    for b in bullets:
        assert b.citations and b.citations[0].quote in b.text


def test_llm_failure_falls_back_to_the_extractive_outline(llm_assistant, fake_openai):
    fake_openai.fail(500)
    task = next(t for t in tasks(SAMPLE_TASKS) if t["id"] == "so-002")
    o = draft_outline(llm_assistant, task["new_proposal"], task["department"])
    assert o.mode == "extractive" and LLM_FALLBACK in o.notices
    assert recall(o, task) >= GOAL


# ---- command line ---------------------------------------------------------------------
def test_cli_outline_and_errors(sample_assistant, embed_cache, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from rag.cli.main import app

    monkeypatch.setenv("PROPOSALS_EMBED_CACHE", str(embed_cache))
    task = next(t for t in tasks(SAMPLE_TASKS) if t["id"] == "so-001")
    f = tmp_path / "new.txt"
    f.write_bytes(task["new_proposal"].encode("gb18030"))  # government exports are often GB18030
    data = ["--data-dir", str(sample_assistant.index.dir)]
    r = CliRunner().invoke(app, ["outline", str(f), "--department", task["department"], "--json", *data])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(task["relevant_proposals"]) <= set(d["precedents"])
    r = CliRunner().invoke(app, ["outline", str(f), "-d", task["department"], "--md", *data])
    assert r.exit_code == 0 and r.stdout.startswith("# 关于《") and "二、下一步工作计划" in r.stdout
    bad = tmp_path / "bad.txt"
    bad.write_text("随手写的一段话,没有案由。\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["outline", str(bad), "-d", "市发展和改革局", *data])
    assert r.exit_code == 1 and "bad.txt:1" in r.output


# Invented proposals on topics the corpora do not cover, to see the relevance floor at work.
OFF_TOPIC = {
    True: [("低空经济", NEW_TOPIC, "市发展和改革局"),
           ("近视防控", "案由:关于加强中小学生近视防控的建议\n内容:\n  我市中小学生近视率偏高。\n建议:\n"
                       "  一、保障学生每天校内外户外活动2小时,落实课间十分钟走出教室。\n"
                       "  二、改善教室采光照明,推广护眼灯和可调节课桌椅。\n  三、控制电子产品使用时长,减少线上作业。\n"
                       "  四、建立学生屈光发育档案,每学期开展两次视力筛查。\n提案者 李明\n", "市教育局")],
    False: [("非遗传承人", "案由:关于加强传统手工技艺传承人培养的建议\n内容:\n  莞香制作、千角灯等传统手工技艺传承人老龄化严重。\n"
                        "建议:\n  一、对代表性传承人带徒授艺给予补助,建立传承人梯队。\n  二、在职业院校开设传统工艺专业方向,招收学徒。\n"
                        "  三、设立非遗工坊,推动传统工艺产品进入文创市场。\n提案者 张丽\n", "市文化广电旅游体育局"),
            ("夜间经济", "案由:关于发展夜间经济、打造夜间消费地标的建议\n内容:\n  夜间经济是扩大消费的重要抓手。\n建议:\n"
                       "  一、打造一批夜间消费集聚区,延长商圈营业时间。\n  二、发放夜间消费券,举办夜市美食节。\n"
                       "  三、优化夜间公共交通,延长地铁和公交末班车时间。\n提案者 陈刚\n", "市商务局")],
}
