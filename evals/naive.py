"""The "LangChain naive" baseline: how such assistants are usually built.

RecursiveCharacterTextSplitter(500, 50) over the raw decoded files, the project's embedder
behind a LangChain ``Embeddings``, ``langchain_chroma.Chroma`` similarity top-k, and the
answer is the top chunk, cited as its own source. No parsing, no BM25, no refusal.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.decode import decode_file
from ingest.pipeline import collect_files
from rag.stores.chroma_store import make_client
from rag.stores.embeddings import CachedEmbedder
from rag.answer.verify import split_sentences

CHUNK_SIZE, CHUNK_OVERLAP = 500, 50


class ProjectEmbeddings(Embeddings):
    """The project's (cached) embedder as a LangChain ``Embeddings``, so Chroma never embeds."""

    def __init__(self, embedder: CachedEmbedder):
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()


@dataclass(frozen=True)
class NaiveDoc:
    source_id: str  # what a retrieved chunk is scored against (proposal id, CMRC paragraph id)
    text: str


@dataclass
class BuildReport:
    chunks: int
    added: int
    removed: int
    seconds: float


class NaiveIndex:
    """Split documents, keep one Chroma collection in sync with the chunks (ids carry a content hash)."""

    def __init__(self, store_dir: Path, embedder: CachedEmbedder, collection: str = "naive",
                 chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP):
        from langchain_chroma import Chroma

        self.splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        self.store = Chroma(client=make_client(Path(store_dir)), collection_name=collection,
                            embedding_function=ProjectEmbeddings(embedder))

    def build(self, docs: list[NaiveDoc], batch: int = 256) -> BuildReport:
        t0 = time.perf_counter()
        texts, metas, ids = [], [], []
        for d in docs:
            for i, piece in enumerate(self.splitter.split_text(d.text)):
                h = hashlib.sha256(piece.encode("utf-8")).hexdigest()[:12]
                texts.append(piece)
                metas.append({"source_id": d.source_id, "n": i})
                ids.append(f"naive:{d.source_id}:{i}:{h}")
        have = set(self.store.get(include=[])["ids"])
        stale = sorted(have - set(ids))
        if stale:
            self.store.delete(ids=stale)
        todo = [i for i, cid in enumerate(ids) if cid not in have]
        for a in range(0, len(todo), batch):
            part = todo[a:a + batch]
            self.store.add_texts([texts[i] for i in part], [metas[i] for i in part], ids=[ids[i] for i in part])
        return BuildReport(len(ids), len(todo), len(stale), time.perf_counter() - t0)

    def search(self, query: str, k: int = 10) -> list[tuple[str, str, str, float]]:
        """(chunk id, source id, text, relevance) best first."""
        found = self.store.similarity_search_with_relevance_scores(query, k=k)
        return [(d.id or "", str(d.metadata.get("source_id", "")), d.page_content, float(s)) for d, s in found]


def corpus_docs(corpus: Path) -> list[NaiveDoc]:
    """The corpus files, decoded, whole: the proposal id is the file name."""
    files, _ = collect_files([corpus])
    return [NaiveDoc(f.stem, decode_file(str(f), f.read_bytes())) for f in files if f.suffix.lower() == ".txt"]


def mark_every_sentence(text: str, marker: str = "1") -> str:
    """The top chunk as an answer: every sentence of it rests on that chunk, so each carries its marker."""
    out = []
    for s in split_sentences(text):
        body = s.rstrip("\n")
        if body.strip():
            out.append(f"{body.rstrip()}[{marker}]" + ("\n" if s.endswith("\n") else ""))
    return "".join(out).strip()


class NaivePipeline:
    name = "naive"

    def __init__(self, corpus: Path, store_dir: Path, embedder: CachedEmbedder, top_k: int = 10):
        self.index = NaiveIndex(store_dir, embedder)
        self.report = self.index.build(corpus_docs(corpus))
        self.top_k = top_k

    def ask(self, question: str, id: str | None = None) -> dict:
        """One answer in the ``Answer.to_json()`` shape."""
        t0 = time.perf_counter()
        found = self.index.search(question, self.top_k)
        t1 = time.perf_counter()
        contexts = [{"chunk_id": cid, "proposal_id": sid, "section": None, "department": None, "heading": None,
                     "text": text, "score": round(score, 6)} for cid, sid, text, score in found]
        citations, answer = [], ""
        if found:
            cid, sid, text, _ = found[0]
            answer = mark_every_sentence(text)
            citations = [{"marker": "1", "chunk_id": cid, "proposal_id": sid, "section": None, "department": None,
                          "heading": None, "quote": text}]
        t2 = time.perf_counter()
        return {"id": id, "question": question, "answer": answer, "abstained": not found, "mode": "naive",
                "intent": "fact", "notice": None, "leads": [], "citations": citations, "contexts": contexts,
                "timings_ms": {"retrieve": round((t1 - t0) * 1000, 2), "answer": round((t2 - t1) * 1000, 2),
                               "total": round((t2 - t0) * 1000, 2)}}
