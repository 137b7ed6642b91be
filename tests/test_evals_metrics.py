"""Unit tests of the eval metrics, the citation grader, the gate and the reports on small hand-made inputs."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals.api import grade, read_run_file
from evals.corpus import CorpusView
from evals.dataset import DatasetError, Evidence, Question, load_questions, resolve
from evals.gate import check, load_expected, validate
from evals.report import html, markdown
from evals.grounding import grade_citations
from evals.metrics import (fact_recall, is_refusal, mrr, ndcg, number_correct, paragraph_hit, percentile,
                           proposal_recall, question_metrics, relevance)
from evals.naive import mark_every_sentence
from evals.results import ConfigResult, EvalRun

QUOTE = "市级补贴标准由每台10万元提高至每台15万元"
CHUNK = {"chunk_id": "20220239:reply:财政局:2", "proposal_id": "20220239", "section": "reply",
         "department": "市财政局", "heading": "市财政局", "text": f"经研究，既有住宅加装电梯{QUOTE}。", "score": 0.9}
OTHER = {"chunk_id": "20220239:reply:财政局:3", "proposal_id": "20220239", "section": "reply",
         "department": "市财政局", "heading": "市财政局", "text": "截至2023年底，全市累计完成加装电梯1,234台。", "score": 0.5}


def cite(marker: str, ctx: dict, quote: str) -> dict:
    return {"marker": marker, "chunk_id": ctx["chunk_id"], "proposal_id": ctx["proposal_id"], "section": ctx["section"],
            "department": ctx["department"], "heading": ctx["heading"], "quote": quote}


def answer(text: str, citations: list[dict], contexts: list[dict] | None = None, **kw) -> dict:
    return {"id": "q", "question": "?", "answer": text, "abstained": False, "mode": "extractive",
            "citations": citations, "contexts": [CHUNK, OTHER] if contexts is None else contexts, **kw}


# ---- normalisation, facts, numbers ----------------------------------------------------------
def test_fact_recall_folds_width_and_thousands_separators():
    assert fact_recall("全市共有３４６０ 个泊位", ["3,460个"]) == 1.0
    assert fact_recall("补贴最高1000万元", ["最高1,000万元", "免申即享"]) == 0.5


def test_number_accuracy_needs_the_right_figure_with_its_unit():
    assert number_correct("每台15万元[1]", ["每台15万元"])
    assert not number_correct("每台10万元[1]", ["每台15万元"])
    assert not number_correct("每台15元", ["每台15万元"])
    assert number_correct("同比下降２１.６％", ["21.6%"])
    assert number_correct("须经三分之二以上业主同意", ["三分之二以上"])  # no figure: the whole fact


def test_refusal_from_the_flag_or_the_wording():
    assert is_refusal({"answer": "x", "abstained": True})
    assert not is_refusal({"answer": "未在提案库中找到", "abstained": False})  # the flag wins
    assert is_refusal({"answer": "抱歉，未在提案库中找到与该问题相关的内容。"})
    assert is_refusal({"answer": ""})
    assert not is_refusal({"answer": "每台15万元"})


# ---- retrieval -----------------------------------------------------------------------------
EV = (Evidence("20220239", "reply", "市财政局", "提高至每台15万元"), Evidence("20210301", "reply", None, "每日800吨"))


def test_mrr_and_ndcg_on_a_known_ranking():
    assert mrr([0, 0, 1, 1]) == pytest.approx(1 / 3)
    assert mrr([0, 0, 0]) == 0.0
    assert mrr([0] * 10 + [1]) == 0.0  # beyond @10
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert ndcg([0, 1, 0, 1], 2) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert ndcg([1, 1], 2) == pytest.approx(1.0)
    assert ndcg([0, 0], 2) == 0.0


def test_relevance_credits_each_quote_once_and_hits_are_normalised():
    texts = ["无关段落", "市级补贴提高至每台１５万元。", "又一次：提高至每台15万元", "处理能力每日 800 吨"]
    assert relevance(texts, EV) == [0, 1, 0, 1]
    assert paragraph_hit(texts, EV) == 1.0
    assert paragraph_hit(texts, EV, k=2) == 0.5
    assert proposal_recall(["20220239", "20220239", "20230714"], EV) == 0.5


def test_question_metrics_applicability():
    unans = Question("u", "?", "unanswerable")
    m = question_metrics(unans, {"answer": "x", "abstained": True})
    assert m == {"refusal_rate": 1.0}
    num = Question("n", "?", "number", ("每台15万元",), (EV[0],))
    m = question_metrics(num, answer("市财政局：每台15万元[1]", [cite("1", CHUNK, QUOTE)]))
    assert m["number_accuracy"] == 1.0 and m["false_refusal_rate"] == 0.0 and m["paragraph_hit@10"] == 1.0
    no_ctx = answer("每台15万元", [])
    del no_ctx["contexts"]
    assert "paragraph_hit@10" not in question_metrics(num, no_ctx)  # no contexts: retrieval n/a
    refused = question_metrics(num, {"answer": "每台15万元", "abstained": True})
    assert refused["fact_recall"] == 0.0 and refused["false_refusal_rate"] == 1.0


def test_percentile():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile([], 50) is None


# ---- citations (ALCE-style) ----------------------------------------------------------------
def test_supported_sentence_and_precise_citation():
    g = grade_citations(answer(f"市财政局答复（提案20220239）：{QUOTE}。[1]", [cite("1", CHUNK, QUOTE)]))
    assert (g.recall, g.precision) == (1.0, 1.0)
    assert g.sentences[0].facts and not g.sentences[0].missing


def test_a_sentence_with_a_wrong_number_is_not_supported():
    g = grade_citations(answer("加装电梯补贴为每台20万元。[1]", [cite("1", CHUNK, QUOTE)]))
    s = g.sentences[0]
    assert not s.supported and s.missing == ["20万元"]
    assert g.recall == 0.0 and g.precision == 0.0


def test_a_citation_whose_quote_is_not_in_its_chunk_is_not_precise():
    g = grade_citations(answer("补贴每台15万元。[1]", [cite("1", CHUNK, "补贴标准提高至每台15万元并全面推开")]))
    assert not g.sentences[0].citations[0].quote_ok
    assert g.precision == 0.0 and g.recall == 0.0


def test_precision_counts_needed_citations_and_flags_irrelevant_ones():
    both = answer("每台15万元，累计完成1,234台。[1][2]", [cite("1", CHUNK, QUOTE), cite("2", OTHER, "累计完成加装电梯1,234台")])
    g = grade_citations(both)
    assert g.recall == 1.0 and g.precision == 1.0  # each is needed with the other
    extra = answer("每台15万元。[1][2]", [cite("1", CHUNK, QUOTE), cite("2", OTHER, "累计完成加装电梯1,234台")])
    g = grade_citations(extra)
    assert g.recall == 1.0 and g.precision == 0.5  # [2] neither supports alone nor is needed


def test_uncited_claims_dangling_markers_connectives_and_refusals():
    g = grade_citations(answer("以下提案与该问题相关：\n补贴提高到每台15万元，惠及全市老旧小区居民。", []))
    assert len(g.sentences) == 1 and g.recall == 0.0 and g.precision is None  # the lead-in is not scored
    g = grade_citations(answer("每台15万元。[3]", [cite("1", CHUNK, QUOTE)]))
    assert g.recall == 0.0 and g.sentences[0].citations[0].chunk_id is None
    assert grade_citations({"answer": "未找到", "abstained": True}).recall is None


def test_unknown_chunks_are_checked_against_the_corpus():
    view = CorpusView.load(Path(__file__).resolve().parent.parent / "samples" / "20220239.txt")
    foreign = {"marker": "1", "chunk_id": "other-system-7", "proposal_id": "20220239", "quote": QUOTE}
    g = grade_citations(answer("每台15万元。[1]", [foreign], contexts=[]), view)
    assert g.recall == 1.0
    forged = dict(foreign, quote="补贴提高至每台25万元")
    assert grade_citations(answer("每台25万元。[1]", [forged], contexts=[]), view).recall == 0.0
    assert grade_citations(answer("每台15万元。[1]", [foreign], contexts=[])).recall == 0.0  # nothing to check


def test_llm_judge_opinion_is_kept_apart():
    calls = []

    def judge(sentence: str, passages: list[str]) -> bool:
        calls.append(sentence)
        return False  # a strict judge

    g = grade_citations(answer("每台15万元。[1]", [cite("1", CHUNK, QUOTE)]), judge=judge)
    assert (g.recall, g.precision) == (1.0, 1.0)
    assert (g.judge_recall, g.judge_precision) == (0.0, 0.0) and calls


def test_naive_answer_marks_each_sentence():
    assert mark_every_sentence("第一句。第二句！\n第三句") == "第一句。[1]第二句！[1]\n第三句[1]"


# ---- datasets and run files ----------------------------------------------------------------
def test_dataset_errors_name_file_line_and_field(tmp_path):
    f = tmp_path / "questions.jsonl"
    f.write_text('{"id": "a", "question": "?", "type": "fact", "answer_facts": ["x"]}\n'
                 '{"id": "b", "question": "?", "type": "guess"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"questions.jsonl:2: field 'type' is 'guess'"):
        load_questions(f)
    f.write_text('{"id": "a", "question": "?", "type": "fact", "evidence": [{"proposal": "1", "quote": "q"}]}\n')
    with pytest.raises(DatasetError, match=r":1: evidence\[0\].section"):
        load_questions(f)
    with pytest.raises(DatasetError, match="no such dataset"):
        resolve(tmp_path / "nope.jsonl")


def test_named_datasets_and_their_corpora():
    ds = resolve("samples")
    assert ds.corpus and ds.corpus.name == "samples" and len(ds.questions) >= 40 and ds.outlines
    assert {q.type for q in ds.questions} >= {"fact", "number", "unanswerable"}


def test_run_file_errors(tmp_path):
    f = tmp_path / "run.jsonl"
    f.write_text('{"id": "s-001", "answer": "x"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"run.jsonl:2: not valid JSON"):
        read_run_file(f)


# ---- gate and reports ----------------------------------------------------------------------
def _run(overall: dict) -> EvalRun:
    q = Question("s-1", "加装电梯补贴每台多少钱？", "number", ("每台15万元",), (EV[0],))
    qr = grade(q, answer(f"市财政局：{QUOTE}。[1]", [cite("1", CHUNK, QUOTE)], timings_ms={"total": 12.0}))
    cr = ConfigResult.summarise("hybrid", [qr])
    cr.overall.update(overall)
    return EvalRun("samples", "x.jsonl", None, {"hybrid": cr})


def test_gate_directions_and_missing_metrics():
    run = _run({"fact_recall": 0.70, "false_refusal_rate": 0.10, "latency_p95_ms": 900.0})
    pins = {"samples": {"hybrid": {
        "fact_recall": {"value": 0.75, "tol": 0.06},  # 0.70 >= 0.69: OK
        "false_refusal_rate": {"value": 0.02, "tol": 0.05},  # 0.10 > 0.07: FAIL (lower is better)
        "latency_p95_ms": {"value": 400, "tol": 600},  # 900 <= 1000: OK
        "refusal_rate": {"value": 0.5, "tol": 0.1},  # not computed: FAIL
    }, "bm25": {"fact_recall": {"value": 0.9, "tol": 0.05}}}, "devset": {}}
    lines = {line.metric: line for line in check(run, pins)}
    assert lines["fact_recall"].ok and lines["latency_p95_ms"].ok
    assert not lines["false_refusal_rate"].ok and lines["false_refusal_rate"].direction == "lower"
    assert not lines["refusal_rate"].ok and lines["refusal_rate"].value is None
    assert set(lines) == set(pins["samples"]["hybrid"])  # bm25 was not run: not checked
    assert check(_run({"fact_recall": 0.5}), pins["samples"])[0].ok is False  # a section works too
    assert check(_run({}), {"devset": {"hybrid": {"fact_recall": {"value": 1, "tol": 0}}}}) == []


def test_expected_yaml_is_valid_and_bad_specs_are_named(tmp_path):
    pins = load_expected()
    assert "hybrid" in pins["samples"] and pins["samples"]["hybrid"]["fact_recall"]["tol"] > 0
    with pytest.raises(DatasetError, match=r"samples.hybrid.fact_recall: expected \{value"):
        validate({"samples": {"hybrid": {"fact_recall": 0.7}}})
    bad = tmp_path / "e.yaml"
    bad.write_text("samples: [unclosed\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid YAML"):
        load_expected(bad)


def test_reports_are_self_contained_and_show_the_drill_down():
    run = _run({})
    check(run, {"hybrid": {"fact_recall": {"value": 1.0, "tol": 0.05}}})
    md, page = markdown(run), html(run)
    assert "| answer-fact recall | 1.000 |" in md and "OK   samples/hybrid fact_recall" in md
    assert "<svg" in page and "加装电梯补贴每台多少钱" in page and QUOTE in page
    low = page.lower()
    assert "<script" not in low and "http://" not in low.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in low and "@import" not in low and "<link" not in low


def test_run_to_json_roundtrips():
    data = _run({}).to_json()
    assert json.loads(json.dumps(data))["configs"]["hybrid"]["questions"][0]["id"] == "s-1"


def test_llm_judge_through_an_openai_compatible_server(tmp_path, make_settings):
    from evals.api import run_eval
    from tests.fake_openai import FakeOpenAI

    runfile = tmp_path / "other-system.jsonl"
    supported = answer(f"市财政局：{QUOTE}。[1]", [cite("1", CHUNK, QUOTE)], id="s-003")
    runfile.write_text(json.dumps(supported, ensure_ascii=False) + "\n", encoding="utf-8")
    with FakeOpenAI() as srv:
        srv.reply_with(lambda body: "否" if "1,234台" in body["messages"][-1]["content"] else "是")
        s = make_settings(tmp_path, openai_api_key="sk-test", openai_base_url=srv.base_url)
        run = run_eval("samples", answers=runfile, settings=s)
        prompts = [r["body"]["messages"][-1]["content"] for r in srv.requests]
    res = run.configs["other-system"]
    assert run.judge and prompts and QUOTE in prompts[0] and "<陈述>" in prompts[0]
    assert res.overall["judge_citation_recall"] == 1.0 and res.overall["citation_recall"] == 1.0
    assert any("no answer in" in n or "have no answer" in n for n in res.notes)  # 40 questions unanswered
    assert "fact_recall" in res.overall and len([q for q in res.questions if q.answer]) == 1
