"""Figure files as bytes: every format of one figure, deterministic, with embedded metadata.

:func:`render_all` renders a figure in each requested format into memory, so
that :func:`shdata.notebook.Params.publish` writes nothing until every variant
has passed the linter, and then writes each file atomically. The notebook
preview is a downsampled copy of the full-resolution PNG rather than a second
rendering.
"""
from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass

from . import __version__


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
            return {"Title": self.title, "Subject": self.caption, "Keywords": self.provenance,
                    "Creator": f"shdata {__version__}", "CreationDate": when, "ModDate": when, **extra}
        if fmt == "svg":
            return {"Title": self.title, "Description": f"{self.caption}\n{self.provenance}",
                    "Date": when.isoformat() if when else None, "Creator": f"shdata {__version__}"}
        return {"Title": self.title, "Description": self.caption, "Software": None, "Source": self.provenance,
                **extra}


def render(fig, fmt: str, meta: Metadata, dpi: int) -> bytes:
    """One file of ``fig`` in ``fmt`` (png, svg or pdf) as bytes."""
    from .text import quiet_custom_pdf_keys, svg_with_desc

    buf = io.BytesIO()
    kw = {"dpi": dpi} if fmt == "png" else {}
    with quiet_custom_pdf_keys():
        fig.savefig(buf, format=fmt, metadata=meta.for_format(fmt), **kw)
    data = buf.getvalue()
    if fmt == "svg":
        data = svg_with_desc(data, meta.alt)
    return data


def render_all(fig, formats, meta: Metadata, dpi: int) -> dict[str, bytes]:
    """Every requested format of ``fig``, in the order given."""
    return {fmt: render(fig, fmt, meta, dpi) for fmt in formats}


def preview_png(fig, png: bytes | None, dpi: int, preview_dpi: int) -> bytes:
    """A light PNG for the notebook: the full PNG scaled down, or a fresh low-resolution render."""
    if png is None or dpi <= preview_dpi:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=preview_dpi, metadata={"Software": None})
        return buf.getvalue()
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        size = (max(1, round(im.width * preview_dpi / dpi)), max(1, round(im.height * preview_dpi / dpi)))
        small = im.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=False)
    return out.getvalue()
