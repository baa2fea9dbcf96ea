"""``shdata build``: run every notebook for every language, in parallel and incrementally.

Each run (notebook × parameter set) executes with papermill into a private
staging folder; only when it succeeds are its figures moved into
``figures/<lang>/`` (one ``os.replace`` per file, so no reader ever sees a
half-written file), its executed notebook kept in ``build/notebooks/`` and an
HTML rendering written to ``build/html/``. A failed run keeps its executed
notebook in ``build/failed/`` and leaves the previous figures untouched; an
interrupted build (Ctrl-C) stops the kernels and leaves only complete files.

A run is skipped when its fingerprint is unchanged and its outputs are present
and unmodified. The fingerprint covers the notebook's cells (not its outputs),
the run's parameters, the data tables the run read last time (CSV bytes and
descriptor entries), the shdata package source and fonts, the lock file and
the Python version. The state lives in ``build/state.json``; build times go to
``build/timings.json`` so that nothing in ``figures/`` depends on them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ._io import write_json
from .errors import ShdataError, did_you_mean

DEFAULT_LANGS = ("en", "zh")
DEFAULT_PARAMS = {"formats": ["png", "svg", "pdf"], "dpi": 300, "width": "double", "variant": ["journal", "standalone"]}
STATE_VERSION = 1


class BuildError(ShdataError):
    """The build cannot start (no project folder, unknown notebook or language)."""


@dataclass(frozen=True)
class Run:
    """One notebook executed with one parameter set."""

    notebook: str
    lang: str
    options: tuple = ()   # (name, value) pairs overriding DEFAULT_PARAMS

    @property
    def key(self) -> str:
        return f"{self.notebook}-{self.lang}"

    @property
    def params(self) -> dict:
        return {"lang": self.lang, **DEFAULT_PARAMS, **dict(self.options)}


@dataclass
class Outcome:
    run: Run
    status: str              # built | skipped | failed | interrupted
    seconds: float = 0.0
    figures: int = 0
    error: str = ""


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

    def notebook_names(self) -> list[str]:
        return sorted(p.stem for p in self.notebooks.glob("*.ipynb"))


def find_project(start: Path | None = None) -> Project:
    from .notebook import find_project_root

    root = find_project_root(start)
    if root is None:
        raise BuildError("shdata build needs a project folder (with pyproject.toml and notebooks/); "
                         "run it inside the shdata repository")
    return Project(root)


# -- fingerprints -------------------------------------------------------------

def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str | None:
    try:
        return _sha(path.read_bytes())
    except FileNotFoundError:
        return None


def notebook_code_hash(path: Path) -> str:
    """Hash of a notebook's cells (type, source, tags), ignoring outputs and counts."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [[c.get("cell_type"), "".join(c.get("source", "")), sorted(c.get("metadata", {}).get("tags", []))]
             for c in nb.get("cells", [])]
    return _sha(json.dumps(cells, ensure_ascii=False).encode())


def package_hash() -> str:
    """Hash of the shdata package: every source file and font, by relative path."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(here.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc",):
            h.update(str(p.relative_to(here)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def data_fingerprint(project: Project, tables: list[str]) -> str:
    """Hash of the data a run read: descriptor header, and each table's entry and CSV bytes."""
    try:
        desc = json.loads((project.data_dir / "datapackage.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return "no-descriptor"
    res = {r.get("name"): r for r in desc.get("resources", [])}
    header = {k: v for k, v in desc.items() if k != "resources"}
    h = hashlib.sha256(json.dumps(header, sort_keys=True, ensure_ascii=False).encode())
    for tid in sorted(tables):
        entry = res.get(tid)
        h.update(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode())
        if entry:
            h.update((_file_sha(project.data_dir / entry["path"]) or "missing").encode())
    return h.hexdigest()


def run_fingerprint(project: Project, run: Run, tables: list[str], pkg_hash: str, lock_hash: str) -> str:
    parts = {
        "notebook": notebook_code_hash(project.notebooks / f"{run.notebook}.ipynb"),
        "params": run.params,
        "data": data_fingerprint(project, tables),
        "package": pkg_hash,
        "lock": lock_hash,
        "python": sys.version.split()[0],
    }
    return _sha(json.dumps(parts, sort_keys=True).encode())


# -- state --------------------------------------------------------------------

def load_state(project: Project) -> dict:
    try:
        state = json.loads(project.state_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {"version": STATE_VERSION, "runs": {}}
    if state.get("version") != STATE_VERSION:
        return {"version": STATE_VERSION, "runs": {}}
    return state


def outputs_intact(project: Project, entry: dict) -> bool:
    """Every file a run wrote last time is still there with the same bytes."""
    for rel, sha in entry.get("outputs", {}).items():
        if _file_sha(project.root / rel) != sha:
            return False
    return bool(entry.get("outputs"))


# -- executing one run ----------------------------------------------------------

class _Workers:
    """Long-lived worker processes (``shdata._worker``), one per build thread.

    Each imports papermill and nbconvert once and then executes run after run,
    which saves seconds per run over starting the papermill and nbconvert
    command lines. Workers run in their own session, so a terminal's Ctrl-C
    reaches only the build, which then stops them itself.
    """

    def __init__(self, env: dict):
        self.env = env
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[subprocess.Popen] = []
        self.stopping = False

    def _worker(self) -> subprocess.Popen:
        proc = getattr(self._local, "proc", None)
        if proc is None or proc.poll() is not None:
            kw = {"start_new_session": True} if os.name == "posix" else {}
            proc = subprocess.Popen([sys.executable, "-m", "shdata._worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                    encoding="utf-8", env=self.env, **kw)
            with self._lock:
                self._all.append(proc)
            if "ready" not in (proc.stdout.readline() or ""):
                raise BuildError("a build worker failed to start (is papermill installed?)")
            self._local.proc = proc
        return proc

    def request(self, req: dict) -> dict:
        if self.stopping:
            raise KeyboardInterrupt
        proc = self._worker()
        proc.stdin.write(json.dumps(req) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if self.stopping:
            raise KeyboardInterrupt
        if not line:
            self._local.proc = None
            return {"ok": False, "error": "the build worker died (out of memory, or killed)"}
        return json.loads(line)

    def close(self) -> None:
        with self._lock:
            procs = list(self._all)
        for p in procs:
            try:
                p.stdin.close()
                p.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()

    def stop_all(self) -> None:
        self.stopping = True
        with self._lock:
            procs = list(self._all)
        for p in procs:
            try:
                if os.name == "posix":
                    os.killpg(p.pid, signal.SIGTERM)
                else:  # pragma: no cover
                    p.kill()
            except (ProcessLookupError, PermissionError):
                pass


def execute(project: Project, run: Run, workers: _Workers, previous_outputs: dict[str, str]
            ) -> tuple[Outcome, dict | None]:
    """Execute one run in staging; on success move its outputs into place.

    ``previous_outputs`` are the files the run wrote last time (from the build state);
    figures among them that the run no longer publishes are removed.
    """
    started = time.perf_counter()
    staging = project.build / "staging" / run.key
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    executed = staging / f"{run.key}.ipynb"
    fig_stage = staging / "figures"
    try:
        answer = workers.request({
            "input": str(project.notebooks / f"{run.notebook}.ipynb"), "output": str(executed),
            "params": {**run.params, "output_dir": str(fig_stage)}, "cwd": str(project.root),
            "html": str(staging / f"{run.key}.html")})
        if not answer.get("ok"):
            failed = project.build / "failed"
            failed.mkdir(parents=True, exist_ok=True)
            if executed.exists():
                os.replace(executed, failed / executed.name)
            return Outcome(run, "failed", time.perf_counter() - started, error=answer.get("error", "")), None
        # Commit: move every file into place (atomic per file), then record it.
        outputs: dict[str, str] = {}
        tables: set[str] = set()
        lang_dir = project.figures / run.lang
        lang_dir.mkdir(parents=True, exist_ok=True)
        produced = sorted((fig_stage / run.lang).glob("*")) if (fig_stage / run.lang).is_dir() else []
        for f in produced:
            if f.name.endswith(".json"):
                tables.update(s["table"] for s in json.loads(f.read_text(encoding="utf-8"))["provenance"]["sources"])
            dest = lang_dir / f.name
            os.replace(f, dest)
            outputs[str(dest.relative_to(project.root))] = _file_sha(dest)
        for sub, src in (("notebooks", executed), ("html", staging / f"{run.key}.html")):
            dest_dir = project.build / sub
            dest_dir.mkdir(parents=True, exist_ok=True)
            dest = dest_dir / src.name
            os.replace(src, dest)
            outputs[str(dest.relative_to(project.root))] = _file_sha(dest)
        n_figures = sum(1 for f in produced if f.suffix == ".json")
        # Figures this run published last time but no longer does: remove them.
        for rel in previous_outputs:
            if rel.startswith("figures/") and rel not in outputs:
                (project.root / rel).unlink(missing_ok=True)
        return Outcome(run, "built", time.perf_counter() - started, figures=n_figures), \
            {"outputs": outputs, "tables": sorted(tables)}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# -- the build ------------------------------------------------------------------

def plan(project: Project, notebooks: list[str] | None, langs: list[str] | None,
         options: dict | None = None) -> list[Run]:
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


def build(project: Project, notebooks: list[str] | None = None, langs: list[str] | None = None,
          jobs: int | None = None, force: bool = False, echo=print, options: dict | None = None) -> list[Outcome]:
    """Run the build; see the module docstring. Returns one outcome per run.

    ``options`` overrides notebook parameters for every run (``dpi``, ``width``,
    ``formats``); they are part of each run's fingerprint.
    """
    runs = plan(project, notebooks, langs, options)
    if jobs is None:
        jobs = os.cpu_count() or 1
    if jobs < 1:
        raise BuildError(f"--jobs must be at least 1, got {jobs}")
    state = load_state(project)
    pkg_hash = package_hash()
    lock_hash = _file_sha(project.root / "requirements.lock") or "no-lock"

    todo, outcomes = [], {}
    fingerprints = {}
    for run in runs:
        entry = state["runs"].get(run.key, {})
        fingerprints[run.key] = run_fingerprint(project, run, entry.get("tables", []), pkg_hash, lock_hash)
        if not force and entry.get("fingerprint") == fingerprints[run.key] and outputs_intact(project, entry):
            outcomes[run.key] = Outcome(run, "skipped", figures=entry.get("figures", 0))
        else:
            todo.append(run)

    if todo:
        echo(f"Building {len(todo)} of {len(runs)} runs with {min(jobs, len(todo))} parallel jobs "
             f"({len(runs) - len(todo)} up to date).")
    # The notebooks read this project's data/, whichever shdata is installed.
    workers = _Workers({**os.environ, "SHDATA_DATA_DIR": str(project.data_dir)})
    state_lock = threading.Lock()

    def one(run: Run) -> Outcome:
        echo(f"  started  {run.notebook} ({run.lang})")
        with state_lock:
            previous = dict(state["runs"].get(run.key, {}).get("outputs", {}))
        outcome, record = execute(project, run, workers, previous)
        if record is not None:
            with state_lock:
                # Re-fingerprint with the tables this run actually read.
                fp = run_fingerprint(project, run, record["tables"], pkg_hash, lock_hash)
                state["runs"][run.key] = {"fingerprint": fp, "figures": outcome.figures, **record}
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
        shutil.rmtree(project.build / "staging", ignore_errors=True)
        raise
    finally:
        pool.shutdown(wait=True)
        workers.close()

    from .manifest import write_manifest

    write_manifest(project)
    timings = {o.run.key: round(o.seconds, 2) for o in outcomes.values() if o.status != "skipped"}
    if timings:
        write_json(project.build / "timings.json", timings)
    return [outcomes[r.key] for r in runs]


def summary_table(outcomes: list[Outcome]) -> str:
    """The closing table: notebook × language, status, seconds, figures."""
    rows = [("notebook", "lang", "status", "seconds", "figures")]
    rows += [(o.run.notebook, o.run.lang, o.status, f"{o.seconds:.1f}" if o.status != "skipped" else "-",
              str(o.figures)) for o in outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
