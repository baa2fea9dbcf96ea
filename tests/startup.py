"""Loaded before pytest imports its plugins (``-p tests.startup`` in pyproject.toml's addopts).

nbval, a plugin, imports nbformat and so jsonschema, which loads every optional format checker it
finds; one of them compiles some 35 grammars on import: 2.7 s of CPU in every pytest process (the
controller and each xdist worker) for IRI formats that no notebook schema uses. The pytest
processes do without it, as shdata's own processes do (see :mod:`shdata._startup`).

pytest rewrites the asserts of every test module it imports and keeps the result beside the module
(``tests/__pycache__/*-pytest-*.pyc``) unless writing bytecode is off, as ``PYTHONDONTWRITEBYTECODE``
turns it off on some machines: then every pytest process (each xdist worker) rewrites every module
again, about 2 s of CPU. dev.py already compiles tests/ for the same reason; here pytest may keep
its rewritten modules too. This process only: the processes the tests start inherit the variable.
"""

import sys

from shdata._startup import skip_unused_optional_imports

skip_unused_optional_imports()
sys.dont_write_bytecode = False  # before pytest imports (and rewrites) any test module
