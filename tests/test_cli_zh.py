"""The command line speaks Chinese: help for every command and option, validated choices,
errors, and `show` with reply status and votes in words, without Rich wrapping Chinese lines."""
from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from rag.cli.main import app

CJK = re.compile(r"[\u4e00-\u9fff]")


def commands():
    return typer.main.get_command(app).commands


def test_every_command_and_option_has_chinese_help():
    for name, cmd in commands().items():
        assert CJK.search(cmd.help or ""), name
        for p in cmd.params:
            assert CJK.search(p.help or ""), f"{name} {p.name}"


@pytest.mark.parametrize("name", sorted(commands()))
def test_help_output_has_no_english_frame(name):
    r = CliRunner().invoke(app, [name, "--help"], terminal_width=100)
    assert r.exit_code == 0, r.output
    assert "用法：" in r.output and "显示本帮助并退出" in r.output
    for english in ("Usage:", "Options", "Arguments", "Show this message", "[default:", "<bool>", "<str>"):
        assert english not in r.output, (name, english)


@pytest.mark.parametrize("args,said", [
    (["ask", "问题", "--section", "foo"], "'--section' 的取值无效：'foo' 不是可选值"),
    (["ask", "问题", "--retriever", "fast"], "'--retriever' 的取值无效"),
    (["ask", "问题", "--answerer", "gpt"], "'--answerer' 的取值无效"),
    (["ask", "问题", "--year", "abc"], "'--year' 的取值无效：应为整数"),
    (["show"], "缺少参数 '编号'"),
    (["ask", "--bogus"], "没有选项 --bogus"),
])
def test_bad_options_are_refused_in_chinese(args, said):
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and said in r.output and "错误：" in r.output, r.output
    assert "Invalid value" not in r.output and "Error" not in r.output


def test_show_prints_status_and_votes_in_words(sample_assistant, embed_cache, monkeypatch):
    monkeypatch.setenv("PROPOSALS_EMBED_CACHE", str(embed_cache))
    data = ["--data-dir", str(sample_assistant.index.dir)]
    for pid in ("20220077", "20250063"):
        r = CliRunner().invoke(app, ["show", pid, *data], terminal_width=80)
        assert r.exit_code == 0, r.output
        assert "None" not in r.output and "answered" not in r.output and "pending" not in r.output
        assert re.search(r"答复状态 (已答复|暂无答复|无答复)", r.output) and "网友评价 " in r.output
        if pid == "20220077":  # soft wrap: a long paragraph is never broken by Rich at 80 columns
            assert sample_assistant.proposal(pid).content[0].text in r.output
    assert "答复状态 暂无答复" in CliRunner().invoke(app, ["show", "20250063", *data]).output


def test_an_unknown_eval_dataset_is_named_not_an_unexpected_error(tmp_path):
    r = CliRunner().invoke(app, ["eval", "devset9", "--data-dir", str(tmp_path / "d")], terminal_width=200)
    assert r.exit_code != 0
    assert "评测数据有误：devset9" in r.output and "no such dataset" in r.output, r.output
    assert "意外错误" not in r.output
