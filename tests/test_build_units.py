"""Fast, in-process tests of the build's safety rules: temporary names, confined paths, state reading."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from shdata._io import atomic_path, write_text
from shdata.build import Project, confined, load_state, parameters_problem

from .buildkit import write_notebook


def test_temporary_names_are_unique_per_write(tmp_path):
    target = tmp_path / "figure.pdf"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second and first.parent == second.parent == tmp_path
        assert first.name.startswith(".figure.pdf.") and first.name.endswith(".tmp")
        first.write_text("one")
        second.write_text("two")
    assert target.read_text() in ("one", "two")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.pdf"], "no temporary file left"


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "manifest.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_published_files_keep_ordinary_permissions(tmp_path):
    target = tmp_path / "f.txt"
    write_text(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.fixture
def project(tmp_path) -> Project:
    root = tmp_path / "project"
    for sub in ("figures/en", "build/notebooks", "notebooks"):
        (root / sub).mkdir(parents=True)
    (root / "figures" / "en" / "a.png").write_bytes(b"a")
    (tmp_path / "victim.txt").write_text("keep")
    (root / "figures" / "en" / "out").symlink_to(tmp_path)
    (root / "figures" / "en" / "victim-link.png").symlink_to(tmp_path / "victim.txt")
    return Project(root)


@pytest.mark.parametrize(
    "rel, inside",
    [
        ("figures/en/a.png", True),
        ("figures/en/standalone/b.svg", True),  # subfolders under figures/<lang>/ are fine
        ("build/notebooks/x.ipynb", True),
        ("figures/../../victim.txt", False),  # traversal
        ("figures/en/../../../victim.txt", False),
        ("/etc/passwd", False),  # absolute
        ("C:/Windows/win.ini", False),
        ("figures/en/out/victim.txt", False),  # through a symlinked folder
        ("figures/en/victim-link.png", False),  # a symlink pointing outside
        ("data/datapackage.json", False),  # inside the project, but not figures/ or build/
        ("figures", False),  # the folder itself
        ("", False),
        (42, False),
        (None, False),
        (["figures/en/a.png"], False),
        ("figures/en/\0.png", False),
    ],
)
def test_confined_paths(project, rel, inside):
    assert (confined(project, rel) is not None) is inside


def write_state(project: Project, content) -> None:
    project.state_path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        project.state_path.write_bytes(content)
    else:
        project.state_path.write_text(json.dumps(content))


SHA = "0" * 64


@pytest.mark.parametrize(
    "content, warning",
    [
        (b"\x89PNG\x00\xff\xfe", "is unreadable"),
        (b"{not json", "is unreadable"),
        ([], "is not a build state"),
        ({"version": 1, "runs": []}, "is not a build state"),
        ({"version": 1, "runs": {"x-en": "text"}}, "run 'x-en' is malformed"),
        ({"version": 1, "runs": {"x-en": {"fingerprint": "f", "outputs": [], "tables": []}}}, "is malformed"),
        ({"version": 1, "runs": {"x-en": {"fingerprint": "f", "outputs": {}, "tables": [1]}}}, "is malformed"),
        (
            {"version": 1, "runs": {"x-en": {"fingerprint": "f", "outputs": {"figures/../../v": SHA}}}},
            "ignoring output",
        ),
        ({"version": 1, "runs": {"x-en": {"fingerprint": "f", "outputs": {"/tmp/v": SHA}}}}, "ignoring output"),
        ({"version": 1, "runs": {"x-en": {"fingerprint": "f", "outputs": {"figures/en/a.png": 5}}}}, "bad sha256"),
    ],
)
def test_hostile_or_broken_state_is_dropped_with_one_line_warnings(project, content, warning):
    write_state(project, content)
    warnings: list[str] = []
    state = load_state(project, warn=warnings.append)
    assert warnings and all(len(w.splitlines()) == 1 and w.startswith("shdata: warning:") for w in warnings)
    assert warning in warnings[0]
    for entry in state["runs"].values():
        assert all(confined(project, rel) for rel in entry["outputs"])


def test_good_state_is_kept(project):
    good = {
        "version": 1,
        "runs": {"x-en": {"fingerprint": "f", "outputs": {"figures/en/a.png": SHA}, "tables": ["t"], "figures": 1}},
    }
    write_state(project, good)
    warnings: list[str] = []
    assert load_state(project, warn=warnings.append)["runs"] == good["runs"] and not warnings


def test_parameters_cell_problems_are_named(tmp_path):
    write_notebook(tmp_path / "ok.ipynb", name="ok")
    assert parameters_problem(tmp_path / "ok.ipynb") is None
    write_notebook(tmp_path / "untagged.ipynb", name="untagged", tag_parameters=False)
    msg = parameters_problem(tmp_path / "untagged.ipynb")
    assert msg is not None and msg.startswith("notebooks/untagged.ipynb has no cell tagged 'parameters'; tag the cell")
    (tmp_path / "bad.ipynb").write_text("{")
    msg = parameters_problem(tmp_path / "bad.ipynb")
    assert msg is not None and "is not a readable notebook" in msg
    assert Path(tmp_path / "ok.ipynb").exists()


def test_a_closed_pipe_is_not_an_error():
    """`shdata list | head -1`: the reader goes away; no error line, exit 0."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "shdata.cli", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None  # piped above
    proc.stdout.close()  # before anything is written: the first write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait() == 0 and "shdata: error" not in err


def test_runs_start_longest_first_by_last_timings_else_by_notebook_size(project):
    from shdata.build import Run, longest_first

    for name, size in (("small", 10), ("big", 3000), ("middle", 500)):
        (project.notebooks / f"{name}.ipynb").write_text("x" * size)
    runs = [Run(nb, lang) for nb in ("small", "big", "middle") for lang in ("en", "zh")]
    # No timings yet: the longer notebook first; a notebook's languages keep their order.
    assert [r.key for r in longest_first(project, runs)] == [
        "big-en",
        "big-zh",
        "middle-en",
        "middle-zh",
        "small-en",
        "small-zh",
    ]
    # The last build timed every run: its times decide.
    times = {"small-en": 9.0, "small-zh": 1.0, "big-en": 2.0, "big-zh": 3.0, "middle-en": 4.0, "middle-zh": 5.0}
    (project.build / "timings.json").write_text(json.dumps(times))
    assert [r.key for r in longest_first(project, runs)] == [
        "small-en",
        "middle-zh",
        "middle-en",
        "big-zh",
        "big-en",
        "small-zh",
    ]
    # A run it did not time (a new notebook): sizes again, for all.
    (project.notebooks / "new.ipynb").write_text("x" * 100000)
    assert longest_first(project, [*runs, Run("new", "en")])[0].key == "new-en"


def test_a_run_recorded_without_outputs_is_rebuilt_and_explain_says_why(project):
    """One rule (build.decide) for the build and --explain: a record that lists no outputs cannot
    show the outputs are intact, so the run is rebuilt (--explain once called it up to date)."""
    from shdata.build import Run, decide, fingerprint_of, fingerprint_parts

    write_notebook(project.notebooks / "x.ipynb", name="x")
    run, files = Run("x", "en"), {"a.py": SHA}
    parts = fingerprint_parts(project, run, [], files, "lock")
    entry = {"fingerprint": fingerprint_of(parts), "parts": parts, "outputs": {}, "tables": []}
    assert decide(project, run, entry, files, "lock") == (True, ["no outputs recorded"])
    entry["outputs"] = {"figures/en/a.png": hashlib.sha256(b"a").hexdigest()}
    assert decide(project, run, entry, files, "lock") == (
        False,
        ["up to date: same cells, parameters, 0 tables, package, lock and Python; 1 output intact"],
    )
    assert decide(project, run, entry, files, "lock", force=True) == (True, ["--force"])
    assert decide(project, run, entry, {"a.py": "0" * 63 + "1"}, "lock") == (
        True,
        ["package file shdata/a.py changed"],
    )


def test_the_build_s_signal_handler_stops_once_and_each_build_gets_its_own(tmp_path, monkeypatch):
    """A second signal while the handler runs (Ctrl-C under dev.py arrives twice) returns at once;
    a later build in the same process starts with fresh handlers and gives the caller's back."""
    import signal

    from shdata import cli
    from shdata.build import BuildInterrupted

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(cli, "_stopping", [])
    with pytest.raises(BuildInterrupted):
        cli._stop_on_signal(signal.SIGTERM, None)
    cli._stop_on_signal(signal.SIGINT, None)  # the second signal returns quietly: no second raise
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli.main(["build"]) == 2  # no notebooks: refused after the handlers were installed
    assert cli._stopping == [], "a new build forgets the signal that stopped the last one"
    assert {sig: signal.getsignal(sig) for sig in before} == before, "the caller's handlers are back"
