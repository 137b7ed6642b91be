"""Ingest: idempotent, a changed file replaces exactly its chunks, bad input is reported
and skipped while the rest still ingests, JSONL import, prune, and the CLI's exit status."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ingest.pipeline import Ingester
from rag.stores.index import Index
from tests.conftest import ROOT, SAMPLES

THREE = ["20210301.txt", "20220077.txt", "20250063.txt"]


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    for name in THREE:
        shutil.copy(SAMPLES / name, d / name)
    return d


@pytest.fixture
def index(tmp_path, make_settings):
    return Index(make_settings(tmp_path / "data"))


def test_rerun_on_unchanged_input_adds_nothing(index, corpus):
    first = Ingester(index).run([corpus])
    assert first.ok and first.proposals == 3 and first.added > 0 and first.unchanged == 0
    n = index.catalogue.counts()["chunks"]
    assert index.store.count() == n == len(index.bm25) == first.added
    again = Ingester(index).run([corpus])
    assert (again.added, again.updated, again.removed, again.embedded) == (0, 0, 0, 0)
    assert again.unchanged == n and index.problems() == []
    assert again.timings_s["total"] < first.timings_s["total"]


def test_changed_file_replaces_exactly_its_chunks(index, corpus):
    Ingester(index).run([corpus])
    before = index.catalogue.chunk_hashes()
    f = corpus / "20210301.txt"
    text = f.read_text(encoding="utf-8")
    lines = text.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("建议") or ln.startswith("建    议"))
    lines.insert(i, "  （四）新增的一段内容，用于检验增量更新。")
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = Ingester(index).run([corpus])
    after = index.catalogue.chunk_hashes()
    assert r.proposals_changed == 1 and r.added == 1
    assert r.embedded <= 2  # the new paragraph (and the meta chunk if it changed)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed and all(k.startswith("20210301:") for k in changed)
    assert index.problems() == []
    hit = [c for c in index.catalogue.proposal_chunks("20210301") if "增量更新" in c.text]
    assert len(hit) == 1


def test_bad_files_are_reported_and_the_rest_ingests(index, corpus):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    (corpus / "nocase.txt").write_text("内容:\n  没有案由行。\n", encoding="utf-8")
    shutil.copy(SAMPLES / "20220077.txt", corpus / "zz-duplicate.txt")
    r = Ingester(index).run([corpus, corpus / "missing.txt"])
    assert r.proposals == 3 and not r.ok
    reasons = {e.path.rsplit("/", 1)[-1]: e.reason for e in r.failures}
    assert set(reasons) == {"empty.txt", "binary.txt", "nocase.txt", "zz-duplicate.txt", "missing.txt"}
    assert "also in" in reasons["zz-duplicate.txt"] and "empty" in reasons["empty.txt"]
    assert index.problems() == [] and index.catalogue.counts()["proposals"] == 3


def test_prune_removes_proposals_whose_files_are_gone(index, corpus):
    Ingester(index).run([corpus])
    (corpus / "20250063.txt").unlink()
    kept = Ingester(index).run([corpus])
    assert index.catalogue.counts()["proposals"] == 3 and kept.removed == 0
    pruned = Ingester(index).run([corpus], prune=True)
    assert pruned.removed > 0 and index.catalogue.proposal("20250063") is None
    assert index.store.count() == index.catalogue.counts()["chunks"] == len(index.bm25)


def test_jsonl_import_and_line_errors(index, tmp_path):
    good = {"id": "20260001", "title": "关于测试JSONL导入的建议", "proposers": ["张三", "李四"],
            "content": ["第一段内容。"], "suggestions": ["一、第一条建议。", "二、第二条建议。"],
            "replies": [{"department": "市测试局", "paragraphs": ["一、工作情况", "已完成试点12个。"]}],
            "handling_units": ["市测试局"], "votes": {"support": 5, "oppose": 1}}
    f = tmp_path / "export.jsonl"
    f.write_text("\n".join([json.dumps(good, ensure_ascii=False), "{not json",
                            json.dumps({"title": "缺少编号"}, ensure_ascii=False)]) + "\n", encoding="utf-8")
    r = Ingester(index).run([f])
    assert r.proposals == 1
    assert [(e.line, "JSON" in e.reason or "'id'" in e.reason) for e in r.failures] == [(2, True), (3, True)]
    p = index.catalogue.proposal("20260001")
    assert p.proposers == ["张三", "李四"] and p.votes == (5, 1)
    chunk = next(c for c in index.catalogue.proposal_chunks("20260001") if c.section == "reply")
    assert chunk.heading == "市测试局 › 一、工作情况" and chunk.text == "已完成试点12个。"


def test_cli_ingest_exit_status_and_summary(tmp_path, corpus, embed_cache):
    (corpus / "broken.txt").write_text("没有案由\n", encoding="utf-8")
    env = {"PROPOSALS_DATA_DIR": str(tmp_path / "d"), "PROPOSALS_EMBED_CACHE": str(embed_cache),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--json"], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert report["proposals"] == 3 and report["failures"][0]["path"].endswith("broken.txt")
    stats = subprocess.run([sys.executable, "-m", "rag.cli", "stats"], cwd=ROOT, capture_output=True,
                           text=True, env=env, timeout=300)
    assert stats.returncode == 0 and json.loads(stats.stdout)["proposals"] == 3


def test_remove_takes_a_proposal_out_of_every_store(index, corpus):
    from rag.core.errors import ProposalError

    Ingester(index).run([corpus])
    n = len(index.catalogue.proposal_chunks("20220077"))
    with pytest.raises(ProposalError, match="20990000"):
        Ingester(index).remove(["20220077", "20990000"])  # one unknown id: nothing is written
    assert index.catalogue.proposal("20220077") is not None
    r = Ingester(index).remove(["20220077"])
    assert r.proposals_changed == 1 and r.removed == n and r.proposals == 2
    assert index.catalogue.proposal("20220077") is None and index.problems() == []
    assert index.store.count() == index.catalogue.counts()["chunks"] == len(index.bm25)
    assert not [k for k in index.store.hashes() if k.startswith("20220077:")]
    assert index.manifest()["state"] == "clean"


def test_a_file_with_a_known_id_replaces_that_proposal(index, corpus, tmp_path):
    Ingester(index).run([corpus])
    newer = tmp_path / "newer"
    newer.mkdir()
    text = (corpus / "20220077.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    lines.insert(2, "  替换后的版本新增这一段。")
    (newer / "v2.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = Ingester(index).run([newer], replace=True)  # another file: replacing is asked for
    assert r.replaced == 1 and r.per_file == {str((newer / "v2.txt").resolve()): 1}
    assert any("替换后的版本" in c.text for c in index.catalogue.proposal_chunks("20220077"))
    assert index.catalogue.counts()["proposals"] == 3 and index.problems() == []


def test_cli_remove(index, corpus, embed_cache, monkeypatch):
    from typer.testing import CliRunner

    from rag.cli.main import app

    Ingester(index).run([corpus])
    monkeypatch.setenv("PROPOSALS_EMBED_CACHE", str(embed_cache))
    data = ["--data-dir", str(index.dir)]
    r = CliRunner().invoke(app, ["remove", "20250063", *data])
    assert r.exit_code == 0 and "已删除 1 件提案" in r.output, r.output
    r = CliRunner().invoke(app, ["remove", "20250063", *data])
    assert r.exit_code == 1 and "提案库中没有编号为 20250063 的提案" in r.output
