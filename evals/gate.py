"""The regression gate: pinned figures per dataset, config and metric (``evals/expected.yaml``).

Higher-is-better metrics fail only below ``value - tol``; lower-is-better ones (false
refusals, latency) only above ``value + tol``. A pinned metric the run cannot compute fails.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from evals.dataset import DatasetError
from evals.metrics import LOWER_IS_BETTER
from evals.results import CheckLine

EXPECTED = Path(__file__).resolve().parent / "expected.yaml"


def load_expected(path: str | Path = EXPECTED) -> dict:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise DatasetError(path, f"cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise DatasetError(path, f"not valid YAML: {getattr(e, 'problem', e)}",
                           mark.line + 1 if mark else None) from None
    validate(data, str(path))
    return data


def validate(data: dict, source: str = "expected") -> None:
    if not isinstance(data, dict):
        raise DatasetError(source, "expected a mapping: dataset -> config -> metric -> {value, tol}")
    for ds, configs in data.items():
        if not isinstance(configs, dict):
            raise DatasetError(source, f"{ds}: expected a mapping of configs")
        for cfg, metrics in configs.items():
            if not isinstance(metrics, dict):
                raise DatasetError(source, f"{ds}.{cfg}: expected a mapping of metrics")
            for m, spec in metrics.items():
                where = f"{ds}.{cfg}.{m}"
                if not isinstance(spec, dict) or not isinstance(spec.get("value"), (int, float)):
                    raise DatasetError(source, f"{where}: expected {{value: number, tol: number}}")
                if not isinstance(spec.get("tol", 0), (int, float)) or spec.get("tol", 0) < 0:
                    raise DatasetError(source, f"{where}.tol: expected a number ≥ 0")
                if spec.get("direction", "auto") not in ("auto", "higher", "lower"):
                    raise DatasetError(source, f"{where}.direction: expected higher or lower")


def direction(metric: str, spec: dict) -> str:
    d = spec.get("direction", "auto")
    if d != "auto":
        return d
    return "lower" if metric in LOWER_IS_BETTER else "higher"


def check(run, expected: dict) -> list[CheckLine]:
    """One line per pinned metric of every config the run has (configs it did not run are skipped);
    the lines are also kept on the run, for its report."""
    if run.dataset in expected:
        section = expected[run.dataset]
    elif _is_section(expected):
        section = expected
    else:
        run.checks = []
        return []  # nothing pinned for this dataset
    validate({run.dataset: section})
    lines: list[CheckLine] = []
    for cfg, metrics in section.items():
        result = run.configs.get(cfg)
        if result is None:
            continue
        for m, spec in metrics.items():
            value = result.overall.get(m)
            tol = float(spec.get("tol", 0))
            want = float(spec["value"])
            d = direction(m, spec)
            ok = value is not None and (value >= want - tol - 1e-9 if d == "higher" else value <= want + tol + 1e-9)
            lines.append(CheckLine(m, value, want, tol, ok, cfg, run.dataset, d))
    run.checks = lines
    return lines


def _is_section(d: dict) -> bool:
    """config -> metric -> {value, tol} (rather than dataset -> config -> ...)."""
    return bool(d) and all(isinstance(m, dict) and m and all(isinstance(s, dict) and "value" in s for s in m.values())
                           for m in d.values())


# ---- pinning ------------------------------------------------------------------------------
PINNED = ("proposal_recall@10", "paragraph_hit@10", "mrr@10", "ndcg@10", "citation_recall", "citation_precision",
          "fact_recall", "number_accuracy", "refusal_rate", "false_refusal_rate", "latency_p50_ms",
          "latency_p95_ms", "precedent_recall")
HEADER = """\
# Pinned eval figures: dataset -> config -> metric -> {value, tol}.
# Higher-is-better metrics fail below value - tol; false_refusal_rate and latency_* fail above
# value + tol. Checked by `proposals eval DATASET --check` and tests/test_evals_gate.py.
# Re-pin after an intended change with `proposals eval DATASET --pin` (see evals/README.md).
"""


def tolerance(metric: str, value: float) -> float:
    """Default slack: a few points on rates; latency may be ~3x slower (machines differ) before failing."""
    if metric.startswith("latency_"):
        return float(round(max(250.0, 2 * value), -1))
    if metric in ("refusal_rate", "false_refusal_rate"):
        return 0.08
    if metric == "precedent_recall":
        return 0.1
    if metric in ("fact_recall", "number_accuracy"):
        return 0.06
    return 0.05


def pin(run, existing: dict | None = None) -> dict:
    """``existing`` with this run's configs replaced by their measured figures."""
    data = {k: dict(v) for k, v in (existing or {}).items()}
    section = data.setdefault(run.dataset, {})
    for cfg, result in run.configs.items():
        section[cfg] = {m: {"value": round(float(result.overall[m]), 1 if m.startswith("latency_") else 3),
                            "tol": tolerance(m, float(result.overall[m]))}
                        for m in PINNED if m in result.overall}
    return data


def write_expected(data: dict, path: str | Path = EXPECTED) -> None:
    validate(data, str(path))
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)
    Path(path).write_text(HEADER + body, encoding="utf-8")
