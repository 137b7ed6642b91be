"""Suggestion ↔ reply alignment against hand-labelled pairs of the sample corpus."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from rag.staff.align import ADDRESSED, MENTIONED, NOT_ADDRESSED, Aligner, align_all, align_proposal
from rag.core.errors import ProposalError
from tests.conftest import SAMPLES

# Read off the sample files: (proposal, 建议 number) → the reply paragraphs (chunk ids without
# the proposal prefix) that report concrete work on exactly that suggestion.
HAND_LABELS: dict[tuple[str, str], set[str]] = {
    ("20210301", "1"): {"reply:城管局:3"},  # 源头分类、撤桶并点、督导员、积分 ← (一)推动源头分类提质
    ("20210301", "2"): {"reply:城管局:4"},  # 分类运输车辆、杜绝前分后混 ← (二)整治“前分后混”
    ("20210301", "3"): {"reply:城管局:5"},  # 市级厨余处理项目、镇街小型设施 ← (三)补齐厨余处理短板
    ("20210301", "4"): {"reply:城管局:6"},  # 两网融合、低值可回收物补贴 ← (四)推进“两网融合”
    ("20220239", "1"): {"reply:住建局:5"},  # 协商调解机制 ← (三)建立协商调解机制
    ("20220239", "2"): {"reply:住建局:4"},  # 一站式审批、时限 ← (二)优化加装电梯审批
    ("20220239", "3"): {"reply:财政局:2.1"},  # 补贴标准、公积金提取 ← 财政局: 每台10万元提高至15万元…
    ("20220239", "4"): {"reply:市监局:2", "reply:市监局:3"},  # 使用管理单位、保险+服务 ← 市监局 (一)(二)
    ("20220239", "5"): {"reply:住建局:3"},  # 先地下后地上 ← (一)加快推进老旧小区改造
    ("20220077", "1"): {"reply:科技局:3"},  # 安家补贴、免申即享 ← (一)提升人才政策竞争力
    ("20220077", "2"): {"reply:科技局:4"},  # 企业人才自主认定 ← (二)赋予企业人才认定自主权
    ("20220077", "3"): {"reply:科技局:5"},  # 博士、博士后专项 ← (三)实施青年科技人才专项
    ("20220077", "4"): {"reply:科技局:7", "reply:人社局:2.1"},  # 外籍人才窗口 / 配偶就业
    ("20240118", "1"): {"reply:交通局:3"},  # 微循环接驳公交 ← (一)优化接驳公交线路
    ("20240118", "2"): {"reply:交通局:5"},  # 站点周边慢行系统 ← (三)提升站点周边慢行环境
    ("20240118", "3"): {"reply:交通局:4"},  # 90分钟换乘优惠 ← (二)实施换乘优惠
    ("20240118", "4"): {"reply:轨道交通局:2"},  # “地铁+公交”换乘规划 ← 轨道交通局 (1)推进出行信息一体化
    ("20240342", "1"): {"reply:市监局:3"},  # 地方标准、团体标准 ← (一)推进标准体系建设
    ("20240342", "2"): {"reply:市监局:4", "reply:市监局:5", "reply:市监局:6"},  # 一企一档 / 网络销售 / 追溯码
    ("20240342", "3"): {"reply:农业农村局:2", "reply:农业农村局:3", "reply:农业农村局:4"},  # 冷库、集配中心、设备补贴
    ("20240342", "4"): {"reply:市监局:7"},  # 餐饮环节明示 ← (五)试点餐饮环节明示
    ("20230156", "1"): {"reply:发改局:5", "reply:发改局:3"},  # 居住区充电、统建统管 / 居住区管理办法
    ("20230156", "2"): {"reply:发改局:4", "reply:发改局:3"},  # 公共充电网络 / 专项规划
    ("20230156", "3"): {"reply:发改局:6"},  # 统一充电服务平台 ← (4)建设统一服务平台
    ("20230156", "4"): {"reply:交通局:3"},  # 燃油车占用充电车位 ← 交通局 二、规范充电车位管理
}
# Related but only a promise (下一步…): "mentioned", never "addressed".
MENTIONED_LABELS = {("20220239", "3"): "reply:住建局:8",  # （二）推广“以租代购”模式 (下一步工作计划)
                    ("20210301", "3"): "reply:城管局:10",  # (三)加快设施建设 (下一步工作计划)
                    ("20240118", "3"): "reply:交通局:8"}  # (二)推出…“畅行日票”“通勤月票” (下一步工作计划)
# A paragraph of the same reply on another suggestion: must not be taken as the answer.
WRONG_PAIRS = [("20240118", "3", "reply:交通局:5"), ("20220239", "4", "reply:财政局:2.1"),
               ("20220077", "2", "reply:科技局:7"), ("20210301", "1", "reply:城管局:5")]
UNANSWERED = "五、改革生活垃圾处理收费制度,将按户定额征收改为按量计费,探索“多排放多付费”。"


@pytest.fixture(scope="module")
def aligned(sample_assistant) -> dict[tuple[str, str], object]:
    out = {}
    for pid in sorted({p for p, _ in HAND_LABELS} | {p for p, _ in MENTIONED_LABELS}):
        for a in align_proposal(sample_assistant, pid):
            out[(pid, a.suggestion.n)] = a
    return out


def test_labels_cover_enough_pairs():
    pairs = sum(len(v) for v in HAND_LABELS.values())
    assert pairs >= 8 and len({p for p, _ in HAND_LABELS}) >= 3


@pytest.mark.parametrize("key", sorted(HAND_LABELS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_hand_labelled_suggestion_is_addressed_by_its_paragraph(aligned, key):
    a = aligned[key]
    gold = {f"{key[0]}:{x}" for x in HAND_LABELS[key]}
    assert a.verdict == ADDRESSED
    assert a.matches[0].chunk.id in gold, [(m.chunk.id, round(m.score, 2)) for m in a.matches]
    assert a.matches[0].verdict == ADDRESSED
    order = [(m.verdict != ADDRESSED, -m.score) for m in a.matches]
    assert order == sorted(order)  # concrete answers first, each kind best first


def test_labelled_pairs_recall(aligned):
    """Share of labelled paragraphs found among their suggestion's matches."""
    found = total = 0
    for key, gold in HAND_LABELS.items():
        got = {m.chunk.id for m in aligned[key].matches}
        found += len({f"{key[0]}:{x}" for x in gold} & got)
        total += len(gold)
    assert found / total >= 0.8, f"{found}/{total}"


@pytest.mark.parametrize("key", sorted(MENTIONED_LABELS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_a_promise_is_mentioned_not_addressed(aligned, key):
    cid = f"{key[0]}:{MENTIONED_LABELS[key]}"
    m = next((m for m in aligned[key].matches if m.chunk.id == cid), None)
    assert m is not None and m.verdict == MENTIONED


@pytest.mark.parametrize("pid, n, cid", WRONG_PAIRS, ids=lambda x: str(x))
def test_paragraph_on_another_suggestion_is_not_the_answer(aligned, pid, n, cid):
    assert f"{pid}:{cid}" not in {m.chunk.id for m in aligned[(pid, n)].matches if m.verdict == ADDRESSED}


def test_a_suggestion_no_paragraph_answers_is_not_addressed(sample_assistant):
    chunks = sample_assistant.catalogue.proposal_chunks("20210301")
    s = replace(next(c for c in chunks if c.section == "suggestion"), id="20210301:suggestion:5", n="5",
                text=UNANSWERED)
    [a] = Aligner().align(sample_assistant, [s], [c for c in chunks if c.section == "reply"])
    assert a.verdict == NOT_ADDRESSED and a.matches == []


def test_align_refuses_unknown_and_unreplied_proposals(sample_assistant):
    with pytest.raises(ProposalError, match="no proposal 20990001"):
        align_proposal(sample_assistant, "20990001")
    with pytest.raises(ProposalError, match="no reply to align") as e:
        align_proposal(sample_assistant, "20250063")
    from rag.core.errors import ErrorCode
    from rag.core.errors_zh import words

    assert e.value.code is ErrorCode.NOTHING_TO_ALIGN and words(e.value) == "提案 20250063 没有可对照的答复。"


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory, make_settings):
    """20210301 with one extra suggestion its reply never answers, and two unreplied proposals."""
    from rag.answer.assistant import Assistant

    src = tmp_path_factory.mktemp("align-corpus")
    text = (SAMPLES / "20210301.txt").read_text(encoding="utf-8-sig")
    anchor = "引导龙头企业参与回收体系建设。\n"
    assert anchor in text
    (src / "20210301.txt").write_text(text.replace(anchor, anchor + "\n  " + UNANSWERED + "\n", 1), encoding="utf-8")
    for pid in ("20250063", "20250129"):
        shutil.copy(SAMPLES / f"{pid}.txt", src / f"{pid}.txt")
    a = Assistant(make_settings(tmp_path_factory.mktemp("align-index")), answerer="extractive")
    assert a.ingest([src]).ok
    return a


def test_corpus_report_lists_unaddressed_suggestions_by_department_and_year(small_corpus):
    r = align_all(small_corpus)
    assert r.proposals == 1 and r.suggestions == 5
    assert r.counts[NOT_ADDRESSED] == 1 and r.counts[ADDRESSED] == 4
    assert sorted(r.skipped) == ["20250063", "20250129"]
    groups = r.by_department_year()
    assert list(groups) == [("市城市管理和综合执法局", 2021)]
    [item] = groups[("市城市管理和综合执法局", 2021)]
    assert item.proposal_id == "20210301" and item.suggestion.text == UNANSWERED
    d = json.loads(json.dumps(r.to_json(), ensure_ascii=False))
    assert d["unaddressed"][0]["department"] == "市城市管理和综合执法局" and d["unaddressed"][0]["year"] == 2021
    assert d["unaddressed"][0]["items"][0]["chunk_id"] == item.suggestion.id
    md = r.markdown()
    assert "| 市城市管理和综合执法局 | 2021 | 1 |" in md and "改革生活垃圾处理收费制度" in md and "未回应 1 条" in md


def test_cli_align(small_corpus, embed_cache, monkeypatch):
    from typer.testing import CliRunner

    from rag.cli.main import app

    monkeypatch.setenv("PROPOSALS_EMBED_CACHE", str(embed_cache))
    data = ["--data-dir", str(small_corpus.index.dir)]
    r = CliRunner().invoke(app, ["align", "20210301", "--json", *data])
    assert r.exit_code == 0, r.output
    verdicts = [s["verdict"] for s in json.loads(r.stdout)["suggestions"]]
    assert verdicts == [ADDRESSED] * 4 + [NOT_ADDRESSED]
    r = CliRunner().invoke(app, ["align", "20210301", *data])
    assert r.exit_code == 0 and "【未回应】改革生活垃圾处理收费制度" in r.stdout
    r = CliRunner().invoke(app, ["align", "--all", *data])
    assert r.exit_code == 0 and "未回应 1 条" in r.stdout
    r = CliRunner().invoke(app, ["align", *data])
    assert r.exit_code == 1 and "give a proposal id, or --all" in r.output
