"""Write constraints.txt: the exact versions installed in this environment of every package
that pyproject.toml's dependencies (and its [test] extra) pull in, directly or not.

    .venv/bin/python .ci/lock.py          # after the test suite passed in .venv
"""
from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def direct_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = project["dependencies"] + [r for extra in project.get("optional-dependencies", {}).values() for r in extra]
    return [Requirement(r) for r in names]


def closure(reqs: list[Requirement]) -> dict[str, str]:
    """canonical name -> installed version, following each installed package's own requirements
    (and the extras asked for)."""
    env = default_environment()
    pinned: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    todo = [(r, "") for r in reqs]
    while todo:
        req, extra = todo.pop()
        if req.marker and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{req.name} is required but not installed here; install the project first")
        pinned[name] = dist.version
        for e in [""] + sorted(req.extras):
            if (name, e) in seen:
                continue
            seen.add((name, e))
            todo += [(Requirement(sub), e) for sub in dist.requires or []]
    return pinned


def main() -> None:
    project = canonicalize_name("proposals-assistant")
    pins = {n: v for n, v in closure(direct_requirements()).items() if n != project}
    lines = ["# Exact versions the test suite passed with (written by .ci/lock.py from the venv).",
             "# Install with: pip install -c constraints.txt -e '.[test]'"]
    lines += [f"{n}=={v}" for n, v in sorted(pins.items())]
    (ROOT / "constraints.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"constraints.txt: {len(pins)} pins")


if __name__ == "__main__":
    main()
