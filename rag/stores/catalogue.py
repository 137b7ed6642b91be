"""The catalogue: every proposal and chunk in SQLite, for exhaustive metadata queries
(by year, proposer, department, handling unit), for the UI's browser and as the source
of truth the vector store and the BM25 index are synced from."""
from __future__ import annotations

import json
import sqlite3
import sys
import threading
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from rag.core.proposal import Proposal
from rag.core.departments import department_key
from rag.core.errors import IndexMismatchError, StoreError
from rag.core.types import Chunk, meta_chunk_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
  id TEXT PRIMARY KEY, year INTEGER, title TEXT, proposers TEXT, departments TEXT,
  department_keys TEXT, handling_units TEXT, unit_keys TEXT, reply_status TEXT,
  support INTEGER, oppose INTEGER, source TEXT, file_sha TEXT, data TEXT);
CREATE TABLE IF NOT EXISTS chunks (
  id TEXT PRIMARY KEY, proposal_id TEXT, ord INTEGER, section TEXT, department_key TEXT,
  hash TEXT, data TEXT, tokens TEXT);
CREATE INDEX IF NOT EXISTS chunks_by_proposal ON chunks(proposal_id);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
"""
DAMAGED_HINT = ("set the file aside and run `proposals ingest` on the proposal files again: the catalogue is "
                "rebuilt from them, then Chroma and BM25 are re-synced from it")
WRITE_HINT = "free disk space or fix the directory's permissions, then run the ingest again"


def damage(path: Path) -> str | None:
    """Why ``path`` is not a whole SQLite file, or None. Cheap (reads the 100-byte header), so a
    truncated catalogue is caught on open rather than by the first query that reads its tail."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(100)
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    if len(head) < 100 or not head.startswith(b"SQLite format 3\0"):
        return "not an SQLite database"
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return None  # SQLite recovers from its write-ahead log; the header may be ahead of the file
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    if pages and head[24:28] == head[92:96] and size < page * pages:  # the header's size is valid
        return f"truncated: {size:,} bytes, its header says {page * pages:,}"
    return None


class Catalogue:
    def __init__(self, path: Path):
        self.path = path
        why = damage(path)
        if why:
            raise IndexMismatchError(f"the catalogue {path} is damaged ({why})", hint=DAMAGED_HINT)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            if getattr(e, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
                raise IndexMismatchError(f"the catalogue {path} is damaged: {e}", hint=DAMAGED_HINT) from None
            raise StoreError(f"cannot open the catalogue {path}: {e}",
                             hint="check that the data directory is writable") from None
        except OSError as e:
            raise StoreError(f"cannot open the catalogue {path}: {e}",
                             hint="check that the data directory is writable") from None
        self.lock = threading.RLock()
        self._writes = 0  # this connection's commits (PRAGMA data_version counts the others')
        self._raw_cache: tuple[tuple[int, int], list[dict]] | None = None

    # ---- writes -------------------------------------------------------------------------
    @contextmanager
    def _write(self):
        """One transaction; a failed write (disk full, read-only) is a StoreError naming the file."""
        try:
            with self.lock, self.db:
                yield
        except sqlite3.Error as e:
            raise StoreError(f"cannot write the catalogue {self.path}: {e}", hint=WRITE_HINT) from None
        finally:
            self._writes += 1

    def replace_proposal(self, p: Proposal, file_sha: str, chunks: list[Chunk], hashes: list[str],
                         tokens: list[list[str]]) -> None:
        """Replace one proposal and exactly its chunks, atomically."""
        self.apply([(p, file_sha, chunks, hashes, tokens)], [])

    def apply(self, replace: list[tuple[Proposal, str, list[Chunk], list[str], list[list[str]]]],
              delete: list[str]) -> None:
        """Replace and delete many proposals (each with exactly its chunks) in one transaction:
        an ingest's whole change becomes visible at once, or not at all."""
        with self._write():
            for p, file_sha, chunks, hashes, tokens in replace:
                self._replace(p, file_sha, chunks, hashes, tokens)
            for pid in delete:
                self.db.execute("DELETE FROM chunks WHERE proposal_id=?", (pid,))
                self.db.execute("DELETE FROM proposals WHERE id=?", (pid,))

    def _replace(self, p: Proposal, file_sha: str, chunks: list[Chunk], hashes: list[str],
                 tokens: list[list[str]]) -> None:
        deps = p.departments
        row = (p.id, p.year, p.title, "、".join(p.proposers), json.dumps(deps, ensure_ascii=False),
               json.dumps(sorted({department_key(d) for d in deps}), ensure_ascii=False),
               json.dumps(p.handling_units, ensure_ascii=False),
               json.dumps(sorted({department_key(u) for u in p.handling_units}), ensure_ascii=False),
               p.reply_status, p.votes[0] if p.votes else None, p.votes[1] if p.votes else None,
               p.source, file_sha, json.dumps(p.to_dict(with_text=True), ensure_ascii=False))
        self.db.execute("DELETE FROM chunks WHERE proposal_id=?", (p.id,))
        self.db.execute("INSERT OR REPLACE INTO proposals VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
        self.db.executemany(
            "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?,?,?)",
            [(c.id, c.proposal_id, i, c.section, department_key(c.department) if c.department else "",
              h, json.dumps(asdict(c), ensure_ascii=False), " ".join(t))
             for i, (c, h, t) in enumerate(zip(chunks, hashes, tokens))])

    def delete_proposal(self, pid: str) -> None:
        self.apply([], [pid])

    def set(self, key: str, value) -> None:
        with self._write():
            self.db.execute("INSERT OR REPLACE INTO kv VALUES (?,?)", (key, json.dumps(value)))

    def get(self, key: str, default=None):
        with self.lock:
            row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # ---- reads --------------------------------------------------------------------------
    def file_shas(self) -> dict[str, tuple[str, str]]:
        """proposal id → (source path, file sha)."""
        with self.lock:
            return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT id, source, file_sha FROM proposals")}

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"proposals": self.db.execute("SELECT COUNT(*) FROM proposals").fetchone()[0],
                    "chunks": self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]}

    def chunk_hashes(self) -> dict[str, str]:
        with self.lock:
            return dict(self.db.execute("SELECT id, hash FROM chunks"))

    def chunks(self, ids: list[str] | None = None) -> list[Chunk]:
        with self.lock:
            if ids is None:
                rows = self.db.execute("SELECT data FROM chunks ORDER BY proposal_id, ord").fetchall()
            else:
                rows = []
                for i in range(0, len(ids), 500):
                    part = ids[i:i + 500]
                    rows += self.db.execute(f"SELECT data FROM chunks WHERE id IN ({','.join('?' * len(part))})",
                                            part).fetchall()
        return [Chunk(**json.loads(r[0])) for r in rows]

    def chunk_columns(self) -> dict[str, tuple[str, str, str]]:
        """chunk id → (proposal id, section, department key), without decoding each chunk."""
        with self.lock:
            rows = self.db.execute("SELECT id, proposal_id, section, department_key FROM chunks").fetchall()
        return {r[0]: (r[1], r[2], r[3] or "") for r in rows}

    def chunk_tokens(self) -> tuple[list[str], list[list[str]]]:
        with self.lock:
            rows = self.db.execute("SELECT id, tokens FROM chunks ORDER BY proposal_id, ord").fetchall()
        # interned: every chunk repeats words of one small vocabulary (at 10k chunks: 55 MB -> 14 MB)
        return [r[0] for r in rows], [list(map(sys.intern, r[1].split(" "))) if r[1] else [] for r in rows]

    def proposal_chunks(self, pid: str) -> list[Chunk]:
        with self.lock:
            rows = self.db.execute("SELECT data FROM chunks WHERE proposal_id=? ORDER BY ord", (pid,)).fetchall()
        return [Chunk(**json.loads(r[0])) for r in rows]

    def meta_chunk(self, pid: str) -> Chunk | None:
        """The proposal's header chunk (案由, 提案者, departments…), or None."""
        got = self.chunks([meta_chunk_id(pid)])
        return got[0] if got else None

    def chunk_counts(self) -> dict[str, int]:
        """proposal id → how many chunks it has."""
        with self.lock:
            return dict(self.db.execute("SELECT proposal_id, COUNT(*) FROM chunks GROUP BY proposal_id"))

    def proposal(self, pid: str) -> Proposal | None:
        with self.lock:
            row = self.db.execute("SELECT data FROM proposals WHERE id=?", (pid,)).fetchone()
        return Proposal.from_dict(json.loads(row[0])) if row else None

    def rows(self, ids: list[str] | None = None) -> list[dict]:
        """One summary dict per proposal (no paragraphs), newest first; only ``ids`` when given
        (a list answer reads its own rows, not the whole archive's)."""
        cols = "SELECT id, year, title, proposers, departments, handling_units, reply_status, support, oppose, source " \
               "FROM proposals"
        with self.lock:
            if ids is None:
                fetched = self.db.execute(cols + " ORDER BY year DESC, id").fetchall()
            else:
                fetched = []
                for i in range(0, len(ids), 500):
                    part = ids[i:i + 500]
                    fetched += self.db.execute(cols + f" WHERE id IN ({','.join('?' * len(part))})", part).fetchall()
                fetched.sort(key=lambda r: (-(r[1] or 0), r[0]))  # as ORDER BY year DESC, id
            out = []
            for r in fetched:
                out.append({"id": r[0], "year": r[1], "title": r[2], "proposers": r[3],
                            "departments": json.loads(r[4]), "handling_units": json.loads(r[5]),
                            "reply_status": r[6], "support": r[7], "oppose": r[8], "source": r[9]})
        return out

    def find(self, *, year: int | None = None, department: str | None = None,
             proposer: str | None = None, unit: str | None = None, replied_only: bool = False) -> list[str]:
        """Proposal ids matching every given field; departments match loosely.

        ``department`` matches a replying department, or (unless ``replied_only``) a handling unit.
        """
        dk = department_key(department) if department else None
        uk = department_key(unit) if unit else None
        out = []
        for r in self._raw():
            if year is not None and r["year"] != year:
                continue
            if proposer and proposer not in r["proposers"]:
                continue
            if dk and dk not in r["department_keys"] and (replied_only or dk not in r["unit_keys"]):
                continue
            if uk and uk not in r["unit_keys"]:
                continue
            out.append(r["id"])
        return out

    def _raw(self) -> list[dict]:
        """Every proposal's filter fields, decoded once per change of the catalogue (by this
        connection or, per ``PRAGMA data_version``, by any other), not once per question."""
        with self.lock:
            stamp = (self._writes, self.db.execute("PRAGMA data_version").fetchone()[0])
            if self._raw_cache is None or self._raw_cache[0] != stamp:
                cur = self.db.execute("SELECT id, year, proposers, department_keys, unit_keys FROM proposals ORDER BY id")
                self._raw_cache = (stamp, [{"id": a, "year": b, "proposers": c, "department_keys": json.loads(d),
                                            "unit_keys": json.loads(e)} for a, b, c, d, e in cur.fetchall()])
            return self._raw_cache[1]

    def vocabulary(self) -> dict[str, list[str]]:
        """Names seen in the corpus: departments, handling units, proposers (for query analysis)."""
        deps, units, people = set(), set(), set()
        with self.lock:
            for d, u, p in self.db.execute("SELECT departments, handling_units, proposers FROM proposals"):
                deps |= set(json.loads(d))
                units |= set(json.loads(u))
                people |= {x for x in p.split("、") if x}
        return {"departments": sorted(deps), "units": sorted(units), "proposers": sorted(people)}

    def close(self) -> None:
        self.db.close()
