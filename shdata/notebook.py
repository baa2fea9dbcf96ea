"""Machinery for the analysis notebooks: parameters, figures, commentary.

A notebook holds the narrative and the choices; this module does the rest::

    P = notebook.setup(globals())        # first cell after `parameters`
    fig, ax = P.figure(height=0.55)      # sized to the journal column width
    ...
    P.publish(fig, "funding-nsfc-by-programme", sources=[...], title=..., caption=..., commentary=...)

``setup`` validates every parameter (and refuses names the notebook does not
declare, which papermill itself only warns about) and applies the house style.
``publish`` writes the figure in each requested format atomically, with no
timestamps and with its provenance embedded, writes a JSON sidecar for the
manifest, and shows the figure, caption, commentary and data caveats as
notebook output.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import __version__
from ._io import atomic_path, write_json
from .errors import ParameterError
from .figdata import derivation, derived_data, figure_data  # noqa: F401  (the figure-data helpers, for notebooks)

LANGS = ("en", "zh")
FORMATS = ("png", "svg", "pdf")
DPI_RANGE = (72, 1200)
FIGURE_ID_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}
NOTE_KINDS_SHOWN = ("discrepancy", "footnote")
PREVIEW_DPI = 110


def _allowed(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in values)


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding shdata's ``pyproject.toml`` and ``notebooks/``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


@dataclass
class Params:
    """Validated notebook parameters plus helpers that depend on them."""

    lang: str
    formats: tuple[str, ...]
    dpi: int
    width: str | float
    output_dir: Path
    year: int
    notebook: str = ""
    published: list[str] = field(default_factory=list)

    def t(self, en: str, zh: str) -> str:
        """Pick the English or the Chinese text."""
        return en if self.lang == "en" else zh

    def col(self, name: str) -> str:
        """Label column in the chosen language: ``col("programme") -> "programme_zh"``."""
        return f"{name}_{self.lang}"

    @property
    def width_in(self) -> float:
        from .style import width_inches

        return width_inches(self.width)

    def figure(self, height: float = 0.6, nrows: int = 1, ncols: int = 1, **kw):
        """A new figure at the column width; ``height`` is a fraction of the width."""
        import matplotlib.pyplot as plt

        w = self.width_in
        return plt.subplots(nrows, ncols, figsize=(w, w * height), **kw)

    def wrap(self, labels, width: int = 28) -> list[str]:
        """Wrap long tick labels; Chinese wraps by characters, at half the width."""
        import textwrap

        out = []
        for text in map(str, labels):
            if self.lang == "zh":
                n = max(width // 2, 4)
                out.append("\n".join(text[i:i + n] for i in range(0, len(text), n)))
            else:
                out.append("\n".join(textwrap.wrap(text, width)) or text)
        return out

    def label(self, v) -> str:
        """Label of a :class:`~shdata.package.Printed` value in the chosen language."""
        return v.label_en if self.lang == "en" else v.label_zh

    def publish(self, fig, figure_id: str, *, sources: list[str], title: str, caption: str,
                commentary: str = "", derived: bool = False, data=None) -> None:
        """Save a figure in every requested format and show it with its text.

        Parameters
        ----------
        fig : matplotlib.figure.Figure
        figure_id : str
            Stable id, lower-case words joined by hyphens (``funding-nsfc-by-programme``).
        sources : list of str
            Table ids the figure draws on (their notes become caveats).
        title, caption : str
            In the notebook's language; stored as file metadata, not drawn.
        commentary : str
            Markdown paragraph computed from the data.
        derived : bool
            The figure shows values computed by shdata (flagged in the caption).
        data : pandas.DataFrame, optional
            The exact values drawn, one row each, in the contract of
            :mod:`shdata.figdata` (build it with :func:`figure_data`,
            :func:`derived_data`, :func:`derivation`); written as ``<id>.csv``.

        Notes
        -----
        Returns nothing, so that a cell ending in ``publish`` shows no repr; the
        record (files, sha256, provenance) is the sidecar ``<id>.json``.
        """
        _publish(self, fig, figure_id, sources=sources, title=title, caption=caption,
                        commentary=commentary, derived=derived, data=data)


def _parse_formats(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise ParameterError(f"formats {value!r} is not allowed; use a non-empty list of {_allowed(FORMATS)}")
    bad = [v for v in value if v not in FORMATS]
    if bad:
        raise ParameterError(f"formats: {bad[0]!r} is not allowed; use any of {_allowed(FORMATS)}")
    return tuple(dict.fromkeys(value))


def validate(lang: Any = "en", formats: Any = ("png",), dpi: Any = 300, width: Any = "double",
             output_dir: Any = "figures", year: Any = 2023, **unknown: Any) -> Params:
    """Check notebook parameters; raise :class:`ParameterError` naming the first bad one."""
    if unknown:
        name = sorted(unknown)[0]
        raise ParameterError(f"unknown parameter {name!r}; this notebook takes: "
                             "lang, formats, dpi, width, output_dir, year")
    if lang not in LANGS:
        raise ParameterError(f"lang {lang!r} is not allowed; use one of {_allowed(LANGS)}")
    fmts = _parse_formats(formats)
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or int(dpi) != dpi \
            or not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
        raise ParameterError(f"dpi {dpi!r} is not allowed; use a whole number from {DPI_RANGE[0]} to {DPI_RANGE[1]}")
    from .style import width_inches

    if isinstance(width, str) and re.fullmatch(r"\d+(\.\d+)?", width):
        width = float(width)
    if isinstance(width, bool) or not isinstance(width, (str, int, float)):
        raise ParameterError(f"width {width!r} is not allowed; use 'single', 'onehalf', 'double' or millimetres")
    width_inches(width)
    if not isinstance(output_dir, (str, os.PathLike)) or not str(output_dir).strip():
        raise ParameterError(f"output_dir {output_dir!r} is not allowed; use a folder path")
    from . import _pkg

    editions = [_pkg().edition]
    if isinstance(year, bool) or not isinstance(year, int) or year not in editions:
        raise ParameterError(f"year {year!r} is not available; editions in this package: "
                             f"{', '.join(map(str, editions))}")
    out = Path(output_dir)
    if not out.is_absolute():
        root = find_project_root()
        out = (root or Path.cwd()) / out
    return Params(lang=lang, formats=fmts, dpi=int(dpi), width=width, output_dir=out, year=year)


def setup(namespace: dict[str, Any], notebook: str = "") -> Params:
    """Validate the parameters defined in a notebook's namespace and apply the house style.

    Declared parameters are the annotated names of the ``parameters`` cell; any
    other plain value in the namespace was injected by papermill under a name the
    notebook does not know, and is refused.
    """
    declared = dict(namespace.get("__annotations__", {}))
    if not declared:
        raise ParameterError("no parameters found: the cell tagged 'parameters' must declare "
                             "annotated names (lang: str = 'en', ...)")
    values, unknown = {}, {}
    for name, val in namespace.items():
        if name.startswith("_") or name in _IPYTHON_NAMES or isinstance(val, types.ModuleType) or callable(val):
            continue
        (values if name in declared else unknown)[name] = val
    params = validate(**values, **unknown)
    params.notebook = notebook
    from . import style

    style.apply(params.lang)
    return params


# -- publishing ---------------------------------------------------------------

def _source_date() -> _dt.datetime | None:
    """``SOURCE_DATE_EPOCH`` as a date (reproducible-builds convention), else no date at all."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    try:
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc)
    except ValueError:
        raise ParameterError(f"SOURCE_DATE_EPOCH {epoch!r} is not a whole number of seconds") from None


def data_hash(table_ids: Iterable[str]) -> str:
    """sha256 over the recorded hashes of the given tables (what the figure was drawn from)."""
    from . import _pkg

    h = hashlib.sha256()
    for tid in sorted(set(table_ids)):
        h.update(f"{tid}:{_pkg().metadata(tid).sha256}\n".encode())
    return h.hexdigest()


def _atomic_save(fig, path: Path, **kw) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix[1:], **kw)


def caveats(sources: Iterable[str], lang: str) -> list[str]:
    """Data notes (discrepancies, printed footnotes) of the source tables, in ``lang``."""
    from . import _pkg

    out = []
    for tid in sources:
        for note in _pkg().metadata(tid).notes:
            if note.kind in NOTE_KINDS_SHOWN:
                out.append(note.render(lang))
    return out


def _publish(P: Params, fig, figure_id: str, *, sources: list[str], title: str, caption: str,
             commentary: str, derived: bool, data=None) -> None:
    import matplotlib.pyplot as plt

    from . import _pkg

    if not isinstance(figure_id, str) or not FIGURE_ID_RE.fullmatch(figure_id):
        raise ParameterError(f"figure id {figure_id!r} is not allowed; use lower-case words joined by hyphens")
    pkg = _pkg()
    metas = [pkg.metadata(t) for t in sources]
    if data is not None:  # checked before any file is written
        from . import figdata

        data_rows = figdata.check_frame(data, figure_id, sources)
    folder = P.output_dir / P.lang
    folder.mkdir(parents=True, exist_ok=True)
    provenance = {
        "figure": figure_id,
        "lang": P.lang,
        "notebook": P.notebook,
        "sources": [{"table": m.id, "section": m.section, "sha256": m.sha256} for m in metas],
        "data_sha256": data_hash(sources),
        "shdata_version": __version__,
        "report": f"{pkg.edition}",
    }
    prov_json = json.dumps(provenance, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    when = _source_date()
    files = {}
    for fmt in P.formats:
        path = folder / f"{figure_id}.{fmt}"
        if fmt == "pdf":
            meta = {"Title": title, "Subject": caption, "Keywords": prov_json,
                    "Creator": f"shdata {__version__}", "CreationDate": when, "ModDate": when}
            _atomic_save(fig, path, metadata=meta)
        elif fmt == "svg":
            meta = {"Title": title, "Description": f"{caption}\n{prov_json}", "Date": when.isoformat() if when else None,
                    "Creator": f"shdata {__version__}"}
            _atomic_save(fig, path, metadata=meta)
        else:
            meta = {"Title": title, "Description": caption, "Software": None, "Source": prov_json}
            _atomic_save(fig, path, dpi=P.dpi, metadata=meta)
        files[fmt] = {"path": f"{P.lang}/{path.name}", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}

    data_resource = None
    if data is not None:
        files["csv"], data_resource = figdata.write(folder, figure_id, P.lang, data_rows, title)
    notes = caveats(sources, P.lang)
    record = {
        "id": figure_id, "lang": P.lang, "title": title, "caption": caption, "notebook": P.notebook,
        "params": {"lang": P.lang, "formats": list(P.formats), "dpi": P.dpi, "width": P.width, "year": P.year},
        "files": files, "provenance": provenance, "notes": notes, "derived": derived,
        "commentary": commentary,
    }
    if data_resource is not None:
        record["data"] = data_resource
    write_json(folder / f"{figure_id}.json", record)
    P.published.append(figure_id)

    _show(P, fig, figure_id, title, caption, commentary, notes, derived, files, folder)
    plt.close(fig)


def _show(P, fig, figure_id, title, caption, commentary, notes, derived, files, folder) -> None:
    """Display the figure (PNG only, no repr text) and its text in the notebook."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the notebook extra
        return
    if get_ipython() is None:
        return
    import io

    # A light preview keeps committed notebooks small; the files hold full resolution.
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PREVIEW_DPI, metadata={"Software": None})
    png = buf.getvalue()
    # No text/plain here: nbval compares text outputs, and a figure repr is noise.
    display({"image/png": png}, raw=True)
    label = P.t("Figure", "图")
    lines = [f"**{label} `{figure_id}`. {title}**", "", caption]
    if derived:
        lines += ["", P.t("_Grey marks are computed by shdata from printed values, not printed in the report._",
                          "_灰色标记为 shdata 根据报告所载数值推算，报告未直接刊载。_")]
    if commentary:
        lines += ["", commentary]
    if notes:
        lines += ["", P.t("**Data notes.**", "**数据说明。**")] + [f"- {n}" for n in notes]
    md = "\n".join(lines)
    display({"text/markdown": md, "text/plain": md}, raw=True)


def source_line(sources: Iterable[str], lang: str) -> str:
    """"Source: ..." sentence citing the report sections the figure draws on."""
    from . import _pkg
    from .package import REPORT_PUBLISHER, REPORT_PUBLISHER_ZH, report_titles

    pkg = _pkg()
    sections = list(dict.fromkeys(pkg.metadata(t).section for t in sources))
    title_zh, title_en = report_titles(pkg.source)
    if lang == "zh":
        return f"资料来源：{REPORT_PUBLISHER_ZH}《{title_zh}》{'、'.join(sections)}；shdata 整理。"
    return f"Source: {REPORT_PUBLISHER}, {title_en}, {', '.join(sections)}; processing by shdata."
