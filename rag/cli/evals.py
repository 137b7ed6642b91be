"""`proposals eval`: run or grade a dataset, write the reports, and check the pinned figures."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def eval_command(
        dataset: str = typer.Argument(..., help="samples | devset | a questions.jsonl (or its folder)"),
        corpus: Optional[Path] = typer.Option(None, help="the corpus folder (default: the one the dataset names)"),
        config: list[str] = typer.Option([], "--config", "-c",
                                         help="hybrid | bm25 | dense | naive | all; repeat or comma-separate "
                                              "(default: all four, or the pinned ones with --check)"),
        answers: Optional[Path] = typer.Option(None, "--answers", help="grade this run file (JSONL, `ask --json` "
                                                                         "shape) instead of running the assistant"),
        out: Optional[Path] = typer.Option(None, "--out", help="where run files and reports go "
                                                               "(default DATA_DIR/evals/runs/<dataset>-<time>)"),
        check: bool = typer.Option(False, "--check", help="compare with the pinned figures; exit 1 on a regression"),
        expected: Optional[Path] = typer.Option(None, "--expected", help="pinned figures (default evals/expected.yaml)"),
        pin: bool = typer.Option(False, "--pin", help="write this run's figures into the pinned file "
                                                      "(replaces the pins of the configs run)"),
        answerer: str = typer.Option("extractive", help="extractive | llm | auto"),
        judge: Optional[bool] = typer.Option(None, "--judge/--no-judge",
                                             help="LLM judge second opinion (default: on when a chat model is set)"),
        as_json: bool = typer.Option(False, "--json", help="print results.json instead of the markdown summary"),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR",
                                                help="where the eval indexes live (DATA_DIR/evals/<corpus>)"),
) -> None:
    """Grounding evals: retrieval, citations (ALCE-style), facts, numbers, refusals, latency, baselines."""
    from evals.api import CONFIGS, run_eval
    from evals.dataset import resolve
    from evals.gate import EXPECTED, load_expected, pin as pin_run, write_expected
    from evals.gate import check as check_run
    from evals.report import markdown, write_run
    from rag.cli.common import console, fail, stage_progress
    from rag.core.errors import ProposalError
    from rag.core.settings import Settings

    try:
        pins = load_expected(expected or EXPECTED) if check else {}
        configs = [c.strip() for part in config for c in part.split(",") if c.strip()]
        if "all" in configs:
            configs = list(CONFIGS)
        if not configs:
            name = resolve(dataset).name if check else ""
            configs = [c for c in pins.get(name, {}) if c in CONFIGS] if check else []
            configs = configs or list(CONFIGS)
        settings = Settings(data_dir=data_dir) if data_dir else Settings()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out_dir = out or Path(settings.data_dir) / "evals" / "runs" / f"{Path(str(dataset)).stem}-{stamp}"
        with stage_progress() as progress:
            run = run_eval(dataset, corpus=corpus, configs=configs, answers=answers, settings=settings,
                           answerer=answerer, judge=judge, progress=progress)
        lines = check_run(run, pins) if check else []
        paths = write_run(run, out_dir)
        if pin:
            target = expected or EXPECTED
            write_expected(pin_run(run, load_expected(target) if Path(target).exists() else {}), target)
            console.print(f"pinned {run.dataset} / {', '.join(run.configs)} in {target}")
    except ProposalError as e:
        fail(e)
    if as_json:
        print(json.dumps(run.to_json(), ensure_ascii=False, indent=1))
    else:
        print(markdown(run))
    console.print(f"reports: {paths['report.md']} · {paths['report.html']} · run files in {out_dir}")
    if check:
        if not lines:
            console.print(f"[yellow]nothing pinned for {run.dataset} / {', '.join(run.configs)}[/yellow]")
        for line in lines:
            console.print(f"[{'green' if line.ok else 'red'}]{line}[/]", highlight=False)
        failed = sum(not line.ok for line in lines)
        console.print(f"gate: {len(lines) - failed} OK, {failed} FAIL")
        if failed:
            sys.stdout.flush()
            raise typer.Exit(1)
