"""What the benchmarks measure: peak resident memory, size on disk, latency percentiles."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """Peak resident set size (VmHWM) of a live process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def disk_mb(*paths: Path) -> float:
    """Blocks really allocated under ``paths`` (like ``du``), in MiB."""
    total = 0
    for root in paths:
        root = Path(root)
        if root.is_file():
            total += root.stat().st_blocks * 512
            continue
        for d, _, files in os.walk(root):
            for f in files:
                try:
                    total += os.lstat(os.path.join(d, f)).st_blocks * 512
                except OSError:
                    pass
    return total / 2**20


def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "mean": float("nan"), "max": float("nan")}
    a = np.asarray(ms, dtype=np.float64)
    return {"n": len(ms), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "mean": float(a.mean()), "max": float(a.max())}


def markdown_table(header: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        if isinstance(v, float):
            return "n/a" if v != v else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}")
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
