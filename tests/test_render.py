"""Figure files as bytes (shdata.render): PDF fonts stay TrueType with the right glyphs."""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path

import pytest

from shdata import render, style

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture
def zh_figure():
    with plt.rc_context():
        style.apply("zh")
        fig, ax = plt.subplots(figsize=(3.5, 1.5))
        ax.barh(["上海", "长三角（苏浙皖）"], [592, 1491])
        ax.set_xlabel("技术交易额（亿元）")
        fig.text(0.01, 0.99, "上海输出占四成", fontweight="bold", va="top")
        yield fig
        plt.close(fig)


def embedded_fonts(pdf: bytes):
    from fontTools.ttLib import TTFont

    fonts = []
    for m in re.finditer(rb"/FontFile2 (\d+) 0 R", pdf):
        obj = re.search(rb"\n" + m.group(1) + rb" 0 obj\n<<.*?>>\nstream\n", pdf, re.DOTALL)
        assert obj is not None, f"font object {m.group(1)!r} not found in the PDF"
        end = pdf.index(b"endstream", obj.end())
        fonts.append(TTFont(io.BytesIO(zlib.decompress(pdf[obj.end() : end]))))
    return fonts


def test_pdf_embeds_truetype_subsets_with_the_original_outlines(zh_figure):
    from fontTools.ttLib import TTFont

    meta = render.Metadata(title="t", caption="c", provenance="{}")
    pdf = render.render(zh_figure, "pdf", meta, 300)
    assert b"/Type3" not in pdf and b"/CIDFontType2" in pdf
    fonts = embedded_fonts(pdf)
    assert fonts and all("glyf" in f and "GSUB" not in f for f in fonts)
    originals = {p.name: TTFont(p) for p in style.font_paths()}
    checked = 0
    for f in fonts:
        family = f["name"].getDebugName(4) or ""
        src = next((o for n, o in originals.items() if ("Bold" in n) == ("Bold" in family) and "Noto" in family), None)
        if src is None:
            continue
        cmap = f.getBestCmap() or {}
        for code, name in cmap.items():
            if code in (0x4E0A, 0x6D77):  # 上, 海
                sub_glyph = f["glyf"][name]
                orig_glyph = src["glyf"][src.getBestCmap()[code]]
                assert sub_glyph.getCoordinates(f["glyf"])[0] == orig_glyph.getCoordinates(src["glyf"])[0]
                checked += 1
    assert checked >= 2


def test_rendering_is_deterministic(zh_figure):
    meta = render.Metadata(title="t", caption="c", provenance="{}")
    first = render.render_all(zh_figure, ("png", "svg", "pdf"), meta, 150)
    assert render.render_all(zh_figure, ("png", "svg", "pdf"), meta, 150) == first


def test_preview_is_the_png_scaled_down(zh_figure):
    from PIL import Image

    meta = render.Metadata(title="t", caption="c", provenance="{}")
    png = render.render(zh_figure, "png", meta, 300)
    small = render.preview_png(zh_figure, png, 300, 110)
    with Image.open(io.BytesIO(png)) as big, Image.open(io.BytesIO(small)) as im:
        assert abs(im.width - big.width * 110 / 300) <= 1 and abs(im.height - big.height * 110 / 300) <= 1


def test_lean_pdf_fonts_keep_their_own_timestamp_so_pdfs_are_reproducible():
    """The font a PDF embeds carries the source font's head.modified, never the time of the run
    (fontTools stamps the current time on save unless told not to, so PDFs built a second apart differed)."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    latin = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=False)
    for path in [*map(str, style.font_paths()), latin]:
        lean = TTFont(io.BytesIO(render._lean_font.__wrapped__(path, 0)))
        assert lean["head"].modified == TTFont(path, lazy=True)["head"].modified, path


def test_the_png_drawn_for_the_linter_is_the_png_savefig_writes(zh_figure):
    # publish() draws once at the PNG's dpi, lints that drawing and keeps its PNG.
    meta = render.Metadata(title="t", caption="c", provenance='{"figure":"x"}')
    render.freeze_layout(zh_figure)
    saved = render.render(zh_figure, "png", meta, 300)
    with render.agg_canvas(zh_figure), render.at_dpi(zh_figure, 300):
        drawn = render.draw_png(zh_figure, meta)
    assert drawn == saved
    assert zh_figure.dpi != 300  # the figure gets its own dpi back


@pytest.mark.parametrize("label", ["Shanghai's share: 1,491 ¥ bn (2023) – 40%", "Armenian Ա is not in the lean ranges"])
def test_pdf_subset_from_the_lean_font_is_the_subset_from_the_whole_font(label, monkeypatch):
    # DejaVu Sans has 6,241 glyphs; subsetting from a copy with only the common ranges is
    # several times faster and must give the very same PDF (or fall back when a glyph is missing).
    meta = render.Metadata(title="t", caption="c", provenance="{}")

    def pdf() -> bytes:
        with plt.rc_context():
            style.apply("en")
            fig, ax = plt.subplots(figsize=(3.5, 1.5))
            ax.barh([label[:12], "Other"], [592, 1491])
            ax.set_xlabel(label)
            try:
                return render.render(fig, "pdf", meta, 300)
            finally:
                plt.close(fig)

    lean = pdf()
    monkeypatch.setattr(render, "_few_glyphs", lambda path, face: None)
    assert pdf() == lean


def test_pdf_bytes_do_not_depend_on_where_the_font_files_are(tmp_path):
    """An English standalone figure quotes the report's Chinese title, so its PDF embeds a font of
    matplotlib's and one of shdata's. matplotlib orders embedded fonts by their files' absolute
    paths: with the project checked out beside another environment, the fonts came out in
    another order. Here the two files swap which one's folder sorts first; the PDF must not change."""
    import shutil

    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    latin = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    cjk = Path(render.__file__).parent / "fonts" / "NotoSansCJKsc-Regular-subset.ttf"

    def pdf(latin_folder: str, cjk_folder: str) -> bytes:
        where = tmp_path / f"{latin_folder}{cjk_folder}"
        paths = []
        for font, folder in ((latin, latin_folder), (cjk, cjk_folder)):
            (where / folder).mkdir(parents=True)
            paths.append(shutil.copy(font, where / folder / font.name))
        fig = Figure(figsize=(3, 1))
        fig.text(0.1, 0.6, "Shanghai 1,234", fontproperties=FontProperties(fname=paths[0]))
        fig.text(0.1, 0.2, "《2023上海科技进步报告》", fontproperties=FontProperties(fname=paths[1]))
        return render.render(fig, "pdf", render.Metadata(title="t", caption="c", provenance="{}"), 300)

    latin_first, cjk_first = pdf("a", "b"), pdf("b", "a")
    assert b"DejaVuSans" in latin_first and b"NotoSansCJK" in latin_first
    assert latin_first == cjk_first
