"""Shared fixtures. The sample corpus is ingested once per session into a temporary data
directory; the embedding cache is shared by every index the tests build, so only the first
ingest of a text pays for its embedding."""
from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

pytest_plugins = ["tests.fake_openai"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"
DEVSET = SHARED / "devset"
SEEDS = SHARED / "seeds"


def shared_or_skip(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the ../shared folder is not here)")
    return path


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache") / "embeddings.sqlite"


@pytest.fixture(scope="session")
def make_settings(embed_cache):
    from rag.core.settings import Settings

    def make(data_dir: Path, **kw) -> Settings:
        kw.setdefault("embed_cache", embed_cache)
        # the tests never read a developer's .env or real key
        return Settings(_env_file=None, data_dir=data_dir, openai_api_key=kw.pop("openai_api_key", None), **kw)

    return make


@pytest.fixture(scope="session")
def sample_assistant(tmp_path_factory, make_settings):
    """An assistant over the ingested sample corpus (extractive, embedded Chroma)."""
    from rag.answer.assistant import Assistant

    a = Assistant(make_settings(tmp_path_factory.mktemp("samples-index")), answerer="extractive")
    report = a.ingest([SAMPLES])
    assert report.ok, report.failures
    return a


@pytest.fixture(scope="session")
def devset_assistant(tmp_path_factory, make_settings):
    """An assistant over ../shared/devset/corpus (skipped when ../shared is absent)."""
    from rag.answer.assistant import Assistant

    corpus = shared_or_skip(DEVSET / "corpus")
    a = Assistant(make_settings(tmp_path_factory.mktemp("devset-index")), answerer="extractive")
    report = a.ingest([corpus])
    assert report.ok, report.failures
    return a


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch):
    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "CHROMA_PORT"):
        monkeypatch.delenv(k, raising=False)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


# ---- network guard: tests talk to this machine only ------------------------------------------
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise AssertionError(f"a test opened a connection to {address!r}: tests may reach loopback only")
        return real(self, address)
    return connect


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
