"""Questions against a running app while it ingests: N concurrent chat clients × M questions
over HTTP, during a K-file import through the app's 资料库 path (``Handlers.ingest_uploads``,
the handler behind the 导入 button, called in the app's process).

    python -m bench.concurrent_ingest                         # 20 × 10 during a 40-file ingest
    python -m bench.concurrent_ingest --clients 5 --questions 4 --files 10 --cache /tmp/emb.sqlite

The old state is ``samples/``; the new files come from ../shared (devset2 and devset corpora).
Questions mix the sample eval questions (answerable before and after) with "<id>是谁提的？"
about the incoming proposals (answerable after). Prints the errors (goal: 0), how many answers
were given while the ingest ran, latency p50/p95, and every cited paragraph that belongs to
neither the old nor the new state (goal: none).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evals.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CHUNK = re.compile(r'data-chunk="([^"]+)"')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="per client")
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--cache", type=Path, help="embedding cache to use (default: a cold one in the work folder)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds allowed per question")
    args = ap.parse_args(argv)
    incoming = sorted((SHARED / "devset2" / "corpus").glob("*.txt")) + sorted((SHARED / "devset" / "corpus").glob("*.txt"))
    if len(incoming) < args.files:
        print(f"needs {args.files} proposal files under {SHARED} (devset2, devset); found {len(incoming)}")
        return 2
    incoming = incoming[: args.files]

    from gradio_client import Client

    from bench.load_ui import check_answer, last_turn
    from rag.answer.assistant import Assistant
    from rag.core.settings import Settings
    from ui.app import build_app, launch
    from ui.handlers import Handlers

    work = Path(tempfile.mkdtemp(prefix="concurrent-ingest-"))
    try:
        settings = Settings(_env_file=None, data_dir=work / "data", embed_cache=args.cache or work / "emb.sqlite")
        a = Assistant(settings, answerer="extractive")
        t = time.perf_counter()
        a.ingest([ROOT / "samples"])
        print(f"old state: samples/ ingested in {time.perf_counter() - t:.0f} s, "
              f"{a.catalogue.counts()['proposals']} proposals")
        old = set(a.catalogue.chunk_hashes())
        h = Handlers(a)
        demo = build_app(a, handlers=h)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        launch(demo, port=port, block=False, quiet=True)
        url = f"http://127.0.0.1:{port}/"

        from ingest.parser import parse_file

        new_ids = [parse_file(f).id for f in incoming]
        samples_q = [json.loads(x)["question"] for x in (ROOT / "evals/datasets/samples/questions.jsonl")
                     .read_text(encoding="utf-8").splitlines() if x.strip()]
        plans = [[(samples_q[(c * args.questions + j) % len(samples_q)] if j % 2 == 0
                   else f"{new_ids[(c + j) % len(new_ids)]}是谁提的？") for j in range(args.questions)]
                 for c in range(args.clients)]
        clients = [Client(url, verbose=False) for _ in range(args.clients)]
        # warm-up in a session of its own (each client's transcript must hold only its own questions)
        Client(url, verbose=False).submit(samples_q[0], "", "", "", "", api_name="/chat").result(timeout=args.timeout)

        ingest_running = threading.Event()
        ingest_out: dict = {}

        def run_ingest() -> None:
            ingest_running.set()
            t0 = time.perf_counter()
            try:
                ingest_out["result"] = h.ingest_uploads([str(f) for f in incoming], progress=lambda *x, **k: None)
            except Exception as e:  # noqa: BLE001
                ingest_out["error"] = repr(e)
            ingest_out["s"] = time.perf_counter() - t0
            ingest_running.clear()

        results: list[dict] = []
        lock = threading.Lock()

        def client(i: int) -> None:
            turns = 0
            for q in plans[i]:
                t0 = time.perf_counter()
                during = ingest_running.is_set()
                try:
                    # question, the three filters, the conversation id ("": this session's)
                    html = clients[i].submit(q, "", "", "", "", api_name="/chat").result(timeout=args.timeout)[0]
                    turns += 1
                    problem = check_answer(html, turns)
                    cited = set(CHUNK.findall(last_turn(html)))
                except Exception as e:  # noqa: BLE001
                    problem, cited = f"{type(e).__name__}: {e}", set()
                with lock:
                    results.append({"q": q, "ms": (time.perf_counter() - t0) * 1000, "problem": problem,
                                    "cited": cited, "during": during and ingest_running.is_set()})

        ing = threading.Thread(target=run_ingest)
        ing.start()
        ingest_running.wait()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(client, range(args.clients)))
        wall = time.perf_counter() - t0
        ing.join()
        new = set(a.catalogue.chunk_hashes())
        # after the import, each client asks about an incoming proposal: the answer must come
        # from the new state (it cites a paragraph of that proposal)
        after: list[dict] = []

        def client_after(i: int) -> None:
            pid = new_ids[i % len(new_ids)]
            try:
                html = clients[i].submit(f"{pid}是谁提的？", "", "", "", "", api_name="/chat").result(timeout=args.timeout)[0]
                last = last_turn(html)
                cited = set(CHUNK.findall(last))
                ok = 'class="bubble answer"' in last and any(c.split(":", 1)[0] == pid for c in cited)
                problem = None if ok else "not answered from the new state"
            except Exception as e:  # noqa: BLE001
                problem = f"{type(e).__name__}: {e}"
            with lock:
                after.append({"q": f"{pid}是谁提的？", "problem": problem})

        if "error" not in ingest_out:
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(client_after, range(args.clients)))
        demo.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    errors = [r for r in results if r["problem"]]
    stray = sorted({c for r in results for c in r["cited"] if c not in old | new})
    lat = [r["ms"] for r in results]
    print(f"ingest through the app: {args.files} files in {ingest_out.get('s', 0):.0f} s"
          + (f" — FAILED: {ingest_out['error']}" if "error" in ingest_out else ""))
    print(f"{args.clients} clients × {args.questions} questions = {len(results)} in {wall:.0f} s; "
          f"answered while the ingest ran: {sum(r['during'] for r in results)}")
    if lat:
        print(f"latency per question: p50 {percentile(lat, 50):.0f} ms · p95 {percentile(lat, 95):.0f} ms · "
              f"max {max(lat):.0f} ms")
    print(f"errors: {len(errors)}")
    late = [r for r in after if r["problem"]]
    print(f"after the import: {len(after)} questions about incoming proposals, "
          f"{len(after) - len(late)} answered from the new state")
    errors += late
    for r in errors[:20]:
        print(f"  {r['q']!r}: {r['problem']}")
    print(f"cited paragraphs in neither the old nor the new state: {len(stray)} {stray[:5]}")
    return 1 if errors or stray or "error" in ingest_out else 0


if __name__ == "__main__":
    sys.exit(main())
