"""Keep the committed notebooks in sync with a canonical run of their sources.

The notebooks in ``notebooks/`` are committed with their outputs (nbval
compares them with a fresh run). The *canonical run* of a notebook is the run
with the default parameters; :func:`canonical_bytes` turns its executed
notebook into exactly the bytes to commit:

- cell sources, cell ids and notebook metadata come from the source notebook,
  so nothing but outputs changes;
- outputs and execution counts come from the run; the ``injected-parameters``
  cell papermill adds is dropped and the counts renumbered from 1, so a run with
  explicitly passed default parameters gives the same bytes as one without;
- volatile metadata (nbclient's ``execution`` timings, papermill's per-cell and
  notebook metadata) is removed;
- figure previews are pointed at the project's ``figures/`` (a run executed in a
  staging folder wrote its files there; see :mod:`shdata.preview`).

The result is serialised the way JupyterLab saves (nbformat: sorted keys,
one-space indent, UTF-8, trailing newline), so writing it back is byte-identical
when nothing changed. :func:`write_back` does that; :func:`out_of_sync` is the
check a test or a pre-commit hook runs.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from ._io import atomic_path
from .errors import ShdataError
from .preview import rebase

#: Cell metadata keys written by nbclient / papermill on every run.
VOLATILE_CELL_METADATA = ("execution", "papermill")
#: Notebook metadata keys written by papermill on every run.
VOLATILE_NOTEBOOK_METADATA = ("papermill",)
INJECTED_TAG = "injected-parameters"
#: The id a rendering gives papermill's injected cell, whose id papermill draws at random per run.
INJECTED_CELL_ID = "injected-parameters"
SYNC_COMMAND = "shdata build"


class SyncError(ShdataError):
    """An executed notebook does not match its source notebook cell for cell."""


def _read(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SyncError(f"notebook not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise SyncError(f"{path}: malformed notebook JSON at line {exc.lineno}: {exc.msg}") from None


def _tags(cell: dict) -> list:
    return cell.get("metadata", {}).get("tags", []) or []


def run_invariant(executed: dict) -> dict:
    """An executed notebook without what differs between two runs that computed the same thing.

    That is papermill's and nbclient's timings (:data:`VOLATILE_NOTEBOOK_METADATA`,
    :data:`VOLATILE_CELL_METADATA`) and the random id papermill gives the cell it injects,
    which becomes :data:`INJECTED_CELL_ID`. A rendering is made from this, so that a rebuild
    with the same results renders the same page, byte for byte, and the site can tell that
    nothing changed.
    """
    nb = copy.deepcopy(executed)
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.get("metadata", {}).pop(key, None)
    for cell in nb.get("cells", []):
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if INJECTED_TAG in _tags(cell):
            cell["id"] = INJECTED_CELL_ID
    return nb


_OUTPUT_DIR_LINE = re.compile(r"^(output_dir\s*=\s*).*$", re.M)


def with_output_dir_shown_as(nb: dict, value: str) -> dict:
    """``nb`` with the injected ``output_dir`` parameter shown as ``value``.

    A build run is given a staging folder of its own (new each run, deleted once its
    files are published); a reader should see what a user passes instead.
    """
    cells = []
    for cell in nb.get("cells", []):
        if INJECTED_TAG in _tags(cell):
            src = "".join(cell.get("source", ""))
            cell = {**cell, "source": _OUTPUT_DIR_LINE.sub(lambda m: f'{m.group(1)}"{value}"', src)}
        cells.append(cell)
    return {**nb, "cells": cells}


def canonical(source: dict, executed: dict, *, figures_dir: Path, notebooks_dir: Path) -> dict:
    """The notebook to commit: ``source``'s cells and metadata with ``executed``'s outputs.

    Parameters
    ----------
    source, executed : dict
        Notebook JSON of the source notebook and of its canonical run.
    figures_dir : pathlib.Path
        Where the run's figures are published (the project's ``figures/``).
    notebooks_dir : pathlib.Path
        Where the committed notebook lives; preview paths are relative to it.

    Raises
    ------
    SyncError
        If the executed notebook's cells are not the source's cells (edited since the run).
    """
    ran = [c for c in executed.get("cells", []) if INJECTED_TAG not in _tags(c)]
    cells = source.get("cells", [])
    if [(c.get("cell_type"), "".join(c.get("source", ""))) for c in cells] != [
        (c.get("cell_type"), "".join(c.get("source", ""))) for c in ran
    ]:
        raise SyncError(
            "the executed notebook's cells differ from the source notebook; it was edited after the run: build again"
        )
    out = copy.deepcopy(source)
    out["metadata"] = {k: v for k, v in out.get("metadata", {}).items() if k not in VOLATILE_NOTEBOOK_METADATA}
    count = 0
    for cell, run in zip(out["cells"], ran, strict=True):
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k not in VOLATILE_CELL_METADATA}
        cell["metadata"] = meta
        if cell.get("cell_type") != "code":
            continue
        cell["outputs"] = copy.deepcopy(run.get("outputs", []))
        if run.get("execution_count") is None:
            cell["execution_count"] = None
        else:
            count += 1
            cell["execution_count"] = count
            for o in cell["outputs"]:
                if "execution_count" in o:
                    o["execution_count"] = count
    rebase(out, figures_dir, notebooks_dir)
    return out


def _node(nb: dict):
    """A NotebookNode with multi-line strings joined (JSON on disk may hold them as lists of lines)."""
    import nbformat

    return nbformat.reads(json.dumps(nb), as_version=nbformat.NO_CONVERT)


def dumps(nb: dict) -> str:
    """Serialise a notebook exactly as JupyterLab saves it (via nbformat)."""
    import nbformat

    text = nbformat.writes(_node(nb), version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def canonical_bytes(source_path: Path, executed_path: Path, *, figures_dir: Path) -> bytes:
    """The committed bytes of ``source_path`` given its executed canonical run (see :func:`canonical`)."""
    source_path = Path(source_path)
    nb = canonical(
        _read(source_path), _read(executed_path), figures_dir=Path(figures_dir), notebooks_dir=source_path.parent
    )
    return dumps(nb).encode("utf-8")


def write_back(source_path: Path, executed_path: Path, *, figures_dir: Path) -> bool:
    """Write the canonical run's outputs into the committed notebook, atomically and only on change.

    Returns
    -------
    bool
        Whether the notebook file changed.
    """
    source_path = Path(source_path)
    data = canonical_bytes(source_path, executed_path, figures_dir=figures_dir)
    if source_path.read_bytes() == data:
        return False
    with atomic_path(source_path) as tmp:  # bytes, so no newline translation on Windows
        tmp.write_bytes(data)
    return True


def out_of_sync(source_path: Path, executed_path: Path, *, figures_dir: Path, root: Path | None = None) -> str | None:
    """``None`` when the committed notebook equals its canonical run, else a one-line message.

    ``root`` only shortens the path in the message (``notebooks/X.ipynb``).
    """
    source_path = Path(source_path)
    want = canonical_bytes(source_path, executed_path, figures_dir=figures_dir)
    if source_path.read_bytes() == want:
        return None
    shown = source_path.relative_to(root).as_posix() if root else str(source_path)
    return f"{shown} is out of sync with its sources; run `{SYNC_COMMAND}`"


#: What nbconvert's HTML exporter adds after rendering, for screen readers and keyboards:
#: every input and output focusable, and a default text for images that have none.
_FOCUSABLE = re.compile(
    r'<div\b(?![^>]*\btabindex=)([^>]*\bclass="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?:\s[^"]*)?"[^>]*)>'
)
_NO_ALT = re.compile(r"<img\b(?![^>]*\balt=)")
_RAW_TEXT = re.compile(r"(<(script|style)\b.*?</\2>)", re.S | re.I)
_CHAR_REF = re.compile(r"&#(?:([0-9]+)|[xX]([0-9a-fA-F]+));")


def _literal(m: re.Match) -> str:
    code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
    # Markup characters and control characters stay references, as BeautifulSoup leaves them.
    if code < 0x20 or code in (0x22, 0x26, 0x27, 0x3C, 0x3E) or 0x7F <= code < 0xA0 or code > 0x10FFFF:
        return m.group(0)
    return chr(code)


MISSING_ALT = "No description has been provided for this image"


def accessible(html: str) -> tuple[str, int]:
    """``html`` with what nbconvert's exporter adds after rendering, added by pattern.

    nbconvert parses its whole output with BeautifulSoup to add these attributes,
    which took three quarters of a rendering (the page embeds JupyterLab's
    stylesheet); the templates' markup is regular enough to match directly.
    Characters written as numeric references are written as themselves, as
    BeautifulSoup writes them. Returns the page and the number of images that
    had no alternative text.
    """
    html = _FOCUSABLE.sub(lambda m: f'<div{m.group(1)} tabindex="0">', html)
    # Characters written as references (nbconvert's Markdown headings write Chinese so) are
    # written as themselves, outside <script> and <style>, where references are not read.
    parts = _RAW_TEXT.split(html)
    html = "".join(part if i % 3 else _CHAR_REF.sub(_literal, part) for i, part in enumerate(parts) if i % 3 != 2)
    return _NO_ALT.subn(f'<img alt="{MISSING_ALT}"', html)


def html_exporter(template: str = "shdata_nb"):
    """nbconvert's HTML exporter with JupyterLab's look, as the renderings use it.

    The template (``shdata_nb``, or ``shdata_lab`` for the site) is lab's without
    bleach over the highlighted code cells, which Pygments has already escaped;
    that pass took most of the time. The exporter's closing pass over the whole
    page is done by :func:`accessible`.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    from .site import TEMPLATES

    class Exporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            # HTMLExporter.from_notebook_node (nbconvert 7), with accessible() for its BeautifulSoup pass.
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter(
                "highlight_code", self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            )
            resources = self._init_resources(resources)
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
            )
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html, missing_alt = accessible(html)
            if missing_alt:
                self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
            return html, resources

    return Exporter(template_name=template, extra_template_basedirs=[str(TEMPLATES / "nbconvert")])


def render_html(
    executed_path: Path, html_path: Path, *, figures_dir: Path, shown_from: Path | None = None, exporter=None
) -> None:
    """Write the HTML rendering of an executed notebook whose previews show the published figures.

    The rendering is made from :func:`run_invariant` with ``output_dir`` shown as ``"figures"``
    (:func:`with_output_dir_shown_as`), so the same results always render the same bytes.

    Parameters
    ----------
    executed_path, html_path : pathlib.Path
    figures_dir : pathlib.Path
        Where the figures are published (the project's ``figures/``).
    shown_from : pathlib.Path, optional
        The folder the HTML will be read from, if it is moved after writing (``build/html``
        for a rendering made in a staging folder); default: ``html_path``'s folder.
    exporter : nbconvert.HTMLExporter, optional
        Reused between calls by a long-lived build worker.
    """

    nb = with_output_dir_shown_as(run_invariant(_read(executed_path)), "figures")
    rebase(nb, figures_dir, shown_from or Path(html_path).parent)
    if exporter is None:
        exporter = html_exporter()
    body, _ = exporter.from_notebook_node(_node(nb))
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(Path(html_path)) as tmp:
        tmp.write_bytes(body.encode("utf-8"))


def saved_canonically(path: Path) -> str | None:
    """A quick check without running anything: is the notebook saved as :func:`write_back` writes it?

    Catches a notebook saved from JupyterLab after an out-of-order or partial run (execution
    counts), with timing metadata, or with a run's injected parameters. Whether its outputs
    match its code needs a run: :func:`out_of_sync` (the test suite does it).
    """
    path = Path(path)
    nb = _read(path)
    clean = copy.deepcopy(nb)
    clean["cells"] = [c for c in clean.get("cells", []) if INJECTED_TAG not in _tags(c)]
    # previews are recomputed from their metadata, relative to the notebook's folder
    want = dumps(canonical(clean, nb, figures_dir=path.parent.parent / "figures", notebooks_dir=path.parent))
    if path.read_bytes() == want.encode("utf-8"):
        return None
    return f"{path.as_posix()} is not saved as a canonical run; run `{SYNC_COMMAND}`"


def main(argv: list[str] | None = None) -> int:
    """``python -m shdata.sync --check NOTEBOOK...`` (the pre-commit hook): exit 1 naming each bad notebook."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "--check":
        print("usage: python -m shdata.sync --check NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    bad = [m for m in (saved_canonically(Path(a)) for a in args[1:]) if m]
    for m in bad:
        print(m, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
