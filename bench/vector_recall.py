"""How exact is Chroma's HNSW search for e5 vectors? Recall of the dense run against exact
search, per ``ef_search`` (HNSW's candidate list per query).

    python -m bench.vector_recall                                  # the combined CV index (bench.cv_data)
    python -m bench.vector_recall --data DIR --ef 100,200,300,500 --k 50

The questions of the dev sets and the samples are embedded as the assistant embeds them; each
``ef_search`` runs in its own process on a copy of the index (Chroma applies a changed value
when it loads the index), and its top-k is compared with exact cosine search over the
collection's own vectors. Prints, per value: the share of runs whose top-k set differs from
the exact one, the mean recall@k, and the mean query time.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def questions() -> list[str]:
    from bench.cv_data import available, load

    return [q["question"] for d in available() for q in load(d)]


def probe(data_dir: Path, collection: str, ef: int, queries: Path, k: int) -> dict:
    """In this process: open the store as the assistant does (``ef_search`` set before the
    index loads), then query it."""
    from rag.stores.chroma_store import ChromaStore

    store = ChromaStore.open(data_dir, collection, ef_search=ef)
    got = store.col.get(include=["embeddings"])
    ids = got["ids"]
    E = np.asarray(got["embeddings"], dtype=np.float64)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    Q = np.load(queries)
    differ, recall, secs = 0, [], 0.0
    for q in Q:
        exact = {ids[i] for i in np.argsort(-(E @ (q / np.linalg.norm(q))))[:k]}
        t = time.perf_counter()
        found = {c.id for c, _ in store.query(q, k)}
        secs += time.perf_counter() - t
        differ += found != exact
        recall.append(len(found & exact) / len(exact))
    return {"ef_search": ef, "queries": len(Q), "chunks": len(ids), "runs_differing": differ / len(Q),
            "recall": float(np.mean(recall)), "ms_per_query": 1000 * secs / len(Q)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/tmp/proposals-cv/idx-combined", help="a data directory (after ingest)")
    ap.add_argument("--collection", default="proposals")
    ap.add_argument("--ef", default="100,200,300,500")
    ap.add_argument("--k", type=int, default=50, help="the depth of the dense run (bench.cv_data's DEPTH)")
    ap.add_argument("--probe", nargs=3, metavar=("DATA_DIR", "EF", "QUERIES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        print(json.dumps(probe(Path(args.probe[0]), args.collection, int(args.probe[1]), Path(args.probe[2]), args.k)))
        return

    from rag.core.settings import Settings
    from rag.stores.index import Index

    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        idx = Index(Settings(data_dir=data, embed_cache=data.parent / "emb.sqlite"))
        Q = np.asarray([idx.embedder.embed_query(q) for q in questions()], dtype=np.float32)
        np.save(Path(tmp) / "q.npy", Q)
        del idx
        print(f"{'ef_search':>10}{'runs differing':>16}{f'recall@{args.k}':>12}{'ms/query':>10}")
        for ef in (int(x) for x in args.ef.split(",")):
            copy = Path(tmp) / f"ef-{ef}"
            shutil.copytree(data / "chroma", copy / "chroma")
            out = subprocess.run([sys.executable, "-m", "bench.vector_recall", "--collection", args.collection,
                                  "--k", str(args.k), "--probe", str(copy), str(ef), str(Path(tmp) / "q.npy")],
                                 cwd=ROOT, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{ef:>10}{r['runs_differing']:>16.3f}{r['recall']:>12.4f}{r['ms_per_query']:>10.2f}", flush=True)
        print(f"({r['queries']} questions, {r['chunks']} chunks)")


if __name__ == "__main__":
    main()
