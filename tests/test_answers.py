"""End-to-end answers over the sample corpus: cited, verbatim, complete lists, refusals."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.core.errors import ProposalError
from rag.core.textnorm import contains, norm
from rag.answer.verify import REFUSAL
from tests.conftest import ROOT


def assert_grounded(ans):
    """Every citation's quote is verbatim in its chunk, and every marker has a citation."""
    chunks = {h.chunk.id: h.chunk for h in ans.contexts}
    assert ans.citations
    for c in ans.citations:
        assert c.chunk_id in chunks
        assert c.quote and c.quote in chunks[c.chunk_id].text
        assert f"[{c.marker}]" in ans.answer


@pytest.mark.parametrize("question,facts", [
    ("加装电梯的市级补贴标准现在是每台多少钱？", ["每台15万元"]),
    ("2023年1—9月全市出租屋火灾起数同比下降了多少？", ["21.6%"]),
    ("惠企政策服务平台叫什么名字？归集了多少条政策？", ["莞企通", "1,860条"]),
    ("2022年上半年全市跨境电商进出口额是多少？同比增长多少？", ["486亿元", "32.5%"]),
])
def test_fact_answers_quote_the_source_verbatim(sample_assistant, question, facts):
    ans = sample_assistant.ask(question)
    assert not ans.abstained and ans.mode == "extractive"
    assert_grounded(ans)
    for f in facts:
        assert f in ans.answer  # numbers come out exactly as written, separators included


def test_department_question_cites_that_departments_reply(sample_assistant):
    ans = sample_assistant.ask("科技局怎么答复人才引进的建议?")
    assert_grounded(ans)
    assert ans.citations[0].proposal_id == "20220077"
    assert ans.citations[0].department == "市科学技术局" and ans.citations[0].section == "reply"
    assert ans.citations[0].heading.startswith("市科学技术局 › ")


@pytest.mark.parametrize("question,expected", [
    ("市住房和城乡建设局答复过哪些提案？", {"20220239", "20230714"}),
    ("市场监管局答复过哪些提案？", {"20220239", "20240342", "20240587"}),
    ("2023年提出的提案有哪些？", {"20230156", "20230263", "20230714"}),
    ("民主党派市委会提交的提案有哪些？", {"20210301", "20220239", "20230263", "20240587"}),
    ("哪些提案是几位委员联名提出的？", {"20210455", "20230156", "20230714", "20250129"}),
])
def test_catalogue_lists_are_complete(sample_assistant, question, expected):
    ans = sample_assistant.ask(question)
    assert ans.intent == "catalogue"
    assert {c.proposal_id for c in ans.citations} == expected
    assert_grounded(ans)
    assert all(c.section == "meta" for c in ans.citations)
    assert ans.notice is None  # under the list limit: no "共有N件" notice


def test_a_long_catalogue_list_shows_the_newest_and_says_how_many_match(sample_assistant, monkeypatch):
    from rag.answer import catalogue_answers

    monkeypatch.setattr(catalogue_answers, "LIST_LIMIT", 2)
    ans = sample_assistant.ask("民主党派市委会提交的提案有哪些？")
    assert [c.proposal_id for c in ans.citations] == ["20230263", "20240587"]
    assert ans.notice and "共有4件提案符合条件" in ans.notice and "最新的2件" in ans.notice
    assert_grounded(ans)


def test_list_numbers_past_99_are_not_read_as_figures():
    """"100. 20140196《…》" is item 100 and a proposal id, not the figure 100.20140196: every
    line of a long catalogue list is supported by its proposal's header."""
    from rag.answer.claims import figures
    from rag.answer.judge import JUDGE, Evidence

    line = "100. 20140196《关于深化生活垃圾分类的建议》（提案者：致公党东莞市委，答复部门：市城市管理和综合执法局）"
    assert [f.text for f in figures(line)] == ["20140196"]
    head = Evidence("案由:(20140196)关于深化生活垃圾分类的建议\n提案者:致公党东莞市委\n答复部门:市城市管理和综合执法局",
                    "关于深化生活垃圾分类的建议\n20140196\n致公党东莞市委", 2014)
    assert JUDGE.judge(line, [head]).supported


def test_topical_list_gives_one_line_per_proposal(sample_assistant):
    ans = sample_assistant.ask("哪些提案的答复提到了“免申即享”？")
    assert ans.intent == "list"
    ids = [c.proposal_id for c in ans.citations]
    assert len(ids) == len(set(ids)) and {"20220077", "20240587"} <= set(ids)
    assert_grounded(ans)


def test_pending_reply_is_reported_as_not_yet_answered(sample_assistant):
    ans = sample_assistant.ask("钟美琪委员关于养老助餐的提案有部门答复了吗？")
    assert not ans.abstained and "暂无答复" in ans.answer
    assert ans.citations[0].chunk_id == "20250063:meta:0" and ans.citations[0].quote == "暂无答复"


@pytest.mark.parametrize("question", ["20250129有部门答复了吗？", "新就业形态劳动者的提案答复了吗？"])
def test_a_proposal_without_a_reply_block_is_answered_not_refused(sample_assistant, question):
    # nothing in the file says "no reply": the answer quotes what it does say, the archive's finding is the notice
    ans = sample_assistant.ask(question)
    assert not ans.abstained and ans.intent == "meta"
    assert ans.notice and "无答复" in ans.notice
    assert [c.quote for c in ans.citations] == ["办理单位 市人力资源和社会保障局,市总工会,市交通运输局"]
    assert "市总工会" in ans.answer
    assert_grounded(ans)


def test_votes_are_read_from_the_header_whatever_the_words_for_them(sample_assistant):
    # "网友支持票" are header words, not the topic: the topic (加装电梯) decides the proposal in view
    ans = sample_assistant.ask("加装电梯的提案网友支持票有多少？")
    assert ans.intent == "meta" and "支持52、反对6" in ans.answer
    assert [c.quote for c in ans.citations] == ["支持 52   反对 6"]


@pytest.mark.parametrize("question", ["郑国华提了哪些提案？", "郑国华委员提的提案是什么？"])
def test_a_proposers_proposals_come_from_the_catalogue(sample_assistant, question):
    ans = sample_assistant.ask(question)
    assert ans.intent == "catalogue" and not ans.abstained
    assert [c.proposal_id for c in ans.citations] == ["20230714"]
    assert all(c.chunk_id == "20230714:meta:0" for c in ans.citations)


def test_who_proposed(sample_assistant):
    ans = sample_assistant.ask("关于加强新就业形态劳动者权益保障的提案是谁提的？")
    assert "刘佩珊" in ans.answer and "关志勇" in ans.answer
    assert_grounded(ans)


@pytest.mark.parametrize("question", [
    "长者饭堂对高龄老人的就餐补贴标准是多少？",
    # off-topic: the learned refusal model's score for it is just above its CV-chosen threshold
    # (docs/answer_selection.md); kept as a known miss until a refit refuses it
    pytest.param("东莞市2025年的GDP增速目标是多少？", marks=pytest.mark.xfail(strict=True, reason="known miss")),
    "2023年东莞全市生活垃圾焚烧发电量是多少？",   # the corpus gives other figures of 2020 and 2023
    "东莞轨道交通1号线一期计划什么时候开通运营？",  # a list number "(一)…1号线" is not a date
    "关于流浪犬只收容管理，有部门答复过吗？",  # a meta question about a topic no proposal is on
    "关于宠物医院监管的提案是谁提的？",
    "加装电梯是由哪家公司施工的？",  # the replies name kinds of body ("物业服务企业"), not the builder
])
def test_refuses_when_the_corpus_has_no_answer(sample_assistant, question):
    ans = sample_assistant.ask(question)
    assert ans.abstained and ans.answer == REFUSAL and ans.citations == []
    assert ans.leads  # nearest proposals offered as leads


def test_follow_up_carries_the_topic_to_another_department(sample_assistant):
    first = "市科学技术局怎么答复人才引进的建议?"
    ans = sample_assistant.ask("那人社局呢?", history=[first])
    assert not ans.abstained
    assert {c.department for c in ans.citations} == {"市人力资源和社会保障局"}


def test_empty_question_is_an_error(sample_assistant):
    with pytest.raises(ProposalError):
        sample_assistant.ask("   ")


def test_answer_json_contract(sample_assistant):
    d = sample_assistant.ask("加装电梯的市级补贴标准现在是每台多少钱？", id="q1").to_json()
    assert set(d) >= {"id", "question", "answer", "abstained", "mode", "citations", "contexts", "timings_ms"}
    assert d["id"] == "q1" and d["mode"] == "extractive" and isinstance(d["abstained"], bool)
    assert set(d["citations"][0]) == {"marker", "chunk_id", "proposal_id", "section", "department", "heading", "quote"}
    assert len(d["contexts"]) >= 10
    assert set(d["contexts"][0]) >= {"chunk_id", "proposal_id", "section", "department", "text", "score"}
    assert set(d["timings_ms"]) == {"retrieve", "answer", "total"}
    json.dumps(d, ensure_ascii=False)


def test_cli_ask_jsonl(sample_assistant, tmp_path, embed_cache):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"id": "a", "question": "加装电梯的市级补贴标准现在是每台多少钱？", "type": "number"}\n\n'
                     '{"id": "b", "question": "长者饭堂对高龄老人的就餐补贴标准是多少？"}\n', encoding="utf-8")
    env = {"PROPOSALS_DATA_DIR": str(sample_assistant.index.dir), "PROPOSALS_EMBED_CACHE": str(embed_cache),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--jsonl", str(qfile)], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert not rows[0]["abstained"] and rows[1]["abstained"]
    assert any(contains(c["text"], "15万元") for c in rows[0]["contexts"][:3])
    assert norm("每台15万元") in norm(rows[0]["answer"])


def test_sentence_vectors_are_cached_at_ingest(sample_assistant, monkeypatch):
    """The answerer ranks sentences by meaning with vectors the ingest computed: asking a
    question embeds the question only, never a passage."""
    from rag.core.textnorm import answer_sentences

    emb = sample_assistant.index.embedder
    chunk = next(c for c in sample_assistant.catalogue.chunks(None) if c.section == "reply")
    texts = answer_sentences(chunk.text)
    assert texts and len(emb.cache.get_many(emb.model_id, texts)) == len(set(texts))

    def no_passages(texts):
        raise AssertionError(f"a question embedded {len(texts)} passages")

    monkeypatch.setattr(emb.inner, "embed_passages", no_passages)
    ans = sample_assistant.ask("垃圾分类“绿色账户”积分奖励是在哪几个街道试点的？")
    assert not ans.abstained and "莞城" in ans.answer


def test_list_contexts_cover_many_proposals_first(sample_assistant):
    """A topical list puts each proposal's best paragraph before second paragraphs of any."""
    ans = sample_assistant.ask("哪些提案提到了充电设施建设？")
    pids = [h.chunk.proposal_id for h in ans.contexts]
    distinct = list(dict.fromkeys(pids))
    assert len(distinct) >= 2
    assert pids[: len(distinct)] == distinct
