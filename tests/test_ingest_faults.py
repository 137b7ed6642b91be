"""An ingest that fails changes nothing questions read; one that is killed resumes from the
embedding cache; a proposal id the index already holds from another file is reported and
skipped; folders and named files, UTF-16 files and broken links are handled alike."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import Ingester
from rag.answer.assistant import Assistant
from rag.core.errors import LLMError, ProposalError
from rag.stores.embeddings import CachedEmbedder, EmbeddingCache, make_embedder
from rag.stores.index import Index
from tests.conftest import ROOT, SAMPLES
from tests.fake_openai import LoopbackServer

OLD = ["20210301.txt", "20220077.txt"]
NEW = ["20230156.txt", "20240118.txt", "20250129.txt"]
QUESTION = "垃圾分类“绿色账户”积分奖励是在哪几个街道试点的？"


def folder(root: Path, names: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy(SAMPLES / n, root / n)
    return root


class FailsAfter:
    """The real embedder, failing from its ``n``-th passage batch on (a server that went away)."""

    def __init__(self, inner, n: int):
        self.inner, self.n, self.calls = inner, n, 0
        self.model_id, self.dim = inner.model_id, inner.dim

    def embed_passages(self, texts):
        self.calls += 1
        if self.calls >= self.n:
            raise LLMError("embedding request failed: connection refused")
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def failing_index(settings, n: int) -> Index:
    index = Index(settings)
    index._embedder = CachedEmbedder(FailsAfter(make_embedder(settings), n), EmbeddingCache(Path(settings.embed_cache)))
    return index


def test_a_failed_ingest_keeps_the_previous_index_answering(tmp_path, make_settings):
    settings = make_settings(tmp_path / "data", embed_cache=tmp_path / "cold.sqlite")
    a = Assistant(settings, answerer="extractive")
    assert a.ingest([folder(tmp_path / "old", OLD)]).ok
    before = a.ask(QUESTION)
    old_manifest = a.index.manifest()

    broken = Assistant(settings, answerer="extractive", index=failing_index(settings, n=3))
    with pytest.raises(ProposalError):
        broken.ingest([folder(tmp_path / "new", NEW)])
    # the same process and a fresh one both see the old index, whole and answering
    for b in (broken, Assistant(settings, answerer="extractive")):
        assert b.index.problems() == []
        assert b.index.manifest()["generation"] == old_manifest["generation"]
        assert {r["id"] for r in b.catalogue.rows()} == {n.removesuffix(".txt") for n in OLD}
        ans = b.ask(QUESTION)
        assert not ans.abstained and ans.answer == before.answer

    # the vectors computed before the failure were kept: the rerun embeds only the rest
    with sqlite3.connect(tmp_path / "cold.sqlite") as db:
        cached = db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
    again = Assistant(settings, answerer="extractive")
    report = again.ingest([tmp_path / "new"])
    assert report.ok and again.index.problems() == []
    assert {r["id"] for r in again.catalogue.rows()} == {n.removesuffix(".txt") for n in OLD + NEW}
    assert 0 < report.embedded < report.added, (cached, report.embedded, report.added)


class DyingEmbeddings(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/embeddings that answers ``budget`` requests, then refuses."""

    budget = [10**9]
    lock = threading.Lock()

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with self.lock:
            self.budget[0] -= 1
            alive = self.budget[0] >= 0
        if not alive:
            self.connection.close()  # the server is gone: no HTTP answer at all
            return
        inputs = body.get("input") or []
        inputs = [inputs] if isinstance(inputs, str) else inputs
        data = [{"object": "embedding", "index": i,
                 "embedding": (np.frombuffer(hashlib.sha256(str(t).encode()).digest(), np.uint8)[:16] / 255.0).tolist()}
                for i, t in enumerate(inputs)]
        out = json.dumps({"object": "list", "data": data, "model": body.get("model"),
                          "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def test_a_dead_embedding_server_is_a_clear_error_and_changes_nothing(tmp_path, make_settings):
    with LoopbackServer(DyingEmbeddings) as srv:
        settings = make_settings(tmp_path / "data", embedder="openai", openai_base_url=srv.base_url,
                                 openai_api_key="sk-test", llm_retries=0, llm_timeout=5,
                                 embed_cache=tmp_path / "openai.sqlite")
        a = Assistant(settings, answerer="extractive")
        assert a.ingest([folder(tmp_path / "old", OLD)]).ok
        DyingEmbeddings.budget[0] = 2  # two more requests, then the server is gone mid-ingest
        with pytest.raises(LLMError) as e:
            a.ingest([folder(tmp_path / "new", NEW)])
        assert "127.0.0.1" in str(e.value) and "sk-test" not in str(e.value)
        assert a.index.problems() == [] and a.index.manifest()["state"] == "clean"
        assert a.catalogue.counts()["proposals"] == len(OLD)
        assert not a.ask(QUESTION).abstained  # the previous index answers on (by BM25 while dense is down)
        DyingEmbeddings.budget[0] = 10**9  # the server is back: the rerun completes
        assert a.ingest([tmp_path / "new"]).ok and a.index.problems() == []


DRIVER = r"""
import sys
from pathlib import Path
from rag.answer.assistant import Assistant
from rag.core.settings import Settings
data, cache, *paths = sys.argv[1:]
a = Assistant(Settings(_env_file=None, data_dir=Path(data), embed_cache=Path(cache)), answerer="extractive")
a.ingest(paths, progress=lambda stage, done, total: print(stage, done, total, flush=True))
print("done", flush=True)
"""


@pytest.mark.slow
def test_kill_9_during_a_cold_ingest_resumes_from_the_cache(tmp_path, make_settings):
    corpus = folder(tmp_path / "corpus", OLD + NEW)
    cache = tmp_path / "cold.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CHROMA_HOST", "CHROMA_PORT")}
    p = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path / "data"), str(cache), str(corpus)],
                         cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    for line in p.stdout:  # killed after the second batch of vectors is committed
        stage, done, total = (line.split() + ["", "", ""])[:3]
        if stage == "embed" and int(done) >= 64 and int(done) < int(total):
            p.send_signal(signal.SIGKILL)
            break
    p.wait(timeout=600)
    assert p.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    with sqlite3.connect(cache) as db:
        kept = db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
    assert kept >= 64
    a = Assistant(make_settings(tmp_path / "data", embed_cache=cache), answerer="extractive")
    assert a.index.problems() == []  # killed before any store was written: the (empty) index stands
    report = a.ingest([corpus])
    assert report.ok and a.index.problems() == []
    assert report.embedded <= report.added - 64


# ---- duplicate ids across ingests -----------------------------------------------------------

def test_an_id_from_another_file_is_reported_and_skipped(tmp_path, make_settings):
    a = Assistant(make_settings(tmp_path / "data"), answerer="extractive")
    first = folder(tmp_path / "first", OLD)
    assert a.ingest([first]).ok
    other = tmp_path / "other"
    other.mkdir()
    text = (SAMPLES / OLD[0]).read_text(encoding="utf-8")
    (other / "copy.txt").write_text(text.replace("生活垃圾", "生活废物"), encoding="utf-8")
    report = a.ingest([other])
    assert not report.ok and report.proposals_changed == 0
    (e,) = report.failures
    assert e.path.endswith("copy.txt") and "20210301" in e.reason and str(first / OLD[0]) in e.reason
    assert "--replace" in str(e)
    assert a.proposal("20210301").source == str((first / OLD[0]).resolve())

    # the same file again, changed: it is its own proposal, so it replaces it
    (first / OLD[0]).write_text(text.replace("生活垃圾", "城市垃圾", 1), encoding="utf-8")
    assert a.ingest([first]).ok and "城市垃圾" in a.proposal("20210301").text
    # another file with --replace (replace=True) takes over
    report = a.ingest([other], replace=True)
    assert report.ok and report.proposals_changed == 1
    assert a.proposal("20210301").source.endswith("copy.txt") and a.index.problems() == []


def test_a_library_upload_with_a_known_id_is_reported_and_skipped(tmp_path, make_settings):
    from ui.handlers import Handlers

    a = Assistant(make_settings(tmp_path / "data"), answerer="extractive")
    assert a.ingest([folder(tmp_path / "first", OLD)]).ok
    upload = tmp_path / "upload" / "另一个文件.txt"
    upload.parent.mkdir()
    upload.write_text((SAMPLES / OLD[0]).read_text(encoding="utf-8").replace("生活垃圾", "生活废物"), encoding="utf-8")
    h = Handlers(a)
    summary, errors, _, _ = h.ingest_uploads([str(upload)], progress=lambda *a, **k: None)
    assert "另一个文件.txt" in errors and "20210301" in errors
    assert "生活废物" not in a.proposal("20210301").text
    # asked for (the 资料库 checkbox), the upload replaces it
    h.ingest_uploads([str(upload)], replace=True, progress=lambda *a, **k: None)
    assert "生活废物" in a.proposal("20210301").text


# ---- what a folder or a named file contributes ----------------------------------------------

def test_utf16_files_decode(tmp_path, make_settings):
    d = tmp_path / "c"
    d.mkdir()
    text = (SAMPLES / OLD[0]).read_text(encoding="utf-8")
    (d / "le.txt").write_bytes(text.encode("utf-16"))  # with BOM, as Windows writes "Unicode"
    (d / "be.txt").write_bytes(b"\xfe\xff" + text.replace("20210301", "20210302").encode("utf-16-be"))
    report = Ingester(Index(make_settings(tmp_path / "data")), sentence_vectors=False).run([d])
    assert report.ok, report.failures
    assert report.proposals == 2


def test_a_broken_link_in_a_folder_is_reported(tmp_path, make_settings):
    d = folder(tmp_path / "c", OLD[:1])
    (d / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    report = Ingester(Index(make_settings(tmp_path / "data")), sentence_vectors=False).run([d])
    (e,) = report.failures
    assert e.path.endswith("gone.txt") and "broken symbolic link" in e.reason and report.proposals == 1


def test_a_named_file_and_a_folder_take_the_same_suffixes(tmp_path, make_settings):
    d = folder(tmp_path / "c", OLD[:1])
    md = d / "20220077.md"
    shutil.copy(SAMPLES / OLD[1], md)
    index = Index(make_settings(tmp_path / "data"))
    from_folder = Ingester(index, sentence_vectors=False).run([d])
    named = Ingester(index, sentence_vectors=False).run([md])
    assert from_folder.ok and from_folder.files == 1
    (e,) = named.failures
    assert "unsupported file type '.md'" in e.reason and named.files == 0
    assert index.catalogue.proposal("20220077") is None


def test_warm_up_with_the_embedding_server_down_is_a_warning_not_a_crash(tmp_path, make_settings, caplog):
    """`proposals serve` warms the assistant at start; a dead embedding server must not stop it."""
    with LoopbackServer(DyingEmbeddings) as srv:
        settings = make_settings(tmp_path / "data", embedder="openai", openai_base_url=srv.base_url,
                                 openai_api_key="sk-test", llm_retries=0, llm_timeout=5,
                                 embed_cache=tmp_path / "openai.sqlite")
        DyingEmbeddings.budget[0] = 10**9
        a = Assistant(settings, answerer="extractive")
        assert a.ingest([folder(tmp_path / "old", OLD)]).ok
        DyingEmbeddings.budget[0] = 0  # the server is gone
        a.warm()
        assert "warm-up of the retrievers failed" in caplog.text
        assert not a.ask(QUESTION).abstained  # BM25 and the selector's no-vector model answer
