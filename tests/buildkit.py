"""Helpers for the build tests: private project copies, small notebooks, process tracking.

Every test gets its own copy of a project (never a shared mutable one). The
session-wide template is built once and only ever copied, never changed.
Nothing here synchronises with sleeps: waits poll an observable condition
(a file, a line of output, a process) up to a generous deadline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SHDATA = [sys.executable, "-m", "shdata.cli"]
#: One worker: a build test's two runs (mini in English and Chinese) take a little longer one
#: after the other, but a second worker costs about 1.5 s of CPU to start, and the test suite
#: is bound by CPU, not by any one test's time. The tests about parallel runs ask for two.
FAST = ("--jobs", "1", "--formats", "png,pdf", "--dpi", "100")
#: As FAST, with two workers running side by side.
PARALLEL = ("--jobs", "2", *FAST[2:])
DEADLINE = 120.0  # seconds; generous for a busy 2-core machine, and only reached on failure

# One figure with everything the build writes for it: both variants (headline and
# subtitle drawn on the standalone one), its texts written and recorded by the
# text layer, and the values drawn as figure data.
MINI_CODE = """
import shdata
from shdata import notebook, style, units

P = notebook.setup(globals(), notebook="{name}")
T = P.text()
t = T.cell("yrd_technology_trade", "total_trade")
fig, ax = P.figure(height=0.3)
ax.bar([P.label(t)[:12]], [float(t)], color=style.BASE)
if P.lang == "en":
    commentary = T.paragraph(f"{{T.label(t)}} came to {{T.q(t)}} {{T.period(t)}}", T.caveats())
    headline = T.sentence(f"{{T.label(t)}} came to {{T.q(t)}} {{T.period(t)}}")
    alt = T.sentence(f"A single bar: {{T.label(t)}}, {{T.q(t)}} {{T.period(t)}}")
    subtitle = f"{{units.describe_unit(t.unit).capitalize()}}, {{T.period(t).removeprefix('in ')}}"
else:
    commentary = T.paragraph(f"{{T.period(t)}}{{T.label(t)}}为{{T.q(t)}}", T.caveats())
    headline = T.sentence(f"{{T.period(t)}}{{T.label(t)}}为{{T.q(t)}}")
    alt = T.sentence(f"单个条形：{{T.label(t)}}，{{T.period(t)}}为{{T.q(t)}}")
    subtitle = f"{{T.period(t)}}，单位：{{t.unit}}"
P.publish(fig, "{figure}", sources=["yrd_technology_trade"], title=P.t("Trade", "交易"),
          caption=P.t("Caption.", "说明。"), commentary=commentary, headline=headline, alt=alt,
          subtitle=subtitle, data=notebook.figure_data("yrd_technology_trade", rows=[t.key]))
"""

# Blocks inside a run after announcing it with a file in the run's staging folder, which is
# the event the signal tests wait for. It waits without using the CPU (see HANG_CODE).
BLOCK_CODE = """
import threading
from pathlib import Path
(Path(P.output_dir).parent / "running").write_text("running")
threading.Event().wait()
"""

# Never finishes, without using the CPU meanwhile (like a run stuck on a lock or a network
# call): the time-limit test must wait for the limit, and a spinning kernel would take a
# core from every other test for that long. The build stops either kind the same way.
HANG_CODE = """
import threading
threading.Event().wait()
"""


def write_notebook(
    path: Path, name: str | None = None, figure: str | None = None, extra: str = "", tag_parameters: bool = True
) -> None:
    """A small notebook with the real parameters cell that publishes one figure (then runs ``extra``)."""
    name = name or path.stem
    figure = figure or f"{name}-trade"
    nb = nbformat.read(ROOT / "notebooks" / "talent.ipynb", as_version=4)
    pcell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    pcell = nbformat.from_dict(dict(pcell))
    if not tag_parameters:
        pcell.metadata = {}
    new = nbformat.v4.new_notebook()
    new.metadata = nb.metadata
    new.cells = [
        nbformat.v4.new_markdown_cell(f"# {name}"),
        pcell,
        nbformat.v4.new_code_cell(MINI_CODE.format(name=name, figure=figure) + extra),
    ]
    for i, c in enumerate(new.cells):
        c["id"] = f"c{i}"
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbformat.write(new, path)


#: The tables of the mini project's data: the one its notebook draws, one nothing reads, and
#: one whose printed total a consistency check verifies (tests/test_build_faults.py breaks it).
MINI_TABLES = frozenset({"yrd_technology_trade", "waic_2023", "nsfc_projects_by_programme"})


def copy_data(dest: Path, tables: frozenset[str] | set[str] | None = None) -> Path:
    """A copy of data/ at ``dest``; given ``tables``, of the part of it that holds just those tables.

    The part is the package with the other tables' resources and files left out, and the
    consistency checks that refer to them: what those tables' checks, provenance and hashes
    need. A project with three tables instead of a hundred validates its data, renders its
    site and is copied in a fraction of the time, which every build test pays.
    """
    from shdata.package import write_descriptor
    from shdata.site import _check_tables

    if tables is None:
        shutil.copytree(ROOT / "data", dest)
        return dest
    shutil.copytree(
        ROOT / "data",
        dest,
        ignore=lambda folder, names: [n for n in names if n.endswith(".csv") and n[: -len(".csv")] not in tables],
    )
    desc = json.loads((ROOT / "data" / "datapackage.json").read_text(encoding="utf-8"))
    desc["resources"] = [r for r in desc["resources"] if r["name"] in tables]
    assert {r["name"] for r in desc["resources"]} == set(tables), f"test setup: no such tables in data/: {tables}"
    for res in desc["resources"]:
        res["shdata:checks"] = [c for c in res.get("shdata:checks", []) if _check_tables(c) <= tables]
    write_descriptor(dest / "datapackage.json", desc)
    return dest


def new_project(root: Path, notebooks=("mini",)) -> Path:
    """A project folder: the data of :data:`MINI_TABLES`, lock, pyproject, and only small notebooks."""
    root.mkdir(parents=True, exist_ok=True)
    copy_data(root / "data", MINI_TABLES)
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, root / name)
    (root / "notebooks").mkdir()
    for nb in notebooks:
        write_notebook(root / "notebooks" / f"{nb}.ipynb")
    return root


def copy_project(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest


@dataclass(frozen=True)
class Template:
    """The session's built mini project and the output of the build that made it."""

    root: Path
    first_build: subprocess.CompletedProcess


def shared_template(tmp_path_factory) -> Template:
    """The mini project built once per test session, whichever test module or xdist worker asks first.

    A fresh build renders the whole static site, which makes it the most expensive
    build of all; every build test starts from a copy of this one instead. The
    project lives in a folder common to all workers of the session; a file lock
    makes the first worker that needs it build it while the others wait, then
    read the recorded result. It is only ever copied, never changed.
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, common to all workers
    where = base / "build-template"
    record = where / "first-build.json"
    with FileLock(str(base / "build-template.lock")):
        if not record.exists():
            shutil.rmtree(where, ignore_errors=True)
            root = new_project(where / "project")
            done = build(root)
            fields = {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
            record.write_text(json.dumps({**fields, "explain": explain(root, done)}), encoding="utf-8")
    rec = json.loads(record.read_text(encoding="utf-8"))
    assert rec["returncode"] == 0, rec["explain"]
    first = subprocess.CompletedProcess(["shdata", "build", *FAST], rec["returncode"], rec["stdout"], rec["stderr"])
    return Template(where / "project", first)


def run(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SHDATA, *args], cwd=project, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def build(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run(project, "build", *FAST, *args, env=env)


def explain(project: Path, done: subprocess.CompletedProcess) -> str:
    """Everything a person needs when a build assertion fails: output and the kept error logs."""
    logs = "".join(
        f"\n--- {p}:\n{p.read_text(encoding='utf-8', errors='replace')}"
        for p in sorted((project / "build" / "failed").glob("*.log"))
    )
    return f"exit {done.returncode}\n--- stdout:\n{done.stdout}\n--- stderr:\n{done.stderr}{logs}"


def statuses(done: subprocess.CompletedProcess) -> dict[str, str]:
    out = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[2] in ("built", "skipped", "failed"):
            out[f"{parts[0]}-{parts[1]}"] = parts[2]
    return out


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file (and symlink target) under ``folder``."""
    out = {}
    if folder.is_file():
        return {"": hashlib.sha256(folder.read_bytes()).hexdigest()}
    if folder.exists():
        for p in sorted(folder.rglob("*")):
            if p.is_symlink():
                out[p.relative_to(folder).as_posix()] = "symlink:" + os.readlink(p)
            elif p.is_file():
                out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def temp_files(project: Path) -> list[Path]:
    return [p for p in project.rglob("*.tmp") if ".venv" not in p.parts]


def wait_for(condition, what: str, deadline: float = DEADLINE):
    """Poll ``condition()`` until it returns something truthy; fail naming ``what`` at the deadline."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)  # polling interval, not synchronisation: the condition decides
    raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what}")


def default_sigint() -> None:
    """preexec_fn: a child started from a background job inherits an ignored SIGINT; restore it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def descendants(pid: int) -> set[int]:
    """Pids of every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text(errors="replace")
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def alive(pids: set[int]) -> set[int]:
    """The pids that still run (zombies count as gone)."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text(errors="replace")
        except OSError:
            continue
        if state[state.rfind(")") + 2 :].split()[0] not in ("Z", "X"):
            out.add(pid)
    return out


def kernels_of(pid: int) -> set[int]:
    """Descendants of ``pid`` that are Jupyter kernels."""
    out = set()
    for d in descendants(pid):
        try:
            cmd = Path(f"/proc/{d}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ipykernel" in cmd:
            out.add(d)
    return out


def one_line(text: str) -> str:
    """The single non-empty line of ``text``; fails if there are more or none."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{text}"
    return lines[0]


def project_processes(project: Path) -> set[int]:
    """Running processes started for ``project``'s build (workers and kernels carry its SHDATA_DATA_DIR)."""
    marker = f"SHDATA_DATA_DIR={project / 'data'}".encode()
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            env = Path(f"/proc/{name}/environ").read_bytes()
        except OSError:
            continue
        if marker in env.split(b"\0"):
            found.add(int(name))
    return alive(found)


def start_blocking_build(project: Path, *args: str, command: tuple[str, ...] = (*SHDATA, "build"), **popen):
    """Start ``command`` building only a notebook that blocks in its first cell; return once it runs.

    The notebook (``slow``, English) touches ``running`` in its staging folder and then waits
    forever, so the build is caught mid-run: for signals, locks and kills.
    """
    write_notebook(project / "notebooks" / "slow.ipynb", extra=BLOCK_CODE)
    proc = subprocess.Popen(
        [*command, *FAST, "slow", "--lang", "en", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
        **popen,
    )
    wait_for(
        lambda: list((project / "build" / "staging").glob("*/slow-en/running")) or proc.poll() is not None,
        "the slow notebook to start running",
    )
    assert proc.poll() is None, proc.communicate()
    return proc
