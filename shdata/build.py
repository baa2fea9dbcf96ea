"""``shdata build``: run every notebook for every language, in parallel and incrementally.

Each run (notebook × parameter set) executes with papermill into a staging
folder private to this build and this run; the notebook may publish only there
(``publish()`` refuses any other folder) and declares every file it writes.
When the run succeeds, exactly the declared files are moved into
``figures/<lang>/`` (one ``os.replace`` per file, so no reader ever sees a
half-written file), its executed notebook is kept in ``build/notebooks/`` and
an HTML rendering written to ``build/html/``. A failed run keeps its executed
notebook and its full error in ``build/failed/`` and leaves the previous
figures untouched.

Reliability rules (see the README's "Reliability" section):

* one build per project at a time (a lock in ``build/``; the kernel releases it
  when a build dies, so a killed build never leaves a stale lock);
* before any notebook runs, the data is validated and checked and the output
  folders are tested for writing; a failure stops the build with one line;
* Ctrl-C and SIGTERM stop the workers and kernels and remove this build's
  staging; workers exit on their own when the build is killed outright;
* each run has a time limit (``--timeout``);
* every path read from ``build/state.json`` is resolved and must stay inside
  ``figures/`` or ``build/``; anything else is ignored with a warning;
* files under ``figures/`` that no notebook publishes any more are removed
  (``--keep-orphans`` keeps them), so the manifest and ``figures/`` agree.

A run is skipped when its fingerprint is unchanged and its outputs are present
and unmodified. The fingerprint covers the notebook's cells (not its outputs),
the run's parameters, the data tables the run read last time (CSV bytes and
descriptor entries), the shdata package source and fonts, the lock file and
the Python version. The state lives in ``build/state.json``; build times go to
``build/timings.json`` so that nothing in ``figures/`` depends on them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from ._io import TMP_SUFFIX, write_json
from .errors import ShdataError, did_you_mean

DEFAULT_LANGS = ("en", "zh")
DEFAULT_PARAMS = {"formats": ["png", "svg", "pdf"], "dpi": 300, "width": "double", "variant": ["journal", "standalone"]}
DEFAULT_TIMEOUT = 600.0  # seconds per run; the slowest notebook takes about 20 s
STOP_GRACE = 5.0  # seconds a worker gets to stop its kernel before SIGKILL
STATE_VERSION = 1


class BuildError(ShdataError):
    """The build cannot start (no project folder, unknown notebook or language, bad data, busy)."""


class BuildInterrupted(KeyboardInterrupt):
    """The build was stopped by a signal; ``signal_name`` says which (SIGINT or SIGTERM)."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass(frozen=True)
class Run:
    """One notebook executed with one parameter set."""

    notebook: str
    lang: str
    options: tuple = ()  # (name, value) pairs overriding DEFAULT_PARAMS

    @property
    def key(self) -> str:
        return f"{self.notebook}-{self.lang}"

    @property
    def params(self) -> dict:
        return {"lang": self.lang, **DEFAULT_PARAMS, **dict(self.options)}


@dataclass
class Outcome:
    run: Run
    status: str  # built | skipped | failed
    seconds: float = 0.0
    figures: int = 0
    error: str = ""  # one line
    log: str = ""  # where the full error was kept (relative to the project)


@dataclass(frozen=True)
class Project:
    """Paths of a shdata project checkout."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def state_path(self) -> Path:
        return self.build / "state.json"

    @property
    def lock_path(self) -> Path:
        return self.build / "build.lock"

    @property
    def holder_path(self) -> Path:
        return self.build / "build.lock.json"

    def notebook_names(self) -> list[str]:
        return sorted(p.stem for p in self.notebooks.glob("*.ipynb"))


def find_project(start: Path | None = None, command: str = "build") -> Project:
    from .notebook import find_project_root

    root = find_project_root(start)
    if root is None:
        hint = " or give --manifest PATH" if command == "cite" else ""
        raise BuildError(
            f"shdata {command} needs a project folder (with pyproject.toml and notebooks/); "
            f"run it inside the shdata repository{hint}"
        )
    return Project(root)


# -- fingerprints -------------------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str | None:
    try:
        return _sha(path.read_bytes())
    except FileNotFoundError:
        return None


def notebook_cells(path: Path) -> list[str]:
    """One hash per cell of a notebook (type, source, tags), ignoring outputs and counts."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        return [
            _sha(
                json.dumps(
                    [c.get("cell_type"), "".join(c.get("source", "")), sorted(c.get("metadata", {}).get("tags", []))],
                    ensure_ascii=False,
                ).encode()
            )
            for c in nb.get("cells", [])
        ]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError):
        return ["unreadable:" + (_file_sha(path) or "missing")]  # the run fails later with one line


def package_files() -> dict[str, str]:
    """sha256 of every file of the shdata package (sources, fonts, templates), by relative path."""
    here = Path(__file__).resolve().parent
    return {
        p.relative_to(here).as_posix(): _sha(p.read_bytes())
        for p in sorted(here.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def _descriptor(project: Project) -> dict | None:
    try:
        desc = json.loads((project.data_dir / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return desc if isinstance(desc, dict) else None


def data_parts(project: Project, tables: list[str]) -> dict:
    """What a run read from the data: the descriptor's header and, per table, its entry and CSV bytes."""
    desc = _descriptor(project)
    if desc is None:
        return {"descriptor": "none", "tables": {}}
    res = {r.get("name"): r for r in desc.get("resources", []) if isinstance(r, dict)}
    header = {k: v for k, v in desc.items() if k != "resources"}
    out = {}
    for tid in sorted(tables):
        entry = res.get(tid)
        csv_sha = (_file_sha(project.data_dir / entry["path"]) or "missing") if entry else "missing"
        out[tid] = _sha((json.dumps(entry, sort_keys=True, ensure_ascii=False) + csv_sha).encode())
    return {"descriptor": _sha(json.dumps(header, sort_keys=True, ensure_ascii=False).encode()), "tables": out}


def fingerprint_parts(project: Project, run: Run, tables: list[str], pkg_files: dict[str, str], lock_hash: str) -> dict:
    """Everything a run's output depends on, itemised so that ``--explain`` can name what changed."""
    return {
        "cells": notebook_cells(project.notebooks / f"{run.notebook}.ipynb"),
        "params": run.params,
        "data": data_parts(project, tables),
        "package": pkg_files,
        "lock": lock_hash,
        "python": sys.version.split()[0],
    }


def fingerprint_of(parts: dict) -> str:
    return _sha(json.dumps(parts, sort_keys=True).encode())


def _changed(old: dict, new: dict) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def explain_parts(old: dict, new: dict) -> list[str]:
    """Plain-language reasons why ``new`` fingerprint parts differ from the recorded ``old`` ones."""
    reasons = []
    oc, nc = old.get("cells", []), new.get("cells", [])
    if oc != nc:
        if len(oc) != len(nc):
            reasons.append(f"the notebook has {len(nc)} cells, {len(oc)} when last built")
        else:
            idx = [str(i + 1) for i, (a, b) in enumerate(zip(oc, nc, strict=True)) if a != b]
            reasons.append(f"notebook cell{'s' if len(idx) > 1 else ''} {', '.join(idx)} changed")
    params = _changed(old.get("params", {}), new.get("params", {}))
    if params:
        reasons.append(f"parameter{'s' if len(params) > 1 else ''} {', '.join(params)} changed")
    od, nd = old.get("data", {}), new.get("data", {})
    if od.get("descriptor") != nd.get("descriptor"):
        reasons.append("the data package's descriptor header changed")
    tables = _changed(od.get("tables", {}), nd.get("tables", {}))
    if tables:
        reasons.append(f"table{'s' if len(tables) > 1 else ''} {', '.join(tables)} changed")
    files = _changed(old.get("package", {}), new.get("package", {}))
    if files:
        shown = ", ".join(f"shdata/{f}" for f in files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
        reasons.append(f"package file{'s' if len(files) > 1 else ''} {shown} changed")
    if old.get("lock") != new.get("lock"):
        reasons.append("requirements.lock changed")
    if old.get("python") != new.get("python"):
        reasons.append(f"Python changed ({old.get('python')} -> {new.get('python')})")
    return reasons


# -- paths read from state files ------------------------------------------------


def confined(project: Project, rel: object) -> Path | None:
    """The path ``rel`` (relative to the project) if it stays inside ``figures/`` or ``build/``.

    ``rel`` comes from a file a user or another program may have edited, so it is
    not trusted: it must be a relative string without ``..``, and its resolved
    location (symlinks followed) must lie inside the resolved ``figures/`` or
    ``build/``. Returns None otherwise.
    """
    if not isinstance(rel, str) or not rel or "\0" in rel:
        return None
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (len(rel) > 1 and rel[1] == ":"):
        return None
    path = project.root.joinpath(*pure.parts)
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    for top in (project.figures, project.build):
        top_resolved = top.resolve()
        if resolved != top_resolved and resolved.is_relative_to(top_resolved):
            return path
    return None


def _is_sha(v: object) -> bool:
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


def _parts_shaped(parts: object) -> bool:
    """Whether recorded fingerprint parts have the shape :func:`fingerprint_parts` gives them."""
    if not isinstance(parts, dict):
        return False
    data = parts.get("data")
    return (
        isinstance(parts.get("cells"), list)
        and all(isinstance(c, str) for c in parts["cells"])
        and isinstance(parts.get("params"), dict)
        and isinstance(data, dict)
        and isinstance(data.get("descriptor"), str)
        and isinstance(data.get("tables"), dict)
        and isinstance(parts.get("package"), dict)
        and isinstance(parts.get("lock"), str)
        and isinstance(parts.get("python"), str)
    )


def load_state(project: Project, warn=print) -> dict:
    """Read ``build/state.json``; whatever is unreadable or out of shape is dropped with a warning.

    A dropped run is simply rebuilt. Output paths outside ``figures/`` and
    ``build/`` are dropped too, so a hostile state file cannot make the build
    delete or trust anything else.
    """
    empty = {"version": STATE_VERSION, "runs": {}}
    rel = project.state_path.relative_to(project.root)
    try:
        state = json.loads(project.state_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return empty
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        warn(f"shdata: warning: {rel} is unreadable ({type(exc).__name__}); rebuilding every run")
        return empty
    if not isinstance(state, dict) or not isinstance(state.get("runs"), dict):
        warn(f"shdata: warning: {rel} is not a build state (expected an object with 'runs'); rebuilding every run")
        return empty
    if state.get("version") != STATE_VERSION:
        return empty
    runs = {}
    for key, entry in state["runs"].items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("fingerprint"), str)
            and isinstance(entry.get("outputs"), dict)
            and isinstance(entry.get("tables", []), list)
            and all(isinstance(t, str) for t in entry.get("tables", []))
        ):
            warn(f"shdata: warning: {rel}: run {key!r} is malformed; it will be rebuilt")
            continue
        outputs = {}
        for path, sha in entry["outputs"].items():
            if confined(project, path) is None:
                warn(
                    f"shdata: warning: {rel}: ignoring output {path!r} of run {key!r}: "
                    f"not a path inside figures/ or build/"
                )
            elif not _is_sha(sha):
                warn(f"shdata: warning: {rel}: ignoring output {path!r} of run {key!r}: bad sha256")
            else:
                outputs[path] = sha
        figures = entry.get("figures", 0)
        runs[key] = {
            **entry,
            "outputs": outputs,
            "figures": figures if isinstance(figures, int) and not isinstance(figures, bool) else 0,
        }
        if not _parts_shaped(entry.get("parts")):
            # Only --explain's reasons read them; without them a changed run is still rebuilt.
            runs[key].pop("parts", None)
    return {"version": STATE_VERSION, "runs": runs}


def _remove(project: Project, rel: str) -> bool:
    """Delete one recorded output, only if it is confined; True if something was removed."""
    path = confined(project, rel)
    if path is None:
        return False
    try:
        path.unlink()
        return True
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return False


# -- one build at a time ----------------------------------------------------------


class _ProjectLock:
    """The project's build lock (:mod:`filelock`), with a note of who holds it.

    The lock is an OS lock on ``build/build.lock``: the kernel releases it when
    its holder exits for any reason, so a killed build leaves no stale lock
    behind. ``build/build.lock.json`` names the holder (pid, start time) for the
    message a second build shows; it is advisory only.
    """

    def __init__(self, project: Project):
        from filelock import FileLock

        self.project = project
        self.lock = FileLock(str(project.lock_path))

    def holder(self) -> str:
        try:
            info = json.loads(self.project.holder_path.read_text(encoding="utf-8"))
            return f"pid {int(info['pid'])}, started {info['started']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "pid unknown"

    def acquire(self, wait: bool, echo) -> None:
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            if not wait:
                raise BuildError(
                    f"another shdata build is running in {self.project.root} ({self.holder()}); "
                    f"wait for it, or run without --no-wait to queue"
                ) from None
            echo(f"Waiting for the shdata build already running in this project ({self.holder()}) ...")
            self.lock.acquire()
        started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        write_json(self.project.holder_path, {"pid": os.getpid(), "started": started})

    def release(self) -> None:
        self.lock.release()


# -- executing one run ----------------------------------------------------------


class _Workers:
    """Long-lived worker processes (``shdata._worker``), one per build thread.

    Each imports papermill and nbconvert once and then executes run after run,
    which saves seconds per run over starting the papermill and nbconvert
    command lines. Workers run in their own session, so a terminal's Ctrl-C
    reaches only the build, which then stops them itself; a worker also exits
    by itself when the build is gone (see :mod:`shdata._worker`).

    The workers share one warm process that forks their kernels
    (:mod:`shdata._kernels`): it imports IPython, pandas, matplotlib and shdata
    once per build instead of once per worker. It is started with the first
    worker and goes when the build closes the workers or exits.
    """

    def __init__(self, env: dict, timeout: float):
        self.env = env
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[subprocess.Popen] = []
        self._warm: Any = None  # shdata._kernels.Zygote, made with the first worker
        self.stopping = False

    def _kernel_forker(self) -> socket.socket | None:
        """A socket to the build's warm process for one more worker (None where kernels are not forked)."""
        from . import _kernels

        if not _kernels.forking_supported():
            return None
        try:
            if self._warm is None or not self._warm.alive():
                # Its kernels write where the workers' own output goes: nowhere (the executed
                # notebook and the build's report carry what a run says).
                self._warm = _kernels.Zygote(env=self.env, output=subprocess.DEVNULL)
            return self._warm.add_client()
        except OSError:  # the worker starts its kernels itself
            return None

    def _worker(self) -> subprocess.Popen:
        proc = getattr(self._local, "proc", None)
        if proc is None or proc.poll() is not None:
            with self._lock:
                if self.stopping:
                    raise KeyboardInterrupt
                from ._kernels import SHARED_ENV

                forker = self._kernel_forker()
                try:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "shdata._worker"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        text=True,
                        encoding="utf-8",
                        env={**self.env, SHARED_ENV: str(forker.fileno())} if forker else self.env,
                        pass_fds=(forker.fileno(),) if forker else (),
                        start_new_session=os.name == "posix",
                    )
                finally:
                    if forker is not None:
                        forker.close()  # the worker's now
                self._all.append(proc)
            assert proc.stdout is not None  # piped above
            if "ready" not in (proc.stdout.readline() or ""):
                if self.stopping:
                    raise KeyboardInterrupt
                raise BuildError("a build worker failed to start (is papermill installed?)")
            self._local.proc = proc
        return proc

    def request(self, req: dict) -> dict:
        if self.stopping:
            raise KeyboardInterrupt
        proc = self._worker()
        assert proc.stdin is not None and proc.stdout is not None  # _worker pipes both
        proc.stdin.write(json.dumps(req) + "\n")
        proc.stdin.flush()
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            self._stop(proc)

        timer = threading.Timer(self.timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            line = proc.stdout.readline()
        finally:
            timer.cancel()
        if self.stopping:
            raise KeyboardInterrupt
        if expired.is_set():
            self._local.proc = None
            return {"ok": False, "error": f"timed out after {self.timeout:g} s (--timeout); its kernel was stopped"}
        if not line:
            self._local.proc = None
            return {"ok": False, "error": "the build worker died (out of memory, or killed)"}
        return json.loads(line)

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        """SIGTERM (the worker stops its kernel, then exits); SIGKILL if it does not go in time."""
        if proc.poll() is not None:
            return
        try:
            proc.terminate()
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        with self._lock:
            procs = list(self._all)
        for p in procs:  # every worker sees end of input first, so they wind down together
            try:
                assert p.stdin is not None  # _worker pipes it
                p.stdin.close()
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._stop(p)
        self._stop_warm()

    def stop_all(self) -> None:
        with self._lock:
            self.stopping = True
            procs = list(self._all)
        threads = [threading.Thread(target=self._stop, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self._stop_warm()

    def _stop_warm(self) -> None:
        """Stop the warm process and any kernel still running (the workers are gone)."""
        with self._lock:
            warm, self._warm = self._warm, None
        if warm is not None:
            warm.stop()


def parameters_problem(path: Path) -> str | None:
    """Why papermill could not inject the build's parameters into this notebook, or None."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
        tagged = [c for c in cells if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"notebooks/{path.name} is not a readable notebook ({type(exc).__name__})"
    if not tagged:
        from .notebook import _TAG_FIX

        return f"notebooks/{path.name} has no cell tagged 'parameters'; {_TAG_FIX}"
    if len(tagged) > 1:
        return f"notebooks/{path.name} has {len(tagged)} cells tagged 'parameters'; keep the tag on one cell"
    return None


def _declared(run_dir: Path, fig_stage: Path, lang: str) -> tuple[list[str], str]:
    """The files the run declared (relative to its figure folder), or an error line."""
    listing = run_dir / "declared.jsonl"
    try:
        lines = listing.read_text(encoding="utf-8").splitlines() if listing.exists() else []
        declared = list(dict.fromkeys(json.loads(line) for line in lines if line.strip()))
    except (OSError, ValueError) as exc:
        return [], f"its list of published files is unreadable ({type(exc).__name__})"
    for rel in declared:
        pure = PurePosixPath(rel) if isinstance(rel, str) else None
        if pure is None or pure.is_absolute() or ".." in pure.parts or not pure.parts or pure.parts[0] != lang:
            return [], f"it declared {rel!r}, which is not a file under its {lang}/ folder"
        if not (fig_stage / rel).is_file():
            return [], f"it declared {rel} but the file is missing from its staging folder"
    present = sorted(
        p.relative_to(fig_stage).as_posix()
        for p in fig_stage.rglob("*")
        if p.is_file() and not p.name.endswith(TMP_SUFFIX)
    )
    undeclared = [p for p in present if p not in declared]
    if undeclared:
        return [], (
            f"it wrote {undeclared[0]} without declaring it "
            f"(write published files with P.publish or shdata.notebook.declare)"
        )
    return declared, ""


def execute(
    project: Project, run: Run, workers: _Workers, previous_outputs: dict[str, str], staging_root: Path
) -> tuple[Outcome, dict | None]:
    """Execute one run in its own staging folder; on success move its declared files into place.

    ``previous_outputs`` are the files the run wrote last time (from the build state);
    figures among them that the run no longer publishes are removed.
    """
    from .notebook import BUILD_DECLARED_ENV, BUILD_OUTPUT_ENV

    started = time.perf_counter()
    run_dir = staging_root / run.key
    run_dir.mkdir(parents=True)
    executed = run_dir / f"{run.key}.ipynb"
    html = run_dir / f"{run.key}.html"
    fig_stage = run_dir / "figures"

    def fail(error: str, detail: str = "") -> tuple[Outcome, None]:
        failed = project.build / "failed"
        failed.mkdir(parents=True, exist_ok=True)
        if executed.exists():
            os.replace(executed, failed / executed.name)
        log = failed / f"{run.key}.log"
        log.write_text(f"{run.notebook} ({run.lang}) failed: {error}\n\n{detail}\n", encoding="utf-8")
        return Outcome(
            run, "failed", time.perf_counter() - started, error=error, log=str(log.relative_to(project.root))
        ), None

    source = project.notebooks / f"{run.notebook}.ipynb"
    problem = parameters_problem(source)
    if problem:
        return fail(problem)
    answer = workers.request(
        {
            "input": str(source),
            "output": str(executed),
            "params": {**run.params, "output_dir": str(fig_stage)},
            "cwd": str(project.root),
            "html": str(html),
            "figures": str(project.figures),
            "html_dir": str(project.build / "html"),
            "env": {BUILD_OUTPUT_ENV: str(fig_stage), BUILD_DECLARED_ENV: str(run_dir / "declared.jsonl")},
        }
    )
    warnings = "\n".join(answer.get("warnings", []))
    if not answer.get("ok"):
        return fail(answer.get("error", "unknown error"), f"{answer.get('detail', '')}\n{warnings}".strip())
    declared, problem = _declared(run_dir, fig_stage, run.lang)
    if problem:
        return fail(problem, warnings)
    # Commit: move every declared file into place (atomic per file), then record it.
    outputs: dict[str, str] = {}
    tables: set[str] = set()
    for rel in sorted(declared, key=lambda r: (r.endswith(".json"), r)):  # sidecars last
        src = fig_stage / rel
        if rel.endswith(".json") and PurePosixPath(rel).parent == PurePosixPath(run.lang):
            rec = json.loads(src.read_text(encoding="utf-8"))
            tables.update(s["table"] for s in rec.get("provenance", {}).get("sources", []))
        dest = project.figures / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        sha = _sha(src.read_bytes())  # the staged file exists (os.replace needs it too)
        os.replace(src, dest)
        outputs[dest.relative_to(project.root).as_posix()] = sha
    for sub, src in (("notebooks", executed), ("html", html)):
        dest_dir = project.build / sub
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / src.name
        sha = _sha(src.read_bytes())  # the staged file exists (os.replace needs it too)
        os.replace(src, dest)
        outputs[dest.relative_to(project.root).as_posix()] = sha
    n_figures = sum(1 for r in declared if r.endswith(".json") and PurePosixPath(r).parent == PurePosixPath(run.lang))
    # Figures this run published last time but no longer does: remove them (confined paths only).
    for rel in previous_outputs:
        if rel.startswith("figures/") and rel not in outputs:
            _remove(project, rel)
    return Outcome(run, "built", time.perf_counter() - started, figures=n_figures), {
        "outputs": outputs,
        "tables": sorted(tables),
        "notebook": run.notebook,
        "lang": run.lang,
    }


# -- before and after the runs ------------------------------------------------------


def preflight(project: Project, runs: list[Run]) -> None:
    """Refuse to start, with one line, when no run could succeed or publish.

    The data must validate and pass its consistency checks (a changed figure
    must never be published from data that fails them), and every folder the
    build writes must accept files.
    """
    from .checks import run_checks
    from .package import Package

    pkg = Package(project.data_dir)
    try:
        for tid in pkg.ids():
            pkg.parsed(tid)
        results = run_checks(pkg)
    except ShdataError as exc:
        raise BuildError(f"{exc}; nothing was built") from None
    bad = [r for r in results if not r.ok]
    if bad:
        names = ", ".join(f"{r.table}/{r.id}" for r in bad[:3]) + (", ..." if len(bad) > 3 else "")
        raise BuildError(
            f"the data fails {len(bad)} consistency check(s) ({names}); nothing was built; `shdata check` explains each"
        )
    folders = [project.build, project.figures, *(project.figures / lang for lang in sorted({r.lang for r in runs}))]
    for folder in folders:
        probe = folder / f".shdata-write-test.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise BuildError(
                f"{folder} is not a writable folder ({exc.strerror or type(exc).__name__}); "
                f"nothing was built; fix its permissions and run again"
            ) from None


def prune(project: Project, state: dict, keep_orphans: bool, echo) -> None:
    """Make ``figures/`` hold exactly what the notebooks publish plus the build-level outputs.

    Runs of notebooks that no longer exist lose their outputs and their state.
    When every notebook × language has a recorded run, any other file under
    ``figures/`` (a figure no notebook publishes, a leftover temporary file) is
    removed, or with ``keep_orphans`` only reported.
    """
    from .manifest import is_build_output

    existing = set(project.notebook_names())
    for key, entry in list(state["runs"].items()):
        notebook = entry.get("notebook") or key.rsplit("-", 1)[0]
        if notebook not in existing:
            n = sum(_remove(project, rel) for rel in entry["outputs"])
            echo(f"  removed  {n} files of {key} (notebooks/{notebook}.ipynb no longer exists)")
            del state["runs"][key]
    expected = {f"{nb}-{lang}" for nb in existing for lang in DEFAULT_LANGS}
    if not expected or not expected <= set(state["runs"]) or not project.figures.is_dir():
        return
    accounted = {rel for e in state["runs"].values() for rel in e["outputs"]}
    for path in sorted(project.figures.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(project.root).as_posix()
        if rel in accounted or is_build_output(path.relative_to(project.figures).as_posix()):
            continue
        if keep_orphans:
            echo(f"  kept     {rel}: no notebook publishes it (--keep-orphans)")
        else:
            path.unlink()
            echo(f"  removed  {rel}: no notebook publishes it")
    for folder in sorted(
        (p for p in project.figures.rglob("*") if p.is_dir() and not p.is_symlink()), key=lambda p: -len(p.parts)
    ):
        if folder.parent != project.figures and not any(folder.iterdir()):
            folder.rmdir()


# -- the build ------------------------------------------------------------------


def plan(
    project: Project, notebooks: list[str] | None, langs: list[str] | None, options: dict | None = None
) -> list[Run]:
    known = project.notebook_names()
    if not known:
        raise BuildError(f"no notebooks in {project.notebooks}")
    for nb in notebooks or []:
        if nb not in known:
            raise BuildError(f"unknown notebook {nb!r}{did_you_mean(nb, known)} (notebooks: {', '.join(known)})")
    for lang in langs or []:
        if lang not in DEFAULT_LANGS:
            raise BuildError(f"unknown language {lang!r}; use one of {', '.join(DEFAULT_LANGS)}")
    opts = tuple(sorted((k, v) for k, v in (options or {}).items() if v is not None))
    return [Run(nb, lang, opts) for nb in (notebooks or known) for lang in (langs or DEFAULT_LANGS)]


def decide(
    project: Project, run: Run, entry: dict | None, pkg_files: dict[str, str], lock_hash: str, force: bool = False
) -> tuple[bool, list[str]]:
    """Whether ``run`` must be rebuilt, and why; or why it is up to date.

    The one rule both the build and ``shdata build --explain`` follow, so that what
    ``--explain`` says is what the build does.

    Parameters
    ----------
    entry : dict or None
        The run's record in ``build/state.json`` (as :func:`load_state` returns it).
    pkg_files, lock_hash : dict, str
        :func:`package_files` and the sha256 of ``requirements.lock``, computed once per build.

    Returns
    -------
    (bool, list of str)
        True when the run must be rebuilt; the reasons name what changed since it was
        last built (notebook cells, parameters, tables, package files, lock, Python,
        missing or modified outputs), or say that it is up to date.
    """
    if entry is None:
        return True, ["no record in build/state.json (never built, or its record could not be used)"]
    parts = fingerprint_parts(project, run, entry.get("tables", []), pkg_files, lock_hash)
    reasons = ["--force"] if force else []
    if fingerprint_of(parts) != entry.get("fingerprint"):
        old = entry.get("parts")
        found = explain_parts(old, parts) if isinstance(old, dict) else []
        reasons += found or ["its fingerprint changed (recorded by an older shdata without details)"]
    outputs = entry.get("outputs", {})
    if not outputs:
        reasons.append("no outputs recorded")
    for rel, sha in sorted(outputs.items()):
        path = confined(project, rel)
        now = _file_sha(path) if path is not None else None
        if now is None:
            reasons.append(f"output {rel} is missing")
            break
        if now != sha:
            reasons.append(f"output {rel} was modified")
            break
    if reasons:
        return True, reasons
    tables = len(entry.get("tables", []))
    return False, [
        f"up to date: same cells, parameters, {tables} table{'' if tables == 1 else 's'}, "
        f"package, lock and Python; {len(outputs)} output{'' if len(outputs) == 1 else 's'} intact"
    ]


def explain(
    project: Project,
    notebooks: list[str] | None = None,
    langs: list[str] | None = None,
    options: dict | None = None,
    force: bool = False,
    warn=print,
) -> list[tuple[Run, bool, list[str]]]:
    """Why each run would rebuild, or that it is up to date, without running anything.

    Parameters
    ----------
    warn : callable
        Receives the one-line warnings about ``build/state.json`` that the build would print.

    Returns
    -------
    list of (run, rebuild, reasons)
        One entry per planned run, as :func:`decide` answers for it.
    """
    runs = plan(project, notebooks, langs, options)
    state = load_state(project, warn=warn)
    pkg_files = package_files()
    lock_hash = _file_sha(project.root / "requirements.lock") or "no-lock"
    return [(run, *decide(project, run, state["runs"].get(run.key), pkg_files, lock_hash, force)) for run in runs]


def build(
    project: Project,
    notebooks: list[str] | None = None,
    langs: list[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    echo=print,
    options: dict | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    wait: bool = True,
    keep_orphans: bool = False,
    sync: bool = True,
) -> list[Outcome]:
    """Run the build; see the module docstring. Returns one outcome per run.

    Parameters
    ----------
    options : dict, optional
        Overrides notebook parameters for every run (``dpi``, ``width``,
        ``formats``); they are part of each run's fingerprint.
    timeout : float
        Seconds one run may take; a run that takes longer fails, the others go on.
    wait : bool
        When another build holds the project's lock: wait for it (True) or
        raise :class:`BuildError` at once (False).
    keep_orphans : bool
        Keep files under ``figures/`` that no notebook publishes (they are reported).
    sync : bool
        Write each canonical run's outputs (English, default parameters) back into
        ``notebooks/<name>.ipynb``, so that the committed notebooks match a fresh run.

    Raises
    ------
    BuildError
        Before any notebook runs: bad options, another build (``wait=False``),
        data that fails validation or its checks, an unwritable output folder.
    KeyboardInterrupt
        On Ctrl-C (or :class:`BuildInterrupted` from a signal handler), after the
        workers and kernels were stopped and this build's staging removed.
    """
    runs = plan(project, notebooks, langs, options)
    if jobs is None:
        jobs = os.cpu_count() or 1
    if jobs < 1:
        raise BuildError(f"--jobs must be at least 1, got {jobs}")
    if not timeout > 0:
        raise BuildError(f"--timeout must be a positive number of seconds, got {timeout:g}")
    project.build.mkdir(parents=True, exist_ok=True)
    lock = _ProjectLock(project)
    lock.acquire(wait, echo)
    try:
        return _locked_build(project, runs, jobs, force, echo, timeout, keep_orphans, sync)
    finally:
        lock.release()


def canonical(run: Run) -> bool:
    """The run whose outputs are committed in ``notebooks/``: English, the build's default parameters."""
    return run.lang == DEFAULT_LANGS[0] and not run.options


def sync_notebooks(project: Project, runs: list[Run], outcomes: dict, state: dict, echo) -> None:
    """Write each canonical run's outputs back into ``notebooks/<name>.ipynb`` (only on change).

    The committed notebooks then hold exactly what a fresh run shows, which is what
    nbval compares; ``state`` remembers the bytes last synced so that a no-op build
    does not re-read every notebook.
    """
    from . import sync

    for run in runs:
        if not canonical(run) or outcomes.get(run.key) is None or outcomes[run.key].status == "failed":
            continue
        entry = state["runs"].get(run.key)
        executed = project.build / "notebooks" / f"{run.key}.ipynb"
        source = project.notebooks / f"{run.notebook}.ipynb"
        if entry is None or not executed.is_file():
            continue
        key = f"{_file_sha(source)}:{_file_sha(executed)}"
        if entry.get("synced") == key:
            continue
        if sync.write_back(source, executed, figures_dir=project.figures):
            echo(f"  synced   notebooks/{source.name} (outputs of the canonical run)")
        entry["synced"] = f"{_file_sha(source)}:{_file_sha(executed)}"


def longest_first(project: Project, todo: list[Run]) -> list[Run]:
    """``todo`` with the runs expected to take longest first, so that no worker is left with a long one at the end.

    Expected from the last build's ``build/timings.json`` when it times every run,
    else from the size of each notebook file (longer notebooks draw more figures).
    The order only decides when a run starts, never what it writes.
    """
    try:
        timings = json.loads((project.build / "timings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        timings = {}
    if isinstance(timings, dict) and all(isinstance(timings.get(r.key), (int, float)) for r in todo):
        cost = {r.key: float(timings[r.key]) for r in todo}
    else:
        sizes: dict[str, int] = {}
        for r in todo:
            if r.notebook not in sizes:
                try:
                    sizes[r.notebook] = (project.notebooks / f"{r.notebook}.ipynb").stat().st_size
                except OSError:
                    sizes[r.notebook] = 0
        cost = {r.key: float(sizes[r.notebook]) for r in todo}
    return sorted(todo, key=lambda r: -cost[r.key])  # stable: ties keep the declared order


def write_contact_sheets(project: Project, runs: list[Run], outcomes: dict) -> None:
    """``figures/contact-sheet-<lang>.png`` for every language a run of this build touched or that lacks one."""
    from .contact_sheet import write_contact_sheet

    todo = []
    for lang in sorted({r.lang for r in runs}):
        sheet = project.figures / f"contact-sheet-{lang}.png"
        built = any(o.status == "built" for o in outcomes.values() if o.run.lang == lang)
        if (built or not sheet.exists()) and any((project.figures / lang).glob("*.png")):
            todo.append(lang)
    # Side by side: Pillow encodes and resamples without the GIL.
    with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
        list(pool.map(partial(write_contact_sheet, project.figures), todo))


def _locked_build(
    project: Project,
    runs: list[Run],
    jobs: int,
    force: bool,
    echo,
    timeout: float,
    keep_orphans: bool,
    sync: bool = True,
) -> list[Outcome]:
    # Staging left by a build that was killed outright: nobody else can be using it now.
    shutil.rmtree(project.build / "staging", ignore_errors=True)
    preflight(project, runs)
    state = load_state(project, warn=echo)
    pkg_hash = package_files()
    lock_hash = _file_sha(project.root / "requirements.lock") or "no-lock"

    todo, outcomes = [], {}
    for run in runs:
        entry = state["runs"].get(run.key)
        rebuild, _ = decide(project, run, entry, pkg_hash, lock_hash, force)
        if rebuild:
            todo.append(run)
        else:
            assert entry is not None  # decide rebuilds a run without a record
            outcomes[run.key] = Outcome(run, "skipped", figures=entry.get("figures", 0))
    todo = longest_first(project, todo)

    if todo:
        echo(
            f"Building {len(todo)} of {len(runs)} runs with {min(jobs, len(todo))} parallel jobs "
            f"({len(runs) - len(todo)} up to date)."
        )
    # The notebooks read this project's data/, whichever shdata is installed.
    workers = _Workers({**os.environ, "SHDATA_DATA_DIR": str(project.data_dir)}, timeout)
    state_lock = threading.Lock()
    staging_root = project.build / "staging" / f"{os.getpid()}-{secrets.token_hex(4)}"

    def one(run: Run) -> Outcome:
        echo(f"  started  {run.notebook} ({run.lang})")
        with state_lock:
            previous = dict(state["runs"].get(run.key, {}).get("outputs", {}))
        try:
            outcome, record = execute(project, run, workers, previous, staging_root)
        except OSError as exc:  # disk full, a folder made read-only meanwhile...
            outcome, record = Outcome(run, "failed", error=f"{type(exc).__name__}: {exc}"), None
        if record is not None:
            with state_lock:
                # Re-fingerprint with the tables this run actually read.
                parts = fingerprint_parts(project, run, record["tables"], pkg_hash, lock_hash)
                state["runs"][run.key] = {
                    "fingerprint": fingerprint_of(parts),
                    "figures": outcome.figures,
                    "parts": parts,
                    **record,
                }
                write_json(project.state_path, state)
        mark = {"built": "done", "failed": "FAILED"}.get(outcome.status, outcome.status)
        echo(f"  {mark:8} {run.notebook} ({run.lang}) {outcome.seconds:.1f} s, {outcome.figures} figures")
        return outcome

    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo) or 1)))
    try:
        futures = [pool.submit(one, run) for run in todo]
        for fut in as_completed(futures):
            o = fut.result()
            outcomes[o.run.key] = o
    except KeyboardInterrupt:
        workers.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        from .manifest import write_manifest

        write_manifest(project)  # the runs that finished before the signal are in figures/ now
        raise
    finally:
        pool.shutdown(wait=True)
        workers.close()
        shutil.rmtree(staging_root, ignore_errors=True)

    from .manifest import write_manifest

    with state_lock:
        prune(project, state, keep_orphans, echo)
        if sync:
            sync_notebooks(project, runs, outcomes, state, echo)
        write_json(project.state_path, state, only_if_changed=True)
    write_manifest(project)
    write_contact_sheets(project, runs, outcomes)
    timings = {o.run.key: round(o.seconds, 2) for o in outcomes.values() if o.status != "skipped"}
    if timings:
        write_json(project.build / "timings.json", timings)
    return [outcomes[r.key] for r in runs]


def summary_table(outcomes: list[Outcome]) -> str:
    """The closing table: notebook × language, status, seconds, figures."""
    rows = [("notebook", "lang", "status", "seconds", "figures")]
    rows += [
        (o.run.notebook, o.run.lang, o.status, f"{o.seconds:.1f}" if o.status != "skipped" else "-", str(o.figures))
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
