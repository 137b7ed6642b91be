"""`proposals api`: the assistant over HTTP, in the OpenAI chat format and as plain JSON (docs/api.md).

Every answer comes from the same ``Assistant`` the CLI and the app call; this module only
translates requests, responses and errors. Questions share a read lock, an ingest takes the
write lock, so a question never sees a half-written index.
"""
from __future__ import annotations

import hmac
import json
import logging
import re
import shutil
import time
import uuid
from pathlib import Path

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest.pipeline import ACCEPTED as UPLOAD_TYPES
from rag.core.errors import (ConfigError, ErrorCode, IndexMismatchError, IngestError, LLMError, NoIndexError,
                             ProposalError, RequestError, StoreError)
from rag.core.errors_zh import INTERNAL, WORDS, words
from rag.core.lexicon import SECTION_LABEL
from rag.core.settings import Settings
from rag.core.types import Answer, Filters
from ui.openai_schema import (MODELS, AskRequest, AssistantMessage, ChatCompletion, ChatRequest, Choice,
                              CitationOut, ErrorResponse, FiltersIn, Model, ModelList, OutlineRequest, Usage,
                              VerifyRequest)
from ui.rwlock import ReadWriteLock
from ui.server import is_loopback

log = logging.getLogger(__name__)
_STATUS = ((NoIndexError, 503), (IndexMismatchError, 503), (StoreError, 503), (IngestError, 422),
           (ConfigError, 500), (LLMError, 502), (ProposalError, 400))
_PIECE = re.compile(r"(?<=[。！？!?；])(?![\[」\n])|(?<=\n)(?!\n)")  # deltas end at sentence or line ends


class ApiFailure(Exception):
    """A refused request: HTTP status, a stable code and the Chinese message shown to the user."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_code(e: ProposalError) -> str:
    """The error's ``ErrorCode``, as the body's ``code``."""
    return e.code.value


def error_body(status: int, code: str, message: str, detail=None) -> dict:
    kind = "invalid_request_error" if status < 500 else "server_error"
    if status == 401:
        kind = "authentication_error"
    return {"error": {"message": message, "type": kind, "code": code, "detail": detail}}


def _filters(f: FiltersIn | None) -> Filters | None:
    if f is None:
        return None
    out = Filters(**f.model_dump())
    return None if out.is_empty() else out


def citations_of(ans: Answer) -> list[CitationOut]:
    return [CitationOut(marker=c.marker, proposal_id=c.proposal_id, section=c.section, department=c.department,
                        heading=c.heading, quote=c.quote, chunk_id=c.chunk_id) for c in ans.citations]


def content_of(ans: Answer, with_sources: bool) -> str:
    """The verified answer's text; with ``with_sources``, its numbered sources after it (for
    front-ends that show only the content), and the nearest proposals after a refusal."""
    parts = [f"{ans.notice}\n\n" if ans.notice else "", ans.answer]
    if with_sources and ans.citations:
        titles = {h.chunk.id: h.chunk.title for h in ans.contexts}
        lines = []
        for c in ans.citations:
            where = c.heading or c.department or SECTION_LABEL.get(c.section, c.section)
            title = titles.get(c.chunk_id)
            lines.append(f"[{c.marker}] {c.proposal_id}{f'《{title}》' if title else ''} · {where}：「{c.quote}」")
        parts.append("\n\n来源：\n" + "\n".join(lines))
    elif with_sources and ans.abstained and ans.leads:
        parts.append("\n\n可能相关的提案：" + "、".join(ans.leads))
    return "".join(parts)


class Api:
    """Config in the constructor: the assistant answering ``proposals`` (its answerer is the
    server's), the bearer token (``None``: open, loopback only), where uploads are kept."""

    def __init__(self, assistant, *, token=None, extractive=None):
        from rag.answer.assistant import Assistant

        self.auto = assistant
        self.extractive = extractive or (assistant if assistant.mode == "extractive" else
                                         Assistant(assistant.settings, answerer="extractive",
                                                   retriever=assistant.retriever_name, index=assistant.index))
        self._token = token  # a SecretStr, unwrapped only to compare
        self.lock = ReadWriteLock()
        self.started = int(time.time())

    # ---- auth -----------------------------------------------------------------------------
    def check(self, cred: HTTPAuthorizationCredentials | None, *, always: bool = False) -> None:
        expected = self._token.get_secret_value() if self._token is not None else ""
        if not expected:
            if always:
                raise ApiFailure(403, "token_not_configured",
                                 "导入接口需要访问令牌：请在服务端设置 PROPOSALS_API_TOKEN，"
                                 "再以 Authorization: Bearer <令牌> 调用。")
            return
        given = cred.credentials if cred is not None and cred.scheme.lower() == "bearer" else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiFailure(401, "invalid_api_key", "访问令牌缺失或不正确。",
                             headers={"WWW-Authenticate": "Bearer"})

    def assistant_for(self, model: str):
        mode = MODELS.get(model)
        if mode is None:
            raise ApiFailure(404, "model_not_found",
                             f"没有名为 {model} 的模型；可用的模型：{'、'.join(MODELS)}。")
        return self.extractive if mode == "extractive" else self.auto

    # ---- answers --------------------------------------------------------------------------
    def answer_chat(self, req: ChatRequest) -> tuple[Answer, str]:
        a = self.assistant_for(req.model)
        if req.messages[-1].role != "user":
            raise ApiFailure(400, "last_message_not_user", "最后一条消息必须是用户的提问（role 为 user）。")
        users = [m.text().strip() for m in req.messages if m.role == "user"]
        question, history = users[-1], [u for u in users[:-1] if u]
        with self.lock.reading():
            if req.stream:
                # the stream carries only verified text, so it starts once the answer is checked
                *_, ans = a.stream(question, history=history, filters=_filters(req.filters))
            else:
                ans = a.ask(question, history=history, filters=_filters(req.filters))
        return ans, content_of(ans, req.sources_in_content)

    def completion(self, req: ChatRequest) -> ChatCompletion:
        from rag.core.token_budget import count

        ans, content = self.answer_chat(req)
        prompt = sum(count(m.text()) for m in req.messages)
        done = count(content)
        return ChatCompletion(id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()), model=req.model,
                              choices=[Choice(message=AssistantMessage(content=content, citations=citations_of(ans)))],
                              usage=Usage(prompt_tokens=prompt, completion_tokens=done, total_tokens=prompt + done))

    def stream_events(self, req: ChatRequest) -> list[str]:
        """The server-sent events of one streamed reply: the role, the text in sentence-sized
        deltas, a last chunk with ``finish_reason`` and the ``citations``, then ``[DONE]``."""
        ans, content = self.answer_chat(req)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": req.model}

        def event(delta: dict, finish: str | None = None) -> str:
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
            return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

        out = [event({"role": "assistant", "content": ""})]
        out += [event({"content": piece}) for piece in _PIECE.split(content) if piece]
        out.append(event({"citations": [c.model_dump() for c in citations_of(ans)]}, "stop"))
        out.append("data: [DONE]\n\n")
        return out

    def ask(self, req: AskRequest) -> dict:
        a = self.extractive if req.answerer == "extractive" else self.auto
        with self.lock.reading():
            return a.ask(req.question, history=req.history, filters=_filters(req.filters), id=req.id).to_json()

    def outline(self, text: str, department: str, source: str = "<proposal>") -> dict:
        from rag.staff.outline import draft_outline

        with self.lock.reading():
            ol = draft_outline(self.auto, text, department, source=source)
        return {**ol.to_json(), "markdown": ol.markdown}

    def verify(self, req: VerifyRequest) -> dict:
        from rag.answer.verify import verify
        from rag.core.types import Citation, Hit

        with self.lock.reading():
            chunks = {c.id: c for c in self.auto.catalogue.chunks([c.chunk_id for c in req.citations])}
        cites = [Citation.of(c.marker, chunks[c.chunk_id], c.quote) if c.chunk_id in chunks else
                 Citation(c.marker, c.chunk_id, "", "content", None, None, c.quote) for c in req.citations]
        draft = Answer(question="", answer=req.answer, abstained=False, mode="extractive", citations=cites)
        checked = verify(draft, [Hit(c, 1.0) for c in chunks.values()])
        return {"answer": checked.answer, "abstained": checked.abstained,
                "citations": [c.model_dump() for c in citations_of(checked)], "removed": checked.removed}

    # ---- data -----------------------------------------------------------------------------
    def proposals(self, year: int | None, department: str | None, proposer: str | None, q: str | None) -> list[dict]:
        with self.lock.reading():
            rows = self.auto.find_proposals(q or "", Filters(year=year, department=department, proposer=proposer))
        return [{k: v for k, v in r.items() if k != "source"} for r in rows]

    def proposal(self, pid: str) -> dict:
        with self.lock.reading():
            p = self.auto.proposal(pid)
        if p is None:
            raise RequestError(f"no proposal {pid} in the index", code=ErrorCode.UNKNOWN_PROPOSAL, id=pid)
        d = p.to_dict()
        d.pop("source", None)
        return d

    def ingest(self, files: list[UploadFile]) -> dict:
        dest = Path(self.auto.settings.data_dir) / "uploads"
        dest.mkdir(parents=True, exist_ok=True)
        bad, paths, names = [], [], {}
        for f in files:
            name = Path(f.filename or "").name
            if not name or Path(name).suffix.lower() not in UPLOAD_TYPES:
                bad.append({"file": name, "line": None, "code": ErrorCode.UNSUPPORTED_TYPE.value,
                            "message": f"{name or '（无文件名）'}：{WORDS[ErrorCode.UNSUPPORTED_TYPE]}"})
                continue
            target = dest / name
            with target.open("wb") as out:
                shutil.copyfileobj(f.file, out)
            paths.append(target)
            names[str(target.resolve())] = name
        report = None
        if paths:
            with self.lock.writing():
                report = self.auto.ingest(paths)
            for e in report.failures:
                name = names.get(str(Path(e.path).resolve()), Path(e.path).name)
                bad.append({"file": name, "line": e.line, "code": error_code(e),
                            "message": f"{name}{f'（第 {e.line} 行）' if e.line else ''}：{words(e)}"})
                if str(Path(e.path).resolve()) in names:
                    Path(e.path).unlink(missing_ok=True)  # keep only the files that went in
        out = report.to_json() if report else {"files": 0, "proposals": 0}
        out.pop("failures", None)
        return {**out, "ok": not bad, "failures": bad}

    def stats(self) -> dict:
        return self.auto.stats()


def create_app(api: Api) -> FastAPI:
    app = FastAPI(title="提案助手 API", version="1", description=(
        "政协提案与部门答复的问答接口：OpenAI 兼容的 /v1/chat/completions（回答带 [n] 标注与 citations 字段），"
        "以及问答、答复提纲、引用核验、提案查询、导入、统计的 JSON 接口。"),
        responses={400: {"model": ErrorResponse}, 401: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})
    bearer = HTTPBearer(auto_error=False, description="PROPOSALS_API_TOKEN")

    def auth(cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        api.check(cred)

    def auth_always(cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        api.check(cred, always=True)

    @app.exception_handler(ApiFailure)
    async def _failure(_: Request, e: ApiFailure):
        return JSONResponse(error_body(e.status, e.code, e.message), status_code=e.status, headers=e.headers)

    @app.exception_handler(ProposalError)
    async def _project_error(_: Request, e: ProposalError):
        status = 404 if e.code is ErrorCode.UNKNOWN_PROPOSAL else next(s for cls, s in _STATUS if isinstance(e, cls))
        message = words(e)
        if isinstance(e, IngestError):
            message = f"{Path(e.path).name}：{message}"
        if e.code is ErrorCode.OTHER:
            log.warning("project error shown as a generic message: %s", e)
        return JSONResponse(error_body(status, error_code(e), message, str(e)), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError):
        where = "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors())
        return JSONResponse(error_body(400, "invalid_request", f"请求格式不正确：{where}"), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException):
        message = {404: "没有这个接口。", 405: "该接口不支持这种请求方法。"}.get(e.status_code, str(e.detail))
        return JSONResponse(error_body(e.status_code, f"http_{e.status_code}", message), status_code=e.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception):
        log.exception("unexpected error in the API", exc_info=e)
        return JSONResponse(error_body(500, "internal_error", INTERNAL), status_code=500)

    @app.get("/health", tags=["service"])
    def health() -> dict:
        """Liveness (no token needed)."""
        return {"status": "ok", "started": api.started}

    @app.get("/v1/models", response_model=ModelList, dependencies=[Depends(auth)], tags=["openai"])
    def models() -> ModelList:
        return ModelList(data=[Model(id=m, created=api.started) for m in MODELS])

    @app.get("/v1/models/{model}", response_model=Model, dependencies=[Depends(auth)], tags=["openai"])
    def model(model: str) -> Model:
        api.assistant_for(model)
        return Model(id=model, created=api.started)

    @app.post("/v1/chat/completions", response_model=ChatCompletion, dependencies=[Depends(auth)], tags=["openai"])
    def chat(req: ChatRequest):
        """The last user message is the question; the earlier user messages are its history.
        With ``stream``, server-sent ``chat.completion.chunk`` events; the last one carries ``citations``."""
        if req.stream:
            return StreamingResponse(iter(api.stream_events(req)), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return api.completion(req)

    @app.post("/v1/ask", dependencies=[Depends(auth)], tags=["json"])
    def ask(req: AskRequest) -> dict:
        """The README's JSON contract: answer, citations, contexts, timings."""
        return api.ask(req)

    @app.post("/v1/outline", dependencies=[Depends(auth)], tags=["json"])
    def outline(req: OutlineRequest) -> dict:
        """A reply outline for a new proposal pasted as text (docs/staff.md)."""
        return api.outline(req.text, req.department)

    @app.post("/v1/outline/file", dependencies=[Depends(auth)], tags=["json"])
    def outline_file(file: UploadFile = File(..., description=".txt, .docx or a text .pdf"),
                     department: str = Form(...)) -> dict:
        """A reply outline for a new proposal uploaded as a file."""
        from ingest.documents import read_document

        name = Path(file.filename or "proposal.txt").name
        return api.outline(read_document(name, file.file.read()), department, source=name)

    @app.post("/v1/verify", dependencies=[Depends(auth)], tags=["json"])
    def verify(req: VerifyRequest) -> dict:
        """Check an answer's [n] citations against the indexed paragraphs (the answerers' own verifier)."""
        return api.verify(req)

    @app.get("/v1/proposals", dependencies=[Depends(auth)], tags=["json"])
    def proposals(year: int | None = None, department: str | None = None, proposer: str | None = None,
                  q: str | None = None) -> list[dict]:
        """Proposals matching every given filter, newest first. ``q``: an id, a title word or a name
        lists those proposals; other words search the text (proposals in rank order), as in the app."""
        return api.proposals(year, department, proposer, q)

    @app.get("/v1/proposals/{pid}", dependencies=[Depends(auth)], tags=["json"])
    def proposal(pid: str) -> dict:
        return api.proposal(pid)

    @app.post("/v1/ingest", dependencies=[Depends(auth_always)], tags=["json"])
    def ingest(files: list[UploadFile] = File(..., description=".txt, .jsonl, .docx, .pdf")) -> dict:
        """Add or update proposals (always needs the token). Bad files are listed; the others go in."""
        return api.ingest(files)

    @app.get("/v1/stats", dependencies=[Depends(auth)], tags=["json"])
    def stats() -> dict:
        return api.stats()

    return app


def check_bind(settings: Settings, host: str) -> None:
    """Beyond loopback a token is required (checked before anything heavy loads)."""
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if not token and not is_loopback(host):
        raise ConfigError(f"refusing to listen on {host} without a token",
                          hint="set PROPOSALS_API_TOKEN (or bind to 127.0.0.1)")


def serve_api(settings: Settings, *, host: str | None = None, port: int | None = None, answerer: str = "auto",
              retriever: str = "hybrid") -> None:
    import uvicorn

    from rag.answer.assistant import Assistant

    host = host or settings.host
    port = port or settings.api_port
    check_bind(settings, host)
    assistant = Assistant(settings, answerer=answerer, retriever=retriever)
    # its ingest endpoint writes the data directory: one writer per embedded Chroma (docs/reliability.md)
    assistant.index.claim_writer(f"the API at http://{host}:{port}")
    api = Api(assistant, token=settings.api_token)
    try:  # loads the embedder, jieba and the stores before the first request
        assistant.warm()
        if not assistant.index.is_empty():
            api.extractive.ask("提案")
    except ProposalError as e:  # requests will say what is wrong, in their error bodies
        log.warning("warm-up question failed: %s", e)
    log.info("API on http://%s:%s/v1 (%s answers)", host, port, assistant.mode)
    uvicorn.run(create_app(api), host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
