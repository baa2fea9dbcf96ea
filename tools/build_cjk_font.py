#!/usr/bin/env python3
"""Build the bundled Simplified Chinese font subset in ``shdata/fonts/``.

Maintainer tool; the package and its users never run it. It needs only the
standard library and fontTools (installed in ``.venv`` as a matplotlib
dependency)::

    .venv/bin/python tools/build_cjk_font.py SOURCE_FONT [--index N] [--output PATH]

SOURCE_FONT is an OpenType font or collection, normally Debian's
``fonts-noto-cjk`` file ``/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc``
with ``--index 2`` (the face "Noto Sans CJK SC"). The script

1. collects the characters to cover: every non-ASCII character in
   ``data/*.csv``, ``data/datapackage.json``, ``notebooks/*.ipynb`` and
   ``shdata/**/*.py``, plus a fixed base set (printable ASCII, Latin-1,
   general punctuation and a few symbols, all GB 2312 non-hanzi rows
   0xA1-0xA9, all 3755 GB 2312 level-1 hanzi, U+3000-U+303F and
   U+FF00-U+FFEF);
2. subsets the source font to those characters with ``fontTools.subset``
   (keeping the default layout features plus the CJK spacing/vertical ones,
   only the Simplified Chinese language system, and no hinting);
3. converts the CFF outlines to TrueType (glyf) quadratic outlines, because
   matplotlib's PDF backend with ``pdf.fonttype = 42`` embeds glyf fonts
   cleanly as "CID TrueType" but CFF-based OpenType fonts with a font type /
   font file mismatch;
4. writes ``shdata/fonts/<PostScriptName>-subset.ttf`` deterministically: the
   same source font, repository text and fontTools version give a
   byte-identical file (head.created/modified are copied from the source).

Characters that the source font lacks are reported and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
from pathlib import Path

from fontTools import subset as ft_subset
from fontTools import version as fonttools_version
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

ROOT = Path(__file__).resolve().parent.parent
FONT_DIR = ROOT / "shdata" / "fonts"

# Maximum deviation, in font units (1000/em here), of the quadratic outlines
# from the cubic ones. 1.0 is fontTools' otf2ttf default and invisible at any
# size a figure uses.
MAX_ERR = 1.0

# Layout features kept besides fontTools.subset's defaults: CJK proportional /
# half-width punctuation spacing and vertical forms (cheap, and harmless for
# renderers that ignore them).
# OpenType language systems kept (besides each script's default one).
KEEP_LANGUAGE_SYSTEMS = {"ZHS "}

EXTRA_LAYOUT_FEATURES = ["halt", "palt", "vert", "vrt2", "vhal", "vpal", "vkrn"]


# --------------------------------------------------------------------------
# Character set
# --------------------------------------------------------------------------


def project_text_files() -> list[Path]:
    """The repository files whose non-ASCII characters the font must cover."""
    files: list[Path] = []
    files += sorted((ROOT / "data").glob("*.csv"))
    files += [p for p in [ROOT / "data" / "datapackage.json"] if p.is_file()]
    files += sorted((ROOT / "notebooks").glob("*.ipynb"))
    files += sorted((ROOT / "shdata").glob("**/*.py"))
    return files


def project_chars() -> set[int]:
    chars: set[int] = set()
    for path in project_text_files():
        text = path.read_text(encoding="utf-8")
        chars.update(ord(ch) for ch in text if ord(ch) > 0x7F)
    return chars


def gb2312_chars(rows: range) -> set[int]:
    """Characters of the given GB 2312 rows (EUC-CN lead bytes), undefined cells skipped."""
    chars: set[int] = set()
    for lead in rows:
        for trail in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):  # undefined cell
                chars.add(ord(bytes((lead, trail)).decode("gb2312")))
    return chars


def base_chars() -> set[int]:
    chars: set[int] = set()
    chars.update(range(0x20, 0x7F))  # printable ASCII
    chars.update(range(0xA0, 0x100))  # Latin-1 supplement (°, ±, ×, ·, é ...)
    chars.update(range(0x2010, 0x2028))  # dashes, quotes, bullets, ellipsis
    chars.update(range(0x2030, 0x205F))  # per mille, primes, ※ ...
    chars.update(
        {
            0x2103,
            0x2116,
            0x2122,  # ℃ № ™
            0x2212,
            0x2215,
            0x2248,
            0x2260,
            0x2264,
            0x2265,
        }
    )  # − ∕ ≈ ≠ ≤ ≥
    chars.update(range(0x3000, 0x3040))  # CJK symbols and punctuation
    chars.update(range(0xFF00, 0xFFF0))  # half-width and full-width forms
    chars.update(gb2312_chars(range(0xA1, 0xAA)))  # GB 2312 symbol rows (incl. Greek, pinyin)
    level1 = gb2312_chars(range(0xB0, 0xD8))  # GB 2312 level-1 hanzi
    if len(level1) != 3755:
        raise SystemExit(f"expected 3755 GB 2312 level-1 hanzi, got {len(level1)}")
    chars.update(level1)
    return chars


# --------------------------------------------------------------------------
# Font work
# --------------------------------------------------------------------------


def drop_other_language_systems(font: TTFont, keep: set[str]) -> None:
    """Remove GSUB/GPOS language systems other than ``keep`` (the default ones stay).

    Noto Sans CJK carries ``locl`` substitutions to the Japanese, Korean and
    Traditional Chinese glyph forms (about 3300 extra glyphs for our character
    set). A Simplified Chinese subset needs none of them; the Simplified
    Chinese ``locl`` (ZHS) lookup is kept.
    """
    for tag in ("GSUB", "GPOS"):
        if tag not in font:
            continue
        table = font[tag].table
        if table.ScriptList is None:
            continue
        for record in table.ScriptList.ScriptRecord:
            script = record.Script
            script.LangSysRecord = [r for r in script.LangSysRecord if r.LangSysTag in keep]
            script.LangSysCount = len(script.LangSysRecord)


def subset_font(font: TTFont, unicodes: list[int]) -> None:
    options = ft_subset.Options()
    options.layout_features = list(options.layout_features) + EXTRA_LAYOUT_FEATURES
    options.hinting = False  # CFF hints are meaningless once converted
    options.desubroutinize = True  # simpler charstrings for the conversion
    options.notdef_outline = True
    options.name_IDs = ["*"]  # keep copyright, trademark, licence (0, 7, 13, 14)
    options.name_languages = ["*"]
    options.name_legacy = True
    options.glyph_names = False
    options.recalc_timestamp = False
    subsetter = ft_subset.Subsetter(options=options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)


def cff_to_glyf(font: TTFont) -> None:
    """Replace the CFF table with quadratic glyf/loca outlines (fontTools' otf2ttf recipe)."""
    if "CFF " not in font:
        if "glyf" in font:
            return  # already TrueType outlines
        raise SystemExit("source font has neither CFF nor glyf outlines")
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()

    glyphs = {}
    for name in glyph_order:
        tt_pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(tt_pen, MAX_ERR, reverse_direction=True))
        glyphs[name] = tt_pen.glyph()

    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:  # only meaningful for CFF outlines
        del font["VORG"]
    glyf.compile(font)

    # Left side bearings must equal xMin for glyf fonts.
    hmtx = font["hmtx"]
    for name, glyph in glyf.glyphs.items():
        if hasattr(glyph, "xMin"):
            hmtx[name] = (hmtx[name][0], glyph.xMin)

    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    maxp.maxTwilightPoints = 0
    maxp.maxStorage = 0
    maxp.maxFunctionDefs = 0
    maxp.maxInstructionDefs = 0
    maxp.maxStackElements = 0
    maxp.maxSizeOfInstructions = 0
    maxp.maxComponentElements = max((len(getattr(g, "components", [])) for g in glyphs.values()), default=0)
    maxp.compile(font)  # fills numGlyphs, maxPoints, maxContours, ... from glyf

    post = font["post"]
    post.formatType = 3.0  # no glyph names: the CID source has only "cidNNNNN" names
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = glyph_order

    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def build(source: Path, index: int, output: Path | None) -> Path:
    font = TTFont(str(source), fontNumber=index, recalcTimestamp=False)
    created, modified = font["head"].created, font["head"].modified
    family = font["name"].getDebugName(1)
    ps_name = font["name"].getDebugName(6) or family.replace(" ", "")
    cmap = font.getBestCmap()

    wanted = project_chars() | base_chars()
    covered = sorted(u for u in wanted if u in cmap)
    missing = sorted(u for u in wanted if u not in cmap)
    from_project = project_chars()
    missing_project = [u for u in missing if u in from_project]
    missing_base = [u for u in missing if u not in from_project]

    drop_other_language_systems(font, KEEP_LANGUAGE_SYSTEMS)
    subset_font(font, covered)
    cff_to_glyf(font)

    head = font["head"]
    head.created, head.modified = created, modified  # determinism: no build timestamp

    if output is None:
        output = FONT_DIR / f"{ps_name}-subset.ttf"
    output.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(output))

    data = output.read_bytes()
    check = TTFont(str(output))
    n_cmap = len(check.getBestCmap())
    print(f"source:   {source} (face {index}: {family}, {font['name'].getDebugName(5)})")
    print(f"fontTools {fonttools_version}")
    print(
        f"chars:    {len(wanted)} wanted ({len(from_project)} from the project files), "
        f"{len(covered)} covered, cmap of output: {n_cmap} code points, "
        f"{check['maxp'].numGlyphs} glyphs"
    )
    if missing_project:
        print(
            "WARNING: project characters missing from the source font: "
            + " ".join(f"U+{u:04X}" for u in missing_project),
            file=sys.stderr,
        )
    if missing_base:
        print(
            f"note:     {len(missing_base)} base-set code points not in the source font "
            "(unassigned or unsupported), skipped"
        )
    print(f"output:   {output} ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "source", type=Path, help="source .otf/.ttf/.ttc, e.g. /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    )
    parser.add_argument(
        "--index",
        type=int,
        default=0,
        help="face index in a .ttc collection (Noto Sans CJK SC is 2 in Debian's NotoSansCJK-*.ttc); default 0",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="output path; default shdata/fonts/<PostScriptName>-subset.ttf"
    )
    args = parser.parse_args(argv)
    build(args.source, args.index, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
