"""Running the `proposals` command of this checkout as a real process, for the tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT

# the `proposals` command of this checkout (its console script may belong to another install)
PROPOSALS = [sys.executable, "-m", "rag.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(embed_cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PROPOSALS_"))}
    bin_dir = str(Path(sys.executable).parent)
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(ROOT),
               PROPOSALS_EMBED_CACHE=str(embed_cache),
               ANONYMIZED_TELEMETRY="False", **extra)
    return env


def start_api(data_dir: Path, embed_cache: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([*PROPOSALS, "api", "--port", str(port), "--data-dir", str(data_dir)], cwd=ROOT,
                            env=cli_env(embed_cache, **env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"proposals api exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise AssertionError("proposals api did not answer within 180 s")
