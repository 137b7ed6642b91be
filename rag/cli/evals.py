"""`proposals eval`: run or grade a dataset, write the reports, and check the pinned figures."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from rag.cli.common import AnswererChoice


def register(app: typer.Typer) -> None:
    app.command("eval", help="引用依据评测：检索、引用（ALCE 式）、事实、数字、拒答、延迟，及朴素基线对比。")(eval_command)


def eval_command(
        dataset: str = typer.Argument(..., metavar="数据集",
                                      help="samples、devset，或一个 questions.jsonl（或其所在文件夹）"),
        corpus: Optional[Path] = typer.Option(None, metavar="文件夹", help="语料文件夹（默认用数据集指定的）"),
        config: list[str] = typer.Option([], "--config", "-c", metavar="配置",
                                         help="hybrid、bm25、dense、naive 或 all；可重复或用逗号分隔"
                                              "（默认全部四种；加 --check 时为已固定的配置）"),
        answers: Optional[Path] = typer.Option(None, "--answers", metavar="文件",
                                               help="评分这个运行文件（JSONL，`ask --json` 的格式），不调用助手"),
        out: Optional[Path] = typer.Option(None, "--out", metavar="目录",
                                           help="运行文件和报告的输出目录（默认 DATA_DIR/evals/runs/<数据集>-<时间>）"),
        check: bool = typer.Option(False, "--check", help="与固定的指标对比；有退步时退出状态为 1"),
        expected: Optional[Path] = typer.Option(None, "--expected", metavar="文件",
                                                help="固定指标文件（默认 evals/expected.yaml）"),
        pin: bool = typer.Option(False, "--pin", help="把本次结果写入固定指标文件（替换所运行配置的固定值）"),
        answerer: AnswererChoice = typer.Option(AnswererChoice.extractive, "--answerer",
                                                help="作答方式：extractive 离线抽取，llm 大模型，auto 有密钥时用大模型"),
        judge: Optional[bool] = typer.Option(None, "--judge/--no-judge",
                                             help="是否请大模型评审复核（默认：设置了大模型时开启）"),
        as_json: bool = typer.Option(False, "--json", help="输出 results.json，而不是 Markdown 摘要"),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", envvar="PROPOSALS_DATA_DIR", metavar="目录",
                                                help="评测索引所在目录（DATA_DIR/evals/<语料>）"),
) -> None:
    from evals.api import CONFIGS, run_eval, stage_zh
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
        with stage_progress(label=stage_zh) as progress:
            run = run_eval(dataset, corpus=corpus, configs=configs, answers=answers, settings=settings,
                           answerer=answerer.value, judge=judge, progress=progress)
        lines = check_run(run, pins) if check else []
        paths = write_run(run, out_dir)
        if pin:
            target = expected or EXPECTED
            write_expected(pin_run(run, load_expected(target) if Path(target).exists() else {}), target)
            console.print(f"已把 {run.dataset} / {'、'.join(run.configs)} 的指标固定到 {target}", highlight=False)
    except ProposalError as e:
        fail(e)
    if as_json:
        print(json.dumps(run.to_json(), ensure_ascii=False, indent=1))
    else:
        print(markdown(run))
    console.print(f"报告：{paths['report.md']} · {paths['report.html']} · 运行文件在 {out_dir}", highlight=False)
    if check:
        if not lines:
            console.print(f"[yellow]{run.dataset} / {'、'.join(run.configs)} 没有固定的指标[/yellow]", highlight=False)
        for line in lines:
            console.print(f"[{'green' if line.ok else 'red'}]{line}[/]", highlight=False)
        failed = sum(not line.ok for line in lines)
        console.print(f"门槛：{len(lines) - failed} 项通过，{failed} 项未通过", highlight=False)
        if failed:
            sys.stdout.flush()
            raise typer.Exit(1)
