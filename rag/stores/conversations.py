"""Saved conversations: one SQLite file in the data directory, conversations kept per user.

Each turn keeps its question and the whole ``Answer.to_json()`` (with the titles of the cited
proposals), so a conversation reopened later shows the same answer with its citations still
pointing at their paragraphs. Callers pass the user name with every call (the login name, or
``LOCAL_USER`` when the app runs without a password): a user never sees another's conversations.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rag.core.errors import StoreError
from rag.core.lexicon import SECTION_LABEL
from rag.core.types import Answer, Chunk, Citation, Hit

LOCAL_USER = "本机用户"  # the one user of an app without a password
TITLE_CHARS = 24  # a new conversation is titled by its first question, cut to this length
FILE_NAME = "conversations.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_user ON conversations(user, updated);
CREATE TABLE IF NOT EXISTS turns (
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, n INTEGER NOT NULL,
  question TEXT NOT NULL, answer TEXT, error TEXT, created REAL NOT NULL, PRIMARY KEY (conversation_id, n));
"""


@dataclass
class Turn:
    """One question and what came back: an answer (``Answer.to_json()`` plus ``titles``) or an error."""

    question: str
    answer: dict | None = None
    error: str | None = None
    created: float = 0.0

    def to_answer(self) -> Answer | None:
        return answer_from_json(self.answer) if self.answer is not None else None


@dataclass
class Conversation:
    id: str
    user: str
    title: str
    created: float
    updated: float
    turns: list[Turn] = field(default_factory=list)  # empty in listings

    def history(self, n: int = 4) -> list[str]:
        """The last ``n`` answered questions, for follow-ups ("那人社局呢？")."""
        return [t.question for t in self.turns if t.answer is not None][-n:]


def answer_json(answer: Answer) -> dict:
    """What a turn stores: the JSON contract plus the titles of the proposals it cites."""
    d = answer.to_json()
    d["titles"] = {h.chunk.proposal_id: h.chunk.title for h in answer.contexts}
    return d


def answer_from_json(d: dict) -> Answer:
    """The inverse of ``answer_json`` (contexts keep what the JSON contract carries)."""
    titles = d.get("titles") or {}
    hits = []
    for c in d.get("contexts") or []:
        pid = str(c.get("proposal_id", ""))
        chunk = Chunk(id=c["chunk_id"], proposal_id=pid, year=int(pid[:4]) if pid[:4].isdigit() else 0,
                      title=titles.get(pid, ""), section=c.get("section", ""), n="", text=c.get("text", ""),
                      department=c.get("department"), heading=c.get("heading"))
        hits.append(Hit(chunk, float(c.get("score", 0.0))))
    cites = [Citation(**{k: c.get(k) for k in Citation.__dataclass_fields__}) for c in d.get("citations") or []]
    return Answer(question=d.get("question", ""), answer=d.get("answer", ""), abstained=bool(d.get("abstained")),
                  mode=d.get("mode", "extractive"), citations=cites, contexts=hits,
                  timings_ms=dict(d.get("timings_ms") or {}), id=d.get("id"), intent=d.get("intent", "fact"),
                  notice=d.get("notice"), leads=list(d.get("leads") or []))


def title_of(question: str) -> str:
    q = " ".join(question.split())
    return q if len(q) <= TITLE_CHARS else q[:TITLE_CHARS] + "…"


class ConversationStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open the conversation store {self.path}: {e}",
                             hint="check that the data directory is writable") from None
        self.lock = threading.RLock()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> "ConversationStore":
        return cls(Path(data_dir) / FILE_NAME)

    @contextmanager
    def _write(self):
        try:
            with self.lock, self.db:
                yield
        except sqlite3.Error as e:
            raise StoreError(f"cannot write the conversation store {self.path}: {e}",
                             hint="free disk space or fix the data directory's permissions") from None

    # ---- conversations -------------------------------------------------------------------
    def create(self, user: str, title: str = "") -> Conversation:
        now = time.time()
        c = Conversation(uuid.uuid4().hex[:16], user, title.strip() or "新对话", now, now)
        with self._write():
            self.db.execute("INSERT INTO conversations VALUES (?,?,?,?,?)", (c.id, user, c.title, now, now))
        return c

    def list(self, user: str) -> list[Conversation]:
        """The user's conversations, most recently used first (without their turns)."""
        with self.lock:
            rows = self.db.execute("SELECT id, user, title, created, updated FROM conversations WHERE user=? "
                                   "ORDER BY updated DESC", (user,)).fetchall()
        return [Conversation(*r) for r in rows]

    def get(self, user: str, cid: str) -> Conversation | None:
        """The conversation with its turns; None when it does not exist or is another user's."""
        if not cid:
            return None
        with self.lock:
            row = self.db.execute("SELECT id, user, title, created, updated FROM conversations "
                                  "WHERE id=? AND user=?", (cid, user)).fetchone()
            if row is None:
                return None
            turns = self.db.execute("SELECT question, answer, error, created FROM turns WHERE conversation_id=? "
                                    "ORDER BY n", (cid,)).fetchall()
        return Conversation(*row, turns=[Turn(q, json.loads(a) if a else None, e, t) for q, a, e, t in turns])

    def rename(self, user: str, cid: str, title: str) -> bool:
        title = " ".join((title or "").split())
        if not title:
            return False
        with self._write():
            cur = self.db.execute("UPDATE conversations SET title=? WHERE id=? AND user=?", (title, cid, user))
        return cur.rowcount > 0

    def delete(self, user: str, cid: str) -> bool:
        with self._write():
            self.db.execute("DELETE FROM turns WHERE conversation_id IN "
                            "(SELECT id FROM conversations WHERE id=? AND user=?)", (cid, user))
            cur = self.db.execute("DELETE FROM conversations WHERE id=? AND user=?", (cid, user))
        return cur.rowcount > 0

    # ---- turns ---------------------------------------------------------------------------
    def add_turn(self, user: str, cid: str, question: str, answer: Answer | None = None,
                 error: str | None = None) -> Conversation:
        """Append a turn; a conversation still titled 新对话 takes its first question as title.
        An unknown ``cid`` (or another user's) starts a new conversation, whose id is returned."""
        conv = self.get(user, cid) if cid else None
        if conv is None:
            conv = self.create(user, title_of(question))
        now = time.time()
        data = json.dumps(answer_json(answer), ensure_ascii=False) if answer is not None else None
        with self._write():
            n = self.db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation_id=?",
                                (conv.id,)).fetchone()[0]
            self.db.execute("INSERT INTO turns VALUES (?,?,?,?,?,?)", (conv.id, n, question, data, error, now))
            self.db.execute("UPDATE conversations SET updated=?, title=CASE WHEN title='新对话' THEN ? ELSE title END "
                            "WHERE id=?", (now, title_of(question), conv.id))
        return self.get(user, conv.id)  # type: ignore[return-value]

    def close(self) -> None:
        with self.lock:
            self.db.close()


def conversation_markdown(conv: Conversation) -> str:
    """The conversation as Markdown: each question, its answer, and the quoted sources."""
    lines = [f"# {conv.title}", "", f"导出时间：{time.strftime('%Y-%m-%d %H:%M')}", ""]
    for i, t in enumerate(conv.turns, 1):
        lines += [f"## {i}. {t.question}", ""]
        a = t.to_answer()
        if a is None:
            lines += [f"> {t.error or '（没有答案）'}", ""]
            continue
        if a.notice:
            lines += [f"> {a.notice}", ""]
        lines += [a.answer, ""]
        titles = (t.answer or {}).get("titles") or {}
        if a.citations:
            lines += ["**来源**", ""]
            for c in a.citations:
                title = f"《{titles[c.proposal_id]}》" if titles.get(c.proposal_id) else ""
                where = c.heading or c.department or SECTION_LABEL.get(c.section, c.section)
                lines.append(f"- [{c.marker}] 提案{c.proposal_id}{title} · {where}：「{c.quote}」")
            lines.append("")
        if a.abstained and a.leads:
            lines += ["可能相关的提案：" + "、".join(a.leads), ""]
    return "\n".join(lines).rstrip() + "\n"
