"""The app's handlers, errors and server start, without a browser."""
from __future__ import annotations

import threading
import time

import gradio as gr
import pytest
from typer.testing import CliRunner

from rag.core.errors import (ConfigError, ErrorCode, IndexMismatchError, IngestError, NoIndexError, ProposalError,
                             RequestError, StoreError)
from rag.core.types import Answer, Citation, Hit
from ui import errors as ui_errors
from ui.handlers import Handlers, filters_of
from ui.rwlock import ReadWriteLock
from ui.server import is_loopback, parse_auth


def drain(gen) -> list:
    return list(gen)


@pytest.fixture
def empty_assistant(tmp_path, make_settings):
    from rag.answer.assistant import Assistant

    return Assistant(make_settings(tmp_path / "empty"), answerer="extractive")


# ---- server start ---------------------------------------------------------------------------
def test_auth_is_required_off_loopback(make_settings, tmp_path):
    s = make_settings(tmp_path)
    assert parse_auth(s, "127.0.0.1") is None and parse_auth(s, "localhost") is None and parse_auth(s, "::1") is None
    with pytest.raises(ConfigError, match="PROPOSALS_AUTH|without a password"):
        parse_auth(s, "0.0.0.0")
    assert parse_auth(make_settings(tmp_path, auth="ana:s3cret"), "0.0.0.0") == ("ana", "s3cret")
    for bad in ("nopassword", ":x", "user:"):
        with pytest.raises(ConfigError, match="user:password"):
            parse_auth(make_settings(tmp_path, auth=bad), "10.0.0.5")
    assert is_loopback("127.0.0.2") and not is_loopback("192.168.1.2") and not is_loopback("example.org")


def test_serve_refuses_a_public_address_without_auth(monkeypatch, tmp_path):
    from rag.cli.main import app

    monkeypatch.delenv("PROPOSALS_AUTH", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env with an auth line
    import ui.app

    monkeypatch.setattr(ui.app, "launch", lambda *a, **k: pytest.fail("the app must not start"))
    r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 1
    assert "PROPOSALS_AUTH" in r.output



def test_with_auth_the_app_asks_for_a_login(empty_assistant):
    import socket
    import urllib.error
    import urllib.parse
    import urllib.request

    from ui.app import build_app, launch

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = build_app(empty_assistant)
    launch(demo, port=port, auth=("ana", "s3cret"), block=False, quiet=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{base}/config", timeout=10)
        assert denied.value.code == 401
        body = urllib.parse.urlencode({"username": "ana", "password": "wrong"}).encode()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/login", data=body, timeout=10)
        body = urllib.parse.urlencode({"username": "ana", "password": "s3cret"}).encode()
        assert urllib.request.urlopen(f"{base}/login", data=body, timeout=10).status == 200
    finally:
        demo.close()

# ---- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("err,expected", [
    (NoIndexError("the index is empty"), ui_errors.NO_INDEX),
    (IndexMismatchError("Chroma has 3 vectors"), "索引不完整"),
    (StoreError("cannot write /x"), "无法读写"),
    (IngestError("/tmp/a.txt", "empty file", code=ErrorCode.EMPTY_FILE), "文件是空的"),
    (ConfigError("OPENAI_API_KEY is not set"), "配置有误"),
    (RequestError("empty question", code=ErrorCode.EMPTY_QUESTION), ui_errors.EMPTY_QUESTION),
    (ProposalError("no proposal 2022 in the index"), ui_errors.INTERNAL),
    (RuntimeError("Traceback (most recent call last)"), ui_errors.INTERNAL),
])
def test_errors_in_plain_chinese(err, expected):
    msg = ui_errors.friendly(err)
    assert expected in msg
    assert "Traceback" not in msg and "Error" not in msg


# ---- chat -----------------------------------------------------------------------------------
class RecordingAssistant:
    """Stands in for ``Assistant.stream``: records what the chat handler passes it."""

    llm_enabled = False
    mode = "extractive"

    def __init__(self, answer: Answer):
        self.answer = answer
        self.calls: list[dict] = []

    def stream(self, question, *, history=None, filters=None):
        self.calls.append({"question": question, "history": history, "filters": filters})
        yield "部分文字"
        yield self.answer


def test_chat_keeps_the_session_history_and_passes_filters(sample_assistant, tmp_path):
    from rag.stores.conversations import ConversationStore

    c = sample_assistant.catalogue.chunks(["20220077:meta:0"])[0]
    fake = RecordingAssistant(Answer("q", "答案[1]", False, "extractive", [Citation.of("1", c, "x")], [Hit(c, 1.0)]))
    h = Handlers(fake, conversations=ConversationStore(tmp_path / "c.sqlite"))  # type: ignore[arg-type]
    steps = drain(h.chat("科技局怎么答复人才引进的建议?", [], "", "", ""))
    html, turns, cleared, _, cid, _ = steps[-1]
    assert cleared == "" and len(turns) == 1 and turns[0].answer is fake.answer
    assert any("部分文字" in s[0] for s in steps[:-1])  # streamed text shown before the answer
    assert 'data-chunk="20220077:meta:0"' in html
    drain(h.chat("那人社局呢？", turns, "2022", "市人力资源和社会保障局", "", cid))
    assert fake.calls[0]["history"] == [] and fake.calls[0]["filters"] is None
    assert fake.calls[1]["history"] == ["科技局怎么答复人才引进的建议?"]
    f = fake.calls[1]["filters"]
    assert f.year == 2022 and f.department == "市人力资源和社会保障局" and f.proposer is None


def test_chat_leaves_the_input_alone_on_an_empty_question(empty_assistant):
    with pytest.warns(UserWarning, match="请先输入问题"):
        steps = drain(Handlers(empty_assistant).chat("   ", [], "", "", ""))
    assert len(steps) == 1 and all(u == gr.update() for u in steps[0])  # nothing changes, nothing errors


def test_chat_on_an_empty_index_offers_the_samples(empty_assistant):
    html, turns, _, show, _, _ = drain(Handlers(empty_assistant).chat("加装电梯补贴多少？", [], "", "", ""))[-1]
    assert turns[0].error == ui_errors.NO_INDEX and ui_errors.NO_INDEX in html
    assert show.get("visible") is True


def test_chat_answers_from_the_samples_with_filters(sample_assistant):
    h = Handlers(sample_assistant)
    html, turns, *_ = drain(h.chat("加装电梯的补贴标准是多少？", [], "2022", "", ""))[-1]
    ans = turns[0].answer
    assert ans is not None and not ans.abstained and ans.citations
    assert all(sample_assistant.catalogue.proposal(c.proposal_id).year == 2022 for c in ans.citations)
    src = h.open_from_chat(turns, gr.EventData(None, {"chunk": ans.citations[0].chunk_id}))
    assert "<mark>" in src and ans.citations[0].proposal_id in src


def test_filters_of_turns_dropdown_values_into_filters():
    assert filters_of("", "", "") is None and filters_of(None, None, None) is None
    f = filters_of("2023", "", "方浩然")
    assert (f.year, f.department, f.proposer) == (2023, None, "方浩然")


# ---- uploads --------------------------------------------------------------------------------
def test_bad_uploads_are_listed_per_file_in_chinese(empty_assistant, tmp_path):
    up = tmp_path / "up"
    up.mkdir()
    (up / "empty.txt").write_bytes(b"")
    (up / "binary.txt").write_bytes(b"\x00\x01\x02" * 50)
    (up / "notes.pdf").write_bytes(b"%PDF-1.4")  # a PDF cut off after its header
    (up / "table.xlsx").write_bytes(b"PK\x03\x04")
    (up / "nocase.txt").write_text("内容:\n  只有内容没有案由。\n", encoding="utf-8")
    summary, errors, _, cleared = Handlers(empty_assistant).ingest_uploads([str(p) for p in sorted(up.iterdir())],
                                                                           progress=lambda *a, **k: None)
    for name, reason in (("empty.txt", "文件是空的"), ("binary.txt", "二进制文件"), ("notes.pdf", "无法读取这个 PDF 文件"),
                         ("table.xlsx", "不支持的文件类型"), ("nocase.txt", "缺少“案由”行")):
        row = errors.split(f"<td>{name}</td>", 1)[1].split("</tr>", 1)[0]
        assert reason in row, (name, row)
    assert "5 个文件：0 个导入成功，5 个失败" in summary and cleared is None
    assert not list((empty_assistant.settings.data_dir / "uploads").iterdir())  # failed copies removed


def test_outline_upload_rejects_a_bad_file(empty_assistant, tmp_path):
    bad = tmp_path / "scan.txt"
    bad.write_bytes(b"\x00PK\x03\x04" * 20)
    with pytest.warns(UserWarning, match="二进制文件"):
        assert Handlers(empty_assistant).read_upload(str(bad)) == gr.update()
    good = tmp_path / "p.txt"
    good.write_bytes("案由:(20990001)标题\n内容:\n  正文。\n".encode("gb18030"))
    assert Handlers(empty_assistant).read_upload(str(good)).startswith("案由:(20990001)")


# ---- the lock between questions and ingests -------------------------------------------------
def test_an_ingest_waits_for_questions_and_questions_wait_for_it():
    lock = ReadWriteLock()
    order: list[str] = []
    release = threading.Event()

    def writer():
        with lock.writing():
            order.append("write")
            release.wait(5)

    def reader():
        with lock.reading():
            order.append("read")

    w = threading.Thread(target=writer, daemon=True)
    r = threading.Thread(target=reader, daemon=True)
    with lock.reading():
        w.start()
        time.sleep(0.05)
        assert order == [] and lock.busy_writing  # the writer waits for the question in progress
        r.start()
        time.sleep(0.05)
        assert order == []  # a new question waits behind the queued ingest
    time.sleep(0.05)
    assert order == ["write"]
    release.set()
    w.join(5)
    r.join(5)
    assert order == ["write", "read"]


# ---- the chat model path (a local OpenAI-compatible server) ---------------------------------
@pytest.fixture
def llm_handlers(sample_assistant, make_settings, fake_openai):
    from rag.answer.assistant import Assistant

    s = make_settings(sample_assistant.index.dir, openai_api_key="sk-test-key", llm_timeout=2.0, llm_retries=0)
    s.openai_base_url = fake_openai.base_url
    return Handlers(Assistant(s, index=sample_assistant.index, answerer="llm"))


def test_llm_answer_streams_into_the_transcript(llm_handlers, fake_openai):
    from tests.fake_openai import context_of

    def answer(body):
        para = context_of(body).split("<资料>\n", 1)[1].split("\n", 2)[1]
        first = para.split("。")[0] + "。"
        return f"{first}[1]\n引用：\n[1]「{first}」"

    fake_openai.reply_with(answer)
    steps = drain(llm_handlers.chat("科技局怎么答复人才引进的建议?", [], "", "", ""))
    partial = [s[0] for s in steps if 'class="bubble pending"' in s[0] and "正在检索" not in s[0]]
    assert partial, "streamed text is shown before the verified answer"
    html = steps[-1][0]
    assert 'class="badge mode-llm"' in html and "button" in html and 'class="cite"' in html
    assert "大模型（gpt-4o-mini）" in llm_handlers.header()


def test_llm_failure_shows_the_fallback_notice(llm_handlers, fake_openai):
    from rag.answer.assistant import LLM_FALLBACK

    fake_openai.fail(500)
    html, turns, *_ = drain(llm_handlers.chat("科技局怎么答复人才引进的建议?", [], "", "", ""))[-1]
    assert f'<div class="notice">{LLM_FALLBACK}</div>' in html
    assert turns[0].answer.mode == "extractive" and 'class="badge mode-extractive"' in html
