"""Chooses the summary answerer's refusal threshold (``SummaryConfig.min_topic``) by 5-fold
cross-validation grouped by evidence proposal, and prints CV beside in-sample.

    python bench/summary_threshold.py --corpus ../shared/devset/corpus --corpus ../shared/devset2/corpus \\
        --corpus samples --questions ../shared/devset/questions.jsonl \\
        --questions ../shared/devset2/questions.jsonl --questions evals/datasets/samples/questions.jsonl

Every question the analyser reads as a summary is run to the point where the summary answerer
has picked its section; the figure is the share (idf-weighted) of the question's topic words
that section states. Right decision: answer when the section is from an evidence proposal of
an answerable question, refuse otherwise (unanswerable, or the wrong proposal).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer.assistant import Assistant  # noqa: E402
from rag.answer.chain import Turn  # noqa: E402
from rag.answer.summary import topic_terms  # noqa: E402
from rag.core.settings import Settings  # noqa: E402
from rag.core.terms import coverage  # noqa: E402

GRID = np.round(np.arange(0.0, 0.95, 0.05), 2)


def topic_share(a: Assistant, q: dict) -> tuple[float, str | None]:
    t = a._retrieve(a._analyse(Turn(question=q["question"], history=q.get("history") or [])))
    an = t.analysis
    if an.intent != "summary":
        return float("nan"), None
    s = a.summary
    target = s.target(an.query, t.hits, an.filters.department)
    if target is None:
        return -1.0, None
    pid, sec, dept = target
    chunks = [c for c in s.proposal_chunks(pid) if c.section == sec and (sec != "reply" or c.department == dept)]
    about = "\n".join([chunks[0].title, chunks[0].proposers] + [c.text for c in chunks])
    terms = topic_terms(an.query, an.filters.department)
    return (coverage(terms, about, s.idf) if terms else 1.0), pid


def correct(th: float, rows: list[tuple]) -> int:
    return sum((share >= th) == should for share, should, _ in rows)


def choose(rows: list[tuple]) -> float:
    """The middle of the thresholds that decide best: the widest margin on either side."""
    best = max(correct(th, rows) for th in GRID)
    plateau = [float(th) for th in GRID if correct(th, rows) == best]
    return plateau[len(plateau) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", required=True)
    ap.add_argument("--questions", action="append", required=True)
    ap.add_argument("--data-dir", default=None, help="reuse an index (default: a fresh temporary one)")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    a = Assistant(Settings(data_dir=Path(args.data_dir or tempfile.mkdtemp(prefix="sumcv-"))), answerer="extractive")
    a.ingest(args.corpus)
    rows = []
    for path in args.questions:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            q = json.loads(line)
            share, pid = topic_share(a, q)
            if share != share:  # not a summary question
                continue
            evidence = {e["proposal"] for e in q.get("evidence") or []}
            group = sorted(evidence)[0] if evidence else q["id"]
            rows.append((share, q["type"] != "unanswerable" and pid in evidence, group))
    groups = sorted({r[2] for r in rows})
    np.random.default_rng(0).shuffle(groups)
    folds = [set(groups[i::args.folds]) for i in range(args.folds)]
    right, picks = 0, []
    for f in folds:
        th = choose([r for r in rows if r[2] not in f])
        picks.append(th)
        right += correct(th, [r for r in rows if r[2] in f])
    n, neg = len(rows), sum(1 for r in rows if not r[1])
    print(f"summary questions: {n} ({neg} to refuse), {len(groups)} proposals, {args.folds} folds grouped by proposal")
    print("threshold  in-sample accuracy")
    for th in GRID:
        print(f"{th:9.2f}  {correct(th, rows) / n:.3f}")
    print(f"CV: thresholds chosen per fold {picks}; accuracy {right / n:.3f}")
    best = choose(rows)
    print(f"chosen on all questions: {best:.2f} (in-sample accuracy {correct(best, rows) / n:.3f})")


if __name__ == "__main__":
    main()
