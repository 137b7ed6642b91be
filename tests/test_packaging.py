"""constraints.txt is current with pyproject.toml: every dependency (the test extra too) is
pinned, and each pin lies in the range pyproject.toml allows. `.ci/lock.py` rewrites it."""
from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT


def pins() -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate((ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"constraints.txt:{n}: expected name==version, got {line!r}"
        out[canonicalize_name(name)] = version.strip()
    return out


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    assert "test" in extras
    return [Requirement(r) for r in project["dependencies"] + [r for group in extras.values() for r in group]]


def test_every_dependency_is_pinned_within_its_range():
    pinned = pins()
    problems = []
    for req in requirements():
        version = pinned.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name}: no pin in constraints.txt")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} is outside pyproject.toml's {req.specifier}")
    assert not problems, "constraints.txt is stale (run .ci/lock.py in a venv that passed the tests):\n" + \
        "\n".join(problems)


def test_each_package_is_pinned_once_and_not_the_project_itself():
    lines = [x.split("==")[0] for x in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
             if x.strip() and not x.startswith("#")]
    names = [canonicalize_name(x) for x in lines]
    assert len(names) == len(set(names))
    assert "proposals-assistant" not in names  # an editable install is not pinned
