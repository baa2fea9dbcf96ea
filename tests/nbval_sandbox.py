"""nbval runs each committed notebook in a sandbox project, not in the repository.

Loaded with the other plugins (``-p tests.nbval_sandbox`` in pyproject.toml's addopts). nbval
starts each notebook's kernel in the notebook's folder, so a notebook run with its default
parameters (``output_dir = "figures"``, relative to the project root) published into the
repository's ``figures/``: running the tests rewrote committed files, bypassing the build's
record of what it wrote, and raced any ``shdata build`` running meanwhile. Here the kernel starts
in ``<sandbox>/notebooks`` instead, where ``<sandbox>`` holds the project's ``pyproject.toml``
and so is the project root the notebook finds; the data are read as always (from the installed
package). What nbval compares is unchanged: the previews' paths are relative to ``notebooks/``
(``../figures/en/<id>.png``) in the sandbox as in the repository.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_sandboxes: list[Path] = []


#: A folder to make the sandbox project in, kept after the session: the test session's shared
#: English runs (tests/conftest.py) read the figures their nbval run published there.
SANDBOX_ENV = "SHDATA_NBVAL_SANDBOX"


def sandbox_notebooks_dir() -> Path:
    """This process's sandbox project's ``notebooks/`` folder, made on first use."""
    if not _sandboxes and os.environ.get(SANDBOX_ENV):
        root = Path(os.environ[SANDBOX_ENV])
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
        (root / "notebooks").mkdir(exist_ok=True)
        return root / "notebooks"  # not in _sandboxes: its owner removes it
    if not _sandboxes:
        root = Path(tempfile.mkdtemp(prefix="shdata-nbval-"))
        shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
        (root / "notebooks").mkdir()
        _sandboxes.append(root)
    return _sandboxes[0] / "notebooks"


def pytest_configure(config: pytest.Config) -> None:
    if not (config.getoption("nbval", default=False) or config.getoption("nbval_lax", default=False)):
        return
    import nbval.plugin

    started = nbval.plugin.RunningKernel

    def in_the_sandbox(kernel_name, cwd=None, **kwargs):
        if cwd is not None and Path(cwd).resolve() == ROOT / "notebooks":
            cwd = str(sandbox_notebooks_dir())
        return started(kernel_name, cwd=cwd, **kwargs)

    nbval.plugin.RunningKernel = in_the_sandbox


def pytest_unconfigure(config: pytest.Config) -> None:
    for root in _sandboxes:
        shutil.rmtree(root, ignore_errors=True)
    _sandboxes.clear()
