"""The figure linter: layout and typography defects read from matplotlib's geometry.

:func:`lint_figure` lays the figure out (no pixels are rendered) and reads the
window extent of every text, legend, axes and data mark. Each defect is one
:class:`Defect`, printed as one line naming the figure, the rule and the
artist's text. :func:`shdata.notebook.Params.publish` runs it on every figure
before writing anything and raises :class:`~shdata.errors.FigureLintError`.

Rules (the names used in waivers)
---------------------------------
``canvas``            a text or an axes extends beyond the canvas
``margin``            a text or an axes is closer than 1 mm to the canvas edge
``text-overlap``      two texts (tick labels, value labels, annotations, legend, titles) overlap
``text-over-mark``    a text or legend covers a data mark it does not label (a text labels a mark
                      when its anchor point, or an annotation's target, is on or within 1.5 mm of it)
``axes-size``         an axes narrower or shorter than 12 % of the figure or 12 mm
``blank-band``        a horizontal or vertical band with nothing in it wider than 15 % of the figure
``font-min``          text smaller than 5 pt at final size
``font-max``          text larger than the house maximum (10 pt)
``kinsoku-start``     a Chinese line starts with closing punctuation (行首禁则)
``kinsoku-end``       a Chinese line ends with opening punctuation (行尾禁则)
``cjk-break``         a Chinese line break inside a word or a number with its unit
``fullwidth-brackets`` half-width brackets in Chinese text (figures in Chinese)
``thousands``         an English number of 1,000 or more without thousands separators
``precision``         a number with more significant digits than the report printed

Years are not numbers for ``thousands`` and ``precision``: a whole number from
1900 to 2100 with four digits, not preceded by a currency sign and not followed by
``%`` or a scale word (bn, m, k, million...).

``precision`` compares each number shown with the printed values of the figure's
source tables (the *registry*, :func:`printed_registry`): a number that equals a
printed value at some power-of-ten scale (528.1亿元 shown as ¥52.81 bn) may show at
most the digits printed; a number that equals none (a computed share, a tick) may
show at most as many significant digits as the most precise printed source value.
Tick labels are positions on a scale, not values, and are not checked for precision.

Waivers
-------
``waive`` names one rule for one artist text, explicitly: ``{"text-overlap": "Shanghai"}``,
``{"rule": ["text a", "text b"]}`` or ``[("rule", "text", "reason"), ...]``. A waiver
that matches nothing is itself a defect (``unused-waiver``), so waivers cannot go stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from . import linebreak
from .errors import ParameterError

MM_PER_INCH = 25.4
MARGIN_MM = 1.0
MIN_FONT_PT = 5.0
MAX_FONT_PT = 10.0
MIN_AXES_SHARE = 0.12
MIN_AXES_MM = 12.0
MAX_BLANK_SHARE = 0.15
LABEL_REACH_MM = 1.5
OVERLAP_TOL_PT = 0.3

RULES = {
    "canvas": "extends beyond the canvas",
    "margin": f"closer than {MARGIN_MM:g} mm to the canvas edge",
    "text-overlap": "overlaps another text",
    "text-over-mark": "covers a data mark it does not label",
    "axes-size": f"axes narrower or shorter than {MIN_AXES_SHARE:.0%} of the figure or {MIN_AXES_MM:g} mm",
    "blank-band": f"blank band wider than {MAX_BLANK_SHARE:.0%} of the figure",
    "font-min": f"text smaller than {MIN_FONT_PT:g} pt",
    "font-max": f"text larger than {MAX_FONT_PT:g} pt",
    "kinsoku-start": "Chinese line starts with closing punctuation (行首禁则)",
    "kinsoku-end": "Chinese line ends with opening punctuation (行尾禁则)",
    "cjk-break": "Chinese line break inside a word or a number with its unit",
    "fullwidth-brackets": "half-width brackets in Chinese text; use （）",
    "thousands": "number of 1,000 or more without thousands separators",
    "precision": "more significant digits than the report printed",
    "unused-waiver": "waiver matches no defect; remove it",
}


def _shown(text: str) -> str:
    """A text on one line: line breaks shown as ⏎."""
    return text.replace("\n", "⏎")


@dataclass(frozen=True)
class Defect:
    """One layout or typography defect of one artist.

    Attributes
    ----------
    figure : str
        Figure id.
    rule : str
        Rule name (a key of :data:`RULES`).
    text : str
        The artist's text (a text, a legend's entries, an axes' label).
    detail : str
        What is wrong, with numbers.
    """

    figure: str
    rule: str
    text: str
    detail: str

    def __str__(self) -> str:
        return f"{self.figure}: {self.rule}: {_shown(self.text)!r}: {self.detail}"


@dataclass(frozen=True)
class Waiver:
    """Permission to break one rule for one artist text, with the reason."""

    rule: str
    text: str
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "text": self.text, "reason": self.reason}


def normalize_waivers(waive: Any) -> list[Waiver]:
    """Waivers from the forms ``publish(waive=...)`` accepts.

    Parameters
    ----------
    waive : None, dict or list
        ``{"rule": "text"}``, ``{"rule": ["text", ...]}``, or a list of
        ``(rule, text, reason)`` / ``(rule, text)`` tuples or :class:`Waiver`.

    Returns
    -------
    list of Waiver
        Sorted, so the sidecar records them in a stable order.
    """
    if waive is None:
        return []
    items: list[Waiver] = []
    if isinstance(waive, dict):
        for rule, texts in waive.items():
            for text in [texts] if isinstance(texts, str) else list(texts):
                items.append(Waiver(rule, text))
    elif isinstance(waive, (list, tuple)):
        for w in waive:
            if isinstance(w, Waiver):
                items.append(w)
            elif isinstance(w, (list, tuple)) and len(w) in (2, 3) and all(isinstance(x, str) for x in w):
                items.append(Waiver(*w))
            else:
                raise ParameterError(f"waiver {w!r} is not allowed; use (rule, text, reason)")
    else:
        raise ParameterError(f"waive {waive!r} is not allowed; use {{rule: text}} or [(rule, text, reason)]")
    for w in items:
        if w.rule not in RULES or w.rule == "unused-waiver":
            from .errors import did_you_mean

            raise ParameterError(f"waiver rule {w.rule!r} is unknown{did_you_mean(w.rule, RULES)}")
        if not isinstance(w.text, str) or not w.text:
            raise ParameterError(f"waiver for {w.rule!r} needs the exact artist text, got {w.text!r}")
    return sorted(set(items), key=lambda w: (w.rule, w.text, w.reason))


# -- numbers -------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.,§])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w]*\d)")
_SCALE_AFTER = re.compile(r"\s?(%|‰|bn\b|m\b|k\b|million|billion|trillion|thousand)")


def _is_year(text: str, m: re.Match) -> bool:
    whole, frac = m.group(1), m.group(2)
    if frac or len(whole) != 4 or not 1900 <= int(whole) <= 2100:
        return False
    before = text[max(0, m.start() - 1) : m.start()]
    return before not in ("¥", "$", "￥") and not _SCALE_AFTER.match(text, m.end())


def _numbers(text: str) -> list[tuple[re.Match, bool]]:
    return [(m, _is_year(text, m)) for m in _NUMBER.finditer(text)]


def sig_digits(text: str) -> int:
    """Significant digits of a number as shown; trailing zeros of a whole number are not."""
    text = text.replace(",", "").lstrip("+-")
    digits = text.replace(".", "").lstrip("0") if "." in text else text.lstrip("0").rstrip("0")
    return max(len(digits), 1)


def printed_registry(sources: Iterable[str]) -> tuple[str, ...]:
    """Every printed number (as printed text) in the value columns of the given tables."""
    from . import _pkg

    pkg = _pkg()
    out = set()
    for tid in sources:
        meta = pkg.metadata(tid)
        for raw in pkg.parsed(tid).raw:
            for f in meta.value_fields:
                if raw.get(f):
                    out.add(raw[f])
    return tuple(sorted(out))


def _quotes(shown: Decimal, decimals: int, printed: Decimal) -> bool:
    """Whether ``shown`` is ``printed`` at some power-of-ten scale, rounded to the digits shown."""
    if printed == 0:
        return shown == 0
    q = Decimal(1).scaleb(-decimals)
    for k in range(-12, 13):
        try:
            if printed.scaleb(k).copy_abs().quantize(q, rounding=ROUND_HALF_UP) == shown:
                return True
        except InvalidOperation:
            continue
    return False


class _Registry:
    def __init__(self, printed: Iterable[str] | None):
        self.items = []
        for p in printed or ():
            try:
                self.items.append((Decimal(str(p).replace(",", "")), sig_digits(str(p)), str(p)))
            except InvalidOperation:
                continue
        self.max_sig = max((s for _, s, _ in self.items), default=0)

    def check(self, token: str) -> str | None:
        """A detail message if ``token`` shows more digits than printed, else None."""
        if not self.items:
            return None
        shown = Decimal(token.replace(",", ""))
        if shown == 0:
            return None
        decimals = len(token.partition(".")[2])
        sig = sig_digits(token)
        matches = [(s, p) for d, s, p in self.items if _quotes(shown, decimals, d)]
        if matches:
            if any(sig <= s for s, _ in matches):
                return None
            best = max(matches)
            return f"shows {sig} significant digits; the report printed {best[1]} ({best[0]})"
        if sig > self.max_sig:
            return f"shows {sig} significant digits; no source value is printed with more than {self.max_sig}"
        return None


# -- geometry -------------------------------------------------------------------


@dataclass
class _Item:
    text: str
    bbox: Any  # matplotlib Bbox in display pixels
    kind: str  # tick, label, title, text, legend, figure
    artist: Any
    anchors: tuple = ()  # display points the text is attached to


def _drawn_tick_labels(ax) -> set[int]:
    drawn: set[int] = set()
    if not ax.axison:
        return drawn
    for axis in (ax.xaxis, ax.yaxis):
        if not axis.get_visible():
            continue
        # The ticks inside the view limits: what draw() draws (private, stable since matplotlib 3.1).
        update = getattr(axis, "_update_ticks", None)
        ticks = update() if update else axis.get_major_ticks() + axis.get_minor_ticks()
        for t in ticks:
            for lab in (t.label1, t.label2):
                if lab.get_visible():
                    drawn.add(id(lab))
    return drawn


def _collect(fig, renderer) -> tuple[list[_Item], list[tuple[Any, Any, list]]]:
    from matplotlib.legend import Legend
    from matplotlib.text import Annotation, Text

    items: list[_Item] = []
    tick_ids: set[int] = set()
    drawn_ticks: set[int] = set()
    axis_texts: dict[int, Any] = {}
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for t in axis.majorTicks + axis.minorTicks:
                tick_ids.update((id(t.label1), id(t.label2)))
            axis_texts[id(axis.label)] = ax
            axis_texts[id(axis.offsetText)] = ax
        if ax.get_visible():
            drawn_ticks |= _drawn_tick_labels(ax)
    legend_text_ids: set[int] = set()
    legends = [a for a in fig.findobj(Legend) if a.get_visible()]
    for lg in legends:
        legend_text_ids.update(id(t) for t in lg.texts)
        legend_text_ids.add(id(lg.get_title()))
    for t in fig.findobj(Text):
        s = t.get_text()
        if not s or not s.strip() or not t.get_visible():
            continue
        if id(t) in tick_ids and id(t) not in drawn_ticks:
            continue
        ax = t.axes
        if ax is not None and not ax.get_visible():
            continue
        if id(t) in axis_texts and not axis_texts[id(t)].axison:
            continue
        bbox = t.get_window_extent(renderer)
        if bbox.width <= 0 or bbox.height <= 0:
            continue
        if id(t) in tick_ids:
            kind = "tick"
        elif id(t) in axis_texts:
            kind = "label"
        elif id(t) in legend_text_ids:
            kind = "legend-text"
        elif ax is not None and (
            t is ax.title or t is getattr(ax, "_left_title", None) or t is getattr(ax, "_right_title", None)
        ):
            kind = "title"
        elif ax is not None:
            kind = "text"
        else:
            kind = "figure"
        anchors = []
        if kind == "text":
            # What a text labels: an annotation, the point its arrow targets (xy);
            # a plain text, the point it is anchored at.
            if isinstance(t, Annotation):
                anchors.append(tuple(t._get_xy_transform(renderer, t.xycoords).transform(t.xy)))  # type: ignore[attr-defined]  # no public accessor for where an annotation points
            else:
                anchors.append(tuple(t.get_transform().transform(t.get_position())))
        items.append(_Item(s, bbox, kind, t, tuple(anchors)))
    for lg in legends:
        texts = " / ".join(t.get_text() for t in lg.texts if t.get_text())
        items.append(_Item(texts or "legend", lg.get_window_extent(renderer), "legend", lg))
    marks = []
    for ax in fig.axes:
        if ax.get_visible():
            marks.append((ax, ax.bbox, _marks(ax, renderer)))
    return items, marks


def _marks(ax, renderer) -> list[tuple[str, Any, Any]]:
    """Data marks of an axes: ("box", Bbox) for patches, ("pts", (xy, radius, segments)) for lines."""
    import numpy as np
    from matplotlib.collections import LineCollection, PathCollection

    px = ax.figure.dpi / 72.0
    out = []
    for p in ax.patches:
        if p.get_visible():
            bb = p.get_window_extent(renderer)
            if p.get_clip_on():
                bb = bb.__class__.intersection(bb, ax.bbox) or None
            if bb is not None and bb.width > 0 and bb.height > 0:
                out.append(("box", bb, p))
    for ln in ax.lines:
        if not ln.get_visible():
            continue
        xy = ln.get_transform().transform(np.asarray(ln.get_xydata(), dtype=float))
        xy = xy[np.isfinite(xy).all(axis=1)]
        marker = ln.get_marker()
        r = (ln.get_markersize() * px / 2) if marker not in (None, "None", "", " ", "none") else 0.0
        seg = ln.get_linestyle() not in ("None", "", " ", "none") and ln.get_linewidth() > 0
        out.append(("pts", (xy, r, seg, ln.get_linewidth() * px / 2), ln))
    for c in ax.collections:
        if not c.get_visible():
            continue
        if isinstance(c, PathCollection):
            xy = c.get_offset_transform().transform(np.asarray(c.get_offsets(), dtype=float))
            sizes = c.get_sizes()
            r = float(np.sqrt(sizes.max()) * px / 2) if len(sizes) else 0.0
            out.append(("pts", (xy, r, False, 0.0), c))
        elif isinstance(c, LineCollection):
            trans = c.get_transform()
            widths = np.atleast_1d(c.get_linewidth())
            width = float(widths.max()) if widths.size else 1.0
            for s in c.get_segments():
                if len(s):
                    out.append(
                        (
                            "pts",
                            (
                                trans.transform(np.asarray(s, dtype=float)),
                                0.0,
                                True,
                                width * px / 2,
                            ),
                            c,
                        )
                    )
    return out


def _seg_hits_box(p, q, x0, y0, x1, y1) -> bool:
    """Whether segment p-q meets the box (Liang-Barsky clipping)."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if pk == 0:
            if qk < 0:
                return False
        else:
            t = qk / pk
            if pk < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
    return True


def _mark_hits(kind, geom, bb, pad) -> bool:
    x0, y0, x1, y1 = bb.x0 - pad, bb.y0 - pad, bb.x1 + pad, bb.y1 + pad
    if kind == "box":
        return geom.x0 < x1 and geom.x1 > x0 and geom.y0 < y1 and geom.y1 > y0
    xy, r, seg, half_lw = geom
    for x, y in xy:
        if r and x0 - r < x < x1 + r and y0 - r < y < y1 + r:
            return True
    if seg:
        w = half_lw
        for k in range(len(xy) - 1):
            if _seg_hits_box(xy[k], xy[k + 1], x0 - w, y0 - w, x1 + w, y1 + w):
                return True
    return False


def _near(kind, geom, point, reach) -> bool:
    from matplotlib.transforms import Bbox

    x, y = point
    return _mark_hits(kind, geom, Bbox([[x, y], [x, y]]), reach)


def _overlap(a, b, tol) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


def _largest_gap(intervals, lo, hi) -> tuple[float, float, float]:
    spans = sorted((max(lo, a), min(hi, b)) for a, b in intervals if b > lo and a < hi)
    best, at, cursor = 0.0, (lo, lo), lo
    for a, b in spans:
        if a - cursor > best:
            best, at = a - cursor, (cursor, a)
        cursor = max(cursor, b)
    if hi - cursor > best:
        best, at = hi - cursor, (cursor, hi)
    return best, at[0], at[1]


def _describe_axes(ax) -> str:
    """``"axes 2"`` or ``"axes 2: <its title or axis label>"``: the text a waiver names."""
    n = ax.figure.axes.index(ax) + 1
    label = next((t for t in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) if t), "")
    return f"axes {n}: {label}" if label else f"axes {n}"


def lint_figure(
    fig, figure_id: str, lang: str, waive: Any = None, printed: Iterable[str] | None = None, dpi: float | None = None
) -> list[Defect]:
    """All layout and typography defects of a figure, after waivers.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        At its final size (the size it will be saved at).
    figure_id : str
        Named in every defect.
    lang : {"en", "zh"}
        Language of the figure: ``thousands`` applies to English, the Chinese
        rules to every text containing Chinese characters.
    waive : dict or list, optional
        See :func:`normalize_waivers`. A waiver that matches no defect is
        reported as ``unused-waiver``.
    printed : iterable of str, optional
        The registry of printed numbers for ``precision``
        (:func:`printed_registry` of the figure's sources); without it the rule
        is not applied.
    dpi : float, optional
        The dpi the figure is saved at (PNG); text is measured there, since hinted
        text is not the same width at every dpi. Default: the figure's own dpi.

    Returns
    -------
    list of Defect
        Sorted by rule and text; empty when the figure passes.

    Examples
    --------
    >>> defects = lint_figure(fig, "demo-figure", "en", printed=["4850", "21.1"])  # doctest: +SKIP
    >>> print("\\n".join(map(str, defects)))                                        # doctest: +SKIP
    demo-figure: margin: '0': 0.2 mm from the left edge; keep 1 mm
    """
    waivers = normalize_waivers(waive)
    kept, used = apply_waivers(find_defects(fig, figure_id, lang, printed, dpi), waivers)
    return sorted_defects(kept + unused_waivers(figure_id, waivers, used))


def find_defects(
    fig,
    figure_id: str,
    lang: str,
    printed: Iterable[str] | None = None,
    dpi: float | None = None,
    drawn: bool = False,
) -> list[Defect]:
    """Every defect of a figure, before waivers (see :func:`lint_figure`), measured at ``dpi``.

    With ``drawn=True`` the figure has just been drawn on its Agg canvas at the
    dpi of the file (as :func:`shdata.render.draw_png` does) and the linter reads
    the geometry of that drawing instead of drawing again; ``dpi`` is then ignored.
    """
    from .render import at_dpi

    if drawn:
        return _find_defects(fig, figure_id, lang, printed, draw=False)
    with at_dpi(fig, dpi):
        return _find_defects(fig, figure_id, lang, printed)


def _find_defects(fig, figure_id: str, lang: str, printed: Iterable[str] | None, draw: bool = True) -> list[Defect]:
    if draw:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    px_per_mm = fig.dpi / MM_PER_INCH
    pt = fig.dpi / 72.0
    items, marks = _collect(fig, renderer)
    found: list[Defect] = []

    def add(rule, text, detail):
        found.append(Defect(figure_id, rule, text, detail))

    m = MARGIN_MM * px_per_mm
    edges = []
    for it in items:
        if it.kind != "legend-text":
            edges.append((it.text, it.bbox))
    for ax in fig.axes:
        if ax.get_visible():
            edges.append((_describe_axes(ax), ax.bbox))
    for text, bb in edges:
        for side, dist in (("left", bb.x0), ("right", W - bb.x1), ("bottom", bb.y0), ("top", H - bb.y1)):
            if dist < -0.5:
                add("canvas", text, f"{-dist / px_per_mm:.1f} mm beyond the {side} edge")
            elif dist < m - 0.5:
                add("margin", text, f"{max(dist, 0) / px_per_mm:.1f} mm from the {side} edge; keep {MARGIN_MM:g} mm")

    # Text against text (a legend's own entries are inside its frame by design).
    boxes = [it for it in items]
    tol = OVERLAP_TOL_PT * pt
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if {a.kind, b.kind} == {"legend", "legend-text"}:
                lg = a.artist if a.kind == "legend" else b.artist
                other = b.artist if a.kind == "legend" else a.artist
                if other in lg.texts or other is lg.get_title():
                    continue
            if a.kind == b.kind == "legend-text":
                continue
            if _overlap(a.bbox, b.bbox, tol):
                first, second = sorted((a.text, b.text))
                add("text-overlap", first, f"overlaps {_shown(second)!r}")

    # Text against data marks it does not label.
    reach = LABEL_REACH_MM * px_per_mm
    for it in items:
        if it.kind in ("tick", "label", "legend-text"):
            continue
        for _ax, _, axmarks in marks:
            for kind, geom, artist in axmarks:
                if not _mark_hits(kind, geom, it.bbox, -tol):
                    continue
                if it.anchors and any(_near(kind, geom, pnt, reach) for pnt in it.anchors):
                    continue
                what = artist.get_label() if not str(artist.get_label()).startswith("_") else type(artist).__name__
                add("text-over-mark", it.text, f"covers a data mark ({what}) it does not label")
                break
            else:
                continue
            break

    # Axes size and blank bands.
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        bb = ax.bbox
        if bb.width < max(MIN_AXES_SHARE * W, MIN_AXES_MM * px_per_mm):
            add(
                "axes-size",
                _describe_axes(ax),
                f"axes {bb.width / px_per_mm:.1f} mm wide "
                f"({bb.width / W:.0%} of the figure); keep {MIN_AXES_SHARE:.0%} and {MIN_AXES_MM:g} mm",
            )
        if bb.height < max(MIN_AXES_SHARE * H, MIN_AXES_MM * px_per_mm):
            add(
                "axes-size",
                _describe_axes(ax),
                f"axes {bb.height / px_per_mm:.1f} mm tall "
                f"({bb.height / H:.0%} of the figure); keep {MIN_AXES_SHARE:.0%} and {MIN_AXES_MM:g} mm",
            )
    spans = [bb for _, bb in edges]
    for axis_name, lo, hi, size in (("vertical", 0, W, W), ("horizontal", 0, H, H)):
        ivs = [(b.x0, b.x1) if axis_name == "vertical" else (b.y0, b.y1) for b in spans]
        gap, g0, g1 = _largest_gap(ivs, lo, hi)
        if gap > MAX_BLANK_SHARE * size:
            where = "from the left" if axis_name == "vertical" else "from the bottom"
            add(
                "blank-band",
                figure_id,
                f"{axis_name} blank band {gap / px_per_mm:.1f} mm wide "
                f"({gap / size:.0%} of the figure) at {g0 / px_per_mm:.0f}-{g1 / px_per_mm:.0f} mm {where}",
            )

    # Type size and the text itself.
    reg = _Registry(printed)
    for it in items:
        if it.kind == "legend":
            continue
        size = float(it.artist.get_fontsize())
        if size < MIN_FONT_PT - 1e-6:
            add("font-min", it.text, f"{size:g} pt; use at least {MIN_FONT_PT:g} pt")
        elif size > MAX_FONT_PT + 1e-6:
            add("font-max", it.text, f"{size:g} pt; use at most {MAX_FONT_PT:g} pt")
        text = it.text
        if linebreak.has_cjk(text):
            # Full-width brackets are Chinese typography; an English text quoting a Chinese term keeps its own.
            if lang == "zh" and re.search(r"[()]", text):
                add("fullwidth-brackets", text, "half-width bracket in Chinese text; use （ ）")
            for rule, line in linebreak.bad_breaks(text, lang):
                add(rule, text, f"line {line!r}")
        if it.artist.get_gid() == "shdata-note":  # data notes are quoted verbatim (shdata.standalone)
            continue
        for mt, is_year in _numbers(text.replace("\n", " ")):
            if is_year:
                continue
            token = mt.group(0)
            if lang == "en" and not linebreak.has_cjk(text) and "," not in mt.group(1) and len(mt.group(1)) > 3:
                add("thousands", text, f"{token} needs thousands separators ({int(mt.group(1)):,})")
            # Tick labels are positions on a scale, not values quoted from the report.
            detail = reg.check(token) if it.kind != "tick" else None
            if detail:
                add("precision", text, f"{token} {detail}")

    return found


def apply_waivers(defects: Iterable[Defect], waivers: Iterable[Waiver]) -> tuple[list[Defect], set[Waiver]]:
    """Defects left after the waivers, and the waivers that matched one.

    A waiver matches a defect of its rule whose artist text is the waiver's text
    (line breaks may be given as spaces); for ``text-overlap`` either text of the pair.
    """
    waivers = list(waivers)
    kept, used = [], set()
    for d in defects:
        w = next((w for w in waivers if w.rule == d.rule and w.text in (d.text, d.text.replace("\n", " "))), None)
        if w is None and d.rule == "text-overlap":
            w = next((w for w in waivers if w.rule == d.rule and f"overlaps {_shown(w.text)!r}" == d.detail), None)
        if w is not None:
            used.add(w)
        else:
            kept.append(d)
    return kept, used


def unused_waivers(figure_id: str, waivers: Iterable[Waiver], used: set[Waiver]) -> list[Defect]:
    """An ``unused-waiver`` defect for each waiver that matched nothing."""
    return [
        Defect(figure_id, "unused-waiver", w.text, f"waiver of {w.rule!r} matches no defect; remove it")
        for w in waivers
        if w not in used
    ]


def sorted_defects(defects: Iterable[Defect]) -> list[Defect]:
    """Unique defects in a stable order (rule, text, detail)."""
    unique = {(d.figure, d.rule, d.text, d.detail): d for d in defects}
    return [unique[k] for k in sorted(unique)]
