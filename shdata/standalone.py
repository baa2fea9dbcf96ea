"""The standalone variant of a figure: the finding, units, source and data notes drawn on it.

A journal figure carries its title and caption as metadata; a figure pasted
into slides, a report or a web page travels without them. :func:`grow` takes
the journal figure (already written) and adds, on the canvas:

- the **headline**, one sentence stating the finding (``publish(headline=...)``);
- the **subtitle**, units and period (``publish(subtitle=...)``);
- below the plot, the **source line**, crediting the report first
  (``Source: 上海市科学技术委员会《2023上海科技进步报告》§8.2 · Chart: shdata``);
- the figure's **data notes** (discrepancies, printed footnotes of its source
  tables) as numbered footnotes.

The figure keeps its width; it grows in height by exactly the room the texts
need, and the plot keeps its own size (constrained layout is confined to the
original area with its ``rect``). Every text is wrapped with
:func:`shdata.linebreak.wrap` to the measured width, so the result passes the
linter in both languages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import linebreak

#: Sizes in points of the standalone texts (within the linter's 5-10 pt).
HEADLINE_PT = 8.5
SUBTITLE_PT = 6.5
SOURCE_PT = 5.5
NOTE_PT = 5.0
#: Space around the added texts, in millimetres.
PAD_MM = 1.5
GAP_MM = 1.0
MM_PER_INCH = 25.4
#: gid of drawn data notes: quoted verbatim from the data package, so the linter's
#: number rules (thousands, precision) do not apply to them; layout rules do.
NOTE_GID = "shdata-note"


@dataclass(frozen=True)
class StandaloneText:
    """The texts a standalone figure draws, in one language."""

    headline: str
    subtitle: str
    source: str
    notes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"headline": self.headline, "subtitle": self.subtitle, "source": self.source, "notes": list(self.notes)}


def credit_line(sources: Iterable[str], lang: str) -> str:
    """The source line of a standalone figure, crediting the report first.

    Parameters
    ----------
    sources : iterable of str
        Source table ids; their report sections are listed in order of first use.
    lang : {"en", "zh"}

    Returns
    -------
    str
        ``"Source: 上海市科学技术委员会《2023上海科技进步报告》§8.2 · Chart: shdata"`` or
        ``"资料来源：上海市科学技术委员会《2023上海科技进步报告》§8.2 · 制图：shdata"``.
    """
    from . import _pkg
    from .package import REPORT_PUBLISHER_ZH, report_titles

    pkg = _pkg()
    sections = list(dict.fromkeys(pkg.metadata(t).section for t in sources))
    title_zh, _ = report_titles(pkg.source)
    if lang == "zh":
        return f"资料来源：{REPORT_PUBLISHER_ZH}《{title_zh}》{'、'.join(sections)} · 制图：shdata"
    return f"Source: {REPORT_PUBLISHER_ZH}《{title_zh}》{', '.join(sections)} · Chart: shdata"


def texts(
    sources: list[str], lang: str, headline: str, subtitle: str, notes: Iterable[str] | None = None
) -> StandaloneText:
    """Everything a standalone figure draws, from the publish arguments and the data notes.

    ``notes`` are the notes shown under the figure (:func:`shdata.notebook.caveats`
    of what it draws); by default those of every cell of its sources.
    """
    from .errors import ParameterError
    from .notebook import caveats

    if not isinstance(headline, str) or not headline.strip():
        raise ParameterError(
            "the standalone variant needs headline=, one sentence stating the finding (computed from the data)"
        )
    if not isinstance(subtitle, str) or not subtitle.strip():
        raise ParameterError("the standalone variant needs subtitle=, the units and period of the figure")
    return StandaloneText(
        headline.strip(),
        subtitle.strip(),
        credit_line(sources, lang),
        tuple(caveats(sources, lang) if notes is None else notes),
    )


def _fit(fig, renderer, text: str, lang: str, size: float, width_px: float, **kw):
    """A figure text wrapped (by :func:`linebreak.wrap`) to at most ``width_px``."""
    # First guess from the em size, then narrow until the measured width fits.
    col_px = size * fig.dpi / 72.0 * 0.5
    cols = max(int(width_px / col_px), 8)
    t = fig.text(0, 0, text, fontsize=size, ha="left", va="top", **kw)
    while True:
        t.set_text(linebreak.wrap(text, cols, lang))
        if t.get_window_extent(renderer).width <= width_px or cols <= 8:
            return t
        cols -= 2


def grow(fig, lang: str, st: StandaloneText, dpi: float | None = None) -> None:
    """Add the standalone texts to ``fig`` in place, growing its height.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The journal figure, at its final width; call after it has been written.
    lang : {"en", "zh"}
    st : StandaloneText
        From :func:`texts`.
    dpi : float, optional
        The dpi the figure is saved at: texts are wrapped to the width they have
        there (hinted text is wider at 300 dpi than at the figure's 100).
    """
    from .render import at_dpi

    with at_dpi(fig, dpi):
        _grow(fig, lang, st)


def _grow(fig, lang: str, st: StandaloneText) -> None:
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()  # settle the journal layout first (publish has frozen it already)
    renderer = fig.canvas.get_renderer()
    w_in, h_in = fig.get_size_inches()
    dpi = fig.dpi
    mm = dpi / MM_PER_INCH
    width_px = w_in * dpi - 2 * PAD_MM * mm
    # Freeze the plot: constrained layout must not re-solve in a taller canvas,
    # so the axes keep exactly the journal geometry (scaled into the new height).
    positions = [(ax, ax.get_position(original=False)) for ax in fig.axes]
    engine = fig.get_layout_engine()
    try:
        fig.set_layout_engine("none")
        engine = None
    except RuntimeError:  # a constrained-layout colorbar: confine the layout to the old area instead
        pass
    if engine is None:
        for ax, pos in positions:
            ax.set_position(pos)
    fig_texts = [*fig.texts, *(getattr(fig, n, None) for n in ("_suptitle", "_supxlabel", "_supylabel"))]
    journal_texts = [(t, t.get_position()) for t in fig_texts if t is not None]

    top = [
        _fit(fig, renderer, st.headline, lang, HEADLINE_PT, width_px, fontweight="bold"),
        _fit(fig, renderer, st.subtitle, lang, SUBTITLE_PT, width_px, color="#444444"),
    ]
    notes = [f"{k}. {n}" if len(st.notes) > 1 else n for k, n in enumerate(st.notes, 1)]
    bottom = [_fit(fig, renderer, st.source, lang, SOURCE_PT, width_px, color="#444444")]
    bottom += [_fit(fig, renderer, n, lang, NOTE_PT, width_px, color="#444444", gid=NOTE_GID) for n in notes]
    heights = {id(t): t.get_window_extent(renderer).height for t in top + bottom}
    gap = GAP_MM * mm
    top_px = PAD_MM * mm + sum(heights[id(t)] for t in top) + gap * len(top)
    bottom_px = PAD_MM * mm + sum(heights[id(t)] for t in bottom) + gap * len(bottom)
    old_px = h_in * dpi
    new_px = old_px + top_px + bottom_px
    fig.set_size_inches(w_in, new_px / dpi)
    scale, shift = old_px / new_px, bottom_px / new_px
    if engine is not None:
        engine.set(rect=(0, shift, 1, scale))
    else:
        for ax, pos in positions:
            ax.set_position([pos.x0, shift + pos.y0 * scale, pos.width, pos.height * scale])
    for t, (x, y) in journal_texts:
        if t.get_transform() == fig.transFigure:
            t.set_position((x, shift + y * scale))
    x = PAD_MM * mm / (w_in * dpi)
    y = new_px - PAD_MM * mm
    for t in top:
        t.set_position((x, y / new_px))
        y -= heights[id(t)] + gap
    y = bottom_px - gap
    for t in bottom:
        t.set_position((x, y / new_px))
        y -= heights[id(t)] + gap
