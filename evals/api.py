"""``run_eval``: the one entry point of the evals (the CLI's ``proposals eval`` and the UI's 评测 tab).

Runs every question of a dataset through each config (models loaded once, one index per
corpus shared by the configs), or grades a run file produced elsewhere, and scores it.
"""
from __future__ import annotations

import hashlib
import importlib.util
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from evals.corpus import CorpusView
from evals.dataset import Dataset, DatasetError, Question, dataset_paths, read_records, resolve
from evals.grounding import Judge, grade_citations
from evals.judge_set import shipped_agreement
from evals.metrics import fact_found, is_refusal, question_metrics
from evals.report import fmt as report_fmt
from evals.report import write_run
from evals.results import METRICS, CheckLine, ConfigResult, EvalRun, OutlineResult, QuestionResult
from rag.core.errors import ConfigError
from rag.core.settings import Settings

CONFIGS = ("bm25", "dense", "hybrid", "naive")
Progress = Callable[[str, int, int], None]

__all__ = ["run_eval", "dataset_paths", "grade", "EvalRun", "ConfigResult", "QuestionResult", "CheckLine",
           "CONFIGS"]


def stage_zh(stage: str) -> str:
    """A progress stage of ``run_eval`` ("ingest embed", "hybrid", "hybrid outlines", "grade") in Chinese."""
    words = {"ingest parse": "导入评测语料：解析", "ingest chunk": "导入评测语料：切分",
             "ingest embed": "导入评测语料：计算向量", "grade": "评分"}
    if stage in words:
        return words[stage]
    if stage.endswith(" outlines"):
        return f"{stage.split()[0]}：答复提纲"
    return f"{stage}：逐题作答"


def run_eval(dataset: str | Path, *, corpus: str | Path | None = None, configs: Sequence[str] = ("hybrid",),
             data_dir: str | Path | None = None, answers: str | Path | None = None,
             out_dir: str | Path | None = None, progress: Progress | None = None,
             settings: Settings | None = None, answerer: str = "extractive",
             judge: bool | None = None) -> EvalRun:
    """Evaluate ``configs`` (bm25, dense, hybrid, naive) on ``dataset``, or grade ``answers`` (a run file).

    ``data_dir`` is where the per-corpus eval indexes live (``DATA_DIR/evals/<corpus>/``),
    default the settings' data dir; ``judge`` None means "when a chat model is configured".
    Files (run files, report.md, report.html, results.json) are written only with ``out_dir``.
    """
    settings = settings or Settings()
    ds = resolve(dataset, corpus)
    view = CorpusView.load(ds.corpus, settings.chunk_tokens) if ds.corpus else None
    llm_judge = _judge(settings, judge)
    run = EvalRun(dataset=ds.name, dataset_path=str(ds.path), corpus=str(ds.corpus) if ds.corpus else None,
                  configs={}, judge=llm_judge is not None, answerer="file" if answers else answerer)
    run.grounding_judge = shipped_agreement()  # how far the citation scores can be trusted
    if view and view.failures:
        run.notes.append("corpus files that could not be parsed: " + "; ".join(map(str, view.failures)))
    if answers:
        run.configs[Path(answers).stem] = grade_file(ds, answers, view, llm_judge, progress)
    else:
        _run_configs(run, ds, list(configs), settings, Path(data_dir or settings.data_dir), answerer, view,
                     llm_judge, progress)
    if out_dir:
        write_run(run, out_dir)
    return run


def _judge(settings: Settings, wanted: bool | None) -> Judge | None:
    if wanted is False:
        return None
    from evals.llm_judge import LLMJudge

    j = LLMJudge.from_settings(settings)
    if wanted and j is None:
        raise ConfigError("the LLM judge needs a chat model", hint="set OPENAI_API_KEY (and OPENAI_BASE_URL)")
    return j


# ---- grading ------------------------------------------------------------------------------
def grade(q: Question, answer: dict | None, corpus: CorpusView | None = None,
          judge: Judge | None = None) -> QuestionResult:
    """Every metric of one answer (``Answer.to_json()`` shape) to one question."""
    if answer is None:
        return QuestionResult(q.id, q.type, q.question, None, {}, evidence=list(q.evidence),
                              answer_facts=list(q.answer_facts))
    m = question_metrics(q, answer)
    g = grade_citations(answer, corpus, judge)
    for name, v in (("citation_recall", g.recall), ("citation_precision", g.precision),
                    ("judge_citation_recall", g.judge_recall), ("judge_citation_precision", g.judge_precision)):
        if v is not None:
            m[name] = v
    total = (answer.get("timings_ms") or {}).get("total")
    text = "" if is_refusal(answer) else str(answer.get("answer") or "")
    return QuestionResult(q.id, q.type, q.question, answer, m, g.sentences, list(q.evidence), list(q.answer_facts),
                          [fact_found(text, f) for f in q.answer_facts],
                          float(total) if isinstance(total, (int, float)) else None)


def read_run_file(path: str | Path) -> dict[str, dict]:
    """A JSONL run file: one answer object with an ``id`` per line."""
    path = Path(path)
    out: dict[str, dict] = {}
    for n, rec in read_records(path):
        if not isinstance(rec.get("id"), (str, int)):
            raise DatasetError(path, "expected an answer object with the question's \"id\"", n)
        if not isinstance(rec.get("answer", ""), str):
            raise DatasetError(path, "field 'answer' should be a string", n)
        for f in ("citations", "contexts"):
            if f in rec and not isinstance(rec[f], list):
                raise DatasetError(path, f"field {f!r} should be a list", n)
        out[str(rec["id"])] = rec
    return out


def grade_file(ds: Dataset, answers: str | Path, view: CorpusView | None, judge: Judge | None,
               progress: Progress | None = None) -> ConfigResult:
    recs = read_run_file(answers)
    results = []
    for i, q in enumerate(ds.questions, 1):
        results.append(grade(q, recs.get(q.id), view, judge))
        if progress:
            progress("grade", i, len(ds.questions))
    notes = []
    missing = [q.id for q in ds.questions if q.id not in recs]
    if missing:
        notes.append(f"{len(missing)} questions have no answer in {answers}: {', '.join(missing[:10])}"
                     + (" …" if len(missing) > 10 else ""))
    if not any("contexts" in r for r in recs.values()):
        notes.append("the run file has no contexts: retrieval metrics are not applicable")
    cr = ConfigResult.summarise(Path(answers).stem, results, notes=notes)
    cr.run_file = str(answers)
    return cr


# ---- running ------------------------------------------------------------------------------
def corpus_key(corpus: Path) -> str:
    """One eval index per corpus folder: its name plus a hash of its absolute path."""
    p = Path(corpus).resolve()
    return f"{p.name}-{hashlib.sha1(str(p).encode()).hexdigest()[:10]}"


def _run_configs(run: EvalRun, ds: Dataset, configs: list[str], settings: Settings, root: Path, answerer: str,
                 view: CorpusView | None, judge: Judge | None, progress: Progress | None) -> None:
    from ingest.pipeline import Ingester
    from rag.stores.index import Index

    bad = [c for c in configs if c not in CONFIGS]
    if bad or not configs:
        raise ConfigError(f"unknown eval config {', '.join(bad) or '(none)'}", hint=f"use {', '.join(CONFIGS)}")
    if ds.corpus is None:
        raise DatasetError(ds.path, "this dataset names no corpus", hint="pass --corpus DIR")
    home = root / "evals" / corpus_key(ds.corpus)
    s = settings.model_copy(update={"data_dir": home, "embed_cache": settings.embed_cache or root / "embeddings.sqlite"})
    index = Index(s)
    if any(c != "naive" for c in configs):
        report = Ingester(index).run([ds.corpus], prune=True,
                                     progress=(lambda st, d, t: progress(f"ingest {st}", d, t)) if progress else None)
        if report.failures:
            run.notes.append("ingest failures: " + "; ".join(map(str, report.failures)))
    for cfg in configs:
        run.configs[cfg] = _run_one(cfg, ds, s, index, answerer, view, judge, progress, home)


def _run_one(cfg: str, ds: Dataset, settings: Settings, index, answerer: str, view: CorpusView | None,
             judge: Judge | None, progress: Progress | None, home: Path) -> ConfigResult:
    notes: list[str] = []
    if cfg == "naive":
        from evals.naive import NaivePipeline

        t = time.perf_counter()
        naive = NaivePipeline(ds.corpus, home / "naive-chroma", index.embedder, settings.top_k)  # type: ignore[arg-type]
        notes.append(f"naive index: {naive.report.chunks} chunks of ≤500 characters "
                     f"({naive.report.added} newly added) in {time.perf_counter() - t:.1f}s")
        # the naive baseline has no conversation: it answers the last question alone
        ask = lambda question, id=None, history=(): naive.ask(question, id=id)  # noqa: E731
        assistant = None
    else:
        from rag.answer.assistant import Assistant

        assistant = Assistant(settings, retriever=cfg, answerer=answerer, index=index)
        ask = lambda question, id=None, history=(): assistant.ask(question, id=id,  # noqa: E731
                                                                   history=list(history)).to_json()
    if assistant is not None:
        assistant.warm()  # jieba's tagger, the BM25 columns: loaded outside the timings
    ask(ds.questions[0].question)  # warm-up: models and caches load outside the timings
    results = []
    for i, q in enumerate(ds.questions, 1):
        results.append(grade(q, ask(q.question, id=q.id, history=q.history), view, judge))
        if progress:
            progress(cfg, i, len(ds.questions))
    outlines: list[OutlineResult] = []
    if ds.outlines and assistant is not None:
        outlines, note = score_outlines(assistant, ds, progress)
        if note:
            notes.append(note)
    return ConfigResult.summarise(cfg, results, outlines, notes)


def score_outlines(assistant, ds: Dataset, progress: Progress | None = None) -> tuple[list[OutlineResult], str | None]:
    """Precedent recall of ``rag.staff.outline.draft_outline`` on the dataset's outline tasks."""
    if importlib.util.find_spec("rag.staff.outline") is None:
        return [], "outline scoring skipped: rag.staff.outline is not available"
    from rag.staff.outline import draft_outline

    out = []
    for i, task in enumerate(ds.outlines, 1):
        t = time.perf_counter()
        o = draft_outline(assistant, task.new_proposal, task.department).to_json()
        cited = [str(p) for p in o.get("precedents") or []]
        relevant = list(task.relevant_proposals)
        hits = [p for p in relevant if p in cited]
        out.append(OutlineResult(task.id, task.department, relevant, cited,
                                 recall=len(hits) / len(relevant) if relevant else 1.0,
                                 precision=len(set(cited) & set(relevant)) / len(set(cited)) if cited else None,
                                 outline_markdown=str(o.get("outline_markdown") or ""),
                                 seconds=time.perf_counter() - t))
        if progress:
            progress(f"{assistant.retriever_name} outlines", i, len(ds.outlines))
    return out, None


class Evaluations:
    """What the app's 评测 tab needs from this package; ``proposals serve`` hands one to the app,
    so the app never imports the evals itself."""

    configs = CONFIGS
    metrics = METRICS

    @staticmethod
    def datasets() -> list[str]:
        return list(dataset_paths())

    @staticmethod
    def run(dataset: str, **kw) -> EvalRun:
        return run_eval(dataset, **kw)

    @staticmethod
    def fmt(metric: str, value: float | None) -> str:
        return report_fmt(metric, value)

    stage = staticmethod(stage_zh)  # a progress stage in Chinese
