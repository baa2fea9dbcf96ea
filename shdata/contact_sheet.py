"""The contact sheet: every figure of one language on one page, with its id.

A reviewer sees the whole set at once: sizes, colours and type that do not
match stand out in a way they never do one file at a time. The sheet is a PNG
composed with Pillow from the figures' own PNG files (no re-rendering), in id
order, so the same figures give the same bytes.

Examples
--------
>>> write_contact_sheet(Path("figures"), "zh")                  # doctest: +SKIP
PosixPath('figures/contact-sheet-zh.png')
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._io import atomic_path
from .errors import ParameterError, ShdataError

#: Width in pixels of one figure on the sheet, and columns per row.
CELL_PX = 900
COLUMNS = 3
GUTTER_PX = 40
LABEL_PX = 34
VARIANTS = ("journal", "standalone")


def sheet_path(figures_dir: Path, lang: str, variant: str = "journal") -> Path:
    """Where the sheet of ``lang`` and ``variant`` goes: ``contact-sheet-<lang>[-standalone].png``."""
    suffix = "" if variant == "journal" else f"-{variant}"
    return Path(figures_dir) / f"contact-sheet-{lang}{suffix}.png"


def _font(size: int):
    from PIL import ImageFont

    from .style import font_paths

    regular = [p for p in font_paths() if "Regular" in p.name] or font_paths()
    return ImageFont.truetype(str(regular[0]), size)


def _thumbnail(path: Path):
    from PIL import Image

    with Image.open(path) as opened:
        im = opened.convert("RGB")
    h = max(1, round(im.height * CELL_PX / im.width))
    return path.stem, im.resize((CELL_PX, h), Image.Resampling.LANCZOS)


def write_contact_sheet(figures_dir: Path, lang: str, variant: str = "journal") -> Path:
    """Write the contact sheet of one language and variant; return its path.

    Parameters
    ----------
    figures_dir : Path
        The figures folder (``figures/``), holding ``<lang>/<id>.png`` and
        ``<lang>/standalone/<id>.png``.
    lang : {"en", "zh"}
    variant : {"journal", "standalone"}

    Returns
    -------
    Path
        ``figures/contact-sheet-<lang>.png`` (journal) or
        ``figures/contact-sheet-<lang>-standalone.png``, written atomically.

    Raises
    ------
    ShdataError
        No PNG figure of that language and variant exists (build with PNG first).
    """
    from PIL import Image, ImageDraw

    if lang not in ("en", "zh"):
        raise ParameterError(f"lang {lang!r} is not allowed; use 'en' or 'zh'")
    if variant not in VARIANTS:
        raise ParameterError(f"variant {variant!r} is not allowed; use 'journal' or 'standalone'")
    figures_dir = Path(figures_dir)
    folder = figures_dir / lang if variant == "journal" else figures_dir / lang / variant
    pngs = sorted(folder.glob("*.png"))
    if not pngs:
        raise ShdataError(f"no PNG figures in {folder}; run `shdata build --lang {lang}` with png in --formats")
    # Pillow decodes and resamples without the GIL: threads make the thumbnails side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        thumbs = list(pool.map(_thumbnail, pngs))
    rows = [thumbs[i : i + COLUMNS] for i in range(0, len(thumbs), COLUMNS)]
    row_h = [LABEL_PX + max(t.height for _, t in row) for row in rows]
    header = 70
    width = COLUMNS * CELL_PX + (COLUMNS + 1) * GUTTER_PX
    height = header + sum(row_h) + (len(rows) + 1) * GUTTER_PX
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    title = f"shdata figures · {lang} · {variant} · {len(thumbs)} figures"
    draw.text((GUTTER_PX, GUTTER_PX), title, fill="black", font=_font(36))
    label_font = _font(24)
    y = header + GUTTER_PX
    for row, rh in zip(rows, row_h, strict=True):
        for k, (fid, im) in enumerate(row):
            x = GUTTER_PX + k * (CELL_PX + GUTTER_PX)
            draw.text((x, y), fid, fill="#333333", font=label_font)
            sheet.paste(im, (x, y + LABEL_PX))
            # A hairline frame shows where each canvas ends.
            draw.rectangle([x - 1, y + LABEL_PX - 1, x + im.width, y + LABEL_PX + im.height], outline="#BBBBBB")
        y += rh + GUTTER_PX
    out = sheet_path(figures_dir, lang, variant)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=False)
    with atomic_path(out) as tmp:
        tmp.write_bytes(buf.getvalue())
    return out
