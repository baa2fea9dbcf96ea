"""Loaded before pytest imports its plugins (``-p tests.startup`` in pyproject.toml's addopts).

nbval, a plugin, imports nbformat and so jsonschema, which loads every optional format checker it
finds; one of them compiles some 35 grammars on import: 2.7 s of CPU in every pytest process (the
controller and each xdist worker) for IRI formats that no notebook schema uses. The pytest
processes do without it, as shdata's own processes do (see :mod:`shdata._startup`).
"""

from shdata._startup import skip_unused_optional_imports

skip_unused_optional_imports()
