"""Eval datasets: questions (with evidence quotes and answer facts) and outline tasks.

A dataset is a ``questions.jsonl`` file, optionally with ``outlines.jsonl`` beside it, and
names the corpus its evidence comes from (README: "Datasets").
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.core.errors import ErrorCode, ProposalError

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "evals" / "datasets"
DEVSET = ROOT.parent / "shared" / "devset"
QUESTION_TYPES = ("fact", "number", "paraphrase", "cross", "list", "filter", "summary", "followup", "unanswerable")
SECTIONS = ("content", "suggestion", "reply", "meta")


class DatasetError(ProposalError):
    """A dataset file that cannot be read; names the file, the line and the field."""

    code = ErrorCode.BAD_DATASET

    def __init__(self, path: str | Path, message: str, line: int | None = None, *, hint: str | None = None):
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}", hint=hint, where=where)


@dataclass(frozen=True)
class Evidence:
    proposal: str
    section: str
    department: str | None
    quote: str


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    type: str
    answer_facts: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    history: tuple[str, ...] = ()  # earlier questions of the conversation, oldest first

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


@dataclass(frozen=True)
class OutlineTask:
    id: str
    new_proposal: str
    department: str
    relevant_proposals: tuple[str, ...]


@dataclass
class Dataset:
    name: str
    path: Path  # the questions file
    corpus: Path | None
    questions: list[Question]
    outlines: list[OutlineTask] = field(default_factory=list)


def dataset_paths() -> dict[str, Path]:
    """Named datasets: the project's own, and the dev set when ../shared is present."""
    out = {"samples": DATASETS / "samples" / "questions.jsonl"}
    if (DEVSET / "questions.jsonl").exists():
        out["devset"] = DEVSET / "questions.jsonl"
    return out


DEFAULT_CORPUS = {"samples": ROOT / "samples", "devset": DEVSET / "corpus"}


def read_records(path: Path) -> list[tuple[int, dict]]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as e:
        raise DatasetError(path, f"cannot read: {e.strerror}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise DatasetError(path, f"not valid JSON ({e.msg})", n) from None
        if not isinstance(rec, dict):
            raise DatasetError(path, "expected a JSON object", n)
        out.append((n, rec))
    return out


def _field(path: Path, n: int, rec: dict, name: str, kind: type, *, required: bool = True):
    if name not in rec:
        if required:
            raise DatasetError(path, f"missing field {name!r}", n)
        return None
    v = rec[name]
    if not isinstance(v, kind):
        raise DatasetError(path, f"field {name!r} should be {kind.__name__}, got {type(v).__name__}", n)
    return v


def load_questions(path: str | Path) -> list[Question]:
    path = Path(path)
    out: list[Question] = []
    seen: set[str] = set()
    for n, rec in read_records(path):
        qid = str(_field(path, n, rec, "id", (str, int)))
        if qid in seen:
            raise DatasetError(path, f"duplicate id {qid!r}", n)
        seen.add(qid)
        qtype = _field(path, n, rec, "type", str)
        if qtype not in QUESTION_TYPES:
            raise DatasetError(path, f"field 'type' is {qtype!r}; expected one of {', '.join(QUESTION_TYPES)}", n)
        facts = _field(path, n, rec, "answer_facts", list, required=False) or []
        ev = []
        for i, e in enumerate(_field(path, n, rec, "evidence", list, required=False) or []):
            if not isinstance(e, dict) or not e.get("quote") or not e.get("proposal"):
                raise DatasetError(path, f"evidence[{i}] needs 'proposal' and 'quote'", n)
            if e.get("section") not in SECTIONS:
                raise DatasetError(path, f"evidence[{i}].section is {e.get('section')!r}; "
                                         f"expected one of {', '.join(SECTIONS)}", n)
            ev.append(Evidence(str(e["proposal"]), e["section"], e.get("department"), str(e["quote"])))
        if qtype != "unanswerable" and not (facts or ev):
            raise DatasetError(path, f"question {qid} ({qtype}) has neither answer_facts nor evidence", n)
        history = _field(path, n, rec, "history", list, required=False) or []
        if not all(isinstance(h, str) and h.strip() for h in history):
            raise DatasetError(path, "field 'history' should be a list of non-empty strings", n)
        out.append(Question(qid, _field(path, n, rec, "question", str), qtype,
                            tuple(str(f) for f in facts), tuple(ev), tuple(history)))
    if not out:
        raise DatasetError(path, "no questions")
    return out


def load_outlines(path: str | Path) -> list[OutlineTask]:
    path = Path(path)
    out = []
    for n, rec in read_records(path):
        out.append(OutlineTask(str(_field(path, n, rec, "id", (str, int))),
                               _field(path, n, rec, "new_proposal", str),
                               _field(path, n, rec, "department", str),
                               tuple(str(x) for x in _field(path, n, rec, "relevant_proposals", list))))
    return out


def resolve(dataset: str | Path, corpus: str | Path | None = None) -> Dataset:
    """A dataset by name ("samples", "devset") or by path (a questions file or its folder)."""
    named = dataset_paths()
    name = str(dataset)
    if name in named:
        path = named[name]
    elif name == "devset":
        raise DatasetError(DEVSET, "the dev set is absent (the ../shared folder is not here)",
                           hint="use the project's own dataset: proposals eval samples")
    else:
        path = Path(dataset)
        if path.is_dir():
            path = path / "questions.jsonl"
        if not path.exists():
            raise DatasetError(path, "no such dataset",
                               hint=f"name one of {', '.join(named)} or give a questions.jsonl path")
        name = path.parent.name
    if corpus is None:
        corpus = DEFAULT_CORPUS.get(name) if name in named else None
        if corpus is None and (path.parent / "corpus").is_dir():
            corpus = path.parent / "corpus"
    if corpus is not None and not Path(corpus).exists():
        raise DatasetError(corpus, "corpus folder does not exist")
    outlines_file = path.parent / "outlines.jsonl"
    return Dataset(name=name, path=path, corpus=Path(corpus) if corpus else None,
                   questions=load_questions(path),
                   outlines=load_outlines(outlines_file) if outlines_file.exists() else [])
