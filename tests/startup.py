"""Loaded before pytest imports its plugins (``-p tests.startup`` in pyproject.toml's addopts).

nbval, a plugin, imports nbformat and so jsonschema, which loads every optional format checker it
finds; one of them compiles some 35 grammars on import: 2.7 s of CPU in every pytest process (the
controller and each xdist worker) for IRI formats that no notebook schema uses. The pytest
processes do without it, as shdata's own processes do (see :mod:`shdata._startup`).

pytest rewrites the asserts of every test module it imports and keeps the result beside the module
(``tests/__pycache__/*-pytest-*.pyc``) unless writing bytecode is off, as ``PYTHONDONTWRITEBYTECODE``
turns it off on some machines: then every pytest process (each xdist worker) rewrites every module
again, about 2 s of CPU. dev.py already compiles tests/ for the same reason; here pytest may keep
its rewritten modules too, and so Python writes the bytecode of any module this process imports
first. This process only: the processes the tests start inherit the variable.

The font cache (:mod:`shdata._fontcache`) of the test session is a folder of its own, made here
and removed at the end, unless ``SHDATA_CACHE_DIR`` is set already (a nested pytest, or a caller's
choice): the tests neither read what another session or the user's own work left in
``~/.cache/matplotlib/shdata`` nor fill it. Set here, at import, so that the xdist workers and
every process a test starts (builds, kernels, papermill) inherit it.
"""

import os
import shutil
import sys
import tempfile

from shdata._startup import skip_unused_optional_imports

skip_unused_optional_imports()
sys.dont_write_bytecode = False  # before pytest imports (and rewrites) any test module

_OWN_CACHE = None if "SHDATA_CACHE_DIR" in os.environ else tempfile.mkdtemp(prefix="shdata-test-cache-")
if _OWN_CACHE:
    os.environ["SHDATA_CACHE_DIR"] = _OWN_CACHE


def pytest_unconfigure(config) -> None:
    if _OWN_CACHE:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
