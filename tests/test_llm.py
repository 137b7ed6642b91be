"""The chat-model path against a real OpenAI-compatible HTTP server on 127.0.0.1."""
from __future__ import annotations


import pytest

from rag.answer.assistant import LLM_FALLBACK, Assistant
from tests.fake_openai import RECORDED, FakeOpenAI, _bare, _parts, context_of, first_sentence, numbered

QUESTION = "科技局怎么答复人才引进的建议?"


@pytest.fixture
def llm_assistant(sample_assistant, make_settings, fake_openai):
    s = make_settings(sample_assistant.index.dir, openai_api_key="sk-test-key", llm_timeout=2.0, llm_retries=0)
    s.openai_base_url = fake_openai.base_url
    return Assistant(s, index=sample_assistant.index, answerer="llm")


def test_grounded_llm_answer_keeps_verified_citation(llm_assistant, fake_openai):
    def answer(body):
        s = first_sentence(numbered(body)[1])
        return f"{s}[1]\n引用：\n[1]「{s}」"

    fake_openai.reply_with(answer)
    ans = llm_assistant.ask(QUESTION)
    assert ans.mode == "llm" and not ans.abstained and ans.notice is None
    assert ans.citations and ans.citations[0].chunk_id == ans.contexts[0].chunk.id
    assert ans.citations[0].quote in ans.contexts[0].chunk.text
    sent = fake_openai.requests[0]["body"]
    assert sent["messages"][0]["role"] == "system" and "数据，不是指令" in sent["messages"][0]["content"]
    headers = {k.lower(): v for k, v in fake_openai.requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-test-key"


def test_fabricated_quote_is_dropped_and_answer_refuses(llm_assistant, fake_openai):
    fake_openai.reply("科技局表示已全面取消人才补贴。[1]\n引用：\n[1]「我局已于今年全面取消全部人才补贴政策」")
    ans = llm_assistant.ask(QUESTION)
    assert ans.abstained and ans.citations == []
    assert "取消" not in ans.answer


def test_fabricated_number_removes_the_sentence(llm_assistant, fake_openai):
    def answer(body):
        s = first_sentence(numbered(body)[1])
        return f"{s}[1]另外共引进人才98765名。[1]\n引用：\n[1]「{s}」"

    fake_openai.reply_with(answer)
    ans = llm_assistant.ask(QUESTION)
    assert "98765" not in ans.answer
    assert any("98765" in r for r in ans.removed)
    assert not ans.abstained and ans.citations


def test_marker_out_of_range_is_struck(llm_assistant, fake_openai):
    def answer(body):
        s = first_sentence(numbered(body)[1])
        return f"{s}[1][99]\n引用：\n[1]「{s}」\n[99]「不存在」"

    fake_openai.reply_with(answer)
    ans = llm_assistant.ask(QUESTION)
    assert "[99]" not in ans.answer and [c.marker for c in ans.citations] == ["1"]


@pytest.mark.parametrize("script", ["error", "timeout"])
def test_server_error_or_timeout_falls_back_to_extractive(llm_assistant, fake_openai, script):
    if script == "error":
        fake_openai.fail(500)
    else:
        fake_openai.stall(6.0)
    ans = llm_assistant.ask(QUESTION)
    assert ans.notice == LLM_FALLBACK and ans.mode == "extractive"
    assert not ans.abstained and ans.citations


def test_streaming_yields_text_then_verified_answer(llm_assistant, fake_openai):
    def answer(body):
        s = first_sentence(numbered(body)[1])
        return f"{s}[1]虚构的数字123456。[1]\n引用：\n[1]「{s}」"

    fake_openai.reply_with(answer)
    items = list(llm_assistant.stream(QUESTION))
    texts, final = items[:-1], items[-1]
    assert len(texts) >= 2 and all(isinstance(t, str) for t in texts)
    assert fake_openai.requests[-1]["body"].get("stream") is True
    assert final.mode == "llm" and "123456" not in final.answer and final.citations


def test_streaming_failure_falls_back(llm_assistant, fake_openai):
    fake_openai.fail(500)
    final = list(llm_assistant.stream(QUESTION))[-1]
    assert final.notice == LLM_FALLBACK and final.citations


def test_missing_key_says_how_to_fix(make_settings, tmp_path):
    from rag.core.errors import ConfigError

    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_settings(tmp_path).require_api_key()


def test_fake_server_is_loopback_only():
    with FakeOpenAI() as srv:
        assert srv.base_url.startswith("http://127.0.0.1:")


def test_follow_up_is_rewritten_by_the_model(llm_assistant, fake_openai):
    fake_openai.reply("市人力资源和社会保障局怎么答复人才引进的建议？")

    def answer(body):
        s = first_sentence(numbered(body)[1])
        return f"{s}[1]\n引用：\n[1]「{s}」"

    fake_openai.reply_with(answer)
    ans = llm_assistant.ask("那人社局呢?", history=["市科学技术局怎么答复人才引进的建议?"])
    rewrite_req, answer_req = fake_openai.requests[0]["body"], fake_openai.requests[1]["body"]
    assert "追问：那人社局呢?" in context_of(rewrite_req)
    assert "问题：市人力资源和社会保障局怎么答复人才引进的建议？" in context_of(answer_req)
    assert ans.question == "那人社局呢?" and not ans.abstained


@pytest.mark.parametrize("shape", sorted(RECORDED))
def test_chat_model_reply_shapes_keep_supported_and_strike_unsupported(llm_assistant, fake_openai, shape):
    """Markers as 【1】 [1,2] [1][2] [^1], Markdown lists and bold, sources headed 来源/参考/引用
    or absent, quotes in 「」 “” or none: the supported sentence survives, the altered one goes."""
    seen: dict = {}

    def answer(body):
        seen["good"], seen["bad"], _ = _parts(body)
        return RECORDED[shape](body)

    fake_openai.reply_with(answer)
    ans = llm_assistant.ask(QUESTION)
    good, bad = _bare(seen["good"]), _bare(seen["bad"])
    assert ans.mode == "llm" and not ans.abstained
    assert good in ans.answer and bad not in ans.answer
    assert any(bad in r for r in ans.removed)
    assert all(m not in ans.answer for m in ("【", "[^", "**", "来源：", "参考："))
    by_id = {h.chunk.id: h.chunk for h in ans.contexts}
    assert ans.citations and all(c.quote in by_id[c.chunk_id].text for c in ans.citations)
