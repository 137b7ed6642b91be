"""The grounding judge: each check on hand-made sentences, the pinned agreement on the
labelled set, and `proposals verify`."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from evals.gate import load_expected
from evals.judge_set import HOLDOUT, JUDGE_SET, Agreement, agreement, folds, read_judge_records, run
from rag.answer import claims
from rag.answer.judge import JUDGE, Evidence
from rag.core.types import Chunk
from tests.conftest import SHARED

REPLY = ("2023年，我局会同市财政局投入资金3,200万元，在石碣、石龙两个镇试点建设智慧停车平台，新增泊位1,280个，"
         "泊位周转率提高了5个百分点。")
PLAN = "下一步，我局将研究制定《东莞市停车设施管理办法》，力争今年年底前实现全市医院周边智慧停车全覆盖。"
OTHER = "2022年全市共查处违停2.1万宗，劝离违规候客1800余次。"


def ok(sentence: str, *passages: str, year: int = 2023, department: str | None = "市公安局") -> bool:
    ev = [Evidence.of_chunk(Chunk(id=f"x:{i}", proposal_id="20230127", year=year, title="关于缓解医院周边停车难的建议",
                                  section="reply", n=str(i), text=p, department=department))
          for i, p in enumerate(passages, 1)]
    return JUDGE.judge(sentence, ev).supported


def test_figures_with_units_and_magnitudes():
    assert claims.cn_number("三千二百") == 3200 and claims.cn_number("十二") == 12
    assert ok("投入资金三千二百万元。[1]", REPLY)
    assert ok("市公安局投入3200万元，新增泊位1280个。[1]", REPLY)
    assert not ok("投入资金3200亿元。[1]", REPLY)  # magnitude
    assert not ok("泊位周转率提高了5%。[1]", REPLY)  # % is not 个百分点
    assert not ok("新增泊位1,380个。[1]", REPLY)  # figure


def test_dates_relative_to_the_proposal_year():
    assert ok("力争2023年底前实现医院周边智慧停车全覆盖。[1]", PLAN, year=2023)
    assert not ok("力争2024年底前实现医院周边智慧停车全覆盖。[1]", PLAN, year=2023)
    assert not ok("力争今年年初实现医院周边智慧停车全覆盖。[1]", PLAN, year=2023)
    assert not ok("2022年在石碣、石龙两个镇试点建设智慧停车平台。[1]", REPLY)


def test_named_entities_must_stand_in_the_cited_paragraph():
    # the chunk vouches for its own department; aliases fold (市财政局 = 财政局)
    assert ok("市公安局会同财政局在石碣、石龙两个镇试点建设智慧停车平台。[1]", REPLY)
    assert not ok("市公安局会同市教育局在石碣、石龙两个镇试点建设智慧停车平台。[1]", REPLY)
    assert not ok("在石碣、茶山两个镇试点建设智慧停车平台。[1]", REPLY)
    assert not ok("将研究制定《东莞市停车场管理条例》。[1]", PLAN)
    assert ok("将研究制定《东莞市停车设施管理办法》。[1]", PLAN)


def test_people_named_as_authors_must_be_the_cited_proposals_proposers():
    def cites(sentence: str, proposers: str = "郑国华、曾丽萍") -> bool:
        c = Chunk(id="20230714:suggestion:1", proposal_id="20230714", year=2023, title="关于加强城中村出租屋消防安全的建议",
                  section="suggestion", n="1", text="建议在城中村出租屋全面安装独立式烟感报警器。", proposers=proposers)
        return JUDGE.judge(sentence, [Evidence.of_chunk(c)]).supported

    assert cites("郑国华委员建议在城中村出租屋全面安装独立式烟感报警器。[1]")
    assert cites("提案者为郑国华、曾丽萍，建议在城中村出租屋全面安装独立式烟感报警器。[1]")
    assert cites("是曾丽萍委员建议在城中村出租屋全面安装独立式烟感报警器。[1]")
    assert not cites("王志强委员建议在城中村出租屋全面安装独立式烟感报警器。[1]")
    assert not cites("提案者为郑国华、李明，建议在城中村出租屋全面安装独立式烟感报警器。[1]")
    v = JUDGE.judge("王志强等委员建议在城中村出租屋全面安装独立式烟感报警器。[1]",
                    [Evidence("建议在城中村出租屋全面安装独立式烟感报警器。", "郑国华、曾丽萍")])
    assert not v.supported and v.check == "entity" and v.item == "王志强"
    # bodies and groups are not people: nothing to check
    assert claims.people("市政协委员、民建委员、专家委员和金融委员会都提出了意见") == ()
    assert claims.people("提案者：民建东莞市委员会") == ()


def test_polarity_and_modality():
    assert not ok("已实现全市医院周边智慧停车全覆盖。[1]", PLAN)  # a plan stated as done
    assert ok("计划今年年底前实现全市医院周边智慧停车全覆盖。[1]", PLAN)
    assert not ok("《东莞市停车设施管理办法》已经出台。[1]", PLAN)
    assert not ok("我局已取消医院周边停车收费。[1]", "我局已降低医院周边停车收费标准。")


def test_scope():
    assert not ok("全市所有镇街都已建设智慧停车平台。[1]", REPLY)  # a two-town pilot
    assert ok("在石碣、石龙两个镇试点建设了智慧停车平台。[1]", REPLY)


def test_merged_sentence_takes_each_clause_from_its_own_paragraph_and_wrong_paragraph_fails():
    assert ok("石碣、石龙两个镇新增泊位1280个[1]，2022年全市共查处违停2.1万宗[2]。", REPLY, OTHER)
    assert not ok("2022年全市共查处违停2.1万宗。[1]", REPLY)
    assert not ok("医院周边的网约车候客秩序明显好转。[1]", REPLY)


def test_reasons_name_what_has_no_support():
    v = JUDGE.judge("新增泊位1,380个。[1]", [Evidence(REPLY, year=2023)])
    assert not v.supported and v.check == "figure" and "1380个" in v.reason


# ---- the labelled set ---------------------------------------------------------------------
PINS = load_expected().get("judge", {})


@pytest.mark.parametrize("split,path", [("dev", JUDGE_SET), ("holdout", HOLDOUT)])
def test_agreement_does_not_drop_below_the_pin(split, path):
    records, errors = read_judge_records(path)
    assert not errors and len(records) >= 80
    got = agreement(records).to_json()
    values = {"supported_kept": got["supported_kept"], "unsupported_caught": got["unsupported_caught"],
              "overall": got["overall"], **{k: v["share"] for k, v in got["by_kind"].items()}}
    for metric, spec in PINS[split].items():
        assert values[metric] >= spec["value"] - spec["tol"] - 1e-9, (split, metric, values[metric])


def test_without_quotes_supported_sentences_are_kept_as_often():
    records, _ = read_judge_records(JUDGE_SET)
    kept = agreement(records, use_quote=False).kept
    assert kept >= PINS["dev_no_quotes"]["supported_kept"]["value"] - PINS["dev_no_quotes"]["supported_kept"]["tol"]


def test_folds_keep_each_proposal_in_one_fold():
    records, _ = read_judge_records(JUDGE_SET)
    parts = folds(records, 5)
    assert len(parts) == 5 and sum(map(len, parts)) == len(records)
    owner = {}
    for i, p in enumerate(parts):
        for r in p:
            assert owner.setdefault(r.source, i) == i


@pytest.mark.shared
def test_dev_passages_are_whole_paragraphs_of_the_dev_corpora():
    corpora = [SHARED / "devset" / "corpus", SHARED / "devset2" / "corpus"]
    if not all(c.exists() for c in corpora):
        pytest.skip("../shared is absent")
    lines = {line.strip() for c in corpora for f in c.glob("*.txt")
             for line in f.read_text(encoding="utf-8", errors="replace").split("\n")}
    records, _ = read_judge_records(JUDGE_SET)
    assert all(p in lines for r in records for p in r.passages.values())


# ---- proposals verify ---------------------------------------------------------------------
def _app():
    from rag.cli.main import app

    return app


def test_verify_command_writes_verdicts_and_agreement_and_names_bad_lines(tmp_path):
    f = tmp_path / "in.jsonl"
    good = {"id": "a", "sentence": "新增泊位1280个。[1]", "passages": {"1": REPLY}, "label": "supported",
            "kind": "verbatim", "source": "20230127"}
    bad = dict(good, id="b", sentence="新增泊位1380个。[1]", label="unsupported", kind="figure")
    f.write_text("\n".join([json.dumps(good, ensure_ascii=False), "{not json", json.dumps({"id": "c"}),
                            json.dumps(bad, ensure_ascii=False)]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(_app(), ["verify", str(f), "--out", str(out)])
    assert res.exit_code == 1  # two lines were skipped; the others were judged
    assert f"{f}:2" in res.output and f"{f}:3" in res.output and "sentence" in res.output
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [(x["id"], x["supported"]) for x in lines] == [("a", True), ("b", False)]
    assert "1380个" in lines[1]["sentences"][0]["reason"]
    assert "| figure | 1 | 1.000 |" in res.output and "**unsupported caught**" in res.output


@pytest.mark.slow
def test_verify_command_reads_chunk_ids_of_the_index(sample_assistant, tmp_path):
    chunk = next(c for c in sample_assistant.index.catalogue.chunks() if c.section == "reply" and "个" in c.text)
    sentence = claims.clauses(chunk.text)[0]
    f = tmp_path / "ids.jsonl"
    f.write_text(json.dumps({"id": "k", "sentence": f"{sentence}。[1]", "chunk_ids": [chunk.id]}, ensure_ascii=False)
                 + "\n" + json.dumps({"id": "m", "sentence": "甲。[1]", "chunk_ids": ["no:such:chunk"]}) + "\n",
                 encoding="utf-8")
    res = CliRunner().invoke(_app(), ["verify", str(f), "--data-dir", str(sample_assistant.index.dir)])
    first = json.loads(res.stdout.splitlines()[0])
    assert first == {"id": "k", "supported": True, "sentences": [{"text": f"{sentence}。", "supported": True, "reason": ""}]}
    assert "no:such:chunk" in res.output and res.exit_code == 1


def test_run_and_agreement_agree():
    records, _ = read_judge_records(JUDGE_SET)
    a = Agreement.of(records, run(records))
    assert a.share() == agreement(records).share()


def _own_sentences(folder):
    from ingest.chunker import chunk_proposal
    from ingest.parser import parse_file
    from rag.core.textnorm import answer_sentences

    for f in sorted(folder.glob("*.txt")):
        for c in chunk_proposal(parse_file(f)):
            if c.section != "meta":
                for s in answer_sentences(c.text):
                    yield c, s


def test_every_sentence_of_the_samples_is_supported_by_its_own_chunk():
    """What the extractive answerer quotes must always pass: no check may reject a paragraph's
    own words (a plan quoted as a plan, a pilot quoted with its 试点, 其中 with its 均)."""
    from tests.conftest import SAMPLES

    pairs = list(_own_sentences(SAMPLES))
    rejected = [(c.id, s) for c, s in pairs if not JUDGE.judge(s + "[1]", [Evidence.of_chunk(c)]).supported]
    assert len(pairs) > 500 and rejected == []


@pytest.mark.shared
def test_every_sentence_of_the_dev_corpora_is_supported_by_its_own_chunk():
    corpora = [SHARED / "devset" / "corpus", SHARED / "devset2" / "corpus"]
    if not all(c.exists() for c in corpora):
        pytest.skip("../shared is absent")
    rejected = [(c.id, s) for folder in corpora for c, s in _own_sentences(folder)
                if not JUDGE.judge(s + "[1]", [Evidence.of_chunk(c)]).supported]
    assert rejected == []
