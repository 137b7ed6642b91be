"""Topical-list answers ("哪些提案涉及…"): the shipped scorer against a model fitted on its
inputs, both scored on the same grouped folds.

    python -m bench.list_answers

A list question's answer facts are proposal ids; the answer lists up to six proposals, each
with the sentence that makes it relevant. Per question: precision and recall of the listed
ids, and their F1. "shipped" is ``ExtractiveAnswerer.answer_list`` (a fixed blend of the named
inputs ``LIST_INPUTS``, no weight fitted on these questions); "fitted" is a logistic regression
on the same inputs (``ExtractiveAnswerer.list_inputs``), one row per
candidate sentence, labelled by whether its proposal is in the answer; a proposal scores its
best sentence's probability, and the probability floor and the share of the best that a
proposal needs are chosen for F1 inside each fold's training part. Paragraph rankings are the
learned ranker's out-of-fold ones (``bench.fit_ranker``), so no part has seen the questions'
proposals. "ranker gap" lists the proposals whose best paragraph's ranker score is within a
gap of the first's, the gap chosen for F1 the same way.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cv_data import Record, cached  # noqa: E402,F401  (a run cache built as __main__ unpickles Record from here)
from bench.fit_ranker import oof_rankings  # noqa: E402
from bench.fit_selector import FOLDS, corpora, fold_of  # noqa: E402
from bench.selector_data import Corpus  # noqa: E402
from rag.answer.assistant import by_proposal_first  # noqa: E402
from rag.answer.extractive import ExtractiveAnswerer  # noqa: E402

PROPOSAL_ID = re.compile(r"^\d{8}$")
LIST_DEPTH = 30  # what the assistant retrieves for a list question
FLOORS = tuple(round(0.1 * i, 1) for i in range(1, 10))
SHARES = (0.5, 0.6, 0.7, 0.8, 0.9)
GAPS = tuple(0.25 * i for i in range(21))


def by_gap(best: list[tuple[float, str]], gap: float, cap: int = 6) -> list[str]:
    """``best``: (ranker score of the proposal's best paragraph, id), best first."""
    return [pid for s, pid in best if s >= best[0][0] - gap][:cap] if best else []


def candidate_rows(answerer: ExtractiveAnswerer, query: str, hits) -> dict[str, list[list[float]]]:
    """proposal id → one row of the shipped scorer's inputs (``LIST_INPUTS``) per candidate
    sentence of its paragraphs, over the whole list window."""
    cands, X = answerer.list_inputs(query, hits, window=len(hits))
    out: dict[str, list[list[float]]] = {}
    for c, x in zip(cands, X):
        out.setdefault(c.chunk.proposal_id, []).append(list(x))
    return out


def prf(listed: list[str], ids: list[str]) -> tuple[float, float, float]:
    tp = len(set(listed) & set(ids))
    p = tp / len(listed) if listed else 0.0
    r = tp / len(ids) if ids else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def fit(items):
    from sklearn.linear_model import LogisticRegression

    X = np.array([x for it in items for pid, rows in it["rows"].items() for x in rows])
    y = np.array([pid in it["ids"] for it in items for pid, rows in it["rows"].items() for _ in rows])
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    m = LogisticRegression(max_iter=5000, class_weight="balanced").fit((X - mean) / scale, y)
    return lambda Z: m.predict_proba((np.asarray(Z) - mean) / scale)[:, 1]


def listed(rows: dict[str, list[list[float]]], model, floor: float, share: float, cap: int = 6) -> list[str]:
    scores = sorted(((max(model(r)), pid) for pid, r in rows.items()), reverse=True)
    if not scores:
        return []
    return [pid for p, pid in scores if p >= floor and p >= share * scores[0][0]][:cap]


def main() -> None:
    names = corpora()
    folds = fold_of(None)
    items = []
    for c in names:
        corp = Corpus(c)
        ranked = oof_rankings(c, None)
        for r in cached(c):
            if r.path != "list":
                continue
            hits = by_proposal_first(ranked[(r.dataset, r.qid)][:LIST_DEPTH])
            shipped = ExtractiveAnswerer(corp.bm25.idf, known=corp.bm25.knows,
                                         similarity=lambda q, t, v=r.qvec, cp=corp: cp.sims(v, t))
            now = [x.proposal_id for x in shipped.answer_list(r.query, hits).citations]
            best: dict[str, float] = {}
            for h in hits:
                best.setdefault(h.chunk.proposal_id, h.score)
            items.append({"corpus": c, "rec": r, "ids": [f for f in r.facts if PROPOSAL_ID.match(f)],
                          "best": sorted(((v, k) for k, v in best.items()), reverse=True),
                          "shipped": now, "rows": candidate_rows(shipped, r.query, hits),
                          "fold": folds[(r.dataset, r.qid)]})
    fitted: dict[int, list[str]] = {}
    gapped: dict[int, list[str]] = {}
    chosen = []
    for k in range(FOLDS):
        train = [it for it in items if it["fold"] != k]
        model = fit(train)
        inner = [it for it in train if it["corpus"] == "combined"]
        floor, share = max(((f, s) for f in FLOORS for s in SHARES),
                           key=lambda fs: np.mean([prf(listed(it["rows"], model, *fs), it["ids"])[2] for it in inner]))
        chosen.append((floor, share))
        gap = max(GAPS, key=lambda g: (np.mean([prf(by_gap(it["best"], g), it["ids"])[2] for it in inner]), -g))
        for i, it in enumerate(items):
            if it["fold"] == k:
                fitted[i] = listed(it["rows"], model, floor, share)
                gapped[i] = by_gap(it["best"], gap)
    print(f"list questions: {sum(it['corpus'] == 'combined' for it in items)} (combined corpus); "
          f"folds' chosen (floor, share): {chosen}")
    print(f"{'corpus':<10}{'shipped P / R / F1 / n':>30}{'fitted (CV) P / R / F1 / n':>34}"
          f"{'ranker gap (CV) P / R / F1 / n':>36}")
    for c in names:
        sel = [(i, it) for i, it in enumerate(items) if it["corpus"] == c]
        cells = []
        for got in ([it["shipped"] for _, it in sel], [fitted[i] for i, _ in sel], [gapped[i] for i, _ in sel]):
            m = np.array([prf(g, it["ids"]) for g, (_, it) in zip(got, sel)])
            cells.append(f"{m[:, 0].mean():.3f} / {m[:, 1].mean():.3f} / {m[:, 2].mean():.3f} / "
                         f"{np.mean([len(g) for g in got]):.2f}")
        print(f"{c:<10}{cells[0]:>30}{cells[1]:>34}{cells[2]:>36}")


if __name__ == "__main__":
    main()
