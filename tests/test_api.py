"""`proposals api` as other tools see it: a real server process on 127.0.0.1 over the ingested
sample corpus, called with the real `openai` client, LangChain's ChatOpenAI and plain HTTP."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.cli import PROPOSALS, cli_env, start_api
from tests.conftest import ROOT, SAMPLES
from tests.documents import write_docx

TOKEN = "test-token-of-the-api"
QUESTION = "加装电梯的市级补贴标准现在是每台多少钱？"  # answered in samples/20220239 (市财政局's reply)
EARLIER = "新能源汽车充电桩的提案，发改局怎么答复的？"  # samples/20230156; 交通局 also replied to 20240118
FOLLOW_UP = "那交通运输局呢？"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, embed_cache) -> Path:
    """The sample corpus ingested by the real CLI (embeddings come from the session's shared cache)."""
    d = tmp_path_factory.mktemp("api-index")
    r = subprocess.run([*PROPOSALS, "ingest", str(SAMPLES), "--data-dir", str(d)], cwd=ROOT,
                       env=cli_env(embed_cache), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "parse 13/13" in r.stderr.splitlines()  # stderr is not a terminal: plain progress lines
    return d


@pytest.fixture(scope="module")
def api(data_dir, embed_cache):
    proc, base = start_api(data_dir, embed_cache, PROPOSALS_API_TOKEN=TOKEN)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def client(api):
    import openai

    return openai.OpenAI(base_url=f"{api}/v1", api_key=TOKEN, max_retries=0, timeout=120)


def _catalogue_quote_ok(api: str, citation: dict) -> None:
    """A citation points at a real paragraph of the index and quotes it verbatim."""
    pid = citation["proposal_id"]
    r = httpx.get(f"{api}/v1/proposals/{pid}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert citation["chunk_id"].startswith(f"{pid}:{citation['section']}")
    p = r.json()
    paragraphs = [x["text"] for x in p["content"] + p["suggestions"]] + \
                 [x["text"] for rep in p["replies"] for x in rep["paragraphs"]]
    assert any(citation["quote"] in t for t in paragraphs) or citation["section"] == "meta"


@pytest.mark.slow
def test_openai_client_gets_a_cited_answer(api, client):
    r = client.chat.completions.create(model="proposals", messages=[{"role": "user", "content": QUESTION}])
    msg = r.choices[0].message
    assert r.object == "chat.completion" and r.model == "proposals"
    assert r.choices[0].finish_reason == "stop"
    assert "每台15万元" in msg.content and "[1]" in msg.content
    cites = msg.model_extra["citations"]
    assert cites and set(cites[0]) == {"marker", "proposal_id", "section", "department", "heading", "quote",
                                       "chunk_id"}
    assert any(c["proposal_id"] == "20220239" and "15万元" in c["quote"] for c in cites)
    for c in cites:
        assert f"[{c['marker']}]" in msg.content
        _catalogue_quote_ok(api, c)
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0


@pytest.mark.slow
def test_streaming_ends_with_the_citations_and_matches_the_plain_reply(api, client):
    plain = client.chat.completions.create(model="proposals-extractive",
                                           messages=[{"role": "user", "content": QUESTION}])
    chunks = list(client.chat.completions.create(model="proposals-extractive", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    assert len([c for c in chunks if c.choices[0].delta.content]) >= 2  # delivered in pieces
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert last.delta.model_extra["citations"] == plain.choices[0].message.model_extra["citations"]


@pytest.mark.slow
def test_earlier_user_turns_are_the_history(client):
    first = {"role": "user", "content": EARLIER}
    r = client.chat.completions.create(model="proposals", messages=[
        {"role": "system", "content": "你是提案助手"}, first,
        {"role": "assistant", "content": "（上一轮的回答）"}, {"role": "user", "content": FOLLOW_UP}])
    alone = client.chat.completions.create(model="proposals", messages=[{"role": "user", "content": FOLLOW_UP}])
    cites = r.choices[0].message.model_extra["citations"]
    # the follow-up stays on the earlier question's proposal, and on the department it names
    assert cites and {(c["proposal_id"], c["department"]) for c in cites} == {("20230156", "市交通运输局")}
    assert r.choices[0].message.content != alone.choices[0].message.content


@pytest.mark.slow
def test_langchain_chat_openai_against_the_api(api):
    from langchain_core.messages import HumanMessage
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=f"{api}/v1", api_key=TOKEN, model="proposals", max_retries=0, timeout=120)
    reply = llm.invoke([HumanMessage(QUESTION)])
    assert "每台15万元" in reply.content and "来源" in reply.content
    streamed = "".join(part.content for part in llm.stream([HumanMessage(QUESTION)]))
    assert streamed == reply.content


@pytest.mark.slow
def test_token_refused_and_accepted(api):
    import openai

    wrong = openai.OpenAI(base_url=f"{api}/v1", api_key="not-the-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        wrong.chat.completions.create(model="proposals", messages=[{"role": "user", "content": QUESTION}])
    assert e.value.status_code == 401
    assert e.value.body["code"] == "invalid_api_key" and e.value.body["message"] == "访问令牌缺失或不正确。"
    for path in ("/v1/models", "/v1/stats", "/v1/proposals"):
        assert httpx.get(api + path, timeout=30).status_code == 401
        assert httpx.get(api + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).status_code == 200
    assert httpx.get(f"{api}/health", timeout=30).status_code == 200  # liveness needs no token


@pytest.mark.slow
def test_models_lists_both_answerers(client):
    assert [m.id for m in client.models.list()] == ["proposals", "proposals-extractive"]
    import openai

    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert e.value.body["code"] == "model_not_found"


@pytest.mark.slow
def test_ask_returns_the_readme_json_contract(api):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.post(f"{api}/v1/ask", json={"question": QUESTION, "id": "q1"}, headers=auth, timeout=120)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"id", "question", "answer", "abstained", "mode", "intent", "notice", "leads", "citations",
                         "contexts", "timings_ms"}
    assert body["id"] == "q1" and body["mode"] == "extractive" and not body["abstained"]
    assert len(body["contexts"]) >= 10 and {"chunk_id", "text", "score"} <= set(body["contexts"][0])
    assert set(body["timings_ms"]) == {"retrieve", "answer", "total"}
    # the verifier endpoint keeps what the answer's citations support, and drops a made-up one
    v = httpx.post(f"{api}/v1/verify", headers=auth, timeout=60, json={
        "answer": body["answer"] + "补贴标准为每台99万元。[9]",
        "citations": body["citations"] + [dict(body["citations"][0], marker="9")]}).json()
    assert "99万元" not in v["answer"] and "每台15万元" in v["answer"] and v["removed"]
    # errors are JSON bodies with a Chinese message and a code
    bad = httpx.post(f"{api}/v1/ask", json={"question": "  "}, headers=auth, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "请先输入问题。"
    missing = httpx.get(f"{api}/v1/proposals/20999999", headers=auth, timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_proposal"
    listed = httpx.get(f"{api}/v1/proposals", params={"year": 2023}, headers=auth, timeout=30).json()
    assert listed and all(p["year"] == 2023 for p in listed)
    found = httpx.get(f"{api}/v1/proposals", params={"q": "电动汽车充电"}, headers=auth, timeout=60).json()
    assert found and found[0]["id"] == "20230156"  # words of the text, not of a title: a search


@pytest.mark.slow
def test_outline_from_an_uploaded_word_file(api, tmp_path):
    docx = write_docx(SAMPLES / "20230156.txt", tmp_path / "新提案.docx")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with docx.open("rb") as f:
        r = httpx.post(f"{api}/v1/outline/file", headers=auth, timeout=300, data={"department": "市发展和改革局"},
                       files={"file": (docx.name, f, "application/octet-stream")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sections"] and body["markdown"].startswith("#")
    assert any(c["chunk_id"] for s in body["sections"] for b in s["bullets"] for c in b["citations"])


@pytest.mark.slow
def test_ingest_needs_the_token_and_reports_bad_files(api, tmp_path):
    """Last in the module: it changes the index the other tests read."""
    docx = write_docx(SAMPLES / "20250129.txt", tmp_path / "x.docx", new_id="20269001")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    files = [("files", (docx.name, docx.read_bytes())), ("files", (empty.name, b""))]
    assert httpx.post(f"{api}/v1/ingest", files=files, timeout=30).status_code == 401
    r = httpx.post(f"{api}/v1/ingest", files=files, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["ok"] and body["proposals"] == 1
    assert [(f["file"], f["message"]) for f in body["failures"]] == [("empty.txt", "empty.txt：文件是空的")]
    got = httpx.get(f"{api}/v1/proposals/20269001", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert got.status_code == 200 and got.json()["suggestions"]


@pytest.fixture(scope="module")
def open_llm_api(data_dir, embed_cache, tmp_path_factory):
    """A second server: no token (loopback), and model `proposals` answering with a chat model
    (a scripted OpenAI-compatible server on 127.0.0.1)."""
    from tests.fake_openai import FakeOpenAI

    copy = tmp_path_factory.mktemp("api-llm") / "index"
    shutil.copytree(data_dir, copy)
    with FakeOpenAI() as llm:
        proc, base = start_api(copy, embed_cache, OPENAI_API_KEY="sk-test-key", OPENAI_BASE_URL=llm.base_url,
                               PROPOSALS_LLM_RETRIES="0")
        yield base, llm, copy
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_chat_model_stream_carries_only_verified_text(open_llm_api):
    import openai

    from tests.fake_openai import first_sentence, numbered

    base, llm, _ = open_llm_api

    def answer(body):
        s = first_sentence(numbered(body)[1])
        return f"{s}[1]另外共发放补贴98765万元。[1]\n引用：\n[1]「{s}」"

    llm.reply_with(answer)
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused-on-loopback", max_retries=0, timeout=120)
    chunks = list(client.chat.completions.create(model="proposals", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert llm.requests and llm.requests[-1]["body"].get("stream") is True  # the chat model was asked
    assert "98765" not in text and "[1]" in text  # the unsupported sentence was struck before streaming
    cites = chunks[-1].choices[0].delta.model_extra["citations"]
    assert [c["marker"] for c in cites] == ["1"] and cites[0]["quote"] in text
    plain = client.chat.completions.create(model="proposals-extractive",
                                           messages=[{"role": "user", "content": QUESTION}])
    assert "每台15万元" in plain.choices[0].message.content and len(llm.requests) == 1


@pytest.mark.slow
def test_no_token_ingest_refused_and_no_public_bind(open_llm_api, embed_cache):
    base, _, copy = open_llm_api
    assert httpx.get(f"{base}/v1/models", timeout=30).status_code == 200  # loopback without a token: open
    r = httpx.post(f"{base}/v1/ingest", files=[("files", ("a.txt", b"x"))], timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "token_not_configured"
    r = subprocess.run([*PROPOSALS, "api", "--host", "0.0.0.0", "--data-dir", str(copy)], cwd=ROOT,
                       env=cli_env(embed_cache), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "PROPOSALS_API_TOKEN" in r.stderr


def test_chat_request_schema_accepts_openai_fields():
    from ui.openai_schema import ChatRequest

    req = ChatRequest.model_validate({"model": "proposals", "temperature": 0.2, "max_tokens": 50, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "电梯"}, {"type": "text", "text": "补贴"}]}]})
    assert req.messages[0].text() == "电梯补贴" and not req.stream
    assert json.loads(req.model_dump_json())["sources_in_content"] is True
