"""Prints the answer-quality goals of the assistant on a question set (default: the dev set).

    python bench/answer_goals.py                      # ../shared/devset, hybrid, extractive
    python bench/answer_goals.py --retriever dense
    python bench/answer_goals.py --questions evals/datasets/samples/questions.jsonl --corpus samples
    python bench/answer_goals.py --questions ../shared/devset2/questions.jsonl \
        --corpus ../shared/devset/corpus --corpus ../shared/devset2/corpus --corpus samples   # combined corpus

Figures: proposal-level evidence recall@5, paragraph hit@5 (a retrieved chunk contains the
evidence quote), MRR@10, answer-fact recall on answerable questions, share of citation quotes
verbatim in their chunks, refusal rate on unanswerable and false-refusal rate on the rest,
and p50/p95 of retrieve + answer in a warm process. Per question type and overall.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer.assistant import Assistant  # noqa: E402
from rag.core.settings import Settings  # noqa: E402
from rag.core.textnorm import contains, norm  # noqa: E402

GOALS = {"recall@5": 0.95, "hit@5": 0.85, "mrr@10": 0.80, "fact_recall": 0.80, "verbatim": 1.0,
         "refusal": 0.90, "false_refusal": 0.05}


def score(q: dict, ans) -> dict:
    ev = q["evidence"]
    ctx = [h.chunk for h in ans.contexts]
    out: dict[str, float] = {}
    if ev and q["type"] not in ("filter",) and ans.intent not in ("catalogue",):
        props = [c.proposal_id for c in ctx[:5]]
        out["recall@5"] = sum(1 for e in ev if e["proposal"] in props) / len(ev)
        out["hit@5"] = float(any(contains(c.text, e["quote"]) for c in ctx[:5] for e in ev))
        rr = 0.0
        for i, c in enumerate(ctx[:10]):
            if any(contains(c.text, e["quote"]) for e in ev):
                rr = 1 / (i + 1)
                break
        out["mrr@10"] = rr
    if q["type"] == "unanswerable":
        out["refusal"] = float(ans.abstained)
    else:
        out["false_refusal"] = float(ans.abstained)
        facts = q["answer_facts"]
        out["fact_recall"] = sum(1 for f in facts if norm(f) in norm(ans.answer)) / len(facts) if facts else 1.0
    by_id = {c.id: c for c in ctx}
    if ans.citations:
        out["verbatim"] = sum(1 for c in ans.citations if c.chunk_id in by_id and c.quote in by_id[c.chunk_id].text) \
            / len(ans.citations)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", default=str(ROOT.parent / "shared/devset/questions.jsonl"))
    ap.add_argument("--corpus", action="append", default=None,
                    help="corpus folder; repeat it to ingest several together (default ../shared/devset/corpus)")
    ap.add_argument("--type", action="append", default=None, help="only questions of this type (repeatable)")
    ap.add_argument("--retriever", default="hybrid")
    ap.add_argument("--data-dir", default=None, help="reuse an index (default: a fresh temporary one)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    args = ap.parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="goals-"))
    a = Assistant(Settings(data_dir=data_dir), retriever=args.retriever, answerer="extractive")
    report = a.ingest(args.corpus or [str(ROOT.parent / "shared/devset/corpus")])
    print(f"index: {data_dir} ({report.proposals} proposals, {a.catalogue.counts()['chunks']} chunks)")
    qs = [json.loads(x) for x in Path(args.questions).read_text(encoding="utf-8").splitlines() if x.strip()]
    qs = [q for q in qs if not args.type or q["type"] in args.type]
    a.ask(qs[0]["question"])  # warm up: models, jieba, caches
    by_type: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    lat = []
    for q in qs:
        t0 = time.perf_counter()
        ans = a.ask(q["question"], history=q.get("history") or [])
        lat.append((time.perf_counter() - t0) * 1000)
        s = score(q, ans)
        for k, v in s.items():
            by_type[q["type"]][k].append(v)
            by_type["ALL"][k].append(v)
        bad = s.get("fact_recall", 1) < 1 or s.get("refusal", 1) < 1 or s.get("false_refusal", 0) > 0
        if args.verbose and bad:
            print(f"  {q['id']} {q['type']}: {q['question']}\n     → {ans.answer[:160]!r}")
    cols = ["recall@5", "hit@5", "mrr@10", "fact_recall", "verbatim", "refusal", "false_refusal"]
    print(f"{'type':<14}" + "".join(f"{c:>14}" for c in cols) + f"{'n':>5}")
    for t in sorted(by_type, key=lambda x: (x == "ALL", x)):
        row = by_type[t]
        n = max(len(v) for v in row.values())
        print(f"{t:<14}" + "".join(f"{statistics.fmean(row[c]):>14.3f}" if row.get(c) else f"{'-':>14}"
                                   for c in cols) + f"{n:>5}")
    lat.sort()
    print(f"latency ms (retrieve + extractive answer, warm): p50 {lat[len(lat) // 2]:.1f}  "
          f"p95 {lat[min(len(lat) - 1, int(len(lat) * 0.95))]:.1f}")
    allrow = by_type["ALL"]
    for k, goal in GOALS.items():
        v = statistics.fmean(allrow[k]) if allrow.get(k) else float("nan")
        ok = v <= goal if k == "false_refusal" else v >= goal
        print(f"goal {k:<14} {v:.3f} {'<=' if k == 'false_refusal' else '>='} {goal}  {'OK' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
