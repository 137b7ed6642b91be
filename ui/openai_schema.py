"""Request and response bodies of `proposals api` (OpenAI chat format plus the JSON endpoints).

Only the OpenAI fields the assistant uses are declared; the others a client sends
(temperature, max_tokens, user, …) are accepted and ignored, as OpenAI-compatible servers do.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MODELS = {
    "proposals": "auto",  # the server's answerer: the chat model when OPENAI_API_KEY is set, else extractive
    "proposals-extractive": "extractive",  # always the offline extractive answerer
}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = "text"
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class FiltersIn(BaseModel):
    """Restricts what may be cited; loose department names (科技局 = 市科学技术局)."""
    model_config = ConfigDict(extra="forbid")
    year: int | None = None
    department: str | None = None
    proposer: str | None = None
    section: Literal["content", "suggestion", "reply", "meta"] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field("proposals", description="proposals | proposals-extractive")
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    filters: FiltersIn | None = Field(None, description="extension: restrict the answer's sources")
    sources_in_content: bool = Field(True, description="extension: append the numbered sources to the content "
                                                       "(for front-ends that show only the content)")


class CitationOut(BaseModel):
    marker: str = Field(..., description="the n of an [n] marker in the content")
    proposal_id: str
    section: Literal["content", "suggestion", "reply", "meta"]
    department: str | None = Field(None, description="the replying department (reply paragraphs)")
    heading: str | None = Field(None, description="heading path of the paragraph, joined with ' › '")
    quote: str = Field(..., description="verbatim text of the cited paragraph")
    chunk_id: str = Field(..., description="<proposal>:<section>[:<department>]:<n>")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    citations: list[CitationOut] = Field(default_factory=list)


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "proposals"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    history: list[str] = Field(default_factory=list, description="earlier questions of the conversation, oldest first")
    filters: FiltersIn | None = None
    id: str | None = Field(None, description="echoed in the answer")
    answerer: Literal["auto", "extractive"] = "auto"


class OutlineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., description="the new proposal's full text, from its 案由 line")
    department: str = Field(..., description="the department drafting the reply")


class CitationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    marker: str
    chunk_id: str
    quote: str = ""


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(..., description="text with [n] markers")
    citations: list[CitationIn]


class ErrorBody(BaseModel):
    message: str = Field(..., description="plain Chinese, for the user")
    type: str
    code: str
    detail: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody
