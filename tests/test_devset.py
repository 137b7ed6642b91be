"""Dev-set regression: retrieval and answer figures stay above floors set safely below the
measured values (see bench/answer_goals.py for the figures themselves). Skipped without ../shared."""
from __future__ import annotations

import json
import statistics

import pytest

from tests.conftest import DEVSET, shared_or_skip



@pytest.fixture(scope="module")
def scored(devset_assistant):
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("answer_goals", ROOT / "bench" / "answer_goals.py")
    goals = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(goals)
    qs = [json.loads(x) for x in (shared_or_skip(DEVSET) / "questions.jsonl").read_text(encoding="utf-8").splitlines()
          if x.strip()]
    rows = []
    for q in qs:
        ans = devset_assistant.ask(q["question"])
        rows.append((q, ans, goals.score(q, ans)))
    return rows


def mean(rows, metric, types=None):
    vals = [s[metric] for q, _, s in rows if metric in s and (types is None or q["type"] in types)]
    return statistics.fmean(vals)


@pytest.mark.slow
@pytest.mark.shared
def test_retrieval_floors(scored):
    assert mean(scored, "recall@5") >= 0.92
    assert mean(scored, "hit@5") >= 0.90
    assert mean(scored, "mrr@10") >= 0.78


@pytest.mark.slow
@pytest.mark.shared
def test_answer_floors(scored):
    assert mean(scored, "verbatim") == 1.0
    assert mean(scored, "fact_recall") >= 0.85
    assert mean(scored, "fact_recall", {"number", "fact"}) >= 0.9
    assert mean(scored, "fact_recall", {"paraphrase"}) >= 0.5
    assert mean(scored, "false_refusal") <= 0.06
    # the refusal model is fitted with grouped CV (docs/answer_selection.md): 6 of these 8 in-sample, 0.75 on CV
    assert mean(scored, "refusal") >= 0.6


@pytest.mark.slow
@pytest.mark.shared
def test_catalogue_questions_are_complete(scored):
    for q, ans, _ in scored:
        if q["type"] == "filter":
            ids = {c.proposal_id for c in ans.citations}
            assert {f for f in q["answer_facts"] if f.isdigit()} <= ids, q["id"]
