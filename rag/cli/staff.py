"""`proposals outline` and `proposals align`: the staff tools on the command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from rag.cli.common import AnswererChoice, AnswererOpt, DataDir
from rag.core.errors import IngestError, ProposalError, RequestError


def register(app: typer.Typer) -> None:
    from rag.cli.common import assistant, fail

    @app.command(help="依据先例答复起草答复提纲：每条建议的已有举措和下一步计划，逐条注明出处。")
    def outline(file: Path = typer.Argument(..., metavar="文件",
                                            help="新提案文件（.txt，UTF-8 或 GB18030；.docx；文字版 .pdf）；"
                                                 "写 - 则从标准输入读取"),
                department: str = typer.Option(..., "--department", "-d", metavar="部门", help="起草答复的部门"),
                as_json: bool = typer.Option(False, "--json", help="输出一个 JSON 对象（见 docs/staff.md）"),
                as_md: bool = typer.Option(False, "--md", help="以 Markdown 输出提纲（默认）"),
                answerer: AnswererChoice = AnswererOpt,
                data_dir: Optional[Path] = DataDir) -> None:
        from ingest.decode import decode_file
        from ingest.documents import read_document
        from rag.staff.outline import draft_outline

        if as_json and as_md:
            fail(RequestError("choose one of --json and --md"))
        try:
            if str(file) == "-":
                text = decode_file("<stdin>", sys.stdin.buffer.read())
            else:
                try:
                    data = file.read_bytes()
                except OSError as e:
                    raise IngestError(str(file), f"cannot read: {e.strerror}") from None
                text = read_document(str(file), data)
            a = assistant(data_dir, answerer=answerer)
            ol = draft_outline(a, text, department, use_llm=a.llm_enabled,
                               source="<stdin>" if str(file) == "-" else str(file))
        except ProposalError as e:
            fail(e)
        if as_json:
            print(json.dumps(ol.to_json(), ensure_ascii=False, indent=1))
        else:
            print(ol.markdown, end="")

    @app.command(help="逐条建议找出回应它的答复段落（已具体回应 / 有所提及 / 未回应）。")
    def align(pid: Optional[str] = typer.Argument(None, metavar="编号", help="一件已答复提案的编号"),
              all_: bool = typer.Option(False, "--all", help="在整个提案库中列出未被回应的建议"),
              as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
              data_dir: Optional[Path] = DataDir) -> None:
        from rag.staff.align import VERDICT_ZH, align_all, align_proposal
        from rag.staff.outline import label_of

        if bool(pid) == all_:
            fail(RequestError("give a proposal id, or --all"))
        try:
            a = assistant(data_dir)
            if all_:
                report = align_all(a)
            else:
                alignments = align_proposal(a, pid)  # type: ignore[arg-type]
        except ProposalError as e:
            fail(e)
        if all_:
            if as_json:
                print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
            else:
                print(report.markdown(), end="")
            return
        if as_json:
            print(json.dumps({"proposal_id": pid, "suggestions": [x.to_json() for x in alignments]},
                             ensure_ascii=False, indent=1))
            return
        for x in alignments:
            print(f"建议{x.suggestion.n}【{VERDICT_ZH[x.verdict]}】{label_of(x.suggestion.text)}")
            for m in x.matches:
                print(f"    {m.score:.2f} {VERDICT_ZH[m.verdict]} · {m.chunk.heading or m.chunk.department}\n"
                      f"         {m.chunk.text[:80]}{'…' if len(m.chunk.text) > 80 else ''}")
            if not x.matches:
                print("    答复中没有回应这条建议的段落")
