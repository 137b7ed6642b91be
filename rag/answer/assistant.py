"""The one API that the CLI, the UI and the evals call."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from rag.answer.analyze import Vocabulary, analyse
from rag.answer.answerer import Answerer, AnswererFailed, Request, StreamingAnswerer
from rag.answer.catalogue_answers import CatalogueAnswerer, MetaAnswerer
from rag.answer.chain import STEPS, Turn, build_chain, pack
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.followup import NeedsContextAnswerer
from rag.answer.llm import FALLBACK_NOTICE as LLM_FALLBACK
from rag.answer.llm import LLMAnswerer, looks_like_followup
from rag.answer.summary import SummaryAnswerer
from rag.answer.verify import REFUSAL, verify
from rag.core.errors import ConfigError, LLMError
from rag.core.question import checked_question
from rag.core.settings import Settings
from rag.core.proposal import Proposal
from rag.core.types import Answer, Chunk, Filters, Hit
from rag.core.words import warm as warm_words
from rag.retrieval.retrievers import make_retriever
from rag.stores.index import Index
from rag.stores.openai_adapter import safe_error

log = logging.getLogger(__name__)
ANSWERERS = ("auto", "extractive", "llm")


class Assistant:
    """Holds the index and the answerers (loaded once); each call takes only its inputs."""

    def __init__(self, settings: Settings | None = None, *, retriever: str = "hybrid",
                 answerer: str = "auto", index: Index | None = None, top_k: int | None = None):
        self.settings = settings or Settings()
        self.index = index or Index(self.settings)
        self.retriever_name = retriever
        self.retriever = make_retriever(self.index, retriever)
        self.top_k = top_k or self.settings.top_k
        if answerer not in ANSWERERS:
            raise ConfigError(f"unknown answerer {answerer!r}", hint="auto | extractive | llm")
        self.llm_enabled = answerer == "llm" or (answerer == "auto" and self.settings.llm_enabled)
        self.mode = "llm" if self.llm_enabled else "extractive"
        self._llm: LLMAnswerer | None = None
        self._vocab: Vocabulary | None = None
        self._vocab_gen = None
        self.chain = build_chain({name: getattr(self, f"_{name}") for name in STEPS})

    # ---- data ---------------------------------------------------------------------------
    @property
    def catalogue(self):
        return self.index.catalogue

    def ingest(self, paths, *, prune: bool = False, replace: bool = False, progress=None, writing=None):
        from ingest.pipeline import Ingester

        report = Ingester(self.index).run(paths, prune=prune, replace=replace, progress=progress, writing=writing)
        self._vocab = None
        return report

    def remove(self, ids, *, progress=None):
        """Delete proposals from every store (``Ingester.remove``)."""
        from ingest.pipeline import Ingester

        report = Ingester(self.index).remove(ids, progress=progress)
        self._vocab = None
        return report

    def stats(self) -> dict:
        m = self.index.manifest()
        counts = self.catalogue.counts()
        by_section: dict[str, int] = {}
        for c in self.catalogue.chunks(None):
            by_section[c.section] = by_section.get(c.section, 0) + 1
        return {"data_dir": str(self.index.dir), "proposals": counts["proposals"], "chunks": counts["chunks"],
                "by_section": by_section, "vectors": self.index.store.count(),
                "chroma": f"{self.settings.chroma_host}:{self.settings.chroma_port}" if self.settings.chroma_host
                else "embedded", "embed_model": m.get("embed_model"), "generation": m.get("generation"),
                "state": m.get("state"), "problems": self.index.problems()}

    def proposal(self, pid: str):
        return self.catalogue.proposal(pid)

    def source(self, chunk_id: str) -> Source | None:
        """A cited paragraph with its proposal (and header lines, for a ``meta`` chunk)."""
        got = self.catalogue.chunks([chunk_id]) if chunk_id else []
        if not got:
            return None
        c = got[0]
        return Source(self.catalogue.proposal(c.proposal_id), c,
                      self.catalogue.meta_chunk(c.proposal_id) if c.section == "meta" else None)

    def find_proposals(self, query: str = "", filters: Filters | None = None) -> list[dict]:
        """Catalogue rows matching ``filters``; a query that is an id, a title word or a name lists
        those proposals, any other words search the text (proposals in rank order)."""
        f = filters or Filters()
        allowed = set(self.catalogue.find(year=f.year, department=f.department, proposer=f.proposer))
        rows = [r for r in self.catalogue.rows() if r["id"] in allowed]
        query = (query or "").strip()
        if not query:
            return rows
        order = [r["id"] for r in rows if query in r["id"] or query in r["title"] or query in r["proposers"]]
        if not order and not self.index.is_empty():
            order = list(dict.fromkeys(h.chunk.proposal_id for h in self.retrieve(query, k=30)
                                       if h.chunk.proposal_id in allowed))
        by_id = {r["id"]: r for r in rows}
        return [by_id[pid] for pid in order]

    def library(self) -> tuple[list[dict], dict[str, int]]:
        """Every proposal's catalogue row, and how many paragraphs each has."""
        return self.catalogue.rows(), self.catalogue.chunk_counts()

    def vocabulary(self) -> Vocabulary:
        gen = self.index.manifest().get("generation")
        if self._vocab is None or gen != self._vocab_gen:
            v = self.catalogue.vocabulary()
            self._vocab = Vocabulary(v["departments"] + v["units"], v["proposers"])
            self._vocab_gen = gen
        return self._vocab

    # ---- answerers ----------------------------------------------------------------------
    @property
    def extractive(self) -> ExtractiveAnswerer:
        bm = self.index.bm25
        return ExtractiveAnswerer(bm.idf, known=bm.knows, similarity=self._similarity,
                                  dense_weight=self.settings.sentence_dense_weight)

    @property
    def summary(self) -> SummaryAnswerer:
        return SummaryAnswerer(self.catalogue.proposal_chunks, self.index.bm25.idf)

    def _similarity(self, query: str, texts: list[str]):
        try:
            emb = self.index.embedder
            q = emb.embed_query(query)
            m = emb.embed_passages(texts, count=False)
        except LLMError as e:  # the embedding server is down: sentences are ranked by words alone
            log.warning("sentence similarity unavailable: %s", e.message)
            return None
        return (m @ q) / (np.linalg.norm(m, axis=1) * np.linalg.norm(q) + 1e-9)

    @property
    def llm(self) -> LLMAnswerer:
        if self._llm is None:
            self._llm = LLMAnswerer(self.settings)
        return self._llm

    def route(self, intent: str) -> list[Answerer]:
        """The answerers that may answer a question of this intent, in the order they are tried."""
        if intent == "catalogue":
            return [CatalogueAnswerer(self.catalogue, self.mode)]
        if intent == "needs_context":
            return [NeedsContextAnswerer(self.mode)]
        if intent == "summary":  # a chat model summarises the packed contexts; offline, the reply is walked
            return ([self.llm] if self.llm_enabled else []) + [self.summary]
        first: list[Answerer] = [MetaAnswerer(self.catalogue, self.mode)] if intent == "meta" else []
        return first + ([self.llm] if self.llm_enabled else []) + [self.extractive]

    def warm(self) -> None:
        """Load the tokeniser's tagger, the embedder and the retrievers' caches before the first
        question (a serving process calls it at start, so no user waits for them)."""
        warm_words()
        if self.index.is_empty():
            return
        try:
            self.retriever.warm()
        except LLMError as e:  # an embedding server that is down: questions fall back to BM25
            log.warning("warm-up of the retrievers failed: %s", e)

    def retrieve(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        k = k or self.top_k
        hits = self.retriever.retrieve(query, k, filters)
        if not hits and filters is not None and not filters.is_empty():
            return []
        return hits

    # ---- chain steps (each takes and returns a Turn; STEPS lists them in order) ---------
    def _analyse(self, turn: Turn) -> Turn:
        self.index.ensure_ready()
        question, history = turn.question, turn.history
        if self.llm_enabled and history and looks_like_followup(question):
            try:
                question, history = self.llm.rewrite(question, history), []
            except Exception as e:  # the rule-based rewrite below still applies
                log.warning("follow-up rewrite failed: %s", safe_error(e, self.settings))
        turn.analysis = analyse(question, self.vocabulary(), history, turn.filters)
        turn.analysis.question = turn.question
        turn.analysis.rewritten = turn.analysis.rewritten or question != turn.question
        return turn

    def _retrieve(self, turn: Turn) -> Turn:
        a = turn.analysis
        if a.intent in ("catalogue", "needs_context"):
            return turn
        k = max(self.top_k, 30) if a.intent == "list" else self.top_k
        turn.hits = self.retriever.retrieve(a.search_text, k, a.filters)
        if not turn.hits and not a.filters.is_empty() and turn.filters is None:
            # filters spotted in the question were too narrow: search everything instead
            turn.hits = self.retriever.retrieve(a.search_text, k, None)
        if a.intent == "list":
            turn.hits = by_proposal_first(turn.hits)
        return turn

    def _pack(self, turn: Turn) -> Turn:
        turn.packed = pack(turn.hits, self.settings.context_tokens)
        return turn

    def _answer(self, turn: Turn) -> Turn:
        for _ in self._drafts(turn, streaming=False):
            pass
        return turn

    def _drafts(self, turn: Turn, *, streaming: bool) -> Iterator[str]:
        """Try the route's answerers in order until one drafts; text so far is yielded while a
        streaming answerer writes. A failed answerer leaves its notice and the next one answers."""
        request = Request(turn.analysis, turn.hits, turn.packed)
        for answerer in self.route(turn.analysis.intent):
            try:
                if streaming and isinstance(answerer, StreamingAnswerer):
                    draft = None
                    for item in answerer.stream(request):
                        if isinstance(item, Answer):
                            draft = item
                        else:
                            yield item
                else:
                    draft = answerer.answer(request)
            except AnswererFailed as e:
                turn.notice = e.notice
                continue
            if draft is not None:
                turn.draft = draft
                return

    def _verify(self, turn: Turn) -> Turn:
        d = turn.draft
        contexts = d.contexts or turn.hits
        checked = verify(d, contexts, refusal=d.answer if d.abstained else REFUSAL)
        if checked.abstained and turn.hits:
            checked.leads = list(dict.fromkeys(h.chunk.proposal_id for h in turn.hits))[:3]
        turn.answer = replace(checked, question=turn.question, id=turn.id, intent=turn.analysis.intent,
                              notice=turn.notice or d.notice,
                              mode="extractive" if turn.notice else d.mode,
                              contexts=_merge(contexts, turn.hits))
        return turn

    # ---- public -------------------------------------------------------------------------
    def ask(self, question: str, *, history: list[str] | None = None, filters: Filters | None = None,
            id: str | None = None) -> Answer:
        t0 = time.perf_counter()
        turn = self.chain.invoke(self._turn(question, history, filters, id))
        return self._finish(turn, t0)

    def stream(self, question: str, *, history: list[str] | None = None,
               filters: Filters | None = None, id: str | None = None) -> Iterator[str | Answer]:
        """Text as it is written (LLM mode), then the verified ``Answer`` as the last item.
        The same steps as ``ask``; only the answer step hands out text while it runs."""
        t0 = time.perf_counter()
        turn = self._turn(question, history, filters, id)
        for name in STEPS:
            t1 = time.perf_counter()
            if name == "answer":
                yield from self._drafts(turn, streaming=True)
            else:
                turn = getattr(self, f"_{name}")(turn)
            turn.t[name] = (time.perf_counter() - t1) * 1000
        yield self._finish(turn, t0)

    def _turn(self, question: str, history, filters, id) -> Turn:
        # empty, not text, not UTF-8 or over PROPOSALS_MAX_QUESTION_CHARS: refused before any work
        question = checked_question(question, self.settings.max_question_chars)
        return Turn(question=question, history=history or [], filters=filters, id=id)

    @staticmethod
    def _finish(turn: Turn, t0: float) -> Answer:
        ans = turn.answer
        ans.timings_ms = {"retrieve": turn.t.get("analyse", 0) + turn.t.get("retrieve", 0),
                          "answer": turn.t.get("pack", 0) + turn.t.get("answer", 0) + turn.t.get("verify", 0),
                          "total": (time.perf_counter() - t0) * 1000}
        return ans


@dataclass(frozen=True)
class Source:
    proposal: Proposal | None
    chunk: Chunk
    meta: Chunk | None = None


def by_proposal_first(hits: list[Hit]) -> list[Hit]:
    """A list question is about proposals: the best paragraph of each proposal comes first
    (in rank order), then the other paragraphs, so the top contexts cover many proposals."""
    seen: set[str] = set()
    first, rest = [], []
    for h in hits:
        (rest if h.chunk.proposal_id in seen else first).append(h)
        seen.add(h.chunk.proposal_id)
    return first + rest


def _merge(first: list[Hit], rest: list[Hit]) -> list[Hit]:
    seen, out = set(), []
    for h in first + rest:
        if h.chunk.id not in seen:
            seen.add(h.chunk.id)
            out.append(h)
    return out


__all__ = ["Assistant", "REFUSAL", "LLM_FALLBACK"]
