"""How long the citation verifier takes on a 5-sentence answer (``python bench/judge_speed.py``).

Answers are built from the labelled judge set: five sentences of one proposal, each citing
its own paragraphs as retrieved chunks, with the records' quotes (or none, ``--no-quotes``).
Each answer is verified with the judge's caches cleared (``cold``: as for a fresh answer
whose chunks were never read) and again right after (``warm``). Prints p50 / p95 / max in ms
of wall time and of the process's CPU time (on a shared machine the wall time includes waiting
for a core; the CPU time is what the verification itself costs).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evals.judge_set import JUDGE_SET, read_judge_records  # noqa: E402
from rag.answer import claims  # noqa: E402
from rag.core.lexicon import MARKER  # noqa: E402
from rag.answer.verify import verify  # noqa: E402
from rag.core.types import Answer, Chunk, Citation, Hit  # noqa: E402


def answers(path: Path, quotes: bool, size: int = 5) -> list[tuple[Answer, list[Hit]]]:
    records, _ = read_judge_records(path)
    by_source: dict[str, list] = {}
    for r in records:
        by_source.setdefault(r.source, []).append(r)
    out = []
    for source, rs in sorted(by_source.items()):
        for i in range(0, len(rs) - size + 1, size):
            hits, cites, text = [], [], []
            for r in rs[i:i + size]:
                local = {}
                for m, passage in r.passages.items():
                    n = str(len(hits) + 1)
                    chunk = Chunk(id=f"{r.id}:{m}", proposal_id=source[:8], year=r.year or 0, title="", section="reply",
                                  n=m, text=passage)
                    hits.append(Hit(chunk, 1.0))
                    local[m] = n
                    cites.append(Citation.of(n, chunk, (r.quote or "") if quotes and m == "1" else ""))
                text.append(MARKER.sub(lambda x: f"[{local.get(x.group(1), x.group(1))}]", r.sentence))
            out.append((Answer(question="q", answer="".join(text), abstained=False, mode="llm", citations=cites), hits))
    return out


def clear() -> None:
    for name in ("figures", "dates", "departments", "towns", "named_bodies", "clauses"):
        getattr(claims, name).cache_clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--file", type=Path, default=JUDGE_SET)
    ap.add_argument("--no-quotes", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    todo = answers(args.file, not args.no_quotes)
    verify(*todo[0])  # imports, regex compilation
    times: dict[str, list[float]] = {"cold wall": [], "cold cpu": [], "warm wall": [], "warm cpu": []}
    for _ in range(args.repeat):
        for ans, hits in todo:
            for name in ("cold", "warm"):
                if name == "cold":
                    clear()
                t, c = time.perf_counter(), time.process_time()
                verify(ans, hits)
                times[f"{name} wall"].append((time.perf_counter() - t) * 1000)
                times[f"{name} cpu"].append((time.process_time() - c) * 1000)
    for name, xs in times.items():
        xs.sort()
        print(f"{name}: {len(xs)} verifications of 5-sentence answers · p50 {statistics.median(xs):.1f} ms · "
              f"p95 {xs[int(0.95 * (len(xs) - 1))]:.1f} ms · max {xs[-1]:.1f} ms")


if __name__ == "__main__":
    main()
