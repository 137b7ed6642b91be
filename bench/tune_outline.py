"""Precedent recall and precision per outline task, for choosing the drafter's floor:

    python -m bench.tune_outline SAMPLES_DATA_DIR [DEVSET_DATA_DIR] [--retriever hybrid|bm25|dense] [--floor 0.3]
"""
from __future__ import annotations

from rag.staff.outline import OutlineDrafter, draft_outline
from tests.test_outline import DEVSET, GOAL, OFF_TOPIC, SAMPLE_TASKS, recall, tasks


def main(argv: list[str]) -> None:
    import argparse
    from pathlib import Path

    from rag.answer.assistant import Assistant
    from rag.core.settings import Settings

    ap = argparse.ArgumentParser()
    ap.add_argument("samples_dir")
    ap.add_argument("devset_dir", nargs="?")
    ap.add_argument("--retriever", default="hybrid")
    ap.add_argument("--floor", type=float, default=OutlineDrafter.floor)
    args = ap.parse_args(argv)
    drafter = OutlineDrafter(floor=args.floor)
    runs = [(args.samples_dir, SAMPLE_TASKS)] + ([(args.devset_dir, DEVSET / "outlines.jsonl")] if args.devset_dir else [])
    recalls = []
    for data_dir, path in runs:
        a = Assistant(Settings(data_dir=Path(data_dir)), retriever=args.retriever, answerer="extractive")
        for task in tasks(path):
            o = draft_outline(a, task["new_proposal"], task["department"], use_llm=False, drafter=drafter)
            rel = set(task["relevant_proposals"])
            prec = len(rel & set(o.precedents)) / len(o.precedents) if o.precedents else 0.0
            recalls.append(recall(o, task))
            empty = sum(1 for s in o.sections if not s.bullets)
            print(f"{task['id']}  recall {recalls[-1]:.2f}  precision {prec:.2f}  cited {','.join(o.precedents)}  "
                  f"sections without precedent {empty}/{len(o.sections)}")
        for name, text, dept in OFF_TOPIC[path == SAMPLE_TASKS]:
            o = draft_outline(a, text, dept, use_llm=False, drafter=drafter)
            print(f"off-topic {name}  cited {','.join(o.precedents) or '-'}  "
                  f"sections without precedent {sum(1 for s in o.sections if not s.bullets)}/{len(o.sections)}")
    print(f"mean precedent recall {sum(recalls) / len(recalls):.3f} over {len(recalls)} tasks (goal {GOAL})")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
