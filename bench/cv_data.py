"""The question runs that the selector and ranker are fitted and cross-validated on.

    python -m bench.cv_data                 # build (or reuse) the indexes and the run cache

Three question sets (../shared/devset, ../shared/devset2, the project's samples) are asked
on their own corpus and on all three corpora ingested together (the other proposals are
distractors). The indexes share one embedding cache, so each text is embedded once. Per
question the run cache keeps what the answer step needs, computed once: the analysed query,
which answer path it takes, the dense and BM25 runs (depth 50) with scores, the query
vector, and the current answer's metrics. Fitting then needs no model and no re-ingest.

Indexes and runs are rebuilt whenever the code, weights, word lists or data they come from
change (``inputs_digest``), so one work directory serves one process at a time: a second
bench command started meanwhile may rebuild an index under the first. Give parallel runs
their own ``--work``.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from evals.dataset import Evidence, Question  # noqa: E402
from evals.metrics import question_metrics  # noqa: E402

DATASETS = {"devset": (SHARED / "devset/questions.jsonl", SHARED / "devset/corpus"),
            "devset2": (SHARED / "devset2/questions.jsonl", SHARED / "devset2/corpus"),
            "samples": (ROOT / "evals/datasets/samples/questions.jsonl", ROOT / "samples")}
# real questions on topics the corpus does not cover (CMRC 2018 dev, read in place): asked on the
# combined corpus as unanswerable ones, so that the refusal model learns what off-topic looks like
CMRC = SHARED / "benchmarks/cmrc2018/cmrc2018_dev.json"
OFFTOPIC = 150  # the first question of each of the first 150 paragraphs
CORPORA = {"devset": ["devset"], "devset2": ["devset2"], "samples": ["samples"],
           "combined": ["devset", "devset2", "samples"]}
DEPTH = 50
CACHE_VERSION = 6
# what the indexes and runs are computed from: a change to any of these makes them stale
# (a version constant alone lets a cache outlive the code or weights that built it)
SOURCES = ("rag", "ingest", "evals/dataset.py", "evals/metrics.py", "bench/cv_data.py", "bench/fit_ranker.py",
           "bench/fit_selector.py", "bench/selector_data.py")


@dataclass
class Record:
    dataset: str
    qid: str
    type: str
    question: str
    history: list[str]
    facts: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    group: str                 # the proposal the question is about (grouped CV)
    path: str                  # "fact" (extractive sentence selection) or the fixed path taken
    query: str = ""
    search: str = ""           # what retrieval searched (a resolved follow-up), "" when the query
    department: str | None = None
    known_share: float = 1.0
    dense: list[tuple[str, float]] = field(default_factory=list)
    bm25: list[tuple[str, float]] = field(default_factory=list)
    qvec: np.ndarray | None = None
    baseline: dict = field(default_factory=dict)  # metrics of the current end-to-end answer
    latency_ms: float = 0.0

    def as_question(self) -> Question:
        return Question(self.qid, self.question, self.type, self.facts, self.evidence)


def load(name: str) -> list[dict]:
    if name == "offtopic":
        data = json.loads(CMRC.read_text(encoding="utf-8"))["data"]
        paras = [p for d in data for p in d["paragraphs"]][:OFFTOPIC]
        return [{"id": "cmrc-" + p["qas"][0]["id"], "question": p["qas"][0]["question"], "type": "unanswerable"}
                for p in paras if p.get("qas")]
    path = DATASETS[name][0]
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def available() -> list[str]:
    return [n for n, (q, c) in DATASETS.items() if q.exists() and c.exists()]


def work_dir(base: Path | None = None) -> Path:
    return Path(base or "/tmp/proposals-cv")


def inputs_digest(root: Path = ROOT, data: bool = True) -> str:
    """A digest of the code, shipped weights and word lists under ``SOURCES`` and (``data``) of the
    question sets and corpora: the key of every cache built here."""
    import hashlib

    h = hashlib.sha1()
    files = []
    for s in SOURCES:
        p = root / s
        files += sorted(f for f in p.rglob("*") if f.suffix in (".py", ".json", ".txt", ".yaml")) if p.is_dir() else [p]
    if data:
        for q, c in DATASETS.values():
            files += [q, *sorted(c.glob("*"))] if q.exists() and c.exists() else []
        files += [CMRC] if CMRC.exists() else []
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root) if f.is_relative_to(root) else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


@cache
def current_digest() -> str:
    """``inputs_digest`` of this checkout, computed once per process: every cache a command
    reads is checked against the same inputs (and hashing them once is enough)."""
    return inputs_digest()


def open_index(corpus: str, base: Path):
    """The assistant over ``corpus``, ingested on first use, and again when the code or data it
    was built from changed (``inputs_digest``)."""
    import shutil

    from rag.answer.assistant import Assistant
    from rag.core.settings import Settings

    idx, digest = base / f"idx-{corpus}", current_digest()
    mark = base / f"idx-{corpus}.digest"
    if idx.exists() and (not mark.exists() or mark.read_text() != digest):
        shutil.rmtree(idx)
    s = Settings(data_dir=idx, embed_cache=base / "emb.sqlite")
    a = Assistant(s, retriever="hybrid", answerer="extractive")
    paths = [str(DATASETS[d][1]) for d in CORPORA[corpus] if d in available()]
    if not a.catalogue.counts()["proposals"]:
        a.ingest(paths)
    mark.write_text(digest)  # after the ingest: a half-built index is never taken as current
    print(f"  {corpus}: {a.catalogue.counts()}", flush=True)
    return a


def answer_path(a, turn) -> str:
    """Which answerer the pipeline uses for this question ("fact": the extractive selector)."""
    from rag.answer.catalogue_answers import MetaAnswerer
    from rag.answer.answerer import Request

    intent = turn.analysis.intent
    if intent != "fact" and intent != "meta":
        return intent  # catalogue, list, summary, needs_context, outline: their own answerers
    if intent == "meta":
        a._retrieve(turn)
        if MetaAnswerer(a.catalogue).answer(Request(turn.analysis, turn.hits, turn.hits)) is not None:
            return "meta"
    return "fact"


def runs(a, query: str, filters):
    """The dense and BM25 runs exactly as the hybrid retriever makes them (with its fallback
    to no filters when the question's own filters leave nothing)."""
    r = a.retriever
    dense, bm = r.dense.retrieve(query, DEPTH, filters), r.bm25.retrieve(query, DEPTH, filters)
    if not dense and not bm and filters is not None and not filters.is_empty():
        dense, bm = r.dense.retrieve(query, DEPTH, None), r.bm25.retrieve(query, DEPTH, None)
    return dense, bm


def build(corpus: str, datasets: list[str], base: Path) -> list[Record]:
    from rag.answer.chain import Turn
    from rag.retrieval.retrievers import known_share

    a = open_index(corpus, base)
    a.ask("课后服务怎么收费？")  # warm: models, jieba, caches
    out = []
    for ds in datasets:
        for q in load(ds):
            ev = tuple(Evidence(str(e["proposal"]), e["section"], e.get("department"), str(e["quote"]))
                       for e in q.get("evidence", []))
            rec = Record(ds, q["id"], q["type"], q["question"], list(q.get("history") or []),
                         tuple(q.get("answer_facts") or []), ev, ev[0].proposal if ev else "", "")
            t0 = time.perf_counter()
            ans = a.ask(q["question"], history=rec.history)
            rec.latency_ms = (time.perf_counter() - t0) * 1000
            rec.baseline = question_metrics(rec.as_question(), ans.to_json())
            turn = a._analyse(Turn(question=q["question"], history=rec.history))
            rec.path = answer_path(a, turn)
            an = turn.analysis
            rec.query, rec.department = an.query, an.filters.department
            rec.search = an.search_text if an.search_text != an.query else ""
            dense, bm = runs(a, an.search_text, an.filters)
            rec.dense = [(h.chunk.id, float(h.score)) for h in dense]
            rec.bm25 = [(h.chunk.id, float(h.score)) for h in bm]
            rec.known_share = known_share(an.search_text, a.index.bm25)
            rec.qvec = np.asarray(a.index.embedder.embed_query(an.query), dtype=np.float32)  # the selector's query
            if not rec.group:
                # unanswerable: the proposal its words come from, that of its best dense hit (not
                # of the fused ranking or the answer, which move whenever a fitted part changes,
                # and the folds with them)
                rec.group = dense[0].chunk.proposal_id if dense else bm[0].chunk.proposal_id if bm else q["id"]
            out.append(rec)
    return out


def cached(corpus: str, base: Path | None = None, rebuild: bool = False) -> list[Record]:
    """The run cache of ``corpus`` (its own questions, or all of them for "combined")."""
    base = work_dir(base)
    f = base / f"runs-{corpus}.pkl"
    key = (CACHE_VERSION, current_digest())
    if f.exists() and not rebuild:
        v, recs = pickle.loads(f.read_bytes())
        if v == key:
            return recs
    base.mkdir(parents=True, exist_ok=True)
    datasets = [d for d in CORPORA[corpus] if d in available()]
    if corpus == "combined" and CMRC.exists():
        datasets.append("offtopic")
    recs = build(corpus, datasets, base)
    f.write_bytes(pickle.dumps((key, recs)))
    return recs


def stamp(base: Path | None = None) -> str:
    """A digest of every run cache under ``base`` (each keyed by ``inputs_digest``): rows built
    from the runs keep it, so that rows never outlive the runs, code or weights they came from."""
    import hashlib

    h = hashlib.sha1()
    for f in sorted(work_dir(base).glob("runs-*.pkl")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=None, help="indexes and caches (default /tmp/proposals-cv)")
    ap.add_argument("--corpus", action="append", choices=list(CORPORA))
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    for c in args.corpus or ["combined", "devset", "devset2", "samples"]:
        t = time.perf_counter()
        recs = cached(c, Path(args.work) if args.work else None, args.rebuild)
        print(f"{c}: {len(recs)} questions, {sum(r.path == 'fact' for r in recs)} on the fact path "
              f"({time.perf_counter() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    # run from the importable module, so that the cache pickles bench.cv_data.Record (not
    # __main__.Record, which only a script that imports Record into its own namespace can read)
    from bench.cv_data import main as _main

    _main()
