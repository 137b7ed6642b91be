"""A real ``chroma run`` server on 127.0.0.1 for the store contract tests and the benchmarks.

    with ChromaServer(tmp_path / "srv") as srv:
        settings = Settings(data_dir=..., chroma_host=srv.host, chroma_port=srv.port)

It picks a free port, waits for the heartbeat, and stops the server (its process group) on exit.
Plain Python, no pytest: ``bench/`` starts servers with it too.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


class ChromaServerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def chroma_executable() -> str | None:
    return shutil.which("chroma")


class ChromaServer:
    def __init__(self, path: Path, host: str = "127.0.0.1", port: int | None = None, timeout: float = 60.0):
        self.path = Path(path)
        self.host = host
        self.port = port or free_port(host)
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.log = self.path.with_name(self.path.name + ".log")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "ChromaServer":
        exe = chroma_executable()
        if exe is None:
            raise ChromaServerError("the `chroma` command is not installed (it comes with chromadb)")
        self.path.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, RUST_LOG="warn", ANONYMIZED_TELEMETRY="False")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([exe, "run", "--path", str(self.path), "--host", self.host,
                                          "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ChromaServerError(f"chroma run exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise ChromaServerError(f"chroma run did not answer on {self.url} within {self.timeout:.0f}s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass

    def peak_rss_kb(self) -> int | None:
        """The server's peak resident memory (VmHWM), while it runs."""
        if self.proc is None:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self) -> "ChromaServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
