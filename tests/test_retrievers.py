"""One contract that every retriever passes: at most k hits, scores ordered, unique ids,
filters honoured (year, department loosely matched, proposer, section, proposal id)."""
from __future__ import annotations

import pytest

from rag.core.departments import department_key
from rag.retrieval.retrievers import BM25Retriever, DenseRetriever, HybridRetriever
from rag.core.types import Filters, Retriever

QUERIES = ["科技局怎么答复人才引进的建议", "充电桩建设", "出租屋消防安全隐患整治", "垃圾分类"]


class RetrieverContract:
    """Subclasses provide ``make(index)``; every retriever must pass all of these."""

    @staticmethod
    def make(index) -> Retriever:
        raise NotImplementedError

    @pytest.fixture
    def retriever(self, sample_assistant):
        r = self.make(sample_assistant.index)
        assert isinstance(r, Retriever)
        return r

    @pytest.mark.parametrize("q", QUERIES)
    @pytest.mark.parametrize("k", [1, 5, 12])
    def test_at_most_k_ordered_unique(self, retriever, q, k):
        hits = retriever.retrieve(q, k)
        assert 0 < len(hits) <= k
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert len({h.chunk.id for h in hits}) == len(hits)

    def test_warm_leaves_the_answers_as_they_were(self, retriever):
        before = [h.chunk.id for h in retriever.retrieve("新能源汽车充电基础设施", 5, Filters(department="市发展和改革局"))]
        retriever.warm()
        after = [h.chunk.id for h in retriever.retrieve("新能源汽车充电基础设施", 5, Filters(department="市发展和改革局"))]
        assert after == before

    def test_relevant_first(self, retriever):
        hits = retriever.retrieve("新能源汽车充电基础设施", 5)
        assert hits[0].chunk.proposal_id == "20230156"

    def test_year_filter(self, retriever):
        hits = retriever.retrieve("服务", 20, Filters(year=2023))
        assert hits and {h.chunk.year for h in hits} == {2023}

    def test_department_filter_is_loose(self, retriever):
        for name in ("科技局", "市科技局", "市科学技术局", "东莞市科学技术局"):
            hits = retriever.retrieve("人才", 20, Filters(department=name, section="reply"))
            assert hits, name
            assert {department_key(h.chunk.department) for h in hits} == {"科技局"}

    def test_department_filter_keeps_only_its_replies(self, retriever):
        hits = retriever.retrieve("充电", 30, Filters(department="市交通运输局"))
        assert hits
        for h in hits:
            if h.chunk.section == "reply":
                assert department_key(h.chunk.department) == "交通局"

    def test_proposer_and_id_filters(self, retriever):
        hits = retriever.retrieve("人才政策", 10, Filters(proposer="林晓东"))
        assert hits and {h.chunk.proposal_id for h in hits} == {"20220077"}
        hits = retriever.retrieve("消防安全", 10, Filters(proposal_id="20230714", section="suggestion"))
        assert hits and {(h.chunk.proposal_id, h.chunk.section) for h in hits} == {("20230714", "suggestion")}

    def test_filter_matching_nothing_returns_nothing(self, retriever):
        assert retriever.retrieve("人才", 5, Filters(year=1999)) == []


class TestDense(RetrieverContract):
    make = staticmethod(DenseRetriever)


class TestBM25(RetrieverContract):
    make = staticmethod(BM25Retriever)


class TestHybridRRF(RetrieverContract):
    make = staticmethod(lambda index: HybridRetriever(index, fusion="rrf"))


class TestHybridWeighted(RetrieverContract):
    make = staticmethod(lambda index: HybridRetriever(index, fusion="weighted", weights=(0.6, 0.4)))


class TestHybridWithReranker(RetrieverContract):
    # the hook may reorder; the contract (order of scores, k, filters) must still hold
    make = staticmethod(lambda index: HybridRetriever(
        index, reranker=lambda q, hits: sorted(hits, key=lambda h: -h.score)))


def test_known_share_weighs_the_words_the_corpus_uses_by_idf():
    from types import SimpleNamespace

    from rag.retrieval.retrievers import known_share

    bm = SimpleNamespace(knows=lambda t: t in ("电梯", "补贴"), idf=lambda t: {"电梯": 2.0, "补贴": 1.0}.get(t, 4.0))
    assert known_share("加装电梯补贴", bm) == pytest.approx(3.0 / 7.0)  # 加装 unknown: the rarest weight
    assert known_share("电梯补贴", bm) == 1.0
    assert known_share("？", bm) == 1.0  # nothing to judge by
