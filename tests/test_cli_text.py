"""The command line prints corpus text and file names as text (never as Rich markup), answers
every line of ``ask --jsonl`` (a bad line becomes an error object naming its id and line), and
turns a question that is not valid UTF-8 into one clear error line."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLES

MARKUP = "[/x]标记[bold]不是格式[/bold]"


def cli(*args: str, env: dict, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, capture_output=True, env=env,
                          timeout=600, input=input)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embed_cache):
    root = tmp_path_factory.mktemp("cli-text")
    corpus = root / "corpus"
    (corpus / "m[").mkdir(parents=True)
    shutil.copy(SAMPLES / "20210301.txt", corpus / "20210301.txt")
    text = (SAMPLES / "20250063.txt").read_text(encoding="utf-8").replace("内容：\n", f"内容：\n  {MARKUP}。\n", 1)
    assert MARKUP in text
    (corpus / "20250063.txt").write_text(text, encoding="utf-8")
    (corpus / "m[" / "x].txt").write_text("没有案由[/x]\n", encoding="utf-8")  # fails: its name holds [/x]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CHROMA_HOST", "CHROMA_PORT")}
    env.update(PROPOSALS_DATA_DIR=str(root / "data"), PROPOSALS_EMBED_CACHE=str(embed_cache), COLUMNS="300")
    out = cli("ingest", str(corpus), env=env)
    return corpus, env, out


def test_a_failing_file_named_like_markup_is_listed_verbatim(indexed):
    corpus, _, out = indexed
    err = out.stdout.decode() + out.stderr.decode()
    assert out.returncode == 1 and "Traceback" not in err and "MarkupError" not in err
    assert f"{corpus}/m[/x].txt" in err


def test_show_prints_markup_like_text_verbatim(indexed):
    _, env, _ = indexed
    out = cli("show", "20250063", env=env)
    assert out.returncode == 0, out.stderr.decode()
    assert MARKUP in out.stdout.decode()


def test_ask_quotes_markup_like_text_verbatim(indexed):
    _, env, _ = indexed
    out = cli("ask", "不是格式的标记是什么", "--answerer", "extractive", env=env)
    assert out.returncode == 0, out.stderr.decode()
    assert "[/x]标记" in out.stdout.decode() and "MarkupError" not in out.stderr.decode()


def test_ask_jsonl_reports_each_bad_line_and_goes_on(indexed, tmp_path):
    _, env, _ = indexed
    lines = [json.dumps({"id": "q1", "question": 5}), json.dumps({"id": "q2", "question": ""}), "not json",
             json.dumps({"id": "q4", "question": "垃圾分类“绿色账户”积分奖励是在哪几个街道试点的？"}, ensure_ascii=False),
             json.dumps({"id": "q5"}), json.dumps(["a list"]), json.dumps({"id": "q7", "question": "x" * 600})]
    f = tmp_path / "q.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = cli("ask", "--jsonl", str(f), "--answerer", "extractive", env=env)
    rows = [json.loads(x) for x in out.stdout.decode().splitlines()]
    assert out.returncode == 1 and "Traceback" not in out.stderr.decode()
    assert [r.get("id") for r in rows] == ["q1", "q2", None, "q4", "q5", None, "q7"]
    errors = [r for r in rows if "error" in r]
    assert [r["line"] for r in errors] == [1, 2, 3, 5, 6, 7]
    assert all(str(f) in r["error"] for r in errors)
    assert "问题过长" in errors[-1]["error"]
    assert rows[3]["answer"] and rows[3]["citations"]
    assert "7 个问题中有 6 个未能回答" in out.stderr.decode()


def test_ask_jsonl_says_what_is_wrong_with_each_line_in_chinese(indexed, tmp_path):
    _, env, _ = indexed
    f = tmp_path / "q.jsonl"
    f.write_text('{"id": "a", "question": "加装电梯\n[1, 2]\n{"id": "c"}\n{"id": "d", "question": "x", "history": "y"}\n',
                 encoding="utf-8")
    out = cli("ask", "--jsonl", str(f), "--answerer", "extractive", env=env)
    errors = [json.loads(x)["error"] for x in out.stdout.decode().splitlines()]
    assert errors == [f"{f}:1：JSON 格式错误", f"{f}:2：每一行必须是一个 JSON 对象", f"{f}:3：缺少必填字段 question",
                      f"{f}:4：字段 history 的值不合要求"]
    missing = cli("ask", "--jsonl", str(tmp_path / "none.jsonl"), env=env)
    assert missing.returncode == 1 and f"{tmp_path / 'none.jsonl'}：文件不存在" in missing.stdout.decode() + missing.stderr.decode()


def test_a_question_with_bytes_that_are_not_utf8_is_one_clear_error(indexed):
    _, env, _ = indexed
    out = cli("ask", os.fsdecode(b"\xe7\xa7\x91\xe6\x8a\x80\xe5\xb1\x80\xff\xe6\x80\x8e\xe4\xb9\x88\xe7\xad\x94"
                                 b"\xe5\xa4\x8d"), env=env)
    err = out.stderr.decode()
    assert out.returncode == 1 and "Traceback" not in err and "UnicodeEncodeError" not in err
    assert "UTF-8" in err and "第 4 个字符" in err
