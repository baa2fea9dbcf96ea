"""Shared fixtures. Bad-input cases are built from temporary copies of data/,
never by editing data/ itself."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import shdata
from shdata.package import Package, write_descriptor

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
LANGS = ("en", "zh")
#: The environment the test session started with (tests may change os.environ while they run).
SESSION_ENV = dict(os.environ)
#: The plain papermill CLI, exactly as the README shows it.
PAPERMILL = [sys.executable, "-m", "papermill", "--log-level", "WARNING"]
#: The same papermill command (its own click entry point, the same arguments), in a process that
#: skips jsonschema's optional IRI checker as shdata's own processes do (see shdata._startup):
#: importing it compiles grammars for ~1.7 s of CPU per process, and no notebook schema uses it.
#: The notebook, its kernel and everything it writes are the same; the tests that are about the
#: CLI a researcher types use :data:`PAPERMILL`.
PAPERMILL_QUICK = [
    sys.executable,
    "-c",
    "import sys; sys.modules.setdefault('rfc3987_syntax', None); "
    "from papermill.cli import papermill; papermill(prog_name='papermill')",
    "--log-level",
    "WARNING",
]


def run_papermill(
    nb: str, out_nb: Path, output_dir: Path, *params: str, plain: bool = False
) -> subprocess.CompletedProcess:
    """Run ``notebooks/<nb>.ipynb`` with the papermill CLI, as a researcher would.

    Parameters
    ----------
    nb : str
        Notebook name (``notebooks/<nb>.ipynb``).
    out_nb, output_dir : pathlib.Path
        The executed notebook, and the folder passed as the ``output_dir`` parameter.
    *params : str
        Further papermill arguments (``"-p", "lang", "zh"``).
    plain : bool
        Run ``python -m papermill`` itself (:data:`PAPERMILL`) rather than the same command
        started without the unused IRI checker (:data:`PAPERMILL_QUICK`).
    """
    cmd = [
        *(PAPERMILL if plain else PAPERMILL_QUICK),
        str(ROOT / "notebooks" / f"{nb}.ipynb"),
        str(out_nb),
        "--cwd",
        str(ROOT),
        "-p",
        "output_dir",
        str(output_dir),
        *params,
    ]
    # The session's own environment and folder, not whatever a test has set meanwhile: the shared
    # runs are started from a background thread while other tests run (and monkeypatch).
    return subprocess.run(cmd, capture_output=True, text=True, env=SESSION_ENV, cwd=ROOT)


#: The same pytest (its own entry point), in a process that skips the unused IRI checker as
#: :data:`PAPERMILL_QUICK` does.
PYTEST_QUICK = [
    sys.executable,
    "-c",
    "import sys; sys.modules.setdefault('rfc3987_syntax', None); import pytest; sys.exit(pytest.main())",
]


def run_nbval(nb: str, sandbox: Path, executed: Path) -> subprocess.CompletedProcess:
    """Validate ``notebooks/<nb>.ipynb`` with nbval, in a pytest process of its own.

    nbval executes the committed notebook as committed, with its default parameters, in a cold
    kernel started in ``<sandbox>/notebooks`` (tests/nbval_sandbox.py): so it publishes into
    ``<sandbox>/figures/`` and its previews' paths are the committed ones. tests/nbval_record.py
    writes the outputs the kernel sent nbval to ``executed`` as the executed notebook.
    """
    cmd = [
        *PYTEST_QUICK,
        *("-p", "tests.startup", "-p", "tests.nbval_sandbox", "-p", "tests.nbval_record"),
        *("-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts=", "-o", "testpaths="),
        *("--nbval", "-q", "-rA", "--color=no", f"notebooks/{nb}.ipynb"),
    ]
    env = {**SESSION_ENV, "SHDATA_NBVAL_SANDBOX": str(sandbox), "SHDATA_NBVAL_RECORD": str(executed)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)


@dataclass(frozen=True)
class Run:
    """One executed notebook, shared read-only by every test that needs it."""

    notebook: str
    lang: str
    executed: Path  # the executed notebook
    figures: Path  # its output_dir: figures in <figures>/<lang>/
    notebooks: Path  # the folder its previews' paths are relative to (a project's notebooks/)
    returncode: int
    log: str  # what the run printed: papermill's standard error, or nbval's report


def _report(done: subprocess.CompletedProcess) -> str:
    return done.stdout + done.stderr


class Runs:
    """Each notebook × language executed once per test session, whichever tests ask and however
    the session was launched (serially or with pytest-xdist workers).

    In English the run is nbval's (:func:`run_nbval`): the committed notebook as a researcher
    runs it in JupyterLab, validated cell by cell, its figures and outputs then read by the other
    tests. In Chinese it is the plain papermill CLI's, as the README shows it (``-p lang zh``).

    Runs live in a folder shared by all workers of the session; a file lock per run makes
    the first worker that needs it execute it while others wait, then read its result.
    Finished runs are made read-only so that no test can change what another one reads.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def get(self, nb: str, lang: str) -> Run:
        """The run of ``nb`` in ``lang``."""
        from filelock import FileLock

        key = f"{nb}-{lang}"
        where = self.folder / key
        result = where / "result.json"
        with FileLock(str(self.folder / f"{key}.lock")):
            if not result.exists():
                shutil.rmtree(where, ignore_errors=True)
                where.mkdir()
                if lang == "en":
                    done = run_nbval(nb, where, where / "executed.ipynb")
                    log = _report(done)
                else:
                    done = run_papermill(nb, where / "executed.ipynb", where / "figures", "-p", "lang", lang)
                    log = done.stderr
                for f in where.rglob("*"):
                    if f.is_file():
                        f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                result.write_text(json.dumps({"returncode": done.returncode, "log": log}), encoding="utf-8")
                result.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        rec = json.loads(result.read_text(encoding="utf-8"))
        # nbval's kernel runs in <where>/notebooks; papermill's in the project, with -p output_dir
        notebooks = where / "notebooks" if lang == "en" else ROOT / "notebooks"
        return Run(nb, lang, where / "executed.ipynb", where / "figures", notebooks, rec["returncode"], rec["log"])

    def all(self) -> list[Run]:
        """Every notebook in both languages."""
        return [self.get(nb, lang) for nb in NOTEBOOKS for lang in LANGS]


def session_folder(tmp_path_factory) -> Path:
    """The temporary folder common to every worker of this test session.

    Under pytest-xdist each worker has its own base folder inside the session's; serially
    the base folder is the session's.
    """
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """The shared notebook runs (see :class:`Runs`), executed in the background from the start of
    the session (see :func:`notebook_runs_start_with_the_session`), so that the tests asking for
    them in turn rarely wait.

    Serially, two runs at a time. Under pytest-xdist every worker helps, one run at a time, the
    odd-numbered workers from the other end of the list: a run another worker holds the lock of
    would only be waited for.
    """
    from concurrent.futures import ThreadPoolExecutor

    shared = Runs(session_folder(tmp_path_factory) / "notebook-runs")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    order = [(nb, lang) for nb in NOTEBOOKS for lang in LANGS]
    if worker and int(worker.removeprefix("gw") or 0) % 2:
        order.reverse()
    pool = ThreadPoolExecutor(max_workers=1 if worker else 2)
    for nb, lang in order:
        pool.submit(shared.get, nb, lang)
    yield shared
    pool.shutdown(wait=True, cancel_futures=True)


def pytest_collection_modifyitems(config, items) -> None:
    """The modules marked ``long`` first, in collection order, then the others.

    pytest-xdist sends whole modules to the workers in this order (``--dist loadscope
    --no-loadscope-reorder``): whichever worker is free takes the next one. Long modules sent
    last leave one worker idle while the other finishes them; sent first, they are spread over
    both workers and the short modules fill in at the end (longest first, as a scheduler would).
    """
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # sort is stable


@pytest.fixture(scope="session", autouse=True)
def notebook_runs_start_with_the_session(request):
    """Start the shared notebook runs and the site build before the first test when any selected
    test reads them: they are most of the suite's work, and the tests that read them may be
    scheduled last."""
    if any("runs" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("runs")
    if any("built_site" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("shared_builds")


@pytest.fixture(scope="session")
def pkg() -> Package:
    """The real data package."""
    return Package(DATA)


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A private copy of data/ that a test may break."""
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


class Editor:
    """Edit a copied data package and keep its hashes consistent."""

    def __init__(self, folder: Path):
        self.folder = folder

    @property
    def descriptor(self) -> dict:
        return json.loads((self.folder / "datapackage.json").read_text(encoding="utf-8"))

    def save_descriptor(self, desc: dict) -> None:
        write_descriptor(self.folder / "datapackage.json", desc)

    def resource(self, desc: dict, table_id: str) -> dict:
        return next(r for r in desc["resources"] if r["name"] == table_id)

    def replace(self, table_id: str, old: str, new: str, rehash: bool = True) -> None:
        path = self.folder / f"{table_id}.csv"
        text = path.read_text(encoding="utf-8")
        assert old in text, f"test setup: {old!r} not in {path.name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        if rehash:
            Package(self.folder, verify_hashes=False).rehash()

    def package(self) -> Package:
        return Package(self.folder)


@pytest.fixture
def editor(data_copy) -> Editor:
    return Editor(data_copy)


@pytest.fixture
def use_data(monkeypatch):
    """Point the module-level API (shdata.load...) at another data folder."""

    def _use(folder: Path) -> None:
        monkeypatch.setenv("SHDATA_DATA_DIR", str(folder))

    yield _use
    shdata._default = None


#: Makes the site project of :func:`built_site` at argv[1] and builds its site, rendered on two
#: processes as `shdata build` renders it on a two-core machine; pickles the result to argv[2],
#: last, so that the file's presence means the site is complete.
_BUILD_SITE = (
    "import pickle, sys; from pathlib import Path; from shdata.build import Project; "
    "from shdata.site import build_site; from tests.sitekit import make_project; "
    "root = make_project(Path(sys.argv[1])); "
    "Path(sys.argv[2]).write_bytes(pickle.dumps(build_site(Project(root), jobs=2)))"
)


def site_project(shared: Path) -> tuple[Path, object]:
    """The project of :func:`built_site` in the session's folder ``shared``, built by the first
    caller of the session (under a file lock) in a process of its own; the others wait for it."""
    from filelock import FileLock

    result_file = shared / "first-build.pickle"
    with FileLock(f"{shared}.lock"):
        if not result_file.exists():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir(parents=True)
            done = subprocess.run(
                [sys.executable, "-c", _BUILD_SITE, str(shared / "project"), str(result_file)],
                capture_output=True,
                text=True,
                env=SESSION_ENV,
                cwd=ROOT,
            )
            if done.returncode != 0:
                raise RuntimeError(f"the site of the test project did not build:\n{done.stderr[-3000:]}")
    return shared / "project", pickle.loads(result_file.read_bytes())


@pytest.fixture(scope="session")
def built_site(shared_builds):
    """A temporary project (committed figures, data, small executed notebooks) with its
    site built once per session; tests that change it work on a copy.

    Building it takes some 15 s of CPU, and the tests that read it (tests/test_site.py,
    tests/test_site_browser.py) may run on different pytest-xdist workers; so, as for
    :class:`Runs`, the first worker that needs it builds it under a file lock in the
    session's shared folder and the others wait for it, then read the same project and
    the result of that first build. It is started with the session (:func:`shared_builds`).
    """
    return shared_builds()


# -- the built mini project of the build tests (tests/test_build*.py) ----------------------------


@pytest.fixture(scope="session")
def built_template(tmp_path_factory):
    """The mini project, built once per session for every build test module and xdist worker
    (see tests/buildkit.py); tests only ever copy it. The build modules are the first sent to
    the workers (``--no-loadscope-reorder``), so it is built as the session starts."""
    from .buildkit import shared_template

    return shared_template(tmp_path_factory)


@pytest.fixture(scope="session")
def shared_builds(tmp_path_factory):
    """The site project's build (:func:`site_project`), started in the background before the first
    test when any selected test needs it (as the notebook runs are).

    It is built by one worker under a file lock while the other waits; started late, by the test
    that first asked, a worker sat idle for some 15 s waiting for the other's build, at the end of
    the session. It builds in a process of its own, with the session's environment and folder
    (:data:`SESSION_ENV`, not ``os.environ``, which the tests running meanwhile monkeypatch):
    this thread only waits.
    """
    from concurrent.futures import ThreadPoolExecutor

    shared = session_folder(tmp_path_factory)  # made here, in the test session's own thread
    pool = ThreadPoolExecutor(max_workers=1)
    # Asked for only when some test needs the site: by the session's start, or by built_site.
    yield pool.submit(site_project, shared / "siteproject").result
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def template(built_template):
    """The built mini project's folder; tests copy it and never change it."""
    return built_template.root


@pytest.fixture
def project(template, tmp_path):
    """A private, already built copy of the mini project (modules that need another kind of
    project define their own ``project`` fixture, which takes precedence)."""
    from .buildkit import copy_project

    return copy_project(template, tmp_path / "project")
