"""Figure previews in notebook outputs: a reference to the published file, not base64.

A notebook shows each published figure as one ``display_data`` output whose
``text/html`` is an ``<img>`` tag and whose ``text/plain`` is the same string, so
that nbval compares it as text and ``git diff`` shows a one-line change instead
of kilobytes of base64. The output's metadata (key ``"shdata"``) records which
file it shows, so that the reference can be recomputed for a rendering that
lives elsewhere (:func:`rebase`).

The path rule
-------------
``src`` is the path of the figure file **relative to the project's
``notebooks/`` folder**, where the notebooks live and where JupyterLab, nbval
and GitHub resolve it: with the default ``output_dir`` it is
``../figures/<lang>/<id>.png``. An HTML rendering written anywhere else (e.g.
``build/html/``) or a notebook executed in a staging folder is rewritten with
:func:`rebase`, which recomputes every preview from its metadata.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

META_KEY = "shdata"
#: Formats a browser can show in ``<img>``, best first.
IMAGE_FORMATS = ("png", "svg")
#: CSS pixels per inch: the preview is displayed at the figure's physical width.
CSS_DPI = 96


def notebooks_dir() -> Path:
    """The folder preview paths are relative to: ``<project>/notebooks``, else the working folder."""
    from .notebook import find_project_root

    root = find_project_root()
    return root / "notebooks" if root is not None else Path.cwd()


def relative_src(target: Path, start: Path) -> str:
    """``target`` as a URL path relative to ``start`` (a ``file:`` URI when there is none, e.g. across drives)."""
    try:
        return Path(os.path.relpath(Path(target).resolve(), Path(start).resolve())).as_posix()
    except ValueError:  # pragma: no cover - Windows, different drives
        return Path(target).resolve().as_uri()


def render(src: str, alt: str, width_px: int, kind: str) -> str:
    """The HTML of one preview: an image, or a link when the figure has no browser format."""
    if kind in IMAGE_FORMATS:
        return f'<img src="{html.escape(src, quote=True)}" alt="{html.escape(alt, quote=True)}" width="{width_px}">'
    return f'<a href="{html.escape(src, quote=True)}">{html.escape(alt)} ({kind.upper()})</a>'


def _output(info: dict, figures_dir: Path, start: Path) -> dict:
    src = relative_src(figures_dir / info["file"], start)
    text = render(src, info["alt"], info["width_px"], info["file"].rsplit(".", 1)[-1])
    return {"text/html": text, "text/plain": text}


def preview_output(P: Any, figure_id: str, title: str, files: dict, folder: Path) -> tuple[dict, dict]:
    """The mime bundle and metadata that show a just-published figure.

    Parameters
    ----------
    P : shdata.notebook.Params
    figure_id, title : str
    files : dict
        Format -> ``{"path": "<lang>/<id>.<fmt>", ...}`` as recorded in the sidecar.
    folder : pathlib.Path
        ``<output_dir>/<lang>``, where the files and the sidecar ``<id>.json`` are.

    Returns
    -------
    (dict, dict)
        The bundle (``text/html`` and an identical ``text/plain``) and the output metadata.
    """
    fmt = next((f for f in (*IMAGE_FORMATS, *sorted(files)) if f in files), None)
    if fmt is None:  # pragma: no cover - publish always writes at least one format
        return {"text/plain": figure_id}, {}
    # Alt text: the publish() ``alt=`` argument when the sidecar records one, else the title.
    try:
        record = json.loads((folder / f"{figure_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    info = {
        "figure": figure_id,
        "file": files[fmt]["path"],
        "alt": record.get("alt") or title,
        "width_px": round(P.width_in * CSS_DPI),
    }
    return _output(info, folder.parent, notebooks_dir()), {META_KEY: info}


def rebase(nb: dict, figures_dir: Path, start: Path) -> int:
    """Point every preview of a notebook (JSON dict, edited in place) at ``figures_dir``, relative to ``start``.

    ``figures_dir`` is the folder holding ``<lang>/<id>.png`` (the project's
    ``figures/`` once a run is published); ``start`` is where the notebook or
    its rendering lives. Returns the number of previews rewritten.
    """
    n = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            info = (out.get("metadata") or {}).get(META_KEY)
            if out.get("output_type") == "display_data" and isinstance(info, dict) and "file" in info:
                out["data"] = _output(info, Path(figures_dir), Path(start))
                n += 1
    return n
