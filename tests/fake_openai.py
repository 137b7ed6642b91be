"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests of the chat-model path.

It speaks ``POST /v1/chat/completions`` (plain and ``stream: true`` server-sent events) and
``POST /v1/embeddings``. Each test scripts the replies::

    with FakeOpenAI() as srv:
        srv.reply("答案[1]\\n引用：\\n[1]「原文」")   # next completion
        srv.fail(500)                                # the one after that: HTTP 500
        srv.stall(5.0)                               # then: answer after 5 s (for timeouts)
        settings = Settings(openai_api_key="sk-test", openai_base_url=srv.base_url)

Replies are used in order; when the script runs out, the last one repeats. ``srv.requests``
holds every request body and its headers, so a test can check what the client sent.
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

Reply = dict


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port), serving in a thread inside ``with``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeOpenAI(LoopbackServer):
    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    # ---- scripting ----------------------------------------------------------------------
    def reply(self, content: str) -> "FakeOpenAI":
        self.script.append({"content": content})
        return self

    def reply_with(self, fn: Callable[[dict], str]) -> "FakeOpenAI":
        """Compute the reply from the request (e.g. echo part of the prompt back)."""
        self.script.append({"fn": fn})
        return self

    def fail(self, status: int = 500) -> "FakeOpenAI":
        self.script.append({"status": status})
        return self

    def stall(self, seconds: float, content: str = "迟到的答案") -> "FakeOpenAI":
        self.script.append({"delay": seconds, "content": content})
        return self

    def _next(self) -> Reply:
        with self._lock:
            if not self.script:
                return {"content": "未在提案库中找到与该问题相关的内容。"}
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    # ---- server -------------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                try:
                    self._post()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def _post(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                fake.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                if self.path.endswith("/embeddings"):
                    inputs = body.get("input")
                    inputs = inputs if isinstance(inputs, list) else [inputs]
                    data = [{"object": "embedding", "index": i, "embedding": [0.1] * 8} for i in range(len(inputs))]
                    return self._json(200, {"object": "list", "data": data, "model": body.get("model"),
                                            "usage": {"prompt_tokens": 1, "total_tokens": 1}})
                r = fake._next()
                if "status" in r:
                    return self._json(r["status"], {"error": {"message": "scripted failure", "type": "server_error"}})
                if "delay" in r:
                    time.sleep(r["delay"])
                content = r["fn"](body) if "fn" in r else r["content"]
                created = int(time.time())
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for i in range(0, len(content), 8):
                        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": created,
                                 "model": body.get("model", "fake"),
                                 "choices": [{"index": 0, "delta": {"content": content[i:i + 8]},
                                              "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    end = {"id": "c1", "object": "chat.completion.chunk", "created": created,
                           "model": body.get("model", "fake"),
                           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                    return
                return self._json(200, {
                    "id": "c1", "object": "chat.completion", "created": created, "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})

        return Handler


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as srv:
        yield srv


def context_of(request_body: dict) -> str:
    """The user message the answerer sent (numbered context + question)."""
    return next((m["content"] for m in request_body["messages"] if m["role"] in ("user", "human")), "")


def numbered(body: dict) -> dict[int, str]:
    """Context paragraphs as the model saw them in ``body``: number → text."""
    ctx = context_of(body)
    parts = re.split(r"\n\n(?=\[\d+\] )", ctx.split("<资料>\n", 1)[1].split("\n</资料>")[0])
    out = {}
    for p in parts:
        m = re.match(r"\[(\d+)\] [^\n]*\n(.*)", p, re.S)
        out[int(m.group(1))] = m.group(2)
    return out


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[。；！？])", text)[0]


# ---- replies as chat models really write them ------------------------------------------------
# Each shape builds its reply from the paragraphs the model was shown: ``good`` is the first
# sentence of paragraph 1 (supported), ``bad`` the same sentence with its first figure changed,
# or — when it states none — with a department it does not name (unsupported).
def corrupt(sentence: str) -> str:
    m = re.search(r"\d+", sentence)
    if m:
        return sentence[:m.start()] + str(int(m.group(0)) + 7) + sentence[m.end():]
    return "市教育局会同市财政局" + sentence


def _parts(body: dict) -> tuple[str, str, str]:
    paras = numbered(body)
    good = first_sentence(paras[1])
    second = first_sentence(paras[2]) if 2 in paras else good
    return good, corrupt(good), second


def _bare(s: str) -> str:
    return s.rstrip("。；！？")


RECORDED: dict[str, Callable[[dict], str]] = {
    # 【n】 markers, Markdown bullets and bold, sources headed 来源： with 「」 quotes
    "cn_brackets_bold_list": lambda b: (lambda g, x, s2: (
        f"根据答复：\n- **{_bare(g)}**【1】。\n- {_bare(x)}【1】。\n\n来源：\n【1】「{g}」"))(*_parts(b)),
    # [1,2] and a sources list headed 参考： with “” quotes
    "comma_markers_reference": lambda b: (lambda g, x, s2: (
        f"{_bare(g)}[1,2]。{_bare(x)}[1]。\n\n**参考：**\n[1] “{g}”\n[2] “{s2}”"))(*_parts(b)),
    # [1][2] with no sources list at all
    "adjacent_markers_no_sources": lambda b: (lambda g, x, s2: f"{_bare(g)}[1][2]。\n{_bare(x)}[2][1]。")(*_parts(b)),
    # footnote markers [^1] and footnote lines without quote marks
    "footnotes_unquoted": lambda b: (lambda g, x, s2: (
        f"1. {_bare(g)}[^1]。\n2. {_bare(x)}[^1]。\n\n[^1]: {g}"))(*_parts(b)),
    # markers inside bold text, a sources list that describes instead of quoting
    "bold_markers_described_sources": lambda b: (lambda g, x, s2: (
        f"### 答复要点\n**{_bare(g)}[1]**。\n**{_bare(x)}[1]**。\n\n引用：\n[1] 科技局的答复"))(*_parts(b)),
}
