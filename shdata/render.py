"""Figure files as bytes: every format of one figure, deterministic, with embedded metadata.

:func:`render_all` renders a figure in each requested format into memory, so
that :func:`shdata.notebook.Params.publish` writes nothing until every variant
has passed the linter, and then writes each file atomically. The notebook
preview is a downsampled copy of the full-resolution PNG rather than a second
rendering.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from . import _fontcache

# Tables a PDF never reads: text is already laid out, so OpenType layout and
# vertical metrics only cost subsetting time (they were a quarter of writing a figure).
_PDF_UNUSED_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "vhea", "vmtx", "VORG")


@dataclass(frozen=True)
class Metadata:
    """What every file of a figure carries: title, caption, provenance JSON, optional date."""

    title: str
    caption: str
    provenance: str
    when: _dt.datetime | None = None
    headline: str = ""
    alt: str = ""

    def for_format(self, fmt: str) -> dict:
        from .text import file_metadata

        when = self.when
        extra = file_metadata(fmt, self.headline, self.alt)
        if fmt == "pdf":
            return {
                "Title": self.title,
                "Subject": self.caption,
                "Keywords": self.provenance,
                "Creator": f"shdata {__version__}",
                "CreationDate": when,
                "ModDate": when,
                **extra,
            }
        if fmt == "svg":
            return {
                "Title": self.title,
                "Description": f"{self.caption}\n{self.provenance}",
                "Date": when.isoformat() if when else None,
                "Creator": f"shdata {__version__}",
            }
        return {"Title": self.title, "Description": self.caption, "Software": None, "Source": self.provenance, **extra}


@lru_cache(maxsize=16)
def _lean_font(path: str, face_index: int) -> bytes:
    """The font at ``path`` without the tables a PDF does not use, made once per process.

    Read from the disk cache when a process made it before (:mod:`shdata._fontcache`,
    keyed by the file's bytes, not its path), else made by :func:`_make_lean_font`.
    """
    from ._fontcache import FontFile

    return _lean_font_of(FontFile.read(path), face_index)


# Keyed by the file's sha256, and holding its bytes (4 MB for the house fonts) for as long.
@lru_cache(maxsize=16)
def _lean_font_of(font: _fontcache.FontFile, face_index: int) -> bytes:
    """:func:`_lean_font` of these bytes of a font file (remembered by their sha256).

    :func:`_few_glyphs` starts from the lean copy of the very bytes its disk cache
    key names: a copy remembered by path could come from an older version of the
    file, and would then be stored under the new version's key.
    """
    from . import _fontcache

    return _fontcache.lean_font(font, face_index, _recipe, lambda: _make_lean_font(font.data, face_index))


def _make_lean_font(data: bytes, face_index: int) -> bytes:
    """The lean copy of the font file ``data`` (the bytes :func:`_lean_font` returns)."""
    from fontTools.ttLib import TTFont

    # recalcTimestamp=False: saving must keep the font's own head.modified, not stamp the time
    # of this run into every PDF (which made PDFs differ between builds). TTFont reads a path
    # into memory and parses those bytes, as it parses these.
    font = TTFont(io.BytesIO(data), fontNumber=face_index if face_index else -1, recalcTimestamp=False)
    for tag in _PDF_UNUSED_TABLES:
        if tag in font:
            del font[tag]
    # Glyph names stored in 'post' (format 2) instead of derived from 'cmap' on
    # every load, and one Unicode cmap subtable instead of two: both were most of
    # the remaining subsetting time. Names and mappings are unchanged.
    order = font.getGlyphOrder()
    if "post" in font and font["post"].formatType == 3.0:
        post = font["post"]
        post.formatType = 2.0
        post.extraNames = []
        post.mapping = {}
        post.glyphOrder = order
    cmap = font.get("cmap")
    if cmap is not None:
        best = cmap.getBestCmap()
        if best and max(best) <= 0xFFFF:
            cmap.tables = [t for t in cmap.tables if (t.platformID, t.platEncID, t.format) == (3, 1, 4)] or cmap.tables
    buf = io.BytesIO()
    font.save(buf, reorderTables=False)
    return buf.getvalue()


def _subset_options():
    from fontTools import subset

    options = subset.Options(glyph_names=True, recommended_glyphs=True)
    options.drop_tables += [
        "FFTM",
        "PfEd",
        "BDF",
        "meta",
        "MERG",
        "TSIV",
        "Zapf",
        "bdat",
        "bloc",
        "cidg",
        "fdsc",
        "feat",
        "fmtx",
        "fond",
        "just",
        "kerx",
        "ltag",
        "morx",
        "trak",
        "xref",
        *_PDF_UNUSED_TABLES,
    ]
    options.layout_features = []
    return options


#: Unicode ranges whose glyphs a large font's lean copy keeps (see :func:`_few_glyphs`): Latin,
#: Greek, punctuation, super- and subscripts, currency, letterlike symbols, number forms,
#: arrows, mathematical operators, box drawing and geometric shapes.
LEAN_RANGES = ((0x20, 0x24F), (0x370, 0x3FF), (0x2000, 0x22FF), (0x2500, 0x25FF))
#: Fonts with fewer glyphs than this are subset from the (table-lean) whole font.
LEAN_MIN_GLYPHS = 2000
#: Bump when a change to the lean fonts' code changes what :func:`_lean_font` or :func:`_few_glyphs`
#: return: it is part of their disk cache's key (:func:`_recipe`), so old entries are not read.
LEAN_FONT_VERSION = 1


def _recipe() -> str:
    """Everything of shdata's that :func:`_lean_font` and :func:`_few_glyphs` depend on, as JSON.

    Part of their disk cache's key (:mod:`shdata._fontcache`), with the font file's
    bytes and fontTools' version: the tables dropped, the subsetting options, the
    ranges and threshold of the few-glyph copy, :data:`LEAN_FONT_VERSION`, and the
    bytecode of the functions that make the copies (so that a change nobody
    bumped the version for still gets new entries). Made on each lookup (a
    fraction of a millisecond), so it always describes the code running now.
    """
    import json

    from ._fontcache import code_digest

    def jsonable(value):
        # Options are bools, numbers, strings and lists today; a set would list in hash order.
        return sorted(value, key=repr) if isinstance(value, set | frozenset) else repr(value)

    recipe = {
        "version": LEAN_FONT_VERSION,
        "unused_tables": _PDF_UNUSED_TABLES,
        "options": vars(_subset_options()),
        "ranges": LEAN_RANGES,
        "min_glyphs": LEAN_MIN_GLYPHS,
        "code": code_digest(_make_lean_font, _make_few_glyphs, _subset_options),
    }
    return json.dumps(recipe, sort_keys=True, default=jsonable)


@lru_cache(maxsize=16)
def _common_gids(path: str, face_index: int) -> frozenset[int] | None:
    """Glyph ids of a large font that some code point in :data:`LEAN_RANGES` maps to (None if small).

    Read with FreeType (matplotlib's ``FT2Font``), which maps code points to the
    same glyph ids matplotlib asks for, in a millisecond: parsing the glyph
    names with fontTools took a tenth of a second per font and process.
    """
    from matplotlib.ft2font import FT2Font

    font = FT2Font(path, face_index=face_index)
    if font.num_glyphs < LEAN_MIN_GLYPHS:
        return None
    return frozenset(g for cp, g in font.get_charmap().items() if any(lo <= cp <= hi for lo, hi in LEAN_RANGES))


@lru_cache(maxsize=16)
def _few_glyphs(path: str, face_index: int) -> tuple[bytes, dict[int, int]] | None:
    """A copy of a large font with only the glyphs of :data:`LEAN_RANGES`, and original → lean glyph ids.

    Read from the disk cache when a process made it before (:mod:`shdata._fontcache`),
    else made by :func:`_make_few_glyphs`. ``None`` for fonts small enough to subset whole.
    """
    from . import _fontcache

    font = _fontcache.FontFile.read(path)
    return _fontcache.few_glyphs(font, face_index, _recipe, lambda: _make_few_glyphs(_lean_font_of(font, face_index)))


def _make_few_glyphs(lean: bytes) -> tuple[bytes, dict[int, int]] | None:
    """The value of :func:`_few_glyphs` made from ``lean``, the font's lean copy (:func:`_lean_font`).

    Subsetting reads every glyph's metrics, outline offsets and name, so its cost
    grows with the font (DejaVu Sans has 6,241 glyphs; a figure uses fifty). This
    copy is itself made by the same subsetter with the same options, so a subset
    taken from it is the subset taken from the whole font: same glyphs, names,
    order, metrics, outlines, hinting and cmap entries (every code point of a kept
    glyph is kept). ``None`` for fonts small enough to subset whole.
    """
    from fontTools import subset

    options = _subset_options()
    # Loaded as matplotlib loads the final subset (no bounds recalculation): glyphs that are not
    # changed keep their exact bytes through both passes.
    font = subset.load_font(io.BytesIO(lean), options)
    if font["maxp"].numGlyphs < LEAN_MIN_GLYPHS:
        return None
    cmap = font.getBestCmap() or {}
    names = {name for cp, name in cmap.items() if any(lo <= cp <= hi for lo, hi in LEAN_RANGES)}
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(gids=sorted({0, *(font.getGlyphID(n) for n in names)}))
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf, reorderTables=False)
    return buf.getvalue(), dict(subsetter.glyph_index_map)


def _glyphs_subset(fontfile, glyphs):
    """matplotlib's ``get_glyphs_subset`` on a lean font: same glyph ids, fewer tables (and glyphs).

    Glyph order is unchanged by dropping tables, so matplotlib's glyph indices
    stay valid; the embedded font is still TrueType (Type 42, "CID TrueType").
    For a large font whose lean copy (:func:`_few_glyphs`) holds every glyph
    asked for, the subset is taken from that copy and the glyph index map is
    composed back to the original font's ids.
    """
    from fontTools import subset
    from matplotlib.backends import _backend_pdf_ps as pdfps

    path, face = str(fontfile), getattr(fontfile, "face_index", 0) or 0
    glyphs = list(glyphs)
    options = _subset_options()
    common = _common_gids(path, face)
    # The lean copy is made only when a PDF asks for nothing but common glyphs: a Chinese
    # font's copy would never serve (its text is outside LEAN_RANGES).
    few = _few_glyphs(path, face) if common is not None and common.issuperset(glyphs) else None
    if few is not None and all(g in few[1] for g in glyphs):
        data, to_few = few
        font = subset.load_font(io.BytesIO(data), options)
        subsetter = subset.Subsetter(options=options)
        subsetter.populate(gids=[to_few[g] for g in glyphs])
        subsetter.subset(font)
        final = subsetter.glyph_index_map
        index_map = {orig: final[lean] for orig, lean in to_few.items() if lean in final}
        return pdfps.SubsetResults(font, index_map)._as_cm()
    font = subset.load_font(io.BytesIO(_lean_font(path, face)), options)
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(gids=glyphs)
    subsetter.subset(font)
    return pdfps.SubsetResults(font, subsetter.glyph_index_map)._as_cm()


def house_font_files() -> list[str]:
    """The font files the house style draws with: the bundled CJK faces and the regular and bold
    faces matplotlib chooses for the Latin family."""
    from matplotlib import font_manager as fm

    from .style import LATIN_FAMILY, font_paths

    # findfont remembers its answers; setup() registers the bundled fonts and clears them.
    latin = sorted({str(fm.findfont(fm.FontProperties(family=LATIN_FAMILY, weight=w))) for w in ("normal", "bold")})
    return [*(str(p) for p in font_paths()), *latin]


def warm_font_caches(paths: list[str] | None = None) -> None:
    """Fill this process's font caches for PDF subsetting (default: :func:`house_font_files`).

    The caches hold pure functions of the font files (:func:`_lean_font`,
    :func:`_common_gids`, :func:`_few_glyphs`), so a PDF is the same bytes
    whether they were filled now or on first use. A process that forks
    notebook kernels (:mod:`shdata._zygote`) fills them once for all of them:
    made anew they cost about a second of every run, read from the disk cache
    (:mod:`shdata._fontcache`) a small fraction of that.
    """
    for path in house_font_files() if paths is None else paths:
        if path.endswith((".ttf", ".otf")):
            _lean_font(path, 0)
            if _common_gids(path, 0) is not None:
                _few_glyphs(path, 0)


def _fonts_by_file_name(items, /, **kwargs):
    """``sorted`` for matplotlib's PDF backend while it embeds fonts: ``((font file, subset), name)``
    items in the order of the file's name, then of its whole path (anything else as ``sorted``)."""
    items = list(items)
    fonts = all(
        isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], tuple) and i[0] and isinstance(i[0][0], str)
        for i in items
    )
    if kwargs or not fonts:
        return sorted(items, **kwargs)
    return sorted(items, key=lambda i: (os.path.basename(i[0][0]), i[0]))


def _fonts_in_path_independent_order(write_fonts):
    """``PdfFile.writeFonts``, embedding the fonts in the order of their file names.

    matplotlib embeds a PDF's fonts sorted by the absolute paths of their files, so a
    figure that uses a font of shdata/fonts and one of matplotlib's own (an English
    figure quoting the report's Chinese title) came out with its fonts in another order,
    and other bytes, when the project and the environment sat in other folders. Sorted by
    file name, they come out the same wherever they are; for the usual layout (the
    environment in ``.venv`` inside the project) the order is the one it always was.
    The backend's module is lent this ``sorted`` only while it writes the fonts.
    """
    import matplotlib.backends.backend_pdf as backend_pdf

    @functools.wraps(write_fonts)
    def write(self):
        backend_pdf.sorted = _fonts_by_file_name  # type: ignore[attr-defined]
        try:
            return write_fonts(self)
        finally:
            del backend_pdf.sorted  # type: ignore[attr-defined]

    return write


@contextlib.contextmanager
def _pdf_fonts():
    """While a PDF is written, subset fonts with :func:`_glyphs_subset` and embed them in an order
    that does not depend on where their files are (matplotlib 3.11 internals; skipped if absent)."""
    try:
        from matplotlib.backends import _backend_pdf_ps as pdfps
        from matplotlib.backends.backend_pdf import PdfFile
    except ImportError:  # pragma: no cover
        yield
        return
    original = getattr(pdfps, "get_glyphs_subset", None)
    original_write = getattr(PdfFile, "writeFonts", None)
    if original is None or original_write is None or not hasattr(pdfps, "SubsetResults"):  # pragma: no cover
        yield
        return
    pdfps.get_glyphs_subset = _glyphs_subset
    # Lent to the class for this one PDF (savefig makes the PdfFile instance out of our reach).
    PdfFile.writeFonts = _fonts_in_path_independent_order(original_write)  # type: ignore[method-assign]
    try:
        yield
    finally:
        pdfps.get_glyphs_subset = original
        PdfFile.writeFonts = original_write  # type: ignore[method-assign]


@contextlib.contextmanager
def at_dpi(fig, dpi: float | None):
    """Lay out and measure ``fig`` at ``dpi`` (the PNG's), then give it back its own dpi.

    Text extents do not scale linearly with the dpi (glyphs are hinted to whole
    pixels): a 5 pt line measured at the figure's 100 dpi is about 5 % narrower
    than the same line drawn at 300 dpi. Whatever measures text for a file
    (the linter, the standalone wrapping) must measure at the dpi of that file.
    Positions are kept as fractions of the figure, so they survive the change.
    """
    old = fig.dpi
    if dpi is None or float(dpi) == float(old):
        yield fig
        return
    fig.set_dpi(dpi)
    try:
        yield fig
    finally:
        fig.set_dpi(old)


#: Decimal places (of the figure's width and height) that a solved layout keeps: 1e-10 of 183 mm is
#: far below a pixel, and far above the last-bit noise of the constraint solver.
LAYOUT_DIGITS = 10


def freeze_layout(fig) -> None:
    """Lay the figure out once and keep that layout, rounded, for every file written.

    Constrained layout otherwise re-solves on every ``savefig`` (once per
    format); the positions do not depend on the format or the dpi. Solves the
    layout if it has not been solved yet (:func:`settle_layout`).

    The solved positions are rounded to :data:`LAYOUT_DIGITS` places: the
    solver (kiwisolver) orders its variables by memory address, so the same
    figure solved in two processes can differ in the last bits of a position,
    whatever ``PYTHONHASHSEED`` is, and the SVG backend hashes the exact clip
    box into its ``clip-path`` ids. Rounded, the files are byte-identical.

    The figure is left with no layout engine at all (not matplotlib's "none"
    placeholder): with any engine set, every ``savefig`` draws the figure twice,
    once to lay it out and once to write it.
    """
    import matplotlib as mpl
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = fig.get_layout_engine()
    if engine is None:
        return
    if not isinstance(engine, PlaceHolderLayoutEngine):
        engine.execute(fig)
    try:
        fig.set_layout_engine("none")  # refuses when constrained layout made a colorbar
    except RuntimeError:  # a colorbar made by constrained layout: keep re-solving
        return
    # set_layout_engine(None) would fall back to the rcParams' engine; with both off it clears it.
    with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)
    round_layout(fig)


def round_layout(fig, digits: int = LAYOUT_DIGITS) -> None:
    """Round the positions of every axes and figure-level text to ``digits`` places of the figure."""
    from matplotlib.transforms import Bbox

    for ax in fig.axes:
        in_layout = ax.get_in_layout()
        for which in ("original", "active"):
            x0, y0, x1, y1 = (round(float(v), digits) for v in ax.get_position(original=which == "original").extents)
            ax.set_position(Bbox([[x0, y0], [x1, y1]]), which=which)
        ax.set_in_layout(in_layout)  # set_position takes an axes out of the layout; keep the author's choice
    for t in (*fig.texts, *(getattr(fig, n, None) for n in ("_suptitle", "_supxlabel", "_supylabel"))):
        if t is not None and t.get_transform() == fig.transFigure:
            x, y = t.get_position()
            t.set_position((round(float(x), digits), round(float(y), digits)))


def render(fig, fmt: str, meta: Metadata, dpi: int) -> bytes:
    """One file of ``fig`` in ``fmt`` (png, svg or pdf) as bytes."""
    import matplotlib as mpl

    from .text import quiet_custom_pdf_keys, svg_with_desc

    buf = io.BytesIO()
    kw = {"dpi": dpi} if fmt == "png" else {}
    with (
        quiet_custom_pdf_keys(),
        _pdf_fonts() if fmt == "pdf" else contextlib.nullcontext(),
        # savefig switches the layout engine off and, after writing, back to what it was; "back
        # to None" means the rcParams' engine. Off here, a frozen figure stays frozen.
        mpl.rc_context({"figure.constrained_layout.use": False, "figure.autolayout": False}),
    ):
        fig.savefig(buf, format=fmt, metadata=meta.for_format(fmt), **kw)
    data = buf.getvalue()
    if fmt == "svg":
        data = svg_with_desc(data, meta.alt)
    return data


def render_all(fig, formats, meta: Metadata, dpi: int, png: bytes | None = None) -> dict[str, bytes]:
    """Every requested format of ``fig``, in the order given.

    ``png``, when given, is the PNG already drawn at ``dpi`` (see :func:`draw_png`)
    and is used instead of drawing the figure again.
    """
    return {fmt: png if fmt == "png" and png is not None else render(fig, fmt, meta, dpi) for fmt in formats}


@contextlib.contextmanager
def agg_canvas(fig):
    """``fig`` on an Agg canvas (the one it has, or a temporary one), whatever the notebook's backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    old = fig.canvas
    if isinstance(old, FigureCanvasAgg):
        yield old
        return
    canvas = FigureCanvasAgg(fig)  # attaches itself to fig
    try:
        yield canvas
    finally:
        fig.set_canvas(old)


def draw_and_check(fig, dpi: int, meta: Metadata | None, check):
    """Draw ``fig`` once at ``dpi`` on an Agg canvas: the PNG of that drawing, and ``check(fig)`` read from it.

    ``check`` gets the drawn figure (e.g. the linter with ``drawn=True``); the
    figure gets its own dpi and canvas back afterwards. ``meta=None`` draws
    without encoding a PNG (``b""``).
    """
    with agg_canvas(fig), at_dpi(fig, dpi):
        png = draw_png(fig, meta)
        return png, check(fig)


def draw_png(fig, meta: Metadata | None) -> bytes:
    """Draw ``fig`` once on its Agg canvas at its current dpi and return the PNG of that drawing.

    The same bytes as ``savefig(format="png")`` at that dpi: matplotlib's PNG
    writer is the Agg buffer passed to :func:`matplotlib.image.imsave`. After the
    call the canvas holds the drawn state, so the linter can read the geometry of
    exactly the picture written, without a second draw.
    """
    import matplotlib.image as mimage

    canvas = fig.canvas
    canvas.draw()
    if meta is None:
        return b""
    buf = io.BytesIO()
    mimage.imsave(buf, canvas.buffer_rgba(), format="png", origin="upper", dpi=fig.dpi, metadata=meta.for_format("png"))
    return buf.getvalue()


def preview_png(fig, png: bytes | None, dpi: int, preview_dpi: int) -> bytes:
    """A light PNG for the notebook: the full PNG scaled down, or a fresh low-resolution render."""
    if png is None or dpi <= preview_dpi:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=preview_dpi, metadata={"Software": None})
        return buf.getvalue()
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        size = (max(1, round(im.width * preview_dpi / dpi)), max(1, round(im.height * preview_dpi / dpi)))
        # BOX averages whole source pixels: a clean preview at a fraction of LANCZOS's cost.
        small = im.convert("RGBA").resize(size, Image.Resampling.BOX)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=False)
    return out.getvalue()
