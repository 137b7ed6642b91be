"""Limits: a question longer than PROPOSALS_MAX_QUESTION_CHARS is refused before any work;
with a password set every API route of the app needs the login (Gradio leaves /reset and
/cancel open), and failed logins are throttled per client address."""
from __future__ import annotations

import socket

import httpx
import pytest

from rag.answer.assistant import Assistant
from rag.core.errors import ErrorCode, NoIndexError, QuestionError
from rag.core.errors_zh import words
from ui.guard import LoginThrottle


def test_a_question_over_the_limit_is_refused_in_chinese_before_any_work(tmp_path, make_settings):
    a = Assistant(make_settings(tmp_path / "data", max_question_chars=50), answerer="extractive")
    with pytest.raises(QuestionError) as e:
        a.ask("社区图书室" * 11)
    assert e.value.code == ErrorCode.QUESTION_TOO_LONG and "PROPOSALS_MAX_QUESTION_CHARS" in str(e.value)
    assert words(e.value) == "问题过长：55 个字，上限为 50 个字，请精简问题。"
    with pytest.raises(QuestionError):
        list(a.stream("社区图书室" * 11))
    with pytest.raises(NoIndexError):  # at the limit: accepted, and only then does the empty index matter
        a.ask("社区图书室" * 10)


def test_the_default_limit_is_documented_and_applies(tmp_path, make_settings):
    from pathlib import Path

    s = make_settings(tmp_path / "data")
    assert s.max_question_chars == 500
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "PROPOSALS_MAX_QUESTION_CHARS" in readme
    with pytest.raises(QuestionError):
        Assistant(s, answerer="extractive").ask("问" * 501)


def test_login_throttle_counts_failures_per_client_in_a_window():
    t = LoginThrottle(max_failures=3, window_s=60)
    for i in range(3):
        assert t.wait_s("10.0.0.1", now=100 + i) == 0
        t.failed("10.0.0.1", now=100 + i)
    assert t.wait_s("10.0.0.1", now=103) == pytest.approx(57)
    assert t.wait_s("10.0.0.2", now=103) == 0  # another client is not slowed
    assert t.wait_s("10.0.0.1", now=160.5) == 0  # the first failure left the window
    t.succeeded("10.0.0.1")
    assert t.wait_s("10.0.0.1", now=161) == 0


@pytest.fixture
def app_with_auth(tmp_path, make_settings):
    from ui.app import build_app, launch

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = build_app(Assistant(make_settings(tmp_path / "data"), answerer="extractive"))
    launch(demo, port=port, auth=("ana", "s3cret"), block=False, quiet=True)
    try:
        yield demo, f"http://127.0.0.1:{port}"
    finally:
        demo.close()


def login(client: httpx.Client, base: str, password: str) -> httpx.Response:
    return client.post(f"{base}/login", data={"username": "ana", "password": password})


def ingest_fn_index(demo) -> int:
    return next(i for i, d in enumerate(demo.fns.values()) if getattr(d.fn, "__name__", "") == "ingest_uploads")


@pytest.mark.slow
def test_every_api_route_needs_the_login(app_with_auth):
    demo, base = app_with_auth
    body = {"session_hash": "s1", "fn_index": 0, "event_id": "e1"}
    join = {"data": [None], "fn_index": ingest_fn_index(demo), "session_hash": "s1", "event_data": None,
            "trigger_id": None}
    with httpx.Client(timeout=20) as anon:
        for path in ("/gradio_api/reset", "/gradio_api/cancel"):
            assert anon.post(f"{base}{path}", json=body).status_code == 401, path
        assert anon.post(f"{base}/gradio_api/queue/join", json=join).status_code == 401  # the private ingest
        assert anon.get(f"{base}/gradio_api/heartbeat/s1").status_code == 401
        assert anon.get(f"{base}/gradio_api/login_check").status_code == 401  # open, and says "not logged in"
        assert anon.get(f"{base}/").status_code == 200  # the login page itself
    with httpx.Client(timeout=20) as user:
        assert login(user, base, "s3cret").status_code == 200
        assert user.post(f"{base}/gradio_api/reset", json=body).status_code == 200
        assert user.post(f"{base}/gradio_api/cancel", json=body).status_code == 200
        assert user.get(f"{base}/config").status_code == 200


@pytest.mark.slow
def test_failed_logins_are_throttled_per_client(app_with_auth):
    _, base = app_with_auth
    with httpx.Client(timeout=20) as guesser:
        codes = [login(guesser, base, f"guess{i}").status_code for i in range(8)]
        assert codes[:5] == [400] * 5 and codes[5:] == [429] * 3
        r = login(guesser, base, "s3cret")  # even the right password waits out the window
        assert r.status_code == 429 and "秒后再试" in r.json()["detail"] and int(r.headers["retry-after"]) > 0
    other = httpx.Client(timeout=20, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with other:  # another client address logs in at once
        assert login(other, base, "s3cret").status_code == 200
