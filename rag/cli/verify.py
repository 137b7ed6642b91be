"""`proposals verify FILE.jsonl`: the grounding judge on labelled (or unlabelled) sentences."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("verify", help="逐句判断 FILE 中的句子是否有所引段落支撑；带标注时按类别和总体输出一致率。")(verify_command)


def verify_command(
        file: Path = typer.Argument(..., metavar="FILE",
                                    help="JSONL：{id, 含 [n] 的句子, passages {n: 段落} 或 chunk_ids, "
                                         "label?, kind?, quote?, source?}"),
        out: Optional[Path] = typer.Option(None, "--out", metavar="文件", help="把判断结果写到这个文件，而不是标准输出"),
        quotes: bool = typer.Option(True, "--quotes/--no-quotes",
                                    help="用记录中的引文定位（默认），或当作没有引文来判断"),
        cv: bool = typer.Option(False, "--cv", help="另按提案（source）做 5 折交叉验证，报告判断阈值的表现"),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR", metavar="目录",
                                                help="含 chunk_ids 的记录所指的索引"),
) -> None:
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
