"""BM25 over jieba tokens (bm25s; its own tokenizer does not split Chinese), persisted
beside Chroma. Each build goes to a fresh folder; the manifest names the live one, so a
crash mid-build never leaves a half-written index in use."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import bm25s
import numpy as np

from rag.core.errors import IndexMismatchError


class BM25Index:
    def __init__(self, ids: list[str], model: bm25s.BM25 | None, df: dict[str, int] | None = None):
        self.ids = ids
        self.model = model
        self.df = df or {}
        self.pos = {cid: i for i, cid in enumerate(ids)}

    def idf(self, term: str) -> float:
        """BM25 idf of ``term``; unseen terms get the rarest weight."""
        n = len(self.ids)
        df = self.df.get(term, 0)
        return math.log((n - df + 0.5) / (df + 0.5) + 1.0)

    def knows(self, term: str) -> bool:
        """Does ``term`` occur anywhere in the corpus?"""
        return self.df.get(term, 0) > 0

    @classmethod
    def build(cls, ids: list[str], token_lists: list[list[str]]) -> "BM25Index":
        if not ids:
            return cls([], None)
        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index([t or [""] for t in token_lists], show_progress=False)
        df: dict[str, int] = {}
        for toks in token_lists:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        return cls(ids, model, df)

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.model is not None:
            self.model.save(str(tmp), show_progress=False)
        (tmp / "df.json").write_text(json.dumps(self.df, ensure_ascii=False), encoding="utf-8")
        (tmp / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        try:
            ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
            df = json.loads((folder / "df.json").read_text(encoding="utf-8"))
            model = bm25s.BM25.load(str(folder), show_progress=False) if ids else None
        except Exception as e:
            raise IndexMismatchError(f"the BM25 index {folder} is damaged or incomplete: {e}",
                                     hint="run `proposals rebuild` to rebuild it from the catalogue") from None
        if model is not None and int(model.scores["num_docs"]) != len(ids):
            raise IndexMismatchError(f"the BM25 index {folder} has {model.scores['num_docs']} documents "
                                     f"but {len(ids)} ids", hint="run `proposals rebuild`")
        return cls(ids, model, df)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        if self.model is None or not query_tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        known = [t for t in query_tokens if t in self.model.vocab_dict]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.ids)
