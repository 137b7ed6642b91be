"""The one API that the CLI, the UI and the evals call."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.answer.analyze import Vocabulary, analyse
from rag.answer.chain import Turn, build_chain, pack
from rag.core.errors import ProposalError
from rag.answer.extractive import ExtractiveAnswerer
from rag.stores.index import Index
from rag.answer.listing import answer_catalogue, answer_meta
from rag.retrieval.retrievers import make_retriever
from rag.core.settings import Settings
from rag.core.types import Answer, Filters, Hit
from rag.answer.verify import REFUSAL, verify

log = logging.getLogger(__name__)
LLM_FALLBACK = "大模型调用失败，以下为离线抽取式答案。"


class Assistant:
    """Holds the index and the models (loaded once); each call takes only its inputs."""

    def __init__(self, settings: Settings | None = None, *, retriever: str = "hybrid",
                 answerer: str = "auto", index: Index | None = None, top_k: int | None = None):
        self.settings = settings or Settings()
        self.index = index or Index(self.settings)
        self.retriever_name = retriever
        self.retriever = make_retriever(self.index, retriever)
        self.top_k = top_k or self.settings.top_k
        if answerer == "auto":
            answerer = "llm" if self.settings.llm_enabled else "extractive"
        self.answerer_name = answerer
        self._llm = None
        self._vocab: Vocabulary | None = None
        self._vocab_gen = None
        self.chain = build_chain(self)

    # ---- data ---------------------------------------------------------------------------
    @property
    def catalogue(self):
        return self.index.catalogue

    def ingest(self, paths, *, prune: bool = False, progress=None):
        from ingest.pipeline import Ingester

        report = Ingester(self.index).run(paths, prune=prune, progress=progress)
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

    def vocabulary(self) -> Vocabulary:
        gen = self.index.manifest().get("generation")
        if self._vocab is None or gen != self._vocab_gen:
            v = self.catalogue.vocabulary()
            self._vocab = Vocabulary(v["departments"] + v["units"], v["proposers"])
            self._vocab_gen = gen
        return self._vocab

    # ---- parts --------------------------------------------------------------------------
    @property
    def extractive(self) -> ExtractiveAnswerer:
        bm = self.index.bm25
        return ExtractiveAnswerer(bm.idf, known=bm.knows, similarity=self._similarity,
                                  dense_weight=self.settings.sentence_dense_weight)

    def _similarity(self, query: str, texts: list[str]):
        emb = self.index.embedder
        q = emb.embed_query(query)
        m = emb.embed_passages(texts, count=False)
        return (m @ q) / (np.linalg.norm(m, axis=1) * np.linalg.norm(q) + 1e-9)

    @property
    def llm(self):
        if self._llm is None:
            from rag.answer.llm import LLMAnswerer

            self._llm = LLMAnswerer(self.settings)
        return self._llm

    def retrieve(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        k = k or self.top_k
        hits = self.retriever.retrieve(query, k, filters)
        if not hits and filters is not None and not filters.is_empty():
            return []
        return hits

    # ---- chain steps (each takes and returns a Turn) ------------------------------------
    def _analyse(self, turn: Turn) -> Turn:
        self.index.ensure_ready()
        question, history = turn.question, turn.history
        if self.answerer_name == "llm" and history:
            from rag.answer.llm import looks_like_followup

            if looks_like_followup(question):
                try:
                    question, history = self.llm.rewrite(question, history), []
                except Exception as e:  # the rule-based rewrite below still applies
                    from rag.stores.openai_adapter import safe_error

                    log.warning("follow-up rewrite failed: %s", safe_error(e, self.settings))
        turn.analysis = analyse(question, self.vocabulary(), history, turn.filters)
        turn.analysis.question = turn.question
        turn.analysis.rewritten = turn.analysis.rewritten or question != turn.question
        return turn

    def _retrieve(self, turn: Turn) -> Turn:
        a = turn.analysis
        if a.intent == "catalogue":
            return turn
        k = max(self.top_k, 30) if a.intent == "list" else self.top_k
        turn.hits = self.retriever.retrieve(a.query, k, a.filters)
        if not turn.hits and not a.filters.is_empty() and turn.filters is None:
            # filters spotted in the question were too narrow: search everything instead
            turn.hits = self.retriever.retrieve(a.query, k, None)
        if a.intent == "list":
            turn.hits = by_proposal_first(turn.hits)
        return turn

    def _pack(self, turn: Turn) -> Turn:
        turn.packed = pack(turn.hits, self.settings.context_tokens)
        return turn

    def _answer(self, turn: Turn) -> Turn:
        a = turn.analysis
        mode = self.answerer_name
        if a.intent == "catalogue":
            turn.draft = answer_catalogue(self.catalogue, a, mode)
            return turn
        if a.intent == "meta":
            turn.draft = answer_meta(self.catalogue, a, turn.hits, mode)
            if turn.draft is not None:
                return turn
        intent = "list" if a.intent == "list" else "fact"
        if mode == "llm" and intent == "fact":
            try:
                turn.draft = self.llm.answer(a.query, turn.packed, intent)
                return turn
            except ProposalError:
                raise
            except Exception as e:  # network, HTTP status, timeout, malformed output
                from rag.stores.openai_adapter import safe_error

                log.warning("LLM failed, falling back to the extractive answer: %s", safe_error(e, self.settings))
                turn.notice = LLM_FALLBACK
        turn.draft = self.extractive.answer(a.query, turn.hits, intent)
        return turn

    def _verify(self, turn: Turn) -> Turn:
        d = turn.draft
        contexts = d.contexts or turn.hits
        checked = verify(d, contexts)
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
        if not question or not question.strip():
            raise ProposalError("问题为空", hint="请输入一个问题")
        t0 = time.perf_counter()
        turn = self.chain.invoke(Turn(question=question.strip(), history=history or [], filters=filters, id=id))
        ans = turn.answer
        ans.timings_ms = {"retrieve": turn.t.get("analyse", 0) + turn.t.get("retrieve", 0),
                          "answer": turn.t.get("pack", 0) + turn.t.get("answer", 0) + turn.t.get("verify", 0),
                          "total": (time.perf_counter() - t0) * 1000}
        return ans

    def stream(self, question: str, *, history: list[str] | None = None,
               filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text as it is written (LLM mode), then the verified ``Answer`` as the last item."""
        if self.answerer_name != "llm":
            yield self.ask(question, history=history, filters=filters)
            return
        if not question or not question.strip():
            raise ProposalError("问题为空", hint="请输入一个问题")
        t0 = time.perf_counter()
        turn = Turn(question=question.strip(), history=history or [], filters=filters)
        for step in (self._analyse, self._retrieve, self._pack):
            turn = step(turn)
        if turn.analysis.intent not in ("fact",):
            turn = self._verify(self._answer(turn))
        else:
            from rag.answer.llm import parse_output

            text = ""
            try:
                for delta in self.llm.stream(turn.analysis.query, turn.packed):
                    text += delta
                    yield text.split("\n引用")[0]
                turn.draft = parse_output(text, turn.analysis.query, turn.packed)
            except Exception as e:
                from rag.stores.openai_adapter import safe_error

                log.warning("LLM stream failed, falling back: %s", safe_error(e, self.settings))
                turn.notice = LLM_FALLBACK
                turn.draft = self.extractive.answer(turn.analysis.query, turn.hits, "fact")
            turn = self._verify(turn)
        turn.answer.timings_ms = {"total": (time.perf_counter() - t0) * 1000}
        yield turn.answer


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


def open_assistant(data_dir: str | Path | None = None, **kw) -> Assistant:
    settings = Settings(data_dir=Path(data_dir)) if data_dir else Settings()
    return Assistant(settings, **kw)


__all__ = ["Assistant", "open_assistant", "REFUSAL", "LLM_FALLBACK"]
