"""The vector-store contract, run against embedded Chroma and a real ``chroma run`` server;
then the whole assistant over the sample corpus in server mode, compared with embedded mode."""
from __future__ import annotations

import uuid

import numpy as np
import pytest

from rag.stores.chroma_store import ChromaStore, Plan, where_clause
from rag.core.errors import StoreError
from rag.core.types import Chunk, Filters
from tests.chroma_server import ChromaServer, ChromaServerError, chroma_executable, free_port
from tests.conftest import SAMPLES

DIM = 16


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    if chroma_executable() is None:
        pytest.skip("the `chroma` command is not installed")
    srv = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db")
    try:
        srv.start()
    except ChromaServerError as e:
        pytest.fail(str(e))
    yield srv
    srv.stop()


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path):
    """An empty collection of the backend under test (a fresh name per test)."""
    name = f"contract-{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        s = ChromaStore.open(tmp_path, name)
    else:
        srv = request.getfixturevalue("chroma_server")
        s = ChromaStore.open(tmp_path, name, srv.host, srv.port)
    yield s
    s.client.delete_collection(name)


def make_chunks() -> list[Chunk]:
    """Two proposals; content, suggestion and replies of two departments; one meta chunk."""
    rows = [("20210001", 2021, "content", None), ("20210001", 2021, "suggestion", None),
            ("20210001", 2021, "reply", "市教育局"), ("20210001", 2021, "reply", "市财政局"),
            ("20220002", 2022, "content", None), ("20220002", 2022, "reply", "市教育局"),
            ("20220002", 2022, "reply", "市卫生健康局"), ("20220002", 2022, "meta", None)]
    out = []
    for i, (pid, year, section, dep) in enumerate(rows):
        dk = f"{dep[1:-1]}:" if dep else ""
        out.append(Chunk(id=f"{pid}:{section}:{dk}{i}", proposal_id=pid, year=year, title=f"标题{pid}",
                         section=section, n=str(i), text=f"第{i}段 {section} 文本", proposers="张三、李四",
                         department=dep, heading=f"{dep} › 一、举措" if dep else None,
                         handling_units="市教育局,市财政局", source=f"/x/{pid}.txt", start=i * 10,
                         end=i * 10 + 8, context=f"《标题{pid}》"))
    return out


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def filled(store):
    chunks = make_chunks()
    vecs = unit_vectors(len(chunks))
    store.upsert(chunks, vecs, [f"h{i}" for i in range(len(chunks))])
    return store, chunks, vecs


def ids(results) -> set[str]:
    return {c.id for c, _ in results}


class TestStoreContract:
    def test_empty_store(self, store):
        assert store.count() == 0
        assert store.hashes() == {}
        assert store.query(unit_vectors(1)[0], 5) == []

    def test_upsert_count_hashes(self, filled):
        store, chunks, _ = filled
        assert store.count() == len(chunks)
        assert store.hashes() == {c.id: f"h{i}" for i, c in enumerate(chunks)}

    def test_query_round_trips_chunks_best_first(self, filled):
        store, chunks, vecs = filled
        for i, c in enumerate(chunks):
            res = store.query(vecs[i], 3)
            assert len(res) == 3
            top, sim = res[0]
            assert top == c  # every field survives the metadata round trip (None stays None)
            assert sim == pytest.approx(1.0, abs=1e-4)
            sims = [s for _, s in res]
            assert sims == sorted(sims, reverse=True)
        assert len(store.query(vecs[0], 100)) == len(chunks)  # k above the count is clamped

    def test_upsert_replaces_changed_chunks(self, filled):
        store, chunks, vecs = filled
        changed = Chunk(**{**chunks[0].__dict__, "text": "改过的文本"})
        store.upsert([changed], vecs[:1], ["h-new"])
        assert store.count() == len(chunks)
        assert store.hashes()[changed.id] == "h-new"
        assert store.query(vecs[0], 1)[0][0].text == "改过的文本"

    def test_delete(self, filled):
        store, chunks, vecs = filled
        gone = [chunks[0].id, chunks[5].id]
        store.delete(gone)
        assert store.count() == len(chunks) - 2
        assert not set(gone) & set(store.hashes())
        assert not set(gone) & ids(store.query(vecs[0], 100))

    @pytest.mark.parametrize("plan, expected", [
        (Plan(proposal_ids=frozenset({"20220002"})), {4, 5, 6, 7}),
        (Plan(section="reply"), {2, 3, 5, 6}),
        # a department keeps every non-reply paragraph and only its own replies
        (Plan(department_key="教育局"), {0, 1, 2, 4, 5, 7}),
        (Plan(proposal_ids=frozenset({"20210001"}), department_key="财政局", section="reply"), {3}),
        (Plan(proposal_ids=frozenset({"20210001", "20220002"}), section="meta"), {7}),
        (Plan(proposal_ids=frozenset()), set()),
        (Plan(), set(range(8))),
    ])
    def test_filters(self, filled, plan, expected):
        store, chunks, vecs = filled
        got = ids(store.query(vecs[0], 100, plan))
        assert got == {chunks[i].id for i in expected}

    def test_filtered_query_is_the_exact_filtered_top_k(self, store, monkeypatch):
        """Broad filters are answered from an unfiltered prefetch, narrow or far ones by Chroma's
        filter; every way gives the k nearest chunks that pass."""
        from rag.core.departments import department_key

        n, k = 400, 10
        base = make_chunks()[0]
        deps = [None, None, "市教育局", "市财政局", "市卫生健康局"]
        chunks = [Chunk(**{**base.__dict__, "id": f"p{i // 5}:{i}", "proposal_id": f"p{i // 5}", "n": str(i),
                           "section": ("content", "suggestion", "reply", "reply", "reply")[i % 5],
                           "department": deps[i % 5]}) for i in range(n)]
        vecs = unit_vectors(n, seed=2)
        store.upsert(chunks, vecs, ["h"] * n)
        q = unit_vectors(1, seed=3)[0]
        sims = vecs @ q
        best = {}
        for i in range(n):
            best[chunks[i].proposal_id] = max(best.get(chunks[i].proposal_id, -1.0), sims[i])
        far = frozenset(sorted(best, key=best.get)[:55])  # the 55 proposals farthest from q
        calls: list = []
        real = store._query
        monkeypatch.setattr(store, "_query", lambda v, m, where: calls.append(where) or real(v, m, where))
        cases = [(Plan(section="reply"), "prefetch"),
                 (Plan(department_key=department_key("市教育局")), "prefetch"),
                 (Plan(proposal_ids=frozenset(best) - {"p0"}), "prefetch"),
                 (Plan(proposal_ids=far, section="suggestion"), "fallback"),
                 (Plan(proposal_ids=frozenset({"p3", "p7"})), "narrow")]
        for plan, way in cases:
            calls.clear()
            got = [c.id for c, _ in store.query(q, k, plan)]
            passing = [i for i in range(n) if plan.allows(chunks[i].metadata())]
            want = [chunks[i].id for i in sorted(passing, key=lambda i: -sims[i])[:k]]
            assert got == want, (plan, way)
            expected_calls = {"prefetch": [None], "fallback": [None, where_clause(plan)],
                              "narrow": [where_clause(plan)]}[way]
            assert calls == expected_calls, (plan, way)

    def test_top_k_holds_in_a_narrow_cosine_band(self, store):
        """e5 vectors (384 dimensions) crowd into a narrow band of cosines, where HNSW with
        Chroma's default candidate list (100) drops about 4% of the true 50 nearest; the
        configured one finds them (a server can still miss one while it indexes the new batch)."""
        n, k, dim = 1500, 50, 384
        rng = np.random.default_rng(5)
        centre = rng.normal(size=dim)
        centre /= np.linalg.norm(centre)
        band = lambda m: centre + 0.3 * rng.normal(size=(m, dim)) / np.sqrt(dim)  # noqa: E731
        vecs = band(n)
        vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
        base = make_chunks()[0]
        chunks = [Chunk(**{**base.__dict__, "id": f"b:{i}", "n": str(i)}) for i in range(n)]
        store.upsert(chunks, vecs, ["h"] * n)
        missed = 0
        for q in band(30).astype(np.float32):
            want = {chunks[i].id for i in np.argsort(-(vecs @ q))[:k]}
            missed += len(want - ids(store.query(q, k)))
        assert missed <= 0.005 * 30 * k, missed

    def test_an_existing_collection_takes_the_configured_ef_search(self, store):
        store.upsert(make_chunks()[:1], unit_vectors(1), ["h"])
        again = ChromaStore(store.client, store.name, ef_search=321)
        assert again.col.configuration["hnsw"]["ef_search"] == 321
        assert again.count() == 1  # the data stays

    def test_hashes_pages_past_one_batch(self, store):
        n = 5_003  # hashes() reads in pages of 5,000
        base = make_chunks()[0]
        chunks = [Chunk(**{**base.__dict__, "id": f"p:{i}", "n": str(i)}) for i in range(n)]
        store.upsert(chunks, unit_vectors(n, seed=1), [f"h{i}" for i in range(n)])
        h = store.hashes()
        assert len(h) == n and h["p:0"] == "h0" and h[f"p:{n - 1}"] == f"h{n - 1}"

    def test_reset(self, filled):
        store, _, vecs = filled
        store.reset()
        assert store.count() == 0 and store.query(vecs[0], 3) == []


def test_the_index_opens_its_collection_with_the_configured_ef_search(tmp_path, make_settings):
    from rag.stores.index import Index

    # the default, then the same data directory reopened with another value
    for kw, ef in (({}, 500), ({"hnsw_ef_search": 321}, 321)):
        idx = Index(make_settings(tmp_path / "idx", **kw))
        assert idx.store.col.configuration["hnsw"]["ef_search"] == ef


def test_unreachable_server_is_a_store_error(tmp_path):
    port = free_port()
    with pytest.raises(StoreError) as e:
        ChromaStore.open(tmp_path, "proposals", "127.0.0.1", port)
    assert f"127.0.0.1:{port}" in str(e.value) and "chroma run" in str(e.value)


# ---- the whole assistant in server mode ---------------------------------------------------

QUESTIONS = ["科技局怎么答复人才引进的建议?", "加装电梯的市级补贴标准现在是每台多少钱？",
             "垃圾分类“绿色账户”积分奖励是在哪几个街道试点的？", "跨境电商海外仓有什么支持政策"]


@pytest.fixture(scope="module")
def twins(chroma_server, tmp_path_factory, make_settings):
    """The sample corpus ingested twice, one right after the other (BM25 tokens depend on the
    words jieba has been taught in this process): vectors in the server, and embedded."""
    from rag.answer.assistant import Assistant

    remote = Assistant(make_settings(tmp_path_factory.mktemp("server-index"), chroma_host=chroma_server.host,
                                     chroma_port=chroma_server.port), answerer="extractive")
    local = Assistant(make_settings(tmp_path_factory.mktemp("embedded-twin")), answerer="extractive")
    for a in (remote, local):
        report = a.ingest([SAMPLES])
        assert report.ok, report.failures
    return remote, local


@pytest.fixture(scope="module")
def server_assistant(twins):
    return twins[0]


@pytest.fixture(scope="module")
def embedded_twin(twins):
    return twins[1]


@pytest.mark.slow
def test_server_mode_keeps_vectors_on_the_server(server_assistant, embedded_twin, chroma_server):
    st = server_assistant.stats()
    assert st["chroma"] == f"{chroma_server.host}:{chroma_server.port}"
    assert st["problems"] == []
    assert st["vectors"] == st["chunks"] == embedded_twin.stats()["chunks"]
    assert not (server_assistant.index.dir / "chroma").exists()  # no embedded copy in the data dir
    assert (server_assistant.index.dir / "catalogue.sqlite").exists()  # catalogue and BM25 stay local
    assert server_assistant.index.store.hashes() == embedded_twin.index.store.hashes()


@pytest.mark.slow
@pytest.mark.parametrize("retriever", ["dense", "bm25", "hybrid"])
def test_server_mode_retrieves_like_embedded(server_assistant, embedded_twin, retriever):
    from rag.retrieval.retrievers import make_retriever

    remote = make_retriever(server_assistant.index, retriever)
    local = make_retriever(embedded_twin.index, retriever)
    filters = [None, Filters(year=2022), Filters(department="市教育局"), Filters(section="reply")]
    for q in QUESTIONS:
        for f in filters:
            got = [h.chunk.id for h in remote.retrieve(q, 5, f)]
            want = [h.chunk.id for h in local.retrieve(q, 5, f)]
            assert got == want, (q, f)
            assert got or f is not None


@pytest.mark.slow
def test_server_mode_answers_like_embedded(server_assistant, embedded_twin):
    for q in QUESTIONS:
        remote, local = server_assistant.ask(q), embedded_twin.ask(q)
        assert remote.answer == local.answer
        assert [c.chunk_id for c in remote.citations] == [c.chunk_id for c in local.citations]


@pytest.mark.slow
def test_server_down_is_a_clear_error(tmp_path, make_settings):
    from rag.answer.assistant import Assistant

    port = free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        Assistant(make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=port))
