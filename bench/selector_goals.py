"""End-to-end figures of the shipped selector and ranker, per question type, on each corpus.

    python -m bench.selector_goals                      # devset, devset2, samples and combined
    python -m bench.selector_goals --corpus combined

Every question (with its history) goes through ``Assistant.ask`` on the indexes of
``bench.cv_data`` (built on first use). These are in-sample figures for the shipped weights;
the cross-validated ones are printed by ``python -m bench.fit_selector``. Metrics as in
``evals/metrics.py``; paragraph hit@5 over the answer's contexts; quotes verbatim = share of
citation quotes found in the cited proposal's source file; latency of ``ask`` in a warm process.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cv_data import CORPORA, DATASETS, Record, available, cached, open_index, work_dir  # noqa: E402
from evals.corpus import CorpusView  # noqa: E402
from evals.metrics import paragraph_hit, percentile, question_metrics  # noqa: E402

COLS = ("fact_recall", "refusal_rate", "false_refusal_rate", "hit@5", "verbatim")


def run(corpus: str, base: Path) -> tuple[dict, list[float]]:
    recs: list[Record] = cached(corpus, base)
    a = open_index(corpus, base)
    views = [CorpusView.load(DATASETS[d][1]) for d in CORPORA[corpus] if d in available()]
    a.ask("课后服务怎么收费？")
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    lat = []
    for r in recs:
        t0 = time.perf_counter()
        ans = a.ask(r.question, history=r.history)
        if r.dataset != "offtopic":
            lat.append((time.perf_counter() - t0) * 1000)
        j = ans.to_json()
        m = question_metrics(r.as_question(), j)
        if r.evidence and r.type != "unanswerable" and j["contexts"]:
            m["hit@5"] = paragraph_hit([c["text"] for c in j["contexts"]], r.evidence, 5)
        if ans.citations:
            m["verbatim"] = statistics.fmean(
                any(v.quote_in_source(c.quote, c.proposal_id) for v in views) for c in ans.citations)
        # the CMRC questions asked on the combined corpus are reported apart from the dev sets' own
        kind = "offtopic" if r.dataset == "offtopic" else r.type
        for k, v in m.items():
            acc[kind][k].append(v)
            if kind != "offtopic":
                acc["ALL"][k].append(v)
    return {t: {k: statistics.fmean(v) for k, v in d.items()} for t, d in acc.items()}, lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=None)
    ap.add_argument("--corpus", action="append", choices=list(CORPORA))
    args = ap.parse_args()
    base = work_dir(Path(args.work) if args.work else None)
    for c in args.corpus or ["devset", "devset2", "samples", "combined"]:
        fig, lat = run(c, base)
        print(f"\n{c}: {'type':<13}" + "".join(f"{k:>20}" for k in COLS))
        for t in sorted(fig, key=lambda t: (t == "ALL", t)):
            print(f"{'':<{len(c) + 2}}{t:<13}" + "".join(
                f"{fig[t][k]:>20.3f}" if k in fig[t] else f"{'-':>20}" for k in COLS))
        print(f"latency ms (warm ask): p50 {percentile(lat, 50):.1f}  p95 {percentile(lat, 95):.1f}", flush=True)


if __name__ == "__main__":
    main()
