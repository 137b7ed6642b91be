"""With a password set (PROPOSALS_AUTH): every API route needs the login, and failed logins
are throttled per client.

Gradio checks the login on most of its routes but not on ``/gradio_api/reset`` and
``/gradio_api/cancel``, and does not slow down password guessing. This ASGI middleware sits in
front of all of them: a request under ``/gradio_api/`` without a valid session cookie is
answered 401 (only what the login page itself needs stays open), and a client that failed
``max_failures`` logins within ``window_s`` seconds gets 429 until the window has passed.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

API = "/gradio_api/"
# what the login page reads before anyone is logged in
OPEN_API = {"login_check", "token", "user", "app_id", "startup-events", "theme.css"}
LOGIN = ("/login", "/login/")


@dataclass
class LoginThrottle:
    """Failed logins per client address within a sliding window."""

    max_failures: int = 5
    window_s: float = 60.0
    _failures: dict[str, deque] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, client: str, now: float | None = None) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._failures.get(client)
            if not q:
                return 0.0
            while q and now - q[0] >= self.window_s:
                q.popleft()
            return self.window_s - (now - q[0]) if len(q) >= self.max_failures else 0.0

    def failed(self, client: str, now: float | None = None) -> None:
        with self._lock:
            self._failures.setdefault(client, deque()).append(time.monotonic() if now is None else now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def _json(status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()):
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json; charset=utf-8"),
                         (b"content-length", str(len(data)).encode()), *headers]}
    return start, {"type": "http.response.body", "body": data}


class AuthGuard:
    """ASGI middleware for the Gradio app (``launch(app_kwargs={"middleware": [...]})``)."""

    def __init__(self, app, throttle: LoginThrottle | None = None):
        self.app = app
        self.throttle = throttle or LoginThrottle()

    async def __call__(self, scope, receive, send):
        gradio = scope.get("app")
        if scope["type"] not in ("http", "websocket") or gradio is None or getattr(gradio, "auth", None) is None:
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root):]
        if path in LOGIN and scope.get("method") == "POST":
            return await self._login(scope, receive, send)
        if path.startswith(API) and path[len(API):].strip("/") not in OPEN_API and not self._logged_in(scope, gradio):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            start, body = _json(401, {"detail": "Not authenticated"})
            await send(start)
            return await send(body)
        return await self.app(scope, receive, send)

    @staticmethod
    def _logged_in(scope, gradio) -> bool:
        raw = b"; ".join(v for k, v in scope.get("headers", []) if k == b"cookie").decode("latin-1")
        jar = SimpleCookie()
        try:
            jar.load(raw)
        except Exception:  # noqa: BLE001 - a malformed cookie header is simply no login
            return False
        cid = getattr(gradio, "cookie_id", "")
        tokens = getattr(gradio, "tokens", {})
        return any(name in jar and jar[name].value in tokens
                   for name in (f"access-token-{cid}", f"access-token-unsecure-{cid}"))

    async def _login(self, scope, receive, send):
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.throttle.wait_s(client)
        if wait > 0:
            start, body = _json(429, {"detail": f"登录失败次数过多，请 {int(wait) + 1} 秒后再试"},
                                [(b"retry-after", str(int(wait) + 1).encode())])
            await send(start)
            return await send(body)
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self.throttle.succeeded(client)
        elif status.get("code", 500) < 500:
            self.throttle.failed(client)
