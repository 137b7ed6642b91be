"""One writer, many readers: a running app is the only process that writes an embedded
Chroma, so a CLI ingest into its data directory is refused with a message that says what to
do, and the app answers on; with a Chroma server several processes may write, and the app
picks up each completed ingest (the manifest's generation) without erroring in between."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from ingest.parser import parse_file
from tests.chroma_server import ChromaServer, ChromaServerError, free_port
from tests.conftest import ROOT, SAMPLES

OLD = ["20210301.txt", "20220077.txt", "20230263.txt"]
NEW = ["20240118.txt", "20240342.txt", "20250129.txt"]


def env_for(data: Path, cache: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CHROMA_HOST", "CHROMA_PORT")}
    env.update(PROPOSALS_DATA_DIR=str(data), PROPOSALS_EMBED_CACHE=str(cache), COLUMNS="400",
               GRADIO_ANALYTICS_ENABLED="False", **extra)
    return env


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=900)


def folder(root: Path, names: list[str]) -> Path:
    root.mkdir(parents=True)
    for n in names:
        shutil.copy(SAMPLES / n, root / n)
    return root


class App:
    """A real `proposals serve` process on a free loopback port."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(self.port),
                                      "--answerer", "extractive"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read()[-3000:]
            try:
                urllib.request.urlopen(self.url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        from gradio_client import Client

        self.client = Client(self.url, verbose=False)

    def ask(self, question: str) -> str:
        """The last answer bubble's HTML; fails on an error bubble."""
        # question, the three filters, the conversation id ("": a new one)
        transcript = self.client.submit(question, "", "", "", "", api_name="/chat").result(timeout=300)[0]
        last = transcript.rsplit('<div class="bubble question">', 1)[-1]
        assert 'class="bubble error"' not in last, last[:600]
        assert 'class="bubble answer"' in last or 'class="bubble refusal"' in last, last[:600]
        return last

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=60)


def who(name: str) -> tuple[str, str]:
    p = parse_file(SAMPLES / name)
    return p.id, p.proposers[0]


@pytest.mark.slow
def test_a_cli_ingest_into_a_served_embedded_index_is_refused_and_the_app_answers_on(tmp_path, embed_cache):
    env = env_for(tmp_path / "data", embed_cache)
    assert cli("ingest", str(folder(tmp_path / "old", OLD)), env=env).returncode == 0
    app = App(env)
    try:
        old_id, old_person = who(OLD[0])
        assert old_person in app.ask(f"{old_id}是谁提的？")
        out = cli("ingest", str(folder(tmp_path / "new", NEW)), env=env)
        assert out.returncode == 1 and "Traceback" not in out.stderr
        assert f"the app at http://127.0.0.1:{app.port}" in out.stderr and "资料库" in out.stderr
        assert "CHROMA_HOST" in out.stderr
        for name in OLD:  # nothing changed under the app: it answers as before
            pid, person = who(name)
            assert person in app.ask(f"{pid}是谁提的？")
        stats = cli("stats", env=env)
        assert stats.returncode == 0 and '"proposals": 3' in stats.stdout
        app.stop(signal.SIGKILL)  # the claim dies with its process: no stale lock to clear by hand
        out = cli("ingest", str(tmp_path / "new"), env=env)
        assert out.returncode == 0, out.stderr
    finally:
        app.stop()


@pytest.mark.slow
def test_a_served_index_on_a_chroma_server_sees_each_completed_cli_ingest(tmp_path, embed_cache):
    try:
        srv = ChromaServer(tmp_path / "chroma").start()
    except ChromaServerError as e:
        pytest.skip(str(e))
    env = env_for(tmp_path / "data", embed_cache, CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(srv.port))
    app = None
    try:
        assert cli("ingest", str(folder(tmp_path / "old", OLD)), env=env).returncode == 0
        app = App(env)
        old_id, old_person = who(OLD[0])
        assert old_person in app.ask(f"{old_id}是谁提的？")
        errors: list[str] = []
        stop = threading.Event()

        def keep_asking() -> None:  # questions before, during and after the other process's ingest
            while not stop.is_set():
                try:
                    assert old_person in app.ask(f"{old_id}是谁提的？")
                except Exception as e:  # noqa: BLE001 - every failure is the finding
                    errors.append(repr(e))

        t = threading.Thread(target=keep_asking)
        t.start()
        try:
            out = cli("ingest", str(folder(tmp_path / "new", NEW)), env=env)
        finally:
            stop.set()
            t.join(timeout=600)
        assert out.returncode == 0, out.stderr
        assert errors == []
        for name in NEW:  # the app reopened its views on the new generation
            pid, person = who(name)
            assert person in app.ask(f"{pid}是谁提的？")
    finally:
        if app is not None:
            app.stop()
        srv.stop()


def test_the_writer_claim_names_its_holder(tmp_path, make_settings):
    from rag.core.errors import WriterBusyError
    from rag.stores.index import Index

    script = ("import sys, time; from pathlib import Path; from rag.core.settings import Settings; "
              "from rag.stores.index import Index; i = Index(Settings(_env_file=None, data_dir=Path(sys.argv[1]))); "
              "i.claim_writer('the app at http://127.0.0.1:1'); print('held', flush=True); time.sleep(120)")
    p = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "data")], cwd=ROOT, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        index = Index(make_settings(tmp_path / "data"))
        with pytest.raises(WriterBusyError) as e:
            index.claim_writer("`proposals ingest`")
        assert f"pid {p.pid}" in str(e.value) and "资料库" in str(e.value)
    finally:
        p.kill()
        p.wait()
    index.claim_writer("`proposals ingest`")  # free again once the holder is gone
    index.release_writer()
