"""Fact recall of the summariser against its length budget, the section being known (the
evidence's proposal, section and department), on a question set's summary questions.

    python bench/summary_budget.py                       # ../shared/devset2
    python bench/summary_budget.py --questions Q.jsonl --corpus DIR

The budget (points, characters, sentences per point) is a reading-length choice, not a tuned
parameter: recall grows with length, so the table shows what each budget buys.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.chunker import chunk_proposal  # noqa: E402
from ingest.parser import parse_file  # noqa: E402
from rag.answer.summary import SummaryConfig, render, summarise  # noqa: E402
from rag.core.textnorm import norm  # noqa: E402

BUDGETS = [(6, 500, 1), (6, 700, 1), (6, 600, 2), (6, 700, 2), (6, 800, 2), (8, 900, 2)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", default=str(ROOT.parent / "shared/devset2/questions.jsonl"))
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared/devset2/corpus"))
    args = ap.parse_args()
    qs = [json.loads(x) for x in Path(args.questions).read_text(encoding="utf-8").splitlines() if x.strip()]
    qs = [q for q in qs if q["type"] == "summary"]
    sections = []
    for q in qs:
        e = q["evidence"][0]
        p = parse_file(Path(args.corpus) / f"{e['proposal']}.txt")
        chunks = chunk_proposal(p)
        sections.append([c for c in chunks if c.section == e["section"] and c.department == e["department"]])
    print(f"{len(qs)} summary questions; idf = 1 (no index)")
    print(f"{'points':>6} {'chars':>6} {'sent/pt':>7} {'fact recall':>12} {'mean chars':>11}")
    for points, chars, per in BUDGETS:
        cfg = SummaryConfig(max_points=points, max_chars=chars, sentences_per_point=per)
        recalls, lengths = [], []
        for q, chunks in zip(qs, sections):
            pts = summarise(chunks, q["question"], lambda t: 1.0, cfg, q["evidence"][0]["department"])
            text = render(q["question"], pts, [], "extractive").answer
            recalls.append(sum(norm(f) in norm(text) for f in q["answer_facts"]) / len(q["answer_facts"]))
            lengths.append(len(text))
        mark = "  ← default" if cfg == SummaryConfig() else ""
        recall, length = statistics.fmean(recalls), statistics.fmean(lengths)
        print(f"{points:>6} {chars:>6} {per:>7} {recall:>12.3f} {length:>11.0f}{mark}")


if __name__ == "__main__":
    main()
