"""Fits the paragraph ranker (learning to rank), cross-validated by proposal; prints paragraph
hit@5 per question type beside the default fusion's, and writes its weights.

    python -m bench.fit_ranker              # CV figures, writes rag/retrieval/ranker_weights.json
    python -m bench.fit_ranker --check      # fit and compare with the shipped file (exit 1 if different)
    python -m bench.fit_ranker --repeats 5  # also: hit@5 on 5 other fold assignments
    python -m bench.fit_ranker --ablation --repeats 5   # also: hit@5 change per removed feature, mean over 6 assignments

Candidates are the union of the cached dense and BM25 runs (depth 50, ``bench.cv_data``);
a paragraph is relevant when it contains an evidence quote. A logistic model over
``rag.retrieval.ranker.RANK_FEATURES`` is fitted on the training folds (GroupKFold(5) by
proposal, the same folds as the selector's) and ranks the test fold's candidates.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cv_data import Record, cached, stamp, work_dir  # noqa: E402
from bench.selector_data import Corpus, fused, hit_at  # noqa: E402
from rag.answer.assistant import by_proposal_first  # noqa: E402
from evals.metrics import evidence_in  # noqa: E402
from rag.core.types import Chunk, Hit  # noqa: E402
from rag.retrieval.ranker import RANK_FEATURES, WEIGHTS, RankerModel, rank_features  # noqa: E402

C = 1.0
ROWS_VERSION = 3


def pools(corpus: str, base: Path | None):
    """Per question with a retrieval step: (record, candidate chunks, features, labels)."""
    from bench.fit_selector import corpora  # noqa: F401  (same corpora)

    recs = cached(corpus, base)
    f = work_dir(base) / f"rank-rows-{corpus}.pkl"
    if f.exists():
        v, feats, out = pickle.loads(f.read_bytes())
        if v == (ROWS_VERSION, stamp(base)) and feats == RANK_FEATURES:
            return out
    corp = Corpus(corpus, base)
    out = []
    for r in recs:
        if r.path == "catalogue" or r.dataset == "offtopic":  # no paragraph is relevant to those
            continue
        dense, bm = corp.hits(r.dense, "dense"), corp.hits(r.bm25, "bm25")
        chunks, X = rank_features(r.search or r.query, dense, bm, corp.bm25.idf, r.known_share, r.department)
        y = np.array([any(evidence_in(c.text, e.quote) for e in r.evidence) for c in chunks], dtype=np.int8)
        out.append((r, chunks, X, y, fused(r, corp, 10)))
    f.write_bytes(pickle.dumps(((ROWS_VERSION, stamp(base)), RANK_FEATURES, out)))  # stale when any run cache changes
    return out


def fit(items, feats: tuple[str, ...] = RANK_FEATURES) -> RankerModel:
    from sklearn.linear_model import LogisticRegression

    idx = [RANK_FEATURES.index(f) for f in feats]
    X = np.vstack([x[:, idx] for _, _, x, _, _ in items if len(x)])
    y = np.concatenate([y for _, _, x, y, _ in items if len(x)])
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=5000)
    lr.fit((X - mean) / scale, y)
    return RankerModel(tuple(feats), mean, scale, lr.coef_[0], float(lr.intercept_[0]), {})


def ranked(model: RankerModel, chunks: list[Chunk], X: np.ndarray, k: int = 10) -> list[Hit]:
    if not chunks:
        return []
    s = model.score(X)
    order = np.argsort(-s, kind="stable")[:k]
    return [Hit(chunks[i], float(s[i]), "hybrid") for i in order]


def shown(r: Record, hits: list[Hit]) -> list[Hit]:
    return by_proposal_first(hits) if r.path == "list" else hits


def cross_validate(data: dict[str, list], folds: dict,
                   feats: tuple[str, ...] = RANK_FEATURES) -> dict[str, dict[tuple[str, str], list[Hit]]]:
    flat = [(c, it) for c, items in data.items() for it in items]
    key = lambda it: (it[0].dataset, it[0].qid)  # noqa: E731
    out: dict[str, dict] = defaultdict(dict)
    for k in sorted(set(folds.values())):
        m = fit([it for _, it in flat if folds[key(it)] != k], feats)
        for c, it in flat:
            if folds[key(it)] == k:
                out[c][key(it)] = ranked(m, it[1], it[2])
    return out


_oof: dict[str, dict] = {}


def oof_rankings(corpus: str, base: Path | None) -> dict[tuple[str, str], list[Hit]]:
    """Each question's ranking by the fold model that never saw its proposal."""
    if corpus not in _oof:
        from bench.fit_selector import corpora, fold_of

        data = {c: pools(c, base) for c in corpora()}
        _oof.update(cross_validate(data, fold_of(base)))
    return _oof[corpus]


def hit_table(items, rankings: dict | None) -> dict[str, dict[str, float]]:
    acc: dict[str, list[float]] = defaultdict(list)
    for r, chunks, X, y, base_hits in items:
        hits = rankings[(r.dataset, r.qid)] if rankings is not None else base_hits
        h = hit_at(shown(r, hits), r, 5)
        if h is not None:
            acc[r.type].append(h)
            acc["ALL"].append(h)
    return {t: float(np.mean(v)) for t, v in acc.items()}


def main() -> None:
    from bench.fit_selector import corpora, fold_of

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=None)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--out", default=str(WEIGHTS))
    ap.add_argument("--json", default=None)
    ap.add_argument("--repeats", type=int, default=0, help="also CV on this many shuffled fold assignments")
    ap.add_argument("--ablation", action="store_true",
                    help="also: combined hit@5 change when each feature is removed (averaged over --repeats too)")
    args = ap.parse_args()
    base = Path(args.work) if args.work else None
    names = corpora()
    data = {c: pools(c, base) for c in names}
    folds = fold_of(base)
    cv = cross_validate(data, folds)
    model = fit([it for c in names for it in data[c]])
    model.meta = {"command": "python -m bench.fit_ranker", "folds": 5, "C": C,
                  "questions": sum(len(v) for v in data.values())}
    res = {}
    print("paragraph hit@5 (a top-5 paragraph contains the evidence quote)")
    for c in names:
        now, learned = hit_table(data[c], None), hit_table(data[c], cv[c])
        ins = hit_table(data[c], {(r.dataset, r.qid): ranked(model, ch, X) for r, ch, X, _, _ in data[c]})
        res[c] = {"weighted": now, "learned_cv": learned, "learned_in_sample": ins}
        print(f"\n{c}: {'type':<13}{'weighted':>10}{'learned CV':>12}{'in-sample':>11}")
        for t in sorted(now, key=lambda t: (t == "ALL", t)):
            print(f"{'':<{len(c) + 2}}{t:<13}{now[t]:>10.3f}{learned.get(t, float('nan')):>12.3f}"
                  f"{ins.get(t, float('nan')):>11.3f}")
    # the ceiling of the candidate pool: the union of the two runs, best five chosen knowing the evidence
    oracle = {(r.dataset, r.qid): [Hit(ch[i], float(y[i]), "oracle") for i in np.argsort(-y, kind="stable")[:10]]
              for r, ch, X, y, _ in data["combined"]}
    res["ceiling"] = hit_table(data["combined"], oracle)
    print(f"\ncandidate pool ceiling (combined, the evidence paragraphs first): {res['ceiling']['ALL']:.3f}")
    if args.repeats:
        print(f"\nhit@5 on the pinned fold assignment and {args.repeats} shuffled ones: pinned / mean / min–max")
        runs = [cross_validate(data, fold_of(base, seed)) for seed in range(args.repeats)]
        for c in names:
            v = [hit_table(data[c], r[c])["ALL"] for r in runs]
            res[c]["repeats"] = v
            print(f"  {c:<9} {res[c]['learned_cv']['ALL']:.3f} / {np.mean(v):.3f} / {min(v):.3f}–{max(v):.3f}")
    if args.ablation:
        assignments = [folds] + [fold_of(base, seed) for seed in range(args.repeats)]

        def combined(feats) -> float:
            return float(np.mean([hit_table(data["combined"], cross_validate(data, f, feats)["combined"])["ALL"]
                                  for f in assignments]))

        ref = combined(RANK_FEATURES)
        print(f"\nablation: combined hit@5 change when removed (mean over {len(assignments)} fold assignment(s), "
              f"all kept {ref:.3f})")
        res["ablation"] = {}
        for f in RANK_FEATURES:
            d = combined(tuple(x for x in RANK_FEATURES if x != f)) - ref
            res["ablation"][f] = d
            print(f"  {f:<18}{d:+.3f}", flush=True)
    print("\ncoefficients (standardised):")
    for f, w in sorted(zip(model.features, model.coef), key=lambda x: -abs(x[1])):
        print(f"  {f:<18}{w:+.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1), encoding="utf-8")
    text = json.dumps(model.to_json(), ensure_ascii=False, indent=1) + "\n"
    if args.check:
        from bench.fit_selector import close

        same = close(json.loads(Path(args.out).read_text(encoding="utf-8")), model.to_json())
        print("shipped weights reproduced" if same else "shipped weights DIFFER from a fresh fit")
        from bench.fit_selector import check_pins

        pins_ok = check_pins({c: res[c]["learned_cv"] for c in names},
                             lambda fig, m: fig.get("ALL") if m == "paragraph_hit@5" else None)
        sys.exit(0 if same and pins_ok else 1)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
