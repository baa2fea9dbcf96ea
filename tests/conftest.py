"""Shared fixtures. Bad-input cases are built from temporary copies of data/,
never by editing data/ itself."""

from __future__ import annotations

import json
import os
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
PAPERMILL = [sys.executable, "-m", "papermill", "--log-level", "WARNING"]


def run_papermill(nb: str, out_nb: Path, output_dir: Path, *params: str) -> subprocess.CompletedProcess:
    """Run ``notebooks/<nb>.ipynb`` with the plain papermill CLI, as a researcher would."""
    cmd = [
        *PAPERMILL,
        str(ROOT / "notebooks" / f"{nb}.ipynb"),
        str(out_nb),
        "--cwd",
        str(ROOT),
        "-p",
        "output_dir",
        str(output_dir),
        *params,
    ]
    return subprocess.run(cmd, capture_output=True, text=True)


@dataclass(frozen=True)
class Run:
    """One executed notebook, shared read-only by every test that needs it."""

    notebook: str
    lang: str
    executed: Path  # the executed notebook
    figures: Path  # its output_dir: figures in <figures>/<lang>/
    returncode: int
    stderr: str


class Runs:
    """Each notebook × language executed once per test session, whichever tests ask and however
    the session was launched (serially or with pytest-xdist workers).

    Runs live in a folder shared by all workers of the session; a file lock per run makes
    the first worker that needs it execute it while others wait, then read its result.
    Finished runs are made read-only so that no test can change what another one reads.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def get(self, nb: str, lang: str, tag: str = "") -> Run:
        """The run of ``nb`` in ``lang`` (``tag`` names an independent extra run, e.g. for determinism)."""
        from filelock import FileLock

        key = f"{nb}-{lang}{'-' + tag if tag else ''}"
        where = self.folder / key
        result = where / "result.json"
        with FileLock(str(self.folder / f"{key}.lock")):
            if not result.exists():
                shutil.rmtree(where, ignore_errors=True)
                where.mkdir()
                done = run_papermill(nb, where / "executed.ipynb", where / "figures", "-p", "lang", lang)
                for f in where.rglob("*"):
                    if f.is_file():
                        f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                result.write_text(json.dumps({"returncode": done.returncode, "stderr": done.stderr}), encoding="utf-8")
                result.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        rec = json.loads(result.read_text(encoding="utf-8"))
        return Run(nb, lang, where / "executed.ipynb", where / "figures", rec["returncode"], rec["stderr"])

    def all(self) -> list[Run]:
        """Every notebook in both languages."""
        return [self.get(nb, lang) for nb in NOTEBOOKS for lang in LANGS]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """The shared notebook runs (see :class:`Runs`), started two at a time in the background as
    soon as a test needs one, so that the tests asking for them in turn rarely wait."""
    from concurrent.futures import ThreadPoolExecutor

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, common to all workers
    shared = Runs(base / "notebook-runs")
    pool = ThreadPoolExecutor(max_workers=2)
    for nb in NOTEBOOKS:
        for lang in LANGS:
            pool.submit(shared.get, nb, lang)
    yield shared
    pool.shutdown(wait=True, cancel_futures=True)


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


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """A temporary project (committed figures, data, small executed notebooks) with its
    site built once per session; tests that change it work on a copy."""
    from shdata.build import Project
    from shdata.site import build_site

    from .sitekit import make_project

    root = make_project(tmp_path_factory.mktemp("siteproject") / "project")
    result = build_site(Project(root), jobs=2)  # as `shdata build` does on two cores
    return root, result
