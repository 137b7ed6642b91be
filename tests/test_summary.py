"""Summary answers ("…怎么答复的", "采取了哪些措施", "提了哪些建议") and meta quotes that stand
in the source file."""
from __future__ import annotations

import json
import re

import pytest

from ingest.chunker import chunk_proposal
from ingest.parser import parse_file
from rag.answer.analyze import Vocabulary, analyse
from rag.answer.summary import SummaryConfig, parts_of, render, summarise, summary_of, wants_suggestions
from rag.core.textnorm import norm
from tests.conftest import ROOT, SAMPLES, SHARED, shared_or_skip
from tests.test_answers import assert_grounded

VOCAB = Vocabulary(["市卫生健康局", "市教育局", "市科学技术局", "市财政局"], ["张三"])


@pytest.mark.parametrize("question", [
    "市卫生健康局怎么答复普惠托育的建议的？",
    "市教育局对民进市委课后延时服务提案是怎么答复的？",
    "针对东江饮用水源保护的提案，市生态环境局采取了哪些措施？",
    "民建东莞市委关于制造业招工难的提案提了哪些建议？",
    "市卫生健康局对家庭医生签约服务提案的答复主要讲了哪些内容？",
    "市城管局对建设“公园城市”提案的答复，主要讲了哪些工作？",
    "民进东莞市委提的建议是什么？",
])
def test_summary_intent(question):
    assert analyse(question, VOCAB).intent == "summary"


@pytest.mark.parametrize("question,intent", [
    ("2023年市教育局答复过哪些提案？", "catalogue"),  # a list of proposals, not a summary
    ("加装电梯的市级补贴标准现在是每台多少钱？", "fact"),
    ("民进市委建议提高课后服务课时补助并按月发放，市教育局是怎么落实的？", "fact"),  # one suggestion: cross
])
def test_not_summary(question, intent):
    assert analyse(question, VOCAB).intent == intent


def test_suggestion_block_is_asked_only_without_reply_words():
    assert wants_suggestions("民建东莞市委关于制造业招工难的提案提了哪些建议？")
    assert not wants_suggestions("市教育局对提了哪些建议的提案采取了哪些措施？")


def _reply(pid: str, department: str):
    p = parse_file(SAMPLES / f"{pid}.txt")
    return [c for c in chunk_proposal(p) if c.section == "reply" and c.department == department]


def test_parts_follow_the_reply_outline():
    chunks = _reply("20230263", "市卫生健康局")
    groups = parts_of(chunks[1:-1], 6)  # without the courtesy paragraphs
    # (一)…(四) under "一、工作举措及成效" and (一)…(三) under "二、下一步工作计划": 7 parts
    assert len(groups) == 7 and all(len(g) == 1 for g in groups)


def test_summary_walks_the_reply_in_order_within_budget():
    chunks = _reply("20230263", "市卫生健康局")
    cfg = SummaryConfig()
    points = summarise(chunks, "市卫生健康局怎么答复普惠托育的建议的？", lambda t: 1.0, cfg, "市卫生健康局")
    assert 3 <= len(points) <= cfg.max_points
    assert sum(p.chars for p in points) <= cfg.max_chars
    order = [chunks.index(q.chunk) for p in points for q in p.quotes]
    assert order == sorted(order)  # the reply's own order
    assert len({q.chunk.id for p in points for q in p.quotes}) >= 3  # several paragraphs, not one


def test_summary_answer_covers_the_main_measures(sample_assistant):
    ans = sample_assistant.ask("市卫生健康局怎么答复普惠托育的建议的？")
    assert ans.intent == "summary" and not ans.abstained
    assert_grounded(ans)
    assert len(ans.citations) >= 4
    assert {c.department for c in ans.citations} == {"市卫生健康局"}
    assert len({c.chunk_id for c in ans.citations}) >= 4  # one quote per part
    for fact in ("4,000个", "400元"):
        assert fact in ans.answer


def test_summary_shows_what_is_planned_under_its_own_heading(sample_assistant):
    # the reply's points come from "一、工作举措及成效" and "二、下一步工作计划": a plan must not
    # read as one more measure taken
    lines = sample_assistant.ask("市卫生健康局怎么答复普惠托育的建议的？").answer.splitlines()
    done, plan = lines.index("一、工作举措及成效："), lines.index("二、下一步工作计划：")
    assert 1 == done < plan < len(lines) - 1
    assert all(re.match(r"\d+\. ", x) for x in lines[done + 1:plan] + lines[plan + 1:])
    assert "力争到2025年" in "".join(lines[plan + 1:]) and "力争到2025年" not in "".join(lines[:plan])


def test_summary_under_one_heading_shows_none():
    chunks = _reply("20230263", "市卫生健康局")
    done = [c for c in chunks if "工作举措及成效" in (c.heading or "")]
    points = summarise(done, "市卫生健康局怎么答复普惠托育的建议的？", lambda t: 1.0, SummaryConfig(), "市卫生健康局")
    ans = render("普惠托育怎么答复的？", points, [], "extractive")
    assert {p.part for p in points} == {"一、工作举措及成效"}
    assert "工作举措及成效" not in ans.answer.splitlines()[1]  # straight to the numbered points
    assert ans.answer.splitlines()[1].startswith("1. ")


def test_summary_says_when_it_lists_only_some_of_the_parts(sample_assistant):
    ans = sample_assistant.ask("市卫生健康局怎么答复普惠托育的建议的？")  # 7 parts, at most 6 points
    points = [x for x in ans.answer.splitlines() if re.match(r"\d+\. ", x)]
    assert ans.notice == f"该答复共7部分，这里摘录其中{len(points)}部分，其余请查看原文。" and len(points) < 7
    done = [c for c in _reply("20230263", "市卫生健康局") if "工作举措及成效" in (c.heading or "")]
    shown, total = summary_of(done, "普惠托育怎么答复的？", lambda t: 1.0, SummaryConfig(), "市卫生健康局")
    assert total == len(shown) == 4  # all fit: nothing to say


def test_summary_contexts_start_with_the_quoted_paragraphs_in_reply_order(sample_assistant):
    ans = sample_assistant.ask("市卫生健康局怎么答复普惠托育的建议的？")
    cited = list(dict.fromkeys(c.chunk_id for c in ans.citations))
    assert [h.chunk.id for h in ans.contexts[:len(cited)]] == cited
    assert len({h.chunk.id for h in ans.contexts}) == len(ans.contexts)


def test_summary_of_suggestions_quotes_the_suggestion_block(sample_assistant):
    ans = sample_assistant.ask("农工党东莞市委关于普惠托育服务的提案提了哪些建议？")
    assert ans.intent == "summary" and not ans.abstained
    assert_grounded(ans)
    assert {c.section for c in ans.citations} == {"suggestion"}
    assert {c.proposal_id for c in ans.citations} == {"20230263"}
    assert len(ans.citations) >= 3


def test_summary_refuses_a_department_that_did_not_reply(sample_assistant):
    # 市教育局 replied to other proposals, not to this one on 加装电梯
    ans = sample_assistant.ask("市教育局对既有住宅加装电梯提案是怎么答复的？")
    assert ans.abstained and not ans.citations


SAMPLE_QUESTIONS = ROOT / "evals" / "datasets" / "samples" / "questions.jsonl"


def test_every_quote_of_every_citation_is_in_the_source_file(sample_assistant):
    """Over the sample questions, meta citations included: a quote is text of the file."""
    texts = {p.name[:8]: norm(parse_file(p).text) for p in SAMPLES.glob("*.txt")}
    checked = meta = 0
    for line in SAMPLE_QUESTIONS.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        ans = sample_assistant.ask(q["question"], history=q.get("history") or [])
        for c in ans.citations:
            assert norm(c.quote) in texts[c.proposal_id], (q["id"], c.chunk_id, c.quote)
            checked += 1
            meta += c.section == "meta"
    assert checked > 40 and meta >= 5


def test_meta_answers_quote_header_lines(sample_assistant):
    ans = sample_assistant.ask("关于加快发展普惠托育服务的提案，有哪些部门答复了？")
    meta = [c for c in ans.citations if c.section == "meta"]
    assert meta
    text = parse_file(SAMPLES / f"{meta[0].proposal_id}.txt").text
    for c in meta:
        assert c.quote in text and "答复部门:" not in c.quote


@pytest.mark.shared
def test_summary_recall_on_devset2_replies_when_the_target_is_known():
    """The summariser alone, on the dev set 2 summary questions with their evidence section:
    the answer facts it quotes (the end-to-end figure is in docs/answers.md)."""
    base = shared_or_skip(SHARED / "devset2")
    found = total = 0
    for line in (base / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if q["type"] != "summary":
            continue
        e = q["evidence"][0]
        p = parse_file(base / "corpus" / f"{e['proposal']}.txt")
        chunks = [c for c in chunk_proposal(p) if c.section == e["section"] and c.department == e["department"]]
        points = summarise(chunks, q["question"], lambda t: 1.0, SummaryConfig(), e["department"])
        text = norm("".join(p.label + "".join(x.sentence for x in p.quotes) for p in points))
        found += sum(norm(f) in text for f in q["answer_facts"])
        total += len(q["answer_facts"])
    assert total > 100 and found / total >= 0.75


def test_the_department_is_cut_out_before_the_topic_words_are_read():
    """jieba joins a name's last character to the next word ("…健康局对普惠托育…" gives
    "局对"), a word no reply contains, which would make a reply look off-topic."""
    from rag.answer.summary import topic_terms, without_department

    q = "市卫生健康局对普惠托育服务提案是怎么答复的？"
    assert "局对" in topic_terms(q, "市卫生健康局")
    terms = topic_terms(without_department(q, "市卫生健康局"), "市卫生健康局")
    assert "普惠托育" in terms and not any("局" in t for t in terms)
    assert without_department(q, None) == q
