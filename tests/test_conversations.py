"""Saved conversations: per user, turns keep their Answer JSON (citations survive a reload),
rename/delete, Markdown export with the quoted sources; the app's handlers use the same store."""
from __future__ import annotations

import gradio as gr
import pytest

from rag.stores.conversations import (LOCAL_USER, ConversationStore, answer_from_json, answer_json,
                                      conversation_markdown)
from ui.handlers import Handlers


@pytest.fixture
def store(tmp_path):
    s = ConversationStore.in_data_dir(tmp_path)
    yield s
    s.close()


def test_a_turn_round_trips_its_answer_with_citations(sample_assistant, store):
    ans = sample_assistant.ask("加装电梯的市级补贴标准现在是每台多少钱？")
    assert ans.citations
    conv = store.add_turn("ana", "", "加装电梯的市级补贴标准现在是每台多少钱？", ans)
    assert conv.title.startswith("加装电梯") and len(conv.turns) == 1
    # a new connection on the same file: what a restarted server sees
    again = ConversationStore(store.path).get("ana", conv.id)
    back = again.turns[0].to_answer()
    assert back.answer == ans.answer and back.citations == ans.citations
    assert [h.chunk.id for h in back.contexts] == [h.chunk.id for h in ans.contexts]
    assert {h.chunk.title for h in back.contexts} == {h.chunk.title for h in ans.contexts}
    assert answer_from_json(answer_json(ans)).to_json() == {**ans.to_json()}


def test_conversations_are_per_user_and_can_be_renamed_and_deleted(store):
    a = store.add_turn("ana", "", "第一个问题？", None, "出错了")
    store.add_turn("ana", a.id, "第二个问题？", None, "出错了")
    b = store.add_turn("bo", "", "别人的问题？", None, "x")
    assert [c.id for c in store.list("ana")] == [a.id] and [c.id for c in store.list("bo")] == [b.id]
    assert store.get("bo", a.id) is None  # another user's id opens nothing
    assert not store.rename("bo", a.id, "偷改") and store.get("ana", a.id).title == "第一个问题？"
    assert store.rename("ana", a.id, "  电梯 补贴  ") and store.get("ana", a.id).title == "电梯 补贴"
    assert [t.question for t in store.get("ana", a.id).turns] == ["第一个问题？", "第二个问题？"]
    # an unknown id starts a new conversation rather than writing into nothing
    c = store.add_turn("ana", "no-such-id", "新的？", None, "x")
    assert c.id != "no-such-id" and len(store.list("ana")) == 2
    assert not store.delete("bo", a.id) and store.delete("ana", a.id)
    assert store.get("ana", a.id) is None and [x.id for x in store.list("ana")] == [c.id]


def test_markdown_export_quotes_the_sources(sample_assistant, store):
    ans = sample_assistant.ask("加装电梯的市级补贴标准现在是每台多少钱？")
    conv = store.add_turn(LOCAL_USER, "", "加装电梯的市级补贴标准现在是每台多少钱？", ans)
    md = conversation_markdown(conv)
    c = ans.citations[0]
    assert md.startswith(f"# {conv.title}") and "## 1. 加装电梯的市级补贴标准" in md
    assert f"[{c.marker}] 提案{c.proposal_id}《" in md and f"「{c.quote}」" in md


def test_handlers_save_and_restore_a_conversation(sample_assistant, tmp_path):
    h = Handlers(sample_assistant, conversations=ConversationStore(tmp_path / "c.sqlite"))
    html, turns, cleared, _, cid, listing = list(h.chat("加装电梯的补贴标准是多少？", [], "", "", ""))[-1]
    assert cid and f'data-cid="{cid}"' in listing and turns[0].answer is not None
    list(h.chat("那市住建局是怎么答复的？", turns, "", "", "", cid))
    # a reload: a fresh page with only the conversation id from the browser
    restored, transcript, listing, title, current = h.restore(cid)
    assert current == cid and len(restored) == 2 and title.startswith("加装电梯")
    marker = restored[0].answer.citations[0]
    assert f'data-chunk="{marker.chunk_id}"' in transcript
    src = h.open_from_chat(restored, gr.EventData(None, {"chunk": marker.chunk_id}))
    assert "<mark>" in src
    path = h.export_conversation(cid)["value"]
    assert path and open(path, encoding="utf-8").read().count("## ") == 2
    h.delete_conversation(cid)
    assert h.restore(cid)[4] == "" and "还没有保存的对话" in h.restore(cid)[2]
