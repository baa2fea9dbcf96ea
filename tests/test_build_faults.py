"""Fault injection: one table of faults, each asserting the exit code, the one-line message,
and that ``figures/`` and ``data/`` are byte-identical before and after (or, for a build
that completes despite the fault, identical to a clean build).

Every case runs on its own copy of a built mini project; nothing touches the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .buildkit import (
    FAST,
    ROOT,
    SHDATA,
    explain,
    one_line,
    project_processes,
    snapshot,
    start_blocking_build,
    temp_files,
    wait_for,
)

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long

# -- fault set-ups (each edits only its own project copy) ---------------------------


def rehash(p: Path) -> None:
    from shdata.package import Package

    Package(p / "data", verify_hashes=False).rehash()


def edit_descriptor(p: Path, change: Callable[[dict], None]) -> None:
    from shdata.package import write_descriptor

    desc = json.loads((p / "data" / "datapackage.json").read_text(encoding="utf-8"))
    change(desc)
    write_descriptor(p / "data" / "datapackage.json", desc)


def broken_descriptor(p: Path) -> None:
    (p / "data" / "datapackage.json").write_text('{"resources": [', encoding="utf-8")


def row_deleted_breaking_a_total(p: Path) -> None:
    csv = p / "data" / "nsfc_projects_by_programme.csv"
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    item = next(i for i, line in enumerate(lines) if ",item," in line or line.rstrip().endswith(",item"))
    csv.write_text("".join(lines[:item] + lines[item + 1 :]), encoding="utf-8")
    rehash(p)


def value_edited_breaking_a_total(p: Path) -> None:
    csv = p / "data" / "nsfc_projects_by_programme.csv"
    text = csv.read_text(encoding="utf-8")
    assert ",General Program,2171," in text, "test setup: the General Program row changed"
    csv.write_text(text.replace(",General Program,2171,", ",General Program,2170,", 1), encoding="utf-8")
    rehash(p)


def figures_is_a_file(p: Path) -> None:
    shutil.rmtree(p / "figures")
    (p / "figures").write_text("not a folder")


def read_only_figures(p: Path) -> None:
    (p / "figures" / "en").chmod(0o555)


def binary_state(p: Path) -> None:
    (p / "build" / "state.json").write_bytes(bytes(range(256)))


def list_state(p: Path) -> None:
    (p / "build" / "state.json").write_text("[1, 2, 3]")


def malformed_state_entry(p: Path) -> None:
    state = json.loads((p / "build" / "state.json").read_text(encoding="utf-8"))
    state["runs"]["mini-en"] = {"fingerprint": 7, "outputs": ["figures/en/mini-trade.png"]}
    (p / "build" / "state.json").write_text(json.dumps(state))


def hostile_state(p: Path) -> None:
    """Traversal, absolute path, a symlink out of figures/ and wrong types, all in one state file."""
    victim = p.parent / "victim.txt"
    victim.write_text("must survive")
    (p / "figures" / "en" / "escape").symlink_to(p.parent)
    sha = hashlib.sha256(b"must survive").hexdigest()
    state = json.loads((p / "build" / "state.json").read_text(encoding="utf-8"))
    entry = state["runs"]["mini-en"]
    entry["fingerprint"] = "changed"  # the run is rebuilt, so its previous outputs are cleaned up
    entry["parts"] = {"cells": 3, "data": [], "package": "abc"}  # read only to explain a rebuild
    entry["outputs"].update(
        {"figures/../../victim.txt": sha, str(victim): sha, "figures/en/escape/victim.txt": sha, "figures/en/x.png": 42}
    )
    (p / "build" / "state.json").write_text(json.dumps(state))


def missing_csv(p: Path) -> None:
    (p / "data" / "waic_2023.csv").unlink()


def invalid_csv(p: Path) -> None:
    csv = p / "data" / "waic_2023.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",133,", ",many,"), encoding="utf-8")


def resource_removed(p: Path) -> None:
    edit_descriptor(p, lambda d: d.__setitem__("resources", [r for r in d["resources"] if r["name"] != "waic_2023"]))


def broken_manifest(p: Path) -> None:
    (p / "figures" / "manifest.json").write_text("{", encoding="utf-8")


def garbage_notebook(p: Path) -> None:
    (p / "notebooks" / "mini.ipynb").write_text("not a notebook", encoding="utf-8")


def nothing(p: Path) -> None:
    pass


@dataclass
class Fault:
    id: str
    setup: Callable[[Path], None]
    args: tuple[str, ...]
    code: int
    message: str  # regex searched in the one line (stderr, or stdout for `where`)
    where: str = "stderr"  # stderr: exactly one line; stdout-failed: the FAILED line; stdout-last
    after: str = "identical"  # identical | clean (figures equal a clean build's)
    env: dict = field(default_factory=dict)
    cwd: str = "."
    lines: tuple[str, ...] = ()  # regexes, each matching a whole line of stdout after the first
    skip: str = ""


AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

FAULTS = [
    Fault(
        "broken descriptor stops the build before any run",
        broken_descriptor,
        ("build",),
        2,
        r"^shdata: error: .*datapackage\.json: malformed JSON .*; nothing was built$",
    ),
    Fault(
        "an edited value that breaks a printed total stops the build",
        value_edited_breaking_a_total,
        ("build",),
        2,
        r"^shdata: error: the data fails \d+ consistency check\(s\) "
        r"\(nsfc_projects_by_programme/nsfc-projects-sum.*nothing was built",
    ),
    Fault(
        "a deleted row that a check names stops the build",
        row_deleted_breaking_a_total,
        ("build",),
        2,
        r"^shdata: error: check on 'nsfc_projects_by_programme': ref .*'General Program'.* matches 0 rows "
        r".*nothing was built$",
    ),
    Fault(
        "figures/ that is a file",
        figures_is_a_file,
        ("build",),
        2,
        r"^shdata: error: .*figures is not a writable folder .*nothing was built",
    ),
    Fault(
        "read-only figures/en",
        read_only_figures,
        ("build",),
        2,
        r"^shdata: error: .*figures/en is not a writable folder \(Permission denied\); nothing was built",
        skip="root ignores permissions" if AS_ROOT else "",
    ),
    # A state file the build cannot use costs a rebuild, never a wrong skip. The unreadable one is
    # built for real (English only: the warning and a result equal to a clean build do not depend
    # on the language), over figures/ that hold outputs no usable record lists; the other two ask
    # `--explain`, which follows the very rule the build does (build.decide) and prints the same
    # warning without running anything. The hostile state below is built for real too.
    Fault(
        "binary state file: warning, full rebuild",
        binary_state,
        ("build", "--lang", "en"),
        0,
        r"^shdata: warning: build/state\.json is unreadable",
        where="stdout-first",
        after="clean",
    ),
    Fault(
        "state file of the wrong shape: warning, every run to rebuild (explain)",
        list_state,
        ("build", "--explain"),
        0,
        r"^shdata: warning: build/state\.json is not a build state",
        where="stdout-first",
        lines=(r"mini \(en\): rebuild: no record in build/state\.json .*", r"mini \(zh\): rebuild: no record .*"),
    ),
    Fault(
        "malformed run in the state: that run to rebuild (explain)",
        malformed_state_entry,
        ("build", "--explain"),
        0,
        r"^shdata: warning: build/state\.json: run 'mini-en' is malformed",
        where="stdout-first",
        lines=(r"mini \(en\): rebuild: no record in build/state\.json .*", r"mini \(zh\): skip: up to date: .*"),
    ),
    Fault(
        "hostile state: traversal, absolute, symlink, wrong type",
        hostile_state,
        ("build",),
        0,
        r"^shdata: warning: build/state\.json: ignoring output 'figures/\.\./\.\./victim\.txt'",
        where="stdout-first",
        after="clean",
    ),
    Fault(
        "garbage notebook: that run fails with one line",
        garbage_notebook,
        ("build",),
        1,
        r"^FAILED mini \(en\): notebooks/mini\.ipynb is not a readable notebook",
        where="stdout-failed",
    ),
    Fault(
        "rehash with a missing CSV",
        missing_csv,
        ("rehash",),
        2,
        r"^shdata: error: .*waic_2023\.csv: data file not found.*nothing was rehashed",
        env={"SHDATA_DATA_DIR": "{project}/data"},
    ),
    Fault(
        "rehash with a broken descriptor",
        broken_descriptor,
        ("rehash",),
        2,
        r"^shdata: error: .*datapackage\.json: malformed JSON",
        env={"SHDATA_DATA_DIR": "{project}/data"},
    ),
    Fault(
        "rehash refuses a file that does not validate",
        invalid_csv,
        ("rehash",),
        2,
        r"^shdata: error: .*waic_2023\.csv.*'many'.*nothing was rehashed",
        env={"SHDATA_DATA_DIR": "{project}/data"},
    ),
    Fault(
        "check reports a CSV no resource describes",
        resource_removed,
        ("check",),
        1,
        r"^shdata check: FAILED: 1 data file\(s\) no resource describes: waic_2023\.csv$",
        where="stdout-last",
        env={"SHDATA_DATA_DIR": "{project}/data"},
    ),
    Fault(
        "SHDATA_DATA_DIR pointing at a file",
        nothing,
        ("check",),
        2,
        r"^shdata: error: SHDATA_DATA_DIR=.*pyproject\.toml is not a folder",
        env={"SHDATA_DATA_DIR": "{project}/pyproject.toml"},
    ),
    Fault(
        "cite outside a project",
        nothing,
        ("cite", "mini-trade"),
        2,
        r"^shdata: error: shdata cite needs a project folder .*--manifest PATH$",
        cwd="..",
    ),
    Fault(
        "cite with a broken manifest",
        broken_manifest,
        ("cite", "mini-trade"),
        2,
        r"^shdata: error: .*manifest\.json: malformed JSON",
    ),
    Fault(
        "unknown notebook",
        nothing,
        ("build", "minni"),
        2,
        r"^shdata: error: unknown notebook 'minni'; did you mean 'mini'\?",
    ),
    Fault("unknown language", nothing, ("build", "--lang", "fr"), 2, r"invalid choice: 'fr'", where="stderr-last"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_fault(fault: Fault, project: Path, template: Path):
    if fault.skip:
        pytest.skip(fault.skip)
    fault.setup(project)
    before = {"figures": snapshot(project / "figures"), "data": snapshot(project / "data")}
    env = {k: v.format(project=project) for k, v in fault.env.items()}
    args = list(fault.args)
    if args[0] == "build":
        args[1:1] = FAST
    done = subprocess.run(
        [*SHDATA, *args], cwd=(project / fault.cwd).resolve(), capture_output=True, text=True, env={**os.environ, **env}
    )
    try:
        assert done.returncode == fault.code, explain(project, done)
        if fault.where == "stderr":
            line = one_line(done.stderr)
        elif fault.where == "stderr-last":
            line = done.stderr.strip().splitlines()[-1]
        elif fault.where == "stdout-last":
            line = done.stdout.strip().splitlines()[-1]
        elif fault.where == "stdout-first":
            line = done.stdout.splitlines()[0]
        else:
            line = next(x for x in done.stdout.splitlines() if x.startswith("FAILED"))
        assert re.search(fault.message, line), f"{line!r} does not match {fault.message!r}"
        if fault.lines:
            rest = done.stdout.splitlines()[1:]
            assert len(rest) == len(fault.lines), done.stdout
            for pattern, got in zip(fault.lines, rest, strict=True):
                assert re.fullmatch(pattern, got), f"{got!r} does not match {pattern!r}"
        assert "Traceback" not in done.stdout + done.stderr
        if fault.after == "identical":
            assert snapshot(project / "figures") == before["figures"], "figures/ changed"
        else:
            assert snapshot(project / "figures") == snapshot(template / "figures"), "figures/ differ from a clean build"
        assert snapshot(project / "data") == before["data"], "data/ changed"
        assert not temp_files(project)
        if fault.setup is hostile_state:
            assert (project.parent / "victim.txt").read_text() == "must survive"
    finally:
        if (project / "figures" / "en").exists():
            (project / "figures" / "en").chmod(0o755)


def stub_dev_venv(project: Path) -> None:
    """A ``.venv`` that the project's dev.py takes as set up, running the environment of these tests.

    Linking the repository's ``.venv`` instead would make the test depend on how the suite was
    launched (a worktree or a CI image may have none, or one set up for other sources), and
    dev.py would then create or reinstall an environment instead of running the build.
    """
    import importlib.util

    bin_dir = project / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    shdata = bin_dir / "shdata"
    shdata.write_text(f"#!{sys.executable}\nimport sys\nfrom shdata.cli import main\nsys.exit(main())\n")
    shdata.chmod(0o755)
    spec = importlib.util.spec_from_file_location("project_dev", project / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    dev.STAMP.write_text(dev._fingerprint())  # what dev.py setup writes once the environment is ready


@pytest.mark.skipif(os.name != "posix" or not os.path.isdir("/proc"), reason="signals and /proc")
def test_ctrl_c_on_dev_py_waits_for_shdata_and_exits_130_with_one_line(project):
    """dev.py passes Ctrl-C on, waits for the build's clean-up, and says so in one line."""
    shutil.copy(ROOT / "dev.py", project / "dev.py")
    stub_dev_venv(project)
    before = snapshot(project / "figures")
    proc = start_blocking_build(project, command=(sys.executable, "dev.py", "build"), start_new_session=True)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "dev.py: interrupted; shdata stopped cleanly (exit 130)"
    wait_for(lambda: not project_processes(project), "the workers and kernels to exit")
    assert snapshot(project / "figures") == before
    assert not any((project / "build" / "staging").glob("*"))
