"""Load on the HTTP API: N concurrent clients, each asking M questions through the `openai`
client's /v1/chat/completions, against a running `proposals api` on loopback.

    python -m bench.load_api --url http://127.0.0.1:7861 --token T     # an API already running
    python -m bench.load_api --data-dir /tmp/x                          # start one on a free port, then load it

Each client is its own `openai.OpenAI` (its own connection pool) and asks its questions of the
sample eval set in a row, one request at a time; every other question is streamed. All clients
start together, after one warm-up question (reported apart). Prints every error (goal: none)
and the latency of a question, from sending it to the last byte of the answer, as p50 / p95 / max.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.load_ui import QUESTIONS, SessionResult, free_port, questions
from evals.metrics import percentile


def check(content: str, citations: list | None) -> str | None:
    if not content.strip():
        return "empty content"
    if citations is None:
        return "no citations field"
    markers = {c["marker"] for c in citations}
    missing = [m for m in markers if f"[{m}]" not in content]
    return f"citation markers {missing} not in the content" if missing else None


def ask(client, model: str, q: str, stream: bool) -> str | None:
    if not stream:
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": q}])
        msg = r.choices[0].message
        return check(msg.content or "", (msg.model_extra or {}).get("citations"))
    text, citations, finish = "", None, None
    for chunk in client.chat.completions.create(model=model, stream=True, messages=[{"role": "user", "content": q}]):
        ch = chunk.choices[0]
        text += ch.delta.content or ""
        if ch.finish_reason:
            finish, citations = ch.finish_reason, (ch.delta.model_extra or {}).get("citations")
    return check(text, citations) if finish == "stop" else f"stream ended without finish_reason ({finish})"


def client_run(url: str, token: str, model: str, qs: list[str], start: threading.Barrier,
               timeout: float) -> SessionResult:
    import openai

    out = SessionResult()
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=timeout)
    start.wait()
    for n, q in enumerate(qs):
        t0 = time.perf_counter()
        try:
            problem = ask(client, model, q, stream=n % 2 == 1)
        except Exception as e:  # noqa: BLE001 — a load test reports every failure, it does not stop
            problem = f"{type(e).__name__}: {e}"
        out.latencies_ms.append((time.perf_counter() - t0) * 1000)
        if problem:
            out.errors.append(f"{q!r}: {problem}")
    return out


def start_api(data_dir: str, token: str, wait_s: float = 180) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "api", "--host", "127.0.0.1", "--port", str(port),
                             "--data-dir", data_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PROPOSALS_API_TOKEN": token})
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the API exited; run `proposals api --data-dir …` by hand to see why")
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the API did not answer on {url} within {wait_s:.0f}s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running API (loopback), without /v1; default: start one with --data-dir")
    ap.add_argument("--data-dir", help="index to serve when starting the API here (ingest samples/ into it first)")
    ap.add_argument("--token", default=os.environ.get("PROPOSALS_API_TOKEN", "bench-token"))
    ap.add_argument("--model", default="proposals")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions-per-client", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=120, help="seconds allowed per question")
    ap.add_argument("--questions", type=Path, default=QUESTIONS)
    args = ap.parse_args(argv)
    if not args.url and not args.data_dir:
        ap.error("give --url of a running API or --data-dir to start one")

    proc = None
    url = args.url
    if not url:
        proc, url = start_api(args.data_dir, args.token)
    try:
        qs = questions(args.questions)
        warm = client_run(url, args.token, args.model, [qs[-1]], threading.Barrier(1), args.timeout)
        print(f"warm-up question: {warm.latencies_ms[0]:.0f} ms" + (f" ({warm.errors[0]})" if warm.errors else ""))
        m = args.questions_per_client
        plans = [[qs[(i * m + j) % len(qs)] for j in range(m)] for i in range(args.clients)]
        barrier = threading.Barrier(args.clients)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(lambda p: client_run(url, args.token, args.model, p, barrier, args.timeout),
                                    plans))
        wall = time.perf_counter() - t0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    lat = [x for r in results for x in r.latencies_ms]
    errors = [e for r in results for e in r.errors]
    print(f"API {url} · model {args.model} · {args.clients} concurrent clients × {m} questions = {len(lat)} "
          f"requests (half streamed) in {wall:.1f}s ({len(lat) / wall:.2f} answers/s)")
    print(f"latency per question: p50 {percentile(lat, 50):.0f} ms · p95 {percentile(lat, 95):.0f} ms · "
          f"max {max(lat):.0f} ms")
    print(f"errors: {len(errors)}")
    for e in errors:
        print(f"  {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
