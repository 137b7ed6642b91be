"""Contract tests of the ``Answerer`` seam: every implementation the assistant routes to takes a
``Request`` and returns a draft whose citations point into the request's hits (or ``None``), with
its own ``mode``; the assistant's route holds exactly these objects."""
from __future__ import annotations

import pytest

from rag.answer.answerer import Answerer, AnswererFailed, Request, StreamingAnswerer
from rag.answer.assistant import LLM_FALLBACK, Assistant
from rag.answer.catalogue_answers import CatalogueAnswerer, MetaAnswerer
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.followup import NeedsContextAnswerer
from rag.answer.llm import LLMAnswerer
from rag.answer.summary import SummaryAnswerer
from rag.core.types import Answer
from tests.fake_openai import first_sentence, numbered

# one question per answerer that it can answer from the samples
CASES = {
    "catalogue": "2022年提出的提案有哪些？",
    "meta": "提案20220077是谁提的？",
    "extractive": "加装电梯的市级补贴标准现在是每台多少钱？",
    "llm": "科技局怎么答复人才引进的建议？",
    "summary": "市卫生健康局怎么答复普惠托育的建议的？",
}


@pytest.fixture
def llm_assistant(sample_assistant, make_settings, fake_openai):
    s = make_settings(sample_assistant.index.dir, openai_api_key="sk-test-key", llm_timeout=2.0, llm_retries=0)
    s.openai_base_url = fake_openai.base_url

    def grounded(body):
        s = first_sentence(numbered(body)[1])
        return f"{s}[1]\n引用：\n[1]「{s}」"

    fake_openai.reply_with(grounded)
    return Assistant(s, index=sample_assistant.index, answerer="llm")


def request_for(assistant: Assistant, question: str) -> Request:
    """The request the assistant's own steps build for ``question``."""
    from rag.answer.chain import Turn

    turn = Turn(question=question)
    for step in (assistant._analyse, assistant._retrieve, assistant._pack):
        turn = step(turn)
    return Request(turn.analysis, turn.hits, turn.packed)


def answerer_named(assistant: Assistant, name: str) -> Answerer:
    kinds = {"catalogue": CatalogueAnswerer, "meta": MetaAnswerer, "extractive": ExtractiveAnswerer,
             "llm": LLMAnswerer, "summary": SummaryAnswerer}
    req = request_for(assistant, CASES[name])
    return next(a for a in assistant.route(req.intent) if isinstance(a, kinds[name])), req


@pytest.mark.parametrize("name", list(CASES))
def test_each_answerer_keeps_the_contract(name, sample_assistant, request):
    assistant = request.getfixturevalue("llm_assistant") if name == "llm" else sample_assistant
    answerer, req = answerer_named(assistant, name)
    assert isinstance(answerer, Answerer)
    draft = answerer.answer(req)
    assert isinstance(draft, Answer) and not draft.abstained and draft.citations
    assert draft.mode == answerer.mode
    offered = {h.chunk.id for h in req.hits} | {h.chunk.id for h in req.packed} | {h.chunk.id for h in draft.contexts}
    assert {c.chunk_id for c in draft.citations} <= offered
    for c in draft.citations:  # every marker of a citation stands in the text
        assert f"[{c.marker}]" in draft.answer


def test_an_answerer_with_nothing_to_say_returns_none(sample_assistant):
    req = request_for(sample_assistant, "哪些提案涉及养老服务？")
    assert req.intent == "list"
    assert LLMAnswerer(sample_assistant.settings).answer(req) is None  # lists are left to the extractive one


def test_routes_hold_the_answerer_objects(sample_assistant, llm_assistant):
    assert [type(a) for a in sample_assistant.route("catalogue")] == [CatalogueAnswerer]
    assert [type(a) for a in sample_assistant.route("meta")] == [MetaAnswerer, ExtractiveAnswerer]
    assert [type(a) for a in sample_assistant.route("fact")] == [ExtractiveAnswerer]
    assert [type(a) for a in llm_assistant.route("fact")] == [LLMAnswerer, ExtractiveAnswerer]
    assert [type(a) for a in sample_assistant.route("summary")] == [SummaryAnswerer]
    assert [type(a) for a in llm_assistant.route("summary")] == [LLMAnswerer, SummaryAnswerer]
    assert [type(a) for a in sample_assistant.route("needs_context")] == [NeedsContextAnswerer]
    assert isinstance(llm_assistant.route("fact")[0], StreamingAnswerer)
    assert not isinstance(sample_assistant.route("fact")[0], StreamingAnswerer)


def test_a_failing_answerer_hands_over_with_a_notice(llm_assistant, fake_openai):
    fake_openai.script.clear()
    fake_openai.fail(500)  # the last scripted reply repeats: every call fails
    answerer, req = answerer_named(llm_assistant, "llm")
    with pytest.raises(AnswererFailed) as e:
        answerer.answer(req)
    assert e.value.notice == LLM_FALLBACK
    ans = llm_assistant.ask(CASES["llm"])
    assert ans.notice == LLM_FALLBACK and ans.mode == "extractive" and not ans.abstained


def test_ask_and_stream_give_the_same_answer(sample_assistant):
    q = CASES["extractive"]
    asked = sample_assistant.ask(q)
    streamed = list(sample_assistant.stream(q))
    assert isinstance(streamed[-1], Answer) and all(isinstance(x, str) for x in streamed[:-1])
    final = streamed[-1]
    assert (final.answer, [c.chunk_id for c in final.citations]) == (asked.answer, [c.chunk_id for c in asked.citations])
    assert set(final.timings_ms) == set(asked.timings_ms) == {"retrieve", "answer", "total"}
