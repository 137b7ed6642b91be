"""Crashes and bad conditions: kill -9 mid-ingest, a read-only or full disk, ingest while
answering, damaged BM25 and catalogue files. The index must never be left half-written yet
taken as valid, must say what is wrong and how to rebuild, and must converge on a rerun."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.chunker import chunk_proposal
from ingest.parser import parse_file
from rag.answer.assistant import Assistant
from rag.core.errors import IndexMismatchError, StoreError
from tests.conftest import ROOT, SAMPLES

FIRST = ["20210301.txt", "20210455.txt", "20220077.txt"]  # ingested before each crash
CHANGED = "20220077.txt"  # rewritten in the corpus the crashing ingest reads
QUESTION = "垃圾分类“绿色账户”积分奖励是在哪几个街道试点的？"

# A real ingest in its own process, printing its progress so the test can aim a kill -9.
DRIVER = r"""
import sys
from pathlib import Path
from rag.answer.assistant import Assistant
from rag.core.settings import Settings
data, cache, *paths = sys.argv[1:]
a = Assistant(Settings(_env_file=None, data_dir=Path(data), embed_cache=Path(cache)), answerer="extractive")
print("start", flush=True)
report = a.ingest(paths, replace=True, progress=lambda stage, done, total: print(stage, done, total, flush=True))
print("done", report.ok, flush=True)
"""


def run_driver(data: Path, cache: Path, *paths: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CHROMA_HOST", "CHROMA_PORT")}
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(data), str(cache), *map(str, paths)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CHROMA_HOST", "CHROMA_PORT")}
    env["PROPOSALS_EMBED_CACHE"] = str(cache)
    env["COLUMNS"] = "500"  # no wrapping of the one-line error
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=600)


def expected_counts(corpus: Path) -> tuple[int, int]:
    props = [parse_file(f) for f in sorted(corpus.glob("*.txt"))]
    return len(props), sum(len(chunk_proposal(p)) for p in props)


def assert_consistent(index, corpus: Path) -> None:
    """The three stores hold exactly the corpus, chunk for chunk."""
    assert index.problems() == []
    props, chunks = expected_counts(corpus)
    assert index.catalogue.counts() == {"proposals": props, "chunks": chunks}
    wanted = index.catalogue.chunk_hashes()
    assert index.store.hashes() == wanted
    assert sorted(index.bm25.ids) == sorted(wanted)
    index.ensure_ready()


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """``first``: three samples; ``full``: all samples with one of the three rewritten."""
    root = tmp_path_factory.mktemp("corpora")
    first, full = root / "first", root / "full"
    first.mkdir()
    for name in FIRST:
        shutil.copy(SAMPLES / name, first / name)
    shutil.copytree(SAMPLES, full, ignore=shutil.ignore_patterns("*.md"))
    text = (full / CHANGED).read_text(encoding="utf-8")
    marker = "简化申报流程"
    assert marker in text
    (full / CHANGED).write_text(text.replace(marker, "进一步简化申报流程", 1), encoding="utf-8")
    return first, full


@pytest.fixture(scope="module")
def template(tmp_path_factory, corpora, embed_cache):
    """A clean index of the three first samples, written by another process (so no Chroma
    client of this process holds it open when tests copy it)."""
    data = tmp_path_factory.mktemp("template") / "data"
    p = run_driver(data, embed_cache, corpora[0])
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0 and "done True" in out, err[-2000:]
    return data


def copy_index(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


def settings_for(make_settings, data: Path):
    return make_settings(data)


# ---- kill -9 -----------------------------------------------------------------------------

# (phase aimed at, progress line that opens it, extra delay range in seconds)
KILL_POINTS = [
    ("parse", lambda line, n: line.startswith("parse 1 "), (0.0, 0.05)),
    ("catalogue", lambda line, n: line.startswith(f"chunk {n} "), (0.0, 0.1)),
    ("vectors", lambda line, n: line.startswith("chunk ") and line.split()[1] == line.split()[2], (0.05, 0.8)),
    ("bm25+manifest", lambda line, n: line.startswith("embed ") and line.split()[1] == line.split()[2], (0.0, 0.15)),
]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(len(KILL_POINTS)))
def test_kill_9_then_rerun_converges(seed, template, corpora, tmp_path, make_settings, embed_cache):
    phase, opens, (lo, hi) = KILL_POINTS[seed]
    rng = random.Random(seed)
    target_chunk = rng.randint(1, 11)  # which proposal's catalogue write to aim at
    delay = rng.uniform(lo, hi)
    data = copy_index(template, tmp_path / "data")
    full = corpora[1]
    p = run_driver(data, embed_cache, full)
    seen = []
    killed = False
    for line in p.stdout:
        seen.append(line.strip())
        if opens(line, target_chunk):
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            killed = True
            break
    p.wait(timeout=600)
    if phase != "bm25+manifest":  # there is always work left after these points
        assert killed and p.returncode == -signal.SIGKILL, (phase, seen[-3:], p.stderr.read()[-2000:])

    # on load: either the old index, intact, or a named inconsistency with a rebuild path
    a = Assistant(settings_for(make_settings, data), answerer="extractive")
    state = a.index.manifest().get("state")
    problems = a.index.problems()
    if state == "clean":
        assert problems == []
    else:
        assert problems and any("did not finish" in x for x in problems)
        with pytest.raises(IndexMismatchError) as e:
            a.ask(QUESTION)
        assert "proposals rebuild" in str(e.value)

    report = a.ingest([full], replace=True)  # the rerun
    assert report.ok, report.failures
    assert_consistent(a.index, full)
    changed = a.catalogue.proposal_chunks(CHANGED.removesuffix(".txt"))
    assert any("进一步简化申报流程" in c.text for c in changed)
    stored = a.index.store.col.get(ids=[c.id for c in changed], include=["documents"])
    assert any("进一步简化申报流程" in d for d in stored["documents"])
    ans = a.ask(QUESTION)
    assert not ans.abstained and ans.citations


# ---- a read-only or full disk ------------------------------------------------------------

def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def read_only():
    """``read_only(path)`` makes a directory read-only for real and returns how to undo it:
    root ignores permission bits, so for root it becomes a read-only bind mount."""
    undo: list = []

    def make(path: Path):
        if os.geteuid() == 0:
            if not (_mount("--bind", str(path), str(path)) and _mount("-o", "remount,ro,bind", str(path))):
                subprocess.run(["umount", "-l", str(path)], capture_output=True)
                pytest.skip("running as root and cannot make a read-only bind mount")

            def restore() -> None:
                subprocess.run(["umount", "-l", str(path)], capture_output=True)
        else:
            modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
            for p in sorted(modes, key=lambda p: -len(p.parts)):
                p.chmod(modes[p] & 0o555)

            def restore() -> None:
                for p, m in sorted(modes.items(), key=lambda kv: len(kv[0].parts)):
                    p.chmod(m)
        undo.append(restore)
        return restore

    yield make
    for restore in undo:
        restore()


def assert_clean_error(proc: subprocess.CompletedProcess, *must: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("错误："), proc.stderr
    flat = " ".join(proc.stderr.split())
    for m in must:
        assert m in flat, flat


def snapshot(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_read_only_data_dir_is_a_clear_error_and_changes_nothing(template, corpora, tmp_path, read_only,
                                                                  make_settings, embed_cache):
    data = copy_index(template, tmp_path / "data")
    before = snapshot(data)
    restore = read_only(data)
    with pytest.raises(StoreError) as e:
        Assistant(settings_for(make_settings, data)).ingest([corpora[1]], replace=True)
    assert str(data) in str(e.value) and "writable" in str(e.value)
    proc = cli("ingest", str(corpora[1]), "--replace", "--data-dir", str(data), cache=embed_cache)
    assert_clean_error(proc, str(data))
    restore()
    assert snapshot(data) == before
    a = Assistant(settings_for(make_settings, data), answerer="extractive")
    assert_consistent(a.index, corpora[0])


def test_data_dir_that_cannot_be_created(tmp_path, make_settings):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=str(blocker / "data")):
        Assistant(settings_for(make_settings, blocker / "data"))


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs (root only); ``fill(leave)`` leaves about ``leave`` bytes free."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs, which needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)):
        pytest.skip("cannot mount a tmpfs here")
    filler = mnt / "filler"

    def fill(leave: int) -> None:
        st = os.statvfs(mnt)
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))

    yield mnt, fill, filler
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.slow
@pytest.mark.parametrize("leave_kib", [0, 48, 160, 400])
def test_disk_full_is_a_clear_error_and_recovers(leave_kib, template, corpora, small_disk, make_settings,
                                                embed_cache):
    mnt, fill, filler = small_disk
    data = copy_index(template, mnt / "data")
    fill(leave_kib * 1024)
    if leave_kib == 0:  # through the CLI: one line, no traceback
        proc = cli("ingest", str(corpora[1]), "--replace", "--data-dir", str(data), cache=embed_cache)
        assert_clean_error(proc)
        message = proc.stderr
        a = None
    else:  # in process: the same process goes on serving once space is freed
        a = Assistant(settings_for(make_settings, data), answerer="extractive")
        with pytest.raises(StoreError) as e:
            a.ingest([corpora[1]], replace=True)
        message = str(e.value)
    assert any(w in message for w in ("space", "full")), message
    filler.unlink()
    a = a or Assistant(settings_for(make_settings, data), answerer="extractive")
    if a.index.manifest().get("state") == "clean":  # nothing was written: the old index stands
        assert_consistent(a.index, corpora[0])
    else:  # a half-written index is flagged, never served
        assert a.index.problems()
        with pytest.raises(IndexMismatchError):
            a.ask(QUESTION)
    assert a.ingest([corpora[1]], replace=True).ok
    assert_consistent(a.index, corpora[1])


# ---- ingest while answering ----------------------------------------------------------------

@pytest.mark.slow
def test_questions_during_an_ingest_see_old_or_new_state(template, corpora, tmp_path, make_settings):
    data = copy_index(template, tmp_path / "data")
    a = Assistant(settings_for(make_settings, data), answerer="extractive")
    old = set(a.catalogue.chunk_hashes())
    questions = [QUESTION, "科技局怎么答复人才引进的建议?", "职业教育产教融合有哪些建议", "加装电梯补贴多少钱"]
    errors: list[BaseException] = []
    answers = []
    during = []
    stop = threading.Event()

    def serve() -> None:
        i = 0
        while not stop.is_set():
            try:
                running = a.index.ingest_running()
                ans = a.ask(questions[i % len(questions)])
                answers.append(ans)
                if running and a.index.ingest_running():
                    during.append(ans)
            except BaseException as e:  # noqa: BLE001 - any failure is the finding
                errors.append(e)
            i += 1

    threads = [threading.Thread(target=serve) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        # each step of the ingest pauses a little, so that questions surely overlap it even
        # when the embedding cache already holds every vector and the ingest takes a second
        report = a.ingest([corpora[1]], replace=True, progress=lambda *_: time.sleep(0.2))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert report.ok
    assert errors == [], errors[:3]
    assert during, "no question was answered while the ingest ran"
    new = set(a.catalogue.chunk_hashes())
    for ans in answers:
        assert ans.abstained or ans.citations
        for c in ans.citations:  # every cited paragraph existed before or after the ingest
            assert c.chunk_id in old | new
            assert c.quote
    assert_consistent(a.index, corpora[1])


# ---- damaged files -------------------------------------------------------------------------

def _truncate(path: Path, keep: float) -> None:
    os.truncate(path, int(path.stat().st_size * keep))


BM25_FILES = ["ids.json", "df.json", "params.index.json", "vocab.index.json", "data.csc.index.npy",
              "indices.csc.index.npy", "indptr.csc.index.npy"]


def live_bm25(data: Path) -> Path:
    return data / json.loads((data / "manifest.json").read_text())["bm25"]


@pytest.mark.slow
def test_each_damaged_bm25_file_is_named_and_rebuilt(template, corpora, tmp_path, make_settings):
    from ingest.pipeline import Ingester

    for name in BM25_FILES:
        data = copy_index(template, tmp_path / name)
        bm25 = live_bm25(data)
        _truncate(bm25 / name, 0.5)
        a = Assistant(settings_for(make_settings, data), answerer="extractive")
        problems = a.index.problems()
        assert problems and str(bm25) in " ".join(problems), name
        with pytest.raises(IndexMismatchError) as e:
            a.ask(QUESTION)
        assert str(bm25) in str(e.value) and "proposals rebuild" in str(e.value), name
        Ingester(a.index).rebuild()
        assert_consistent(a.index, corpora[0])
        assert not a.ask(QUESTION).abstained


@pytest.mark.slow
def test_damaged_bm25_through_the_cli(template, corpora, tmp_path, make_settings, embed_cache):
    data = copy_index(template, tmp_path / "data")
    bm25 = live_bm25(data)
    _truncate(bm25 / "data.csc.index.npy", 0.5)
    with pytest.raises(IndexMismatchError, match="proposals rebuild"):
        Assistant(settings_for(make_settings, data), answerer="extractive").ask(QUESTION)
    proc = cli("rebuild", "--data-dir", str(data), cache=embed_cache)
    assert proc.returncode == 0, proc.stderr
    fresh = Assistant(settings_for(make_settings, data), answerer="extractive")
    assert_consistent(fresh.index, corpora[0])


def test_deleted_bm25_folder_is_named(template, tmp_path, make_settings):
    data = copy_index(template, tmp_path / "data")
    bm25 = live_bm25(data)
    shutil.rmtree(bm25)
    a = Assistant(settings_for(make_settings, data), answerer="extractive")
    with pytest.raises(IndexMismatchError, match="proposals rebuild") as e:
        a.ask(QUESTION)
    assert str(bm25) in str(e.value)


def damage_catalogue(cat: Path, how: str) -> None:
    if how == "garbage-header":
        with open(cat, "r+b") as f:
            f.write(b"not a database at all!" * 4)
    elif how == "truncated-half":
        _truncate(cat, 0.5)
    elif how == "last-page-lost":
        os.truncate(cat, cat.stat().st_size - 4096)
    else:  # "tail-cut": a few bytes short, as an interrupted copy leaves it
        os.truncate(cat, cat.stat().st_size - 1000)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["garbage-header", "truncated-half", "last-page-lost", "tail-cut"])
def test_damaged_catalogue_is_named_with_a_rebuild_path(how, template, corpora, tmp_path, make_settings):
    data = copy_index(template, tmp_path / "data")
    cat = data / "catalogue.sqlite"
    damage_catalogue(cat, how)
    with pytest.raises(IndexMismatchError) as e:  # on load, before any question
        Assistant(settings_for(make_settings, data), answerer="extractive")
    msg = str(e.value)
    assert str(cat) in msg and "damaged" in msg and "proposals ingest" in msg, msg
    # the rebuild path the message gives: set the file aside, ingest the files again
    cat.rename(data / "catalogue.sqlite.damaged")
    for extra in ("catalogue.sqlite-wal", "catalogue.sqlite-shm"):
        (data / extra).unlink(missing_ok=True)
    a = Assistant(settings_for(make_settings, data), answerer="extractive")
    report = a.ingest([corpora[0]])
    assert report.ok
    assert_consistent(a.index, corpora[0])


@pytest.mark.slow
def test_damaged_catalogue_through_the_cli(template, tmp_path, embed_cache):
    data = copy_index(template, tmp_path / "data")
    damage_catalogue(data / "catalogue.sqlite", "truncated-half")
    proc = cli("ask", QUESTION, "--data-dir", str(data), cache=embed_cache)
    assert_clean_error(proc, str(data / "catalogue.sqlite"), "proposals ingest")


def test_damaged_manifest_is_named(template, tmp_path, make_settings):
    data = copy_index(template, tmp_path / "data")
    _truncate(data / "manifest.json", 0.5)
    a = Assistant(settings_for(make_settings, data), answerer="extractive")
    with pytest.raises(IndexMismatchError) as e:
        a.ask(QUESTION)
    assert str(data / "manifest.json") in str(e.value) and "proposals rebuild" in str(e.value)
