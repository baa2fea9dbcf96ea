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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from ._io import atomic_path, write_json
from .errors import ParameterError
from .figdata import derivation, derived_data, figure_data  # noqa: F401  (the figure-data helpers, for notebooks)

LANGS = ("en", "zh")
FORMATS = ("png", "svg", "pdf")
VARIANTS = ("journal", "standalone")
DPI_RANGE = (72, 1200)
FIGURE_ID_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}
NOTE_KINDS_SHOWN = ("discrepancy", "footnote")
# Set by `shdata build` for each run: the only folder the run may publish into,
# and the file where publish() declares every file it writes (the build moves
# exactly those into figures/).
BUILD_OUTPUT_ENV = "SHDATA_BUILD_OUTPUT"
BUILD_DECLARED_ENV = "SHDATA_BUILD_DECLARED"
_TAG_FIX = (
    "tag the cell that declares lang, formats, dpi, width, output_dir, year with 'parameters' "
    "(Jupyter: View > Cell Toolbar > Tags)"
)


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
    variants: tuple[str, ...] = ("journal",)
    writer: Any = None  # the current figure's text.Writer (see text())

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

    def figure(self, height: float = 0.6, nrows: int = 1, ncols: int = 1, width=None, **kw):
        """A new figure at the column width; ``height`` is a fraction of the width.

        ``width`` overrides the notebook's width for this figure, e.g.
        ``width=style.column_for(n_values)`` (single column for four values or fewer).
        """
        import matplotlib.pyplot as plt

        from .style import width_inches

        w = self.width_in if width is None else width_inches(width)
        fig, axes = plt.subplots(nrows, ncols, figsize=(w, w * height), **kw)
        from .style import house_axes

        for ax in fig.axes:
            house_axes(ax, self.lang)  # thousands separators in English ticks, by default
        return fig, axes

    def wrap(self, labels, width: int = 28) -> list[str]:
        """Wrap long labels to ``width`` columns (a Chinese character counts two).

        Chinese breaks at phrase boundaries with 禁则 and full-width brackets,
        English at spaces, never inside a number with its unit; see
        :func:`shdata.linebreak.wrap`.
        """
        from .linebreak import wrap

        return [wrap(text, width, self.lang) for text in map(str, labels)]

    def label(self, v) -> str:
        """Label of a :class:`~shdata.package.Printed` value in the chosen language."""
        return v.label_en if self.lang == "en" else v.label_zh

    def text(self):
        """A fresh :class:`shdata.text.Writer` for the next figure's commentary, headline and alt text.

        Every number it formats is recorded; :meth:`publish` stores the ones that
        appear in the published texts in the sidecar JSON.
        """
        from .text import Writer

        self.writer = Writer(self.lang)
        return self.writer

    def publish(
        self,
        fig,
        figure_id: str,
        *,
        sources: list[str],
        title: str,
        caption: str,
        commentary: str = "",
        derived: bool = False,
        headline: str = "",
        alt: str = "",
        subtitle: str = "",
        waive=None,
        data=None,
    ) -> None:
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
        headline : str
            One sentence stating the finding, computed from the data; drawn on
            the standalone variant (required when it is built); stored in the
            sidecar, the manifest and the file metadata.
        alt : str
            Alt text describing the chart for a reader who cannot see it (sidecar,
            manifest, SVG ``<desc>``, PNG and PDF metadata).
        subtitle : str
            Units and period, drawn under the headline of the standalone variant.
        waive : dict or list, optional
            Linter waivers, one rule for one artist text: ``{"text-overlap": "Shanghai"}``
            or ``[("rule", "text", "reason")]``; recorded in the sidecar and the
            manifest. See :mod:`shdata.lint`.

        Raises
        ------
        FigureLintError
            The figure (or its standalone variant) has layout defects; nothing is written.
        data : pandas.DataFrame, optional
            The exact values drawn, one row each, in the contract of
            :mod:`shdata.figdata` (build it with :func:`figure_data`,
            :func:`derived_data`, :func:`derivation`); written as ``<id>.csv``.

        Notes
        -----
        Returns nothing, so that a cell ending in ``publish`` shows no repr; the
        record (files, sha256, provenance) is the sidecar ``<id>.json``.
        """
        _publish(
            self,
            fig,
            figure_id,
            sources=sources,
            title=title,
            caption=caption,
            commentary=commentary,
            derived=derived,
            headline=headline,
            alt=alt,
            subtitle=subtitle,
            waive=waive,
            data=data,
        )


def _parse_choices(value: Any, name: str, allowed: tuple[str, ...], use: str, use_when_empty: str) -> tuple[str, ...]:
    """A non-empty list (or comma-separated string) of ``allowed`` values, without repeats, in the order given."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise ParameterError(f"{name} {value!r} is not allowed; use {use_when_empty}")
    bad = [v for v in value if v not in allowed]
    if bad:
        raise ParameterError(f"{name}: {bad[0]!r} is not allowed; use {use}")
    return tuple(dict.fromkeys(value))


def _parse_formats(value: Any) -> tuple[str, ...]:
    listed = _allowed(FORMATS)
    return _parse_choices(value, "formats", FORMATS, f"any of {listed}", f"a non-empty list of {listed}")


def _parse_variants(value: Any) -> tuple[str, ...]:
    use = f"{_allowed(VARIANTS)} or both"
    chosen = _parse_choices(value, "variant", VARIANTS, use, use)
    return tuple(v for v in VARIANTS if v in chosen)  # journal first, whatever the order given


def validate(
    lang: Any = "en",
    formats: Any = ("png",),
    dpi: Any = 300,
    width: Any = "double",
    output_dir: Any = "figures",
    year: Any = 2023,
    variant: Any = "journal",
    **unknown: Any,
) -> Params:
    """Check notebook parameters; raise :class:`ParameterError` naming the first bad one."""
    if unknown:
        name = sorted(unknown)[0]
        raise ParameterError(
            f"unknown parameter {name!r}; this notebook takes: lang, formats, dpi, width, output_dir, year, variant"
        )
    if lang not in LANGS:
        raise ParameterError(f"lang {lang!r} is not allowed; use one of {_allowed(LANGS)}")
    fmts = _parse_formats(formats)
    variants = _parse_variants(variant)
    if (
        isinstance(dpi, bool)
        or not isinstance(dpi, (int, float))
        or int(dpi) != dpi
        or not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]
    ):
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
        raise ParameterError(
            f"year {year!r} is not available; editions in this package: {', '.join(map(str, editions))}"
        )
    out = Path(output_dir)
    if not out.is_absolute():
        root = find_project_root()
        out = (root or Path.cwd()) / out
    return Params(lang=lang, formats=fmts, dpi=int(dpi), width=width, output_dir=out, year=year, variants=variants)


def setup(namespace: dict[str, Any], notebook: str = "") -> Params:
    """Validate the parameters defined in a notebook's namespace and apply the house style.

    Declared parameters are the annotated names of the ``parameters`` cell; any
    other plain value in the namespace was injected by papermill under a name the
    notebook does not know, and is refused.
    """
    declared = dict(namespace.get("__annotations__", {}))
    if not declared:
        raise ParameterError(
            "no parameters found: the cell tagged 'parameters' must declare annotated names (lang: str = 'en', ...)"
        )
    values: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for name, val in namespace.items():
        if name.startswith("_") or name in _IPYTHON_NAMES or isinstance(val, types.ModuleType) or callable(val):
            continue
        (values if name in declared else unknown)[name] = val
    params = validate(**values, **unknown)
    params.notebook = notebook
    _check_injected(params)
    from . import style

    style.apply(params.lang)
    return params


# -- publishing ---------------------------------------------------------------


def _build_output() -> Path | None:
    """The folder ``shdata build`` gave this run, or None outside a build."""
    given = os.environ.get(BUILD_OUTPUT_ENV)
    return Path(given).resolve() if given else None


def _check_injected(P: Params) -> None:
    """Refuse a build run whose injected parameters were overridden by the notebook itself.

    papermill injects the build's parameters after the cell tagged
    ``parameters``; without that tag it injects them first, the notebook's own
    defaults then win, and the run would write straight into ``figures/``.
    """
    given = _build_output()
    if given is not None and Path(P.output_dir).resolve() != given:
        raise ParameterError(
            f"notebook {P.notebook or '?'}: the build's parameters were overridden "
            f"(output_dir is {P.output_dir}, not the build's staging folder); {_TAG_FIX}"
        )


def declare(P: Params, path: Path) -> None:
    """Record a file this run wrote, so that ``shdata build`` publishes it.

    Every file a notebook writes for publication must go through here (``publish``
    does it for the figures and their sidecars); the build moves exactly the
    declared files into ``figures/`` and fails a run that leaves others behind.
    Outside a build this does nothing.
    """
    listing = os.environ.get(BUILD_DECLARED_ENV)
    if not listing:
        return
    rel = Path(path).resolve().relative_to(Path(P.output_dir).resolve()).as_posix()
    with open(listing, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rel, ensure_ascii=False) + "\n")


def _source_date() -> _dt.datetime | None:
    """``SOURCE_DATE_EPOCH`` as a date (reproducible-builds convention), else no date at all."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    try:
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
    except ValueError:
        raise ParameterError(f"SOURCE_DATE_EPOCH {epoch!r} is not a whole number of seconds") from None


def data_hash(table_ids: Iterable[str]) -> str:
    """sha256 over the recorded hashes of the given tables (what the figure was drawn from)."""
    from . import _pkg

    h = hashlib.sha256()
    for tid in sorted(set(table_ids)):
        h.update(f"{tid}:{_pkg().metadata(tid).sha256}\n".encode())
    return h.hexdigest()


def caveats(sources: Iterable[str], lang: str, data=None) -> list[str]:
    """Data notes shown under a figure (discrepancies, printed footnotes), in ``lang``.

    A note that applies to some cells only (its ``applies_to`` rows and columns)
    is shown when the figure draws one of them; a note without ``applies_to``
    is about the whole table and is always shown.

    Parameters
    ----------
    sources : iterable of str
        The figure's source tables, in order.
    lang : {"en", "zh"}
    data : pandas.DataFrame or list of dict, optional
        The values the figure draws (``publish(data=...)``, see
        :mod:`shdata.figdata`); without it the figure is taken to draw every
        cell of its source tables.
    """
    from . import _pkg, figdata
    from .text import descriptor_notes, note_applies

    pkg = _pkg()
    if data is not None and hasattr(data, "to_dict"):
        data = data.to_dict("records")
    drawn = figdata.drawn_cells(data, pkg) if data is not None else None
    out = []
    for tid in sources:
        if drawn is None:
            cells = [(raw, f) for raw in pkg.parsed(tid).raw for f in pkg.metadata(tid).value_fields if raw.get(f)]
        else:
            cells = drawn.get(tid, [])
        applies = {n["id"]: n.get("applies_to") for n in descriptor_notes(pkg, tid)}
        for note in pkg.metadata(tid).notes:
            if note.kind not in NOTE_KINDS_SHOWN:
                continue
            scope = applies.get(note.id)
            if scope and not any(note_applies(scope, raw, f) for raw, f in cells):
                continue
            out.append(note.render(lang))
    return out


def _publish(
    P: Params,
    fig,
    figure_id: str,
    *,
    sources: list[str],
    title: str,
    caption: str,
    commentary: str,
    derived: bool,
    headline: str = "",
    alt: str = "",
    subtitle: str = "",
    waive=None,
    data=None,
) -> None:
    import matplotlib.pyplot as plt

    from . import _pkg, lint, render, standalone
    from . import text as textlayer
    from .errors import FigureLintError
    from .provenance import figure_quotes

    if not isinstance(figure_id, str) or not FIGURE_ID_RE.fullmatch(figure_id):
        raise ParameterError(f"figure id {figure_id!r} is not allowed; use lower-case words joined by hyphens")
    given = _build_output()
    if given is not None and Path(P.output_dir).resolve() != given:
        raise ParameterError(
            f"publish: {P.output_dir} is not the staging folder this build run was given; "
            f"shdata build publishes only through it, so leave output_dir as injected"
        )
    pkg = _pkg()
    metas = [pkg.metadata(t) for t in sources]
    if data is not None:  # checked before any file is written
        from . import figdata

        data_rows = figdata.check_frame(data, figure_id, sources)
    waivers = lint.normalize_waivers(waive)
    notes = caveats(sources, P.lang, data_rows if data is not None else None)
    st = standalone.texts(sources, P.lang, headline, subtitle, notes) if "standalone" in P.variants else None
    with render.agg_canvas(fig), render.at_dpi(fig, P.dpi):
        # Solved once, at the PNG's dpi (hinted text is measured there): the layout
        # linted is the one every file gets.
        render.freeze_layout(fig)
    folder = P.output_dir / P.lang
    provenance = {
        "figure": figure_id,
        "lang": P.lang,
        "notebook": P.notebook,
        "sources": [{"table": m.id, "section": m.section, "sha256": m.sha256} for m in metas],
        "data_sha256": data_hash(sources),
        "shdata_version": __version__,
        "report": f"{pkg.edition}",
    }
    meta = render.Metadata(
        title=title,
        caption=caption,
        provenance=json.dumps(provenance, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        when=_source_date(),
        headline=headline,
        alt=alt,
    )
    registry = lint.printed_registry(sources)
    png_meta = meta if "png" in P.formats else None

    def drawn_and_linted(name: str) -> tuple[bytes, set]:
        # One Agg drawing at the PNG's dpi gives both the PNG and the geometry the
        # linter reads. A defect fails the run before any file is written.
        png, defects = render.draw_and_check(
            fig, P.dpi, png_meta, lambda f: lint.find_defects(f, name, P.lang, registry, drawn=True)
        )
        kept, used = lint.apply_waivers(defects, waivers)
        if kept:
            raise FigureLintError(lint.sorted_defects(kept))
        return png, used

    # Render every file into memory first; write only when every variant passed the linter.
    out: dict[str, dict[str, bytes]] = {}
    png, used = drawn_and_linted(figure_id)
    if "journal" in P.variants:
        out["journal"] = render.render_all(fig, P.formats, meta, P.dpi, png=png or None)
    if st is not None:
        standalone.grow(fig, P.lang, st, dpi=P.dpi)
        png, sa_used = drawn_and_linted(f"{figure_id} [standalone]")
        used |= sa_used
        out["standalone"] = render.render_all(fig, P.formats, meta, P.dpi, png=png or None)
    unused = lint.unused_waivers(figure_id, waivers, used)
    if unused:
        raise FigureLintError(unused)

    text_fields = textlayer.sidecar_fields(P.writer, commentary=commentary, headline=headline, alt=alt)
    P.writer = None  # the next figure starts with a fresh writer
    quotes = figure_quotes(pkg, sources)
    written: dict[str, tuple[dict, Path]] = {}
    data_written = None  # (file entry, resource): the figure's data, written once beside the first variant
    for variant, blobs in out.items():
        vfolder = folder if variant == "journal" else folder / variant
        vfolder.mkdir(parents=True, exist_ok=True)
        rel = P.lang if variant == "journal" else f"{P.lang}/{variant}"
        files = {}
        for fmt, blob in blobs.items():
            path = vfolder / f"{figure_id}.{fmt}"
            with atomic_path(path) as tmp:
                tmp.write_bytes(blob)
            declare(P, path)
            files[fmt] = {"path": f"{rel}/{path.name}", "sha256": hashlib.sha256(blob).hexdigest()}
        if data is not None and data_written is None:
            data_written = figdata.write(vfolder, figure_id, rel, data_rows, title)
            declare(P, vfolder / f"{figure_id}.csv")
        if data_written is not None:
            files["csv"] = data_written[0]
        record = {
            "id": figure_id,
            "lang": P.lang,
            "title": title,
            "caption": caption,
            "notebook": P.notebook,
            "params": {"lang": P.lang, "formats": list(P.formats), "dpi": P.dpi, "width": P.width, "year": P.year},
            "files": files,
            "provenance": provenance,
            "notes": notes,
            "derived": derived,
            "variant": variant,
            "waivers": [w.to_dict() for w in waivers],
            "quotes": quotes,  # the printed phrase of every value the figure draws on
        }
        if variant == "standalone":
            assert st is not None  # out has a standalone variant only when st was made
            record["standalone"] = st.to_dict()
        if data_written is not None:
            record["data"] = data_written[1]
        record.update(text_fields)
        write_json(vfolder / f"{figure_id}.json", record)
        declare(P, vfolder / f"{figure_id}.json")
        written[variant] = (files, vfolder)
    P.published.append(figure_id)

    shown = "journal" if "journal" in written else next(iter(written))
    _show(P, fig, figure_id, title, caption, commentary, notes, derived, *written[shown])
    plt.close(fig)


def _show(P, fig, figure_id, title, caption, commentary, notes, derived, files, folder) -> None:
    """Display a preview of the figure (a reference to its file) and its text in the notebook."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the notebook extra
        return
    if get_ipython() is None:
        return
    from .preview import preview_output

    # The preview references the published file instead of embedding base64 PNG,
    # so a committed notebook diffs as text (see shdata.preview for the path rule).
    bundle, meta = preview_output(P, figure_id, title, files, folder)
    display(bundle, metadata=meta, raw=True)
    label = P.t("Figure", "图")
    lines = [f"**{label} `{figure_id}`. {title}**", "", caption]
    if derived:
        lines += [
            "",
            P.t(
                "_Grey marks are computed by shdata from printed values, not printed in the report._",
                "_灰色标记为 shdata 根据报告所载数值推算，报告未直接刊载。_",
            ),
        ]
    if commentary:
        lines += ["", commentary]
    if notes:
        lines += ["", P.t("**Data notes.**", "**数据说明。**")] + [f"- {n}" for n in notes]
    md = "\n".join(lines)
    display({"text/markdown": md, "text/plain": md}, raw=True)


def source_line(sources: Iterable[str], lang: str) -> str:
    """ "Source: ..." sentence citing the report sections the figure draws on."""
    from . import _pkg
    from .package import REPORT_PUBLISHER, REPORT_PUBLISHER_ZH, report_titles

    pkg = _pkg()
    sections = list(dict.fromkeys(pkg.metadata(t).section for t in sources))
    title_zh, title_en = report_titles(pkg.source)
    if lang == "zh":
        return f"资料来源：{REPORT_PUBLISHER_ZH}《{title_zh}》{'、'.join(sections)}；shdata 整理。"
    return f"Source: {REPORT_PUBLISHER}, {title_en}, {', '.join(sections)}; processing by shdata."
