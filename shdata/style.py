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
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}
HIGHLIGHT = OKABE_ITO["vermillion"]   # Shanghai, everywhere
BASE = OKABE_ITO["blue"]              # the main series
CONTEXT = "#9A9A9A"                   # other cities, reference values
SECONDARY = OKABE_ITO["sky_blue"]     # a second series (e.g. cumulative vs new)
DERIVED = "#BDBDBD"                   # values computed by shdata, not printed
PALETTE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue",
                                  "vermillion", "yellow", "black")]

# Column widths in millimetres: Nature's 89/183 mm, Science's 57/121/184 mm are close.
WIDTHS_MM = {"single": 89.0, "onehalf": 136.0, "double": 183.0}
MM_PER_INCH = 25.4

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
            raise ParameterError(f"width {width!r} is not allowed; use one of "
                                 f"{', '.join(repr(w) for w in WIDTHS_MM)} or a number of millimetres (40-300)")
        return WIDTHS_MM[width] / MM_PER_INCH
    mm = float(width)
    if not 40 <= mm <= 300:
        raise ParameterError(f"width {width!r} mm is not allowed; use 40-300 mm or one of "
                             f"{', '.join(repr(w) for w in WIDTHS_MM)}")
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
    family = [LATIN_FAMILY, CJK_FAMILY, *fallbacks] if lang == "en" else \
        [CJK_FAMILY, LATIN_FAMILY, *fallbacks]
    return {
        "font.family": family,
        "font.size": 7.0,            # journals ask for 5-8 pt at final size
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
        "axes.prop_cycle": cycler(color=PALETTE),
        "axes.unicode_minus": False,   # a hyphen-minus renders in every font
        "legend.frameon": False,
        "figure.dpi": 100,
        # The saved file is exactly the column width: no "tight" bbox that grows
        # the canvas; constrained layout makes room for labels inside it.
        "savefig.bbox": None,
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.h_pad": 0.02,
        "figure.constrained_layout.w_pad": 0.02,
        "pdf.fonttype": 42,            # TrueType, not Type 3
        "ps.fonttype": 42,
        "svg.fonttype": "path",        # glyphs as outlines: renders without the font
        "svg.hashsalt": "shdata",      # fixed ids: byte-identical SVG
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
