"""The corpus as the grader sees it: parsed and chunked like the ingest does, without embedding.

Grading a run file needs the cited chunks' text and identity (title, proposers, year) and
the source files, to check quotes; parsing is cheap, so ``--answers`` runs need no index.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunker import chunk_proposal
from ingest.jsonl_import import read_jsonl
from ingest.parser import parse_file
from ingest.pipeline import collect_files
from rag.core.errors import IngestError
from rag.core.textnorm import norm
from rag.core.types import Chunk


@dataclass
class ProposalInfo:
    id: str
    year: int
    title: str
    proposers: str


@dataclass
class CorpusView:
    chunks: dict[str, Chunk] = field(default_factory=dict)
    proposals: dict[str, ProposalInfo] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # proposal id -> normalised file text
    failures: list[IngestError] = field(default_factory=list)

    @classmethod
    def load(cls, corpus: Path, chunk_tokens: int = 320) -> "CorpusView":
        view = cls()
        files, view.failures = collect_files([corpus])
        for f in files:
            try:
                props = read_jsonl(f)[0] if f.suffix.lower() == ".jsonl" else [parse_file(f)]
            except IngestError as e:
                view.failures.append(e)
                continue
            for p in props:
                view.proposals[p.id] = ProposalInfo(p.id, p.year, p.title, "、".join(p.proposers))
                view.texts[p.id] = norm(p.text)
                view.chunks.update((c.id, c) for c in chunk_proposal(p, chunk_tokens))
        return view

    def quote_in_source(self, quote: str, proposal_id: str | None) -> bool:
        """Is ``quote`` verbatim (normalised) in the named proposal's file (any file when unnamed)?"""
        q = norm(quote)
        if not q:
            return False
        if proposal_id and proposal_id in self.texts:
            return q in self.texts[proposal_id]
        return any(q in t for t in self.texts.values())
