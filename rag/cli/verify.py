"""`proposals verify FILE.jsonl`: the grounding judge on labelled (or unlabelled) sentences."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)


def verify_command(
        file: Path = typer.Argument(..., help="JSONL: {id, sentence with [n], passages {n: paragraph} | chunk_ids, "
                                              "label?, kind?, quote?, source?}"),
        out: Optional[Path] = typer.Option(None, "--out", help="write the verdict lines here instead of stdout"),
        quotes: bool = typer.Option(True, "--quotes/--no-quotes", help="use the records' quotes to locate (default) "
                                                                       "or judge as if none were given"),
        cv: bool = typer.Option(False, "--cv", help="also report 5-fold cross-validation by proposal (source) "
                                                    "for the judge's thresholds"),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR",
                                                help="the index that records with chunk_ids refer to"),
) -> None:
    """Judge every sentence of FILE; with labels, print agreement per kind and overall."""
    from rich.console import Console

    from evals.judge_set import Agreement, cross_validate, evidence_of, judge_record, read_judge_records, table
    from rag.cli.common import fail
    from rag.core.errors import NoIndexError, ProposalError
    from rag.core.settings import Settings

    console = Console(stderr=True)
    try:
        records, errors = read_judge_records(file)
        lookup = None
        if any(r.chunk_ids for r in records):
            from rag.stores.catalogue import Catalogue

            settings = Settings(data_dir=data_dir) if data_dir else Settings()
            path = Path(settings.data_dir) / "catalogue.sqlite"
            if not path.exists():
                raise NoIndexError(f"no index in {settings.data_dir}", hint="run `proposals ingest` first or pass --data-dir")
            lookup = Catalogue(path).chunks
    except ProposalError as e:
        fail(e)
    sink = out.open("w", encoding="utf-8") if out else sys.stdout
    judged, verdicts = [], []
    try:
        for r in records:
            try:
                v = judge_record(r, evidence_of(r, lookup), use_quote=quotes)
            except ProposalError as e:
                errors.append(e)
                continue
            judged.append(r)
            verdicts.append(v)
            sink.write(json.dumps(v, ensure_ascii=False) + "\n")
    finally:
        if out:
            sink.close()
    for e in errors:
        console.print(f"[red]skipped[/red] {e}", highlight=False)
    if any(r.label for r in judged):
        columns = {"agreement": Agreement.of(judged, verdicts)}
        chosen = []
        if cv:
            columns["grouped 5-fold CV"], chosen = cross_validate([r for r in judged if r.label])
        console.print(table(columns), highlight=False)
        for i, j in enumerate(chosen, 1):
            console.print(f"fold {i}: min_clause_share {j.min_clause_share}, anchored_discount {j.anchored_discount}")
    console.print(f"{len(judged)} records judged, {sum(v['supported'] for v in verdicts)} supported"
                  + (f", {len(errors)} skipped" if errors else ""))
    if errors:
        raise typer.Exit(1)
