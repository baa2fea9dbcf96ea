"""House style of shdata figures: fonts, sizes, colours.

One style for every figure: a colour-blind-safe palette (Okabe & Ito), Shanghai
always in the same vermillion, journal column widths, and a font chain that
renders Chinese on any machine. The package ships a subset of Noto Sans CJK SC
with TrueType outlines (``shdata/fonts``), so PDFs embed it as "CID TrueType"
(Type 42), which journals accept, and no system font is needed; system CJK
fonts stay in the chain as a fall-back for characters users add later.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import ParameterError

CJK_FAMILY = "Noto Sans CJK SC"
LATIN_FAMILY = "DejaVu Sans"
# System CJK fonts, tried after the bundled one (glyph-by-glyph fall-back).
SYSTEM_CJK_FALLBACKS = ("Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "WenQuanYi Zen Hei")

# Okabe & Ito (2008), safe for the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
HIGHLIGHT = OKABE_ITO["vermillion"]  # Shanghai, everywhere
BASE = OKABE_ITO["blue"]  # the main series
CONTEXT = "#9A9A9A"  # other cities, reference values
SECONDARY = OKABE_ITO["sky_blue"]  # a second series (e.g. cumulative vs new)
DERIVED = "#BDBDBD"  # values computed by shdata, not printed
PALETTE = [
    OKABE_ITO[k]
    for k in ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue", "vermillion", "yellow", "black")
]

# Column widths in millimetres: Nature's 89/183 mm, Science's 57/121/184 mm are close.
WIDTHS_MM = {"single": 89.0, "onehalf": 136.0, "double": 183.0}
MM_PER_INCH = 25.4
#: Space kept free at every canvas edge (the linter requires 1 mm).
MARGIN_MM = 1.5
#: A figure with this many values or fewer is single-column.
SINGLE_COLUMN_MAX_VALUES = 4

_fonts_registered = False


def font_paths() -> list[Path]:
    """Paths of the bundled font files."""
    folder = files("shdata") / "fonts"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".ttf"))


def register_fonts() -> None:
    """Make the bundled CJK font available to matplotlib in this process.

    The bundled files are put first in matplotlib's font list so that they win
    a tie with a system copy of the same family (a system Noto CJK has CFF
    outlines, which would embed badly in PDF).
    """
    global _fonts_registered
    if _fonts_registered:
        return
    from matplotlib import font_manager as fm

    paths = font_paths()
    for p in paths:
        fm.fontManager.addfont(str(p))
    bundled = {str(p) for p in paths}
    fm.fontManager.ttflist.sort(key=lambda entry: entry.fname not in bundled)
    # findfont caches answers; clear it after reordering (private, but stable since 3.6).
    cache_clear = getattr(fm.fontManager, "_findfont_cached", None)
    if cache_clear is not None:
        cache_clear.cache_clear()
    _fonts_registered = True


def width_inches(width: str | float) -> float:
    """Figure width for a column preset (``"single"``, ``"onehalf"``, ``"double"``) or millimetres."""
    if isinstance(width, str):
        if width not in WIDTHS_MM:
            raise ParameterError(
                f"width {width!r} is not allowed; use one of "
                f"{', '.join(repr(w) for w in WIDTHS_MM)} or a number of millimetres (40-300)"
            )
        return WIDTHS_MM[width] / MM_PER_INCH
    mm = float(width)
    if not 40 <= mm <= 300:
        raise ParameterError(
            f"width {width!r} mm is not allowed; use 40-300 mm or one of {', '.join(repr(w) for w in WIDTHS_MM)}"
        )
    return mm / MM_PER_INCH


def installed_fallbacks() -> list[str]:
    """System CJK families present on this machine (absent ones would only log warnings)."""
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    return [name for name in SYSTEM_CJK_FALLBACKS if name in names]


def rc_params(lang: str = "en") -> dict:
    """The matplotlib settings of the house style."""
    from cycler import cycler

    fallbacks = installed_fallbacks()
    family = [LATIN_FAMILY, CJK_FAMILY, *fallbacks] if lang == "en" else [CJK_FAMILY, LATIN_FAMILY, *fallbacks]
    return {
        "font.family": family,
        "font.size": 7.0,  # journals ask for 5-8 pt at final size
        "axes.titlesize": 7.5,
        "axes.labelsize": 7.0,
        "xtick.labelsize": 6.5,
        "ytick.labelsize": 6.5,
        "legend.fontsize": 6.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.linewidth": 0.6,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "axes.grid": False,
        # One neutral colour: a mark drawn without an explicit colour is context
        # grey, never an accidental palette colour. Colours carry meaning only
        # when chosen (HIGHLIGHT for Shanghai, DERIVED for computed values).
        "axes.prop_cycle": cycler(color=[CONTEXT]),
        "axes.unicode_minus": False,  # a hyphen-minus renders in every font
        "legend.frameon": False,
        "figure.dpi": 100,
        # The saved file is exactly the column width: no "tight" bbox that grows
        # the canvas; constrained layout makes room for labels inside it.
        "savefig.bbox": None,
        "figure.constrained_layout.use": True,
        # Constrained layout keeps this pad at the canvas edges too: no text touches them.
        "figure.constrained_layout.h_pad": MARGIN_MM / MM_PER_INCH,
        "figure.constrained_layout.w_pad": MARGIN_MM / MM_PER_INCH,
        "pdf.fonttype": 42,  # TrueType, not Type 3
        "ps.fonttype": 42,
        "svg.fonttype": "path",  # glyphs as outlines: renders without the font
        "svg.hashsalt": "shdata",  # fixed ids: byte-identical SVG
        "path.simplify": True,
    }


def apply(lang: str = "en") -> None:
    """Register the bundled fonts and apply the house style (Agg backend, no GUI)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    register_fonts()
    plt.rcdefaults()
    plt.rcParams.update(rc_params(lang))


def is_shanghai(names_en) -> list[bool]:
    """Which English labels denote Shanghai (alone or in a cluster such as Shanghai–Suzhou)."""
    return ["Shanghai" in str(n) for n in names_en]


def emphasis(mask, other: str = CONTEXT) -> list[str]:
    """Colours that highlight Shanghai the same way in every figure."""
    return [HIGHLIGHT if m else other for m in mask]


# -- helpers for publication figures -------------------------------------------


def column_for(n_values: int) -> str:
    """Column preset for a figure showing ``n_values`` values.

    A figure of four values or fewer is single-column (89 mm); larger ones are
    double-column (183 mm).

    Parameters
    ----------
    n_values : int
        Number of values drawn (bars, dots, labelled numbers).

    Returns
    -------
    {"single", "double"}

    Examples
    --------
    >>> column_for(3)
    'single'
    >>> fig, ax = P.figure(height=0.5, width=column_for(len(values)))  # doctest: +SKIP
    """
    if isinstance(n_values, bool) or not isinstance(n_values, int) or n_values < 1:
        raise ParameterError(f"n_values {n_values!r} is not allowed; use a whole number >= 1")
    return "single" if n_values <= SINGLE_COLUMN_MAX_VALUES else "double"


def canvas_margins(fig, mm: float = MARGIN_MM) -> None:
    """Keep ``mm`` millimetres free at every canvas edge.

    With constrained layout (the house default) this sets its pads; otherwise
    it sets the subplot parameters so that the axes area starts ``mm`` in (tick
    labels still need room: prefer constrained layout).

    Examples
    --------
    >>> canvas_margins(fig, 2.0)  # doctest: +SKIP
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    engine = fig.get_layout_engine()
    pad = mm / MM_PER_INCH
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(w_pad=pad, h_pad=pad)
        return
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=pad / w, right=1 - pad / w, bottom=pad / h, top=1 - pad / h)


def _plain_number(d, lang: str, keep_zeros: bool = False) -> str:
    """A Decimal with the digits it needs (or as given), thousands separators in English only."""
    from decimal import Decimal

    d = Decimal(d)
    if not keep_zeros:
        d = d.normalize()
        if d == d.to_integral_value():
            d = d.quantize(Decimal(1))
    if d == 0:
        d = abs(d)
    text = format(d, "f")
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}" if lang == "en" else whole.lstrip("-")
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def _tick_decimal(x: float, scale: int):
    from decimal import Decimal

    # Locators produce values such as 0.30000000000000004: round away float noise first.
    return Decimal(repr(round(float(x), 12))).scaleb(scale)


def _decimals(d) -> int:
    return max(0, -d.normalize().as_tuple().exponent)


def number_formatter(lang: str = "en", scale: int = 0):
    """Tick formatter: thousands separators in English, none in Chinese.

    Parameters
    ----------
    lang : {"en", "zh"}
    scale : int
        Power of ten the shown value is multiplied by (``-1`` shows 1,000 as 100).

    Returns
    -------
    matplotlib.ticker.Formatter
        Shows the ticks of an axis with the same number of decimals, the fewest
        that show every tick exactly (``0, 250, 500, 1,000``; ``0.0, 0.5, 1.0``),
        computed with :class:`decimal.Decimal` from each tick's shortest repr.

    Examples
    --------
    >>> ax.xaxis.set_major_formatter(number_formatter("en"))  # doctest: +SKIP
    """
    from matplotlib.ticker import Formatter

    if lang not in ("en", "zh"):
        raise ParameterError(f"lang {lang!r} is not allowed; use 'en' or 'zh'")

    class NumberFormatter(Formatter):
        def __call__(self, x, pos=None):
            return _plain_number(_tick_decimal(x, scale), lang)

        def format_ticks(self, values):
            ds = [_tick_decimal(v, scale) for v in values]
            places = min(max((_decimals(d) for d in ds), default=0), 6)
            from decimal import Decimal

            q = Decimal(1).scaleb(-places)
            return [_plain_number(d.quantize(q), lang, keep_zeros=True) for d in ds]

    return NumberFormatter()


def house_axes(ax, lang: str) -> None:
    """Give an axes the house number format on both axes (called by ``P.figure``).

    English tick labels get thousands separators. The formatter stays marked as
    the default, so a categorical or date axis still gets its own labels and
    ``set_xscale("log")`` still installs the log formatter.
    """
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(number_formatter(lang))
        axis.isDefault_majfmt = True


#: Money display units: English converts to ¥ bn / ¥ m; Chinese keeps the printed unit.
_MONEY_EN = {"万亿元": (9, "¥ bn"), "亿元": (9, "¥ bn"), "万元": (6, "¥ m"), "元": (0, "¥")}


def money_unit(unit: str, lang: str) -> tuple[int, str]:
    """Display unit of a money axis for values stored in the printed ``unit``.

    Parameters
    ----------
    unit : str
        The printed unit of the plotted values (``"亿元"``, ``"万元"``, ``"万亿元"``, ``"元"``).
    lang : {"en", "zh"}

    Returns
    -------
    (int, str)
        Power of ten to apply to a printed value, and the unit label:
        ``("亿元", "en") -> (-1, "¥ bn")``, ``("万元", "en") -> (-2, "¥ m")``,
        ``("亿元", "zh") -> (0, "亿元")``.
    """
    from . import units

    if unit not in _MONEY_EN:
        raise ParameterError(f"money unit {unit!r} is not allowed; use one of {', '.join(map(repr, _MONEY_EN))}")
    if lang == "zh":
        return 0, unit
    exp, label = _MONEY_EN[unit]
    return units.scale_of(unit) - exp, label


def money_axis(ax, unit: str, lang: str, which: str = "x") -> str:
    """Format a money axis whose data are in the printed ``unit``; return its unit label.

    The data stay in the printed unit (exact, as in ``data/``); only the tick
    labels are converted, by a power of ten (so round ticks stay round):
    English shows ¥ bn (亿元, 万亿元) or ¥ m (万元) with thousands separators,
    Chinese shows the printed unit.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    unit : str
        Printed unit of the plotted values.
    lang : {"en", "zh"}
    which : {"x", "y"}

    Returns
    -------
    str
        The unit for the axis label, e.g. ``"¥ bn"`` or ``"亿元"``.

    Examples
    --------
    >>> ax.barh(names, [float(v) for v in values])          # doctest: +SKIP
    >>> u = money_axis(ax, "亿元", P.lang)                   # doctest: +SKIP
    >>> ax.set_xlabel(P.t(f"Contract value ({u})", f"成交额（{u}）"))  # doctest: +SKIP
    """
    if which not in ("x", "y"):
        raise ParameterError(f"which {which!r} is not allowed; use 'x' or 'y'")
    exp, label = money_unit(unit, lang)
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(number_formatter(lang, exp))
    return label


def role_colours(roles) -> list[str]:
    """Colours for a sequence of roles: ``"shanghai"``, ``"context"`` or ``"derived"``.

    Examples
    --------
    >>> role_colours(["shanghai", "context", "derived"])
    ['#D55E00', '#9A9A9A', '#BDBDBD']
    """
    table = {"shanghai": HIGHLIGHT, "context": CONTEXT, "derived": DERIVED}
    out = []
    for r in roles:
        if r not in table:
            raise ParameterError(f"colour role {r!r} is not allowed; use 'shanghai', 'context' or 'derived'")
        out.append(table[r])
    return out
