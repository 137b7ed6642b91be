"""Per-question metrics on one answer (``Answer.to_json()`` shape) against one dataset question,
and how they are averaged per type and overall. Every text comparison goes through
``rag.core.textnorm.norm`` (NFKC width folding, no whitespace, no thousands separators)."""
from __future__ import annotations

import math
from collections.abc import Sequence

from evals.dataset import Evidence, Question
from rag.core.textnorm import contains, facts_in, norm
from rag.answer.verify import REFUSAL
from rag.core.lexicon import MARKER

K = 10
# phrasings of "the corpus has no answer" from systems that do not set ``abstained``
REFUSAL_PHRASES = (REFUSAL, "未在提案库中找到", "没有找到相关", "未找到相关", "无法回答", "资料中没有", "无法从资料")

# metrics where lower is better (the gate's direction)
LOWER_IS_BETTER = frozenset({"false_refusal_rate", "latency_p50_ms", "latency_p95_ms"})


def evidence_in(text: str, quote: str) -> bool:
    """A chunk "contains the evidence" when the quote occurs in it after normalisation."""
    return contains(text, quote)


def relevance(contexts: Sequence[str], evidence: Sequence[Evidence], k: int = K) -> list[int]:
    """Gain of each of the top-k contexts: 1 when it holds an evidence quote no earlier context held."""
    credited: set[int] = set()
    gains = []
    for text in contexts[:k]:
        new = {i for i, e in enumerate(evidence) if i not in credited and evidence_in(text, e.quote)}
        credited |= new
        gains.append(1 if new else 0)
    return gains


def paragraph_hit(contexts: Sequence[str], evidence: Sequence[Evidence], k: int = K) -> float:
    """Share of the evidence quotes that some top-k context contains (0 or 1 for one quote)."""
    if not evidence:
        raise ValueError("paragraph_hit needs evidence")
    top = contexts[:k]
    return sum(any(evidence_in(t, e.quote) for t in top) for e in evidence) / len(evidence)


def proposal_recall(context_pids: Sequence[str], evidence: Sequence[Evidence], k: int = K) -> float:
    """Share of the evidence's proposals among the proposals of the top-k contexts."""
    want = {e.proposal for e in evidence}
    return len(want & set(context_pids[:k])) / len(want)


def mrr(gains: Sequence[int], k: int = K) -> float:
    return next((1.0 / (i + 1) for i, g in enumerate(gains[:k]) if g), 0.0)


def ndcg(gains: Sequence[int], n_relevant: int, k: int = K) -> float:
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(n_relevant, k)))
    return dcg / ideal if ideal else 0.0


def fact_found(answer_text: str, fact: str) -> bool:
    return contains(answer_text, fact)


def fact_recall(answer_text: str, facts: Sequence[str]) -> float:
    return sum(fact_found(answer_text, f) for f in facts) / len(facts)


def number_correct(answer_text: str, facts: Sequence[str]) -> bool:
    """Every figure of the expected facts (number with its unit) is stated in the answer.

    A fact without a figure ("三分之二以上") must occur as a whole."""
    t = norm(answer_text)
    for f in facts:
        figures = facts_in(f)
        if not figures:
            figures = [norm(f)]
        if not all(x in t for x in figures):
            return False
    return True


def is_refusal(answer: dict) -> bool:
    if isinstance(answer.get("abstained"), bool):
        return answer["abstained"]
    text = norm(str(answer.get("answer") or ""))
    return not text or any(norm(p) in text for p in REFUSAL_PHRASES)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100)."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def question_metrics(q: Question, answer: dict) -> dict[str, float]:
    """Answer, refusal and retrieval metrics of one question (absent keys: not applicable)."""
    out: dict[str, float] = {}
    refused = is_refusal(answer)
    text = "" if refused else str(answer.get("answer") or "")
    if q.answerable:
        out["false_refusal_rate"] = float(refused)
        if q.answer_facts:
            out["fact_recall"] = fact_recall(text, q.answer_facts)
        if q.type == "number" and q.answer_facts:
            out["number_accuracy"] = float(number_correct(text, q.answer_facts))
        if not refused:
            out["answer_chars"] = float(len(MARKER.sub("", text)))
    else:
        out["refusal_rate"] = float(refused)
    contexts = answer.get("contexts")
    if q.evidence and isinstance(contexts, list):
        texts = [str(c.get("text") or "") for c in contexts]
        pids = [str(c.get("proposal_id") or "") for c in contexts]
        gains = relevance(texts, q.evidence)
        out[f"proposal_recall@{K}"] = proposal_recall(pids, q.evidence)
        out[f"paragraph_hit@{K}"] = paragraph_hit(texts, q.evidence)
        out[f"mrr@{K}"] = mrr(gains)
        out[f"ndcg@{K}"] = ndcg(gains, len(q.evidence))
    return out
