"""Load on the app: N concurrent chat sessions against a running `proposals serve` on loopback.

    python -m bench.load_ui --url http://127.0.0.1:7860            # an app already running
    python -m bench.load_ui --data-dir /tmp/x                       # start one on a free port, then load it

Each session is its own Gradio client (its own browser-like session and conversation state)
and asks ``--turns`` questions of the sample eval set in a row (the earlier ones go along as history).
All sessions start together, after one warm-up question (reported apart). Prints every error
(goal: none) and the latency of a question, from sending it to the final answer, as p50 / p95 /
max. Bounded by ``--timeout`` per question.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from evals.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "evals" / "datasets" / "samples" / "questions.jsonl"


@dataclass
class SessionResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def questions(path: Path) -> list[str]:
    return [json.loads(x)["question"] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def last_turn(transcript: str) -> str:
    """The HTML of the transcript's last question and what came after it."""
    return transcript.rsplit('<div class="bubble question">', 1)[-1]


def check_answer(transcript: str, turn: int) -> str | None:
    """None when the last bubble of the transcript is an answer or a refusal; else what went wrong."""
    bubbles = transcript.count('<div class="bubble question">')
    if bubbles != turn:
        return f"transcript has {bubbles} questions, expected {turn} (session state lost?)"
    last = last_turn(transcript)
    if 'class="bubble error"' in last:
        return "error bubble: " + last.split('class="bubble error">', 1)[1].split("<", 1)[0]
    if 'class="bubble answer"' not in last and 'class="bubble refusal"' not in last:
        return "no answer in the transcript"
    return None


def session(url: str, qs: list[str], start: threading.Barrier, timeout: float) -> SessionResult:
    from gradio_client import Client

    out = SessionResult()
    try:
        client = Client(url, verbose=False)
    except Exception as e:  # noqa: BLE001 — a load test reports every failure, it does not stop
        out.errors.append(f"connect: {e}")
        start.wait()
        return out
    start.wait()
    for n, q in enumerate(qs, 1):
        t0 = time.perf_counter()
        try:
            job = client.submit(q, "", "", "", "", api_name="/chat")  # question, filters, conversation id
            transcript = job.result(timeout=timeout)[0]
            problem = check_answer(transcript, n)
        except Exception as e:  # noqa: BLE001
            problem = f"{type(e).__name__}: {e}"
        out.latencies_ms.append((time.perf_counter() - t0) * 1000)
        if problem:
            out.errors.append(f"{q!r}: {problem}")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: str, wait_s: float = 120) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--data-dir", data_dir], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the app did not answer on {url} within {wait_s:.0f}s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running app (loopback); default: start one with --data-dir")
    ap.add_argument("--data-dir", help="index to serve when starting the app here (ingest samples/ into it first)")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--turns", type=int, default=3, help="questions per session")
    ap.add_argument("--timeout", type=float, default=120, help="seconds allowed per question")
    ap.add_argument("--questions", type=Path, default=QUESTIONS)
    args = ap.parse_args(argv)
    if not args.url and not args.data_dir:
        ap.error("give --url of a running app or --data-dir to start one")

    proc = None
    url = args.url
    if not url:
        proc, url = start_app(args.data_dir)
    try:
        qs = questions(args.questions)
        warm = session(url, [qs[-1]], threading.Barrier(1), args.timeout)  # models load on the first question
        print(f"warm-up question: {warm.latencies_ms[0] if warm.latencies_ms else float('nan'):.0f} ms"
              + (f" ({warm.errors[0]})" if warm.errors else ""))
        plans = [[qs[(i * args.turns + j) % len(qs)] for j in range(args.turns)] for i in range(args.sessions)]
        barrier = threading.Barrier(args.sessions)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.sessions) as pool:
            results = list(pool.map(lambda p: session(url, p, barrier, args.timeout), plans))
        wall = time.perf_counter() - t0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    lat = [x for r in results for x in r.latencies_ms]
    errors = [e for r in results for e in r.errors]
    print(f"app {url} · {args.sessions} concurrent sessions × {args.turns} questions = {len(lat)} requests "
          f"in {wall:.1f}s ({len(lat) / wall:.2f} answers/s)")
    if lat:
        print(f"latency per question: p50 {percentile(lat, 50):.0f} ms · p95 {percentile(lat, 95):.0f} ms · "
              f"max {max(lat):.0f} ms")
    print(f"errors: {len(errors)}")
    for e in errors:
        print(f"  {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
