"""Start-up of the processes shdata itself runs (the CLI and its build workers).

jsonschema, which nbformat imports to validate notebooks, loads every optional
format checker it finds installed. One of them, ``rfc3987_syntax`` (the IRI
checker that ``jsonschema[format-nongpl]`` pulls in for Jupyter), compiles some
35 Earley grammars when it is imported: about 1.8 s of CPU in every process that
reads a notebook, before any work is done (python-jsonschema/jsonschema#1428).
No schema nbformat or shdata validates uses the ``iri`` formats, so shdata's own
processes do without that checker. A user's Python session and the notebook
kernels are not touched: this runs only from :func:`shdata.cli.main` and the
build worker.
"""

from __future__ import annotations

import sys

#: Optional imports that cost seconds and that nothing shdata runs ever uses.
UNUSED_OPTIONAL_MODULES = ("rfc3987_syntax",)


def skip_unused_optional_imports() -> None:
    """Make the optional modules above unimportable in this process (if not imported yet).

    ``None`` in :data:`sys.modules` is the import system's documented way to make
    ``import name`` raise :class:`ImportError`; jsonschema then skips that checker.
    """
    for name in UNUSED_OPTIONAL_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
