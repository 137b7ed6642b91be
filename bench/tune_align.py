"""How the aligner does on the hand labels of tests/test_align.py:

    python -m bench.tune_align SAMPLES_DATA_DIR        # an ingested samples index
"""
from __future__ import annotations

from dataclasses import replace

from rag.staff.align import ADDRESSED, MENTIONED, Aligner, align_proposal
from tests.test_align import HAND_LABELS, MENTIONED_LABELS, UNANSWERED, WRONG_PAIRS


def main(argv: list[str]) -> None:
    from pathlib import Path

    from rag.answer.assistant import Assistant
    from rag.core.settings import Settings

    a = Assistant(Settings(data_dir=Path(argv[0])), answerer="extractive")
    by_key = {(pid, x.suggestion.n): x for pid in sorted({p for p, _ in HAND_LABELS} | {p for p, _ in MENTIONED_LABELS})
              for x in align_proposal(a, pid)}
    top = sum(by_key[k].matches[0].chunk.id in {f"{k[0]}:{x}" for x in g} for k, g in HAND_LABELS.items()
              if by_key[k].matches)
    addressed = sum(by_key[k].verdict == ADDRESSED for k in HAND_LABELS)
    found = sum(len({f"{k[0]}:{x}" for x in g} & {m.chunk.id for m in by_key[k].matches}) for k, g in HAND_LABELS.items())
    pairs = sum(len(g) for g in HAND_LABELS.values())
    mentioned = sum(any(m.chunk.id == f"{k[0]}:{c}" and m.verdict == MENTIONED for m in by_key[k].matches)
                    for k, c in MENTIONED_LABELS.items())
    wrong = sum(f"{p}:{c}" in {m.chunk.id for m in by_key[(p, n)].matches if m.verdict == ADDRESSED}
                for p, n, c in WRONG_PAIRS)
    print(f"labelled suggestions judged addressed      {addressed}/{len(HAND_LABELS)}")
    print(f"top match is a labelled paragraph          {top}/{len(HAND_LABELS)}")
    print(f"labelled paragraphs among the matches      {found}/{pairs}")
    print(f"promises judged 'mentioned'                {mentioned}/{len(MENTIONED_LABELS)}")
    print(f"wrong pairs judged 'addressed'             {wrong}/{len(WRONG_PAIRS)}")
    s = replace(next(c for c in a.catalogue.proposal_chunks("20210301") if c.section == "suggestion"), text=UNANSWERED)
    [x] = Aligner().align(a, [s], [c for c in a.catalogue.proposal_chunks("20210301") if c.section == "reply"])
    print(f"invented unanswered suggestion             {x.verdict}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
