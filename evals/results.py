"""What an eval run produces: per-question results, per-config summaries, the run itself."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from evals.dataset import Evidence
from evals.grounding import SentenceVerdict
from evals.metrics import percentile

# display order; metrics a run does not have are left out
METRICS = ("proposal_recall@10", "paragraph_hit@10", "mrr@10", "ndcg@10",
           "citation_recall", "citation_precision", "judge_citation_recall", "judge_citation_precision",
           "fact_recall", "number_accuracy", "refusal_rate", "false_refusal_rate",
           "latency_p50_ms", "latency_p95_ms", "answer_chars", "precedent_recall", "precedent_precision")
# per-question metrics averaged into per-type and overall figures
AVERAGED = tuple(m for m in METRICS if not m.startswith(("latency_", "precedent_")))


@dataclass
class QuestionResult:
    id: str
    type: str
    question: str
    answer: dict | None  # the answer in the ``Answer.to_json()`` shape; None: missing from the run file
    metrics: dict[str, float]
    sentences: list[SentenceVerdict] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    answer_facts: list[str] = field(default_factory=list)
    facts_found: list[bool] = field(default_factory=list)
    latency_ms: float | None = None


@dataclass
class OutlineResult:
    id: str
    department: str
    relevant: list[str]
    precedents: list[str]
    recall: float  # share of the relevant proposals among the outline's cited precedents
    precision: float | None  # share of the cited precedents that are relevant
    outline_markdown: str = ""
    seconds: float = 0.0


@dataclass
class ConfigResult:
    name: str
    overall: dict[str, float]
    by_type: dict[str, dict[str, float]]
    questions: list[QuestionResult]
    outlines: list[OutlineResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run_file: str | None = None

    @classmethod
    def summarise(cls, name: str, questions: list[QuestionResult], outlines: list[OutlineResult] | None = None,
                  notes: list[str] | None = None) -> "ConfigResult":
        by_type: dict[str, dict[str, float]] = {}
        for t in dict.fromkeys(q.type for q in questions):
            by_type[t] = aggregate([q for q in questions if q.type == t])
        overall = aggregate(questions)
        if outlines:
            overall["precedent_recall"] = sum(o.recall for o in outlines) / len(outlines)
            precs = [o.precision for o in outlines if o.precision is not None]
            if precs:
                overall["precedent_precision"] = sum(precs) / len(precs)
        return cls(name, overall, by_type, questions, outlines or [], notes or [])


def aggregate(questions: list[QuestionResult]) -> dict[str, float]:
    """Mean of each metric over the questions it applies to; latency as p50 / p95."""
    out: dict[str, float] = {}
    for m in AVERAGED:
        vals = [q.metrics[m] for q in questions if m in q.metrics]
        if vals:
            out[m] = sum(vals) / len(vals)
    lat = [q.latency_ms for q in questions if q.latency_ms is not None]
    if lat:
        out["latency_p50_ms"] = percentile(lat, 50)  # type: ignore[assignment]
        out["latency_p95_ms"] = percentile(lat, 95)  # type: ignore[assignment]
    return out


@dataclass
class CheckLine:
    metric: str
    value: float | None
    expected: float
    tol: float
    ok: bool
    config: str = ""
    dataset: str = ""
    direction: str = "higher"  # higher is better: fail below expected - tol; lower: fail above expected + tol

    @property
    def bound(self) -> float:
        return self.expected - self.tol if self.direction == "higher" else self.expected + self.tol

    def __str__(self) -> str:
        got = "n/a" if self.value is None else f"{self.value:.3f}"
        cmp = "≥" if self.direction == "higher" else "≤"
        return (f"{'OK  ' if self.ok else 'FAIL'} {self.dataset}/{self.config} {self.metric} = {got} "
                f"(pinned {self.expected:g} ± {self.tol:g}: needs {cmp} {self.bound:.3f})")


@dataclass
class EvalRun:
    dataset: str
    dataset_path: str
    corpus: str | None
    configs: dict[str, ConfigResult]
    notes: list[str] = field(default_factory=list)
    judge: bool = False
    answerer: str = "extractive"
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    checks: list[CheckLine] = field(default_factory=list)  # filled by check()
    grounding_judge: dict | None = None  # the citation judge's agreement on its labelled set

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self), ensure_ascii=False, default=str))
