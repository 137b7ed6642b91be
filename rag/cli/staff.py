"""`proposals outline` and `proposals align`: the staff tools on the command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from rag.core.errors import IngestError, ProposalError, RequestError


def register(app: typer.Typer) -> None:
    from rag.cli.common import DataDir, assistant, fail

    @app.command()
    def outline(file: Path = typer.Argument(..., help="the new proposal (.txt in UTF-8 or GB18030, .docx, a text "
                                                      ".pdf); - reads stdin"),
                department: str = typer.Option(..., "--department", "-d", help="the department drafting the reply"),
                as_json: bool = typer.Option(False, "--json", help="one JSON object (docs/staff.md)"),
                as_md: bool = typer.Option(False, "--md", help="the outline as Markdown (the default)"),
                answerer: str = typer.Option("auto", help="auto | extractive | llm"),
                data_dir: Optional[Path] = DataDir) -> None:
        """Draft a reply outline from precedent replies: measures and plans per suggestion, each cited."""
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

    @app.command()
    def align(pid: Optional[str] = typer.Argument(None, help="a replied proposal's id"),
              all_: bool = typer.Option(False, "--all", help="report unaddressed suggestions over the corpus"),
              as_json: bool = typer.Option(False, "--json", help="print JSON"),
              data_dir: Optional[Path] = DataDir) -> None:
        """Which reply paragraphs answer each suggestion (addressed / mentioned / not addressed)."""
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
