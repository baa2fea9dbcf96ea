"""Shared fixtures. Bad-input cases are built from temporary copies of data/,
never by editing data/ itself."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import shdata
from shdata.package import Package, write_descriptor

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


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
    result = build_site(Project(root))
    return root, result
