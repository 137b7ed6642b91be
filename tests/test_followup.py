"""Follow-ups offline: ellipses resolved against the conversation, the conversation's topic kept
in the search, and a follow-up without history answered with a request for the earlier question."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evals.dataset import load_questions
from rag.answer import llm
from rag.answer.analyze import Vocabulary, analyse, looks_like_followup, needs_context, resolve_followup
from rag.answer.followup import NEEDS_CONTEXT
from tests.conftest import ROOT, SHARED, shared_or_skip
from tests.test_answers import assert_grounded

VOCAB = Vocabulary(["市教育局", "市财政局", "市公安局", "市卫生健康局", "市市场监督管理局"], ["周婉华"])


@pytest.mark.parametrize("prev,question,expected", [
    # another department of the same proposal
    ("市公安局是怎么答复周婉华委员校园周边交通安全提案的？", "市教育局呢？",
     "市教育局是怎么答复周婉华委员校园周边交通安全提案的？"),
    # an ellipsis clause followed by a question of its own: the pronoun is the department
    ("市教育局是怎么答复课后延时服务提案的？", "市财政局呢？它给镇街的补助是按什么标准算的？",
     "市财政局给镇街的补助是按什么标准算的？"),
    # another item of the same list
    ("南社明清古村落2023年接待了多少游客？", "那塘尾古村呢？", "塘尾古村2023年接待了多少游客？"),
    # the same subject, named by a pronoun and its noun
    ("镇村公交排查出来离公交站超过1公里的自然村，还剩多少个没解决？", "这些村什么时候能全部解决？",
     "镇村公交排查出来离公交站超过1公里的自然村什么时候能全部解决？"),
    ("东城街道主山片区内涝综合整治工程建了什么设施？", "那个工程把片区排水标准提到了几年一遇？",
     "东城街道主山片区内涝综合整治工程把片区排水标准提到了几年一遇？"),
    # a bare 它: the earlier question's subject
    ("立沙岛精细化工园区现在的安全风险等级是哪一类？", "它是什么时候通过认定复核的？",
     "立沙岛精细化工园区是什么时候通过认定复核的？"),
])
def test_ellipses_are_resolved_against_the_last_question(prev, question, expected):
    assert resolve_followup(question, [prev], VOCAB) == expected
    a = analyse(question, VOCAB, [prev])
    assert a.rewritten and a.query == expected


def test_history_is_resolved_turn_by_turn():
    history = ["市公安局是怎么答复周婉华委员校园周边交通安全提案的？", "市教育局呢？"]
    a = analyse("市财政局呢？", VOCAB, history)
    assert a.query == "市财政局是怎么答复周婉华委员校园周边交通安全提案的？" and a.intent == "summary"


def test_the_conversation_topic_joins_the_search():
    a = analyse("现在接入了多少家企业？", VOCAB, ["东莞港智慧物流公共信息平台是什么时候上线的？"])
    assert a.query == "现在接入了多少家企业？"  # the answerer is asked what was asked
    assert "物流" in a.search_text and "平台" in a.search_text


def test_a_question_naming_its_own_proposal_is_searched_as_asked():
    a = analyse("关于加装电梯的提案是谁提的？", VOCAB, ["东莞港智慧物流公共信息平台是什么时候上线的？"])
    assert a.search is None and a.search_text == a.query


@pytest.mark.parametrize("question", ["市财政局呢？", "那塘尾古村呢？", "那塘尾古村怎么样？", "这些村什么时候能全部解决？",
                                      "它是什么时候通过省级化工园区认定复核的？", "这笔钱里签约居民自己要出多少？"])
def test_a_followup_without_history_needs_context(question):
    assert needs_context(question, VOCAB)
    assert analyse(question, VOCAB).intent == "needs_context"


@pytest.mark.parametrize("question", ["加装电梯的市级补贴标准现在是每台多少钱？",
                                      "在这个镇借的书拿到别的镇去还，书调回来要等几天？",
                                      "市教育局对校园足球提案是怎么答复的？", "那旗岭断面的氨氮浓度降了多少？",
                                      "充电桩建设进展如何？", "托育服务推进得怎么样？"])
def test_a_question_that_stands_alone_is_answered(question):
    assert not needs_context(question, VOCAB)


def test_one_followup_detector_for_both_answerers():
    assert llm.looks_like_followup is looks_like_followup
    assert looks_like_followup("那市财政局呢？") and looks_like_followup("这些村什么时候能全部解决？")
    assert not looks_like_followup("加装电梯的市级补贴标准现在是每台多少钱？")
    assert not looks_like_followup("托育服务推进得怎么样？") and looks_like_followup("那东城怎么样？")


def test_followup_without_history_asks_for_the_earlier_question(sample_assistant):
    ans = sample_assistant.ask("市教育局呢？")
    assert ans.abstained and ans.answer == NEEDS_CONTEXT and not ans.citations
    assert ans.intent == "needs_context"


def test_another_department_of_the_same_proposal(sample_assistant):
    first = "市卫生健康局怎么答复普惠托育的建议的？"
    ans = sample_assistant.ask("市教育局呢？", history=[first])
    assert not ans.abstained and ans.intent == "summary"
    assert_grounded(ans)
    assert {(c.proposal_id, c.department) for c in ans.citations} == {("20230263", "市教育局")}
    assert "38所" in ans.answer


def test_a_pronoun_keeps_the_subject(sample_assistant):
    ans = sample_assistant.ask("这个平台归集了多少条政策？", history=["惠企政策服务平台叫什么名字？"])
    assert not ans.abstained
    assert_grounded(ans)
    assert "1,860条" in ans.answer


def test_cli_jsonl_records_carry_history(sample_assistant, tmp_path, embed_cache):
    qfile = tmp_path / "q.jsonl"
    rows = [{"id": "a", "question": "市教育局呢？", "history": ["市卫生健康局怎么答复普惠托育的建议的？"]},
            {"id": "b", "question": "市教育局呢？"}]
    qfile.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    env = {"PROPOSALS_DATA_DIR": str(sample_assistant.index.dir), "PROPOSALS_EMBED_CACHE": str(embed_cache),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--jsonl", str(qfile)], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    got = {r["id"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert not got["a"]["abstained"] and {c["department"] for c in got["a"]["citations"]} == {"市教育局"}
    assert got["b"]["abstained"] and got["b"]["answer"] == NEEDS_CONTEXT


def test_cli_jsonl_rejects_a_bad_history(sample_assistant, tmp_path, embed_cache):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"id": "a", "question": "市教育局呢？", "history": "不是列表"}\n', encoding="utf-8")
    env = {"PROPOSALS_DATA_DIR": str(sample_assistant.index.dir), "PROPOSALS_EMBED_CACHE": str(embed_cache),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--jsonl", str(qfile)], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 1 and "q.jsonl:1" in out.stdout + out.stderr and "history" in out.stdout + out.stderr


def test_dataset_reads_history(tmp_path):
    f = tmp_path / "questions.jsonl"
    f.write_text(json.dumps({"id": "x", "type": "followup", "question": "市教育局呢？", "answer_facts": ["38所"],
                             "history": ["市卫生健康局怎么答复普惠托育的建议的？"]}, ensure_ascii=False) + "\n"
                 + json.dumps({"id": "y", "type": "followup", "question": "呢？", "answer_facts": ["1"],
                               "history": [3]}) + "\n", encoding="utf-8")
    with pytest.raises(Exception) as e:
        load_questions(f)
    assert ":2" in str(e.value) and "history" in str(e.value)
    f.write_text(f.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    assert load_questions(f)[0].history == ("市卫生健康局怎么答复普惠托育的建议的？",)


@pytest.mark.shared
def test_devset2_followups_resolve_offline():
    """Every dev set 2 follow-up is read in its conversation: none is taken for a question
    that needs an earlier one, and the department ellipses become full questions."""
    qs = load_questions(shared_or_skip(SHARED / "devset2") / "questions.jsonl")
    fus = [q for q in qs if q.type == "followup"]
    assert len(fus) == 28 and all(q.history for q in fus)
    for q in fus:
        a = analyse(q.question, VOCAB, list(q.history))
        assert a.intent != "needs_context"
        if q.question.endswith("呢？") and VOCAB.department_in(q.question):
            assert a.rewritten and "答复" in a.query


@pytest.mark.shared
def test_no_standalone_question_is_taken_for_a_followup():
    """Asked without history, no question of the dev sets or the samples that is not a
    follow-up is answered with the request for an earlier question."""
    files = [shared_or_skip(SHARED / "devset2") / "questions.jsonl", SHARED / "devset" / "questions.jsonl",
             ROOT / "evals" / "datasets" / "samples" / "questions.jsonl"]
    qs = [q for f in files if f.exists() for q in load_questions(f) if q.type != "followup"]
    assert len(qs) > 300
    assert [q.question for q in qs if needs_context(q.question, VOCAB)] == []


@pytest.mark.slow
def test_eval_passes_history_to_the_assistant(tmp_path, make_settings):
    """``proposals eval`` on a dataset with follow-ups: the assistant gets each question's
    history, so "市教育局呢？" is answered from 市教育局's reply to the earlier question's proposal."""
    from evals.api import run_eval

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for pid in ("20230263", "20220239"):
        (corpus / f"{pid}.txt").write_bytes((ROOT / "samples" / f"{pid}.txt").read_bytes())
    (tmp_path / "questions.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "f1", "type": "followup", "question": "市教育局呢？", "answer_facts": ["38所"],
         "history": ["市卫生健康局怎么答复普惠托育的建议的？"]},
        {"id": "f2", "type": "followup", "question": "市教育局呢？", "answer_facts": ["38所"]}]), encoding="utf-8")
    run = run_eval(tmp_path / "questions.jsonl", configs=("hybrid",), data_dir=tmp_path,
                   settings=make_settings(tmp_path), judge=False)
    with_history, without = run.configs["hybrid"].questions
    assert with_history.facts_found == [True] and not with_history.answer["abstained"]
    assert without.answer["abstained"] and without.answer["answer"] == NEEDS_CONTEXT
