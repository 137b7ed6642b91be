"""The pinned gate, in process: the project's dataset (hybrid) must not fall below ``evals/expected.yaml``,
and the dev set's too when ../shared is present. Latency pins are left to ``proposals eval --check``
(speed is measured by scripts, never asserted in timed tests)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from evals.api import run_eval
from evals.gate import check, load_expected
from tests.conftest import DEVSET, SAMPLES, shared_or_skip


def failures(run) -> list[str]:
    lines = [line for line in check(run, load_expected()) if not line.metric.startswith("latency_")]
    assert lines, f"nothing pinned for {run.dataset} / {', '.join(run.configs)}"
    return [str(line) for line in lines if not line.ok]


@pytest.fixture(scope="module")
def samples_run(sample_assistant, make_settings, tmp_path_factory):
    """The hybrid run over the sample corpus; ``sample_assistant`` has already embedded it (shared cache)."""
    root = tmp_path_factory.mktemp("evals")
    run = run_eval("samples", configs=("hybrid",), data_dir=root, settings=make_settings(root),
                   out_dir=root / "run", judge=False)
    return run, root


def test_samples_gate_hybrid(samples_run):
    run, _ = samples_run
    assert not failures(run), "\n".join(failures(run))


def test_run_writes_reports_and_run_files(samples_run):
    run, root = samples_run
    rows = [json.loads(line) for line in (root / "run" / "hybrid.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [q.id for q in run.configs["hybrid"].questions]
    assert {"answer", "abstained", "citations", "contexts", "timings_ms"} <= set(rows[0])
    page = (root / "run" / "report.html").read_text(encoding="utf-8")
    assert "s-041" in page and "<svg" in page
    assert json.loads((root / "run" / "results.json").read_text(encoding="utf-8"))["dataset"] == "samples"
    assert run.configs["hybrid"].outlines or any("outline scoring skipped" in n for n in run.configs["hybrid"].notes)


def test_a_run_file_regrades_to_the_same_figures(samples_run, make_settings):
    run, root = samples_run
    again = run_eval("samples", answers=root / "run" / "hybrid.jsonl", settings=make_settings(root), judge=False)
    live = {k: v for k, v in run.configs["hybrid"].overall.items() if not k.startswith("precedent_")}
    assert again.configs["hybrid"].overall == pytest.approx(live)


def test_cli_check_exits_non_zero_on_a_regression(samples_run, tmp_path):
    from rag.cli.main import app

    _, root = samples_run
    runfile = root / "run" / "hybrid.jsonl"
    strict, lax = tmp_path / "strict.yaml", tmp_path / "lax.yaml"
    strict.write_text("samples:\n  hybrid:\n    fact_recall: {value: 1.01, tol: 0.0}\n", encoding="utf-8")
    lax.write_text("samples:\n  hybrid:\n    fact_recall: {value: 0.2, tol: 0.05}\n", encoding="utf-8")
    cli = CliRunner()
    args = ["eval", "samples", "--answers", str(runfile), "--no-judge", "--check", "--out", str(tmp_path / "o")]
    bad = cli.invoke(app, args + ["--expected", str(strict)])
    assert bad.exit_code == 1, bad.output
    assert "FAIL samples/hybrid fact_recall" in bad.output
    good = cli.invoke(app, args + ["--expected", str(lax)])
    assert good.exit_code == 0, good.output
    assert "OK   samples/hybrid fact_recall" in good.output and "| answer-fact recall |" in good.output


@pytest.mark.slow
def test_naive_baseline_on_a_small_corpus(make_settings, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for pid in ("20220239", "20230714"):
        (corpus / f"{pid}.txt").write_bytes((SAMPLES / f"{pid}.txt").read_bytes())
    (tmp_path / "questions.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "n1", "question": "加装电梯的市级补贴标准现在是每台多少钱？", "type": "number", "answer_facts": ["每台15万元"],
         "evidence": [{"proposal": "20220239", "section": "reply", "department": "市财政局",
                       "quote": "既有住宅加装电梯市级补贴标准由每台10万元提高至每台15万元"}]},
        {"id": "n2", "question": "2023年东莞全市生活垃圾焚烧发电量是多少？", "type": "unanswerable"}]), encoding="utf-8")
    run = run_eval(tmp_path / "questions.jsonl", configs=("naive",), data_dir=tmp_path, settings=make_settings(tmp_path),
                   judge=False)
    naive = run.configs["naive"]
    first = naive.questions[0]
    assert first.answer["contexts"] and first.answer["citations"][0]["quote"] in first.answer["contexts"][0]["text"]
    assert first.metrics["paragraph_hit@10"] == 1.0 and first.metrics["citation_recall"] == 1.0
    assert naive.overall["refusal_rate"] == 0.0  # the naive pipeline always answers
    assert all(len(c["text"]) <= 500 for c in first.answer["contexts"])


@pytest.mark.slow
@pytest.mark.shared
def test_devset_gate_hybrid(devset_assistant, make_settings, tmp_path):
    """``devset_assistant`` has embedded the dev-set corpus; this run reuses its embedding cache."""
    shared_or_skip(DEVSET / "questions.jsonl")
    run = run_eval("devset", configs=("hybrid",), data_dir=tmp_path, settings=make_settings(tmp_path), judge=False)
    assert not failures(run), "\n".join(failures(run))
