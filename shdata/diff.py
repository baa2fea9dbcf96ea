"""``shdata diff [REV]``: what a change does to the figures, for review.

Compares the figures in the working tree (``figures/<lang>/<id>.*``) with those
committed at a git revision (default ``HEAD``). For every figure whose files
differ it writes, into ``build/diff/<lang>/``:

- ``<id>.png``: before, after and the pixel difference side by side (changed
  pixels in red over a faded copy of the new figure), from the PNG files;
- ``<id>.diff``: a unified diff of the figure's data: its sidecar ``<id>.json``
  (title, caption, sources, data hash, notes) and, when present, the values
  drawn, ``<id>.csv``.

and prints a summary: figures changed, added and removed. ``build/diff/`` is
replaced as a whole only once everything is written, so it never mixes two
comparisons, and a failed comparison leaves the previous one in place.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ShdataError

#: Files that make up one figure, ``<id>.<ext>``.
FIGURE_EXTS = ("png", "svg", "pdf", "json", "csv")
DATA_EXTS = ("json", "csv")
#: Each panel of the side-by-side image is scaled to at most this width (pixels).
PANEL_WIDTH = 1200
HIGHLIGHT = (213, 94, 0)  # Okabe-Ito vermillion, the house colour for "look here"


class DiffError(ShdataError):
    """The comparison cannot be made (no git repository, unknown revision)."""


@dataclass
class FigureDiff:
    """One figure (one language) that differs between the revision and the working tree."""

    lang: str
    id: str
    status: str  # changed | added | removed
    files: list[str] = field(default_factory=list)  # extensions whose bytes differ
    changed_pixels: float | None = None  # share of pixels that differ, 0-1
    data_changed: bool = False  # the values drawn (csv, data hash) differ
    outputs: list[str] = field(default_factory=list)  # written files, relative to the project

    @property
    def key(self) -> str:
        return f"{self.lang}/{self.id}"


def _git_bytes(root: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except FileNotFoundError:
        raise DiffError("git is not installed; shdata diff compares with a git revision") from None
    if done.returncode != 0:
        msg = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiffError(f"git {' '.join(args[:2])} failed: {msg[-1] if msg else 'exit ' + str(done.returncode)}")
    return done.stdout


def _git(root: Path, *args: str) -> str:
    return _git_bytes(root, *args).decode("utf-8")


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _split(rel: str) -> tuple[str, str, str] | None:
    """``en/x.png`` -> ``("en", "x", "png")``; None for anything that is not a figure file."""
    parts = rel.split("/")
    if len(parts) != 2 or "." not in parts[1]:
        return None
    stem, ext = parts[1].rsplit(".", 1)
    return (parts[0], stem, ext) if ext in FIGURE_EXTS and not stem.startswith(".") else None


def committed_files(root: Path, rev: str, figures: str = "figures") -> dict[str, str]:
    """``{"en/x.png": blob_sha}`` for the figure files at ``rev``."""
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except DiffError:
        raise DiffError(f"unknown revision {rev!r}; give a commit, branch or tag (e.g. HEAD, main, HEAD~1)") from None
    out = {}
    for line in _git(root, "ls-tree", "-r", rev, "--", f"{figures}/").splitlines():
        meta, path = line.split("\t", 1)
        rel = path[len(figures) + 1 :] if path.startswith(figures + "/") else path
        if _split(rel):
            out[rel] = meta.split()[2]
    return out


def working_files(figures_dir: Path) -> dict[str, Path]:
    return {
        f"{p.parent.name}/{p.name}": p for p in sorted(figures_dir.glob("*/*.*")) if _split(f"{p.parent.name}/{p.name}")
    }


# -- images ---------------------------------------------------------------------


def _open_png(data: bytes | None):
    import io

    from PIL import Image

    if data is None:
        return None
    return Image.open(io.BytesIO(data)).convert("RGB")


def side_by_side(before: bytes | None, after: bytes | None, labels: tuple[str, str]):
    """The review image: before | after | difference. Returns ``(PIL.Image, share of pixels changed)``."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

    a, b = _open_png(before), _open_png(after)
    w = max(im.size[0] for im in (a, b) if im is not None)
    h = max(im.size[1] for im in (a, b) if im is not None)

    def pad(im):
        canvas = Image.new("RGB", (w, h), "white")
        if im is not None:
            canvas.paste(im, (0, 0))
        return canvas

    pa, pb = pad(a), pad(b)
    mask = ImageChops.difference(pa, pb).convert("L").point(lambda v: 255 if v else 0)
    share = sum(mask.histogram()[255:]) / (w * h)
    faded = Image.blend(pb.convert("L").convert("RGB"), Image.new("RGB", (w, h), "white"), 0.75)
    scale = min(1.0, PANEL_WIDTH / w)
    # Grow the changed pixels before scaling down, so that a one-pixel change stays visible.
    grow = max(1, int(round(1 / scale))) | 1
    if grow > 1:
        mask = mask.filter(ImageFilter.MaxFilter(min(grow, 9)))
    faded.paste(Image.new("RGB", (w, h), HIGHLIGHT), (0, 0), mask)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    panels = [im.resize(size, Image.Resampling.LANCZOS) for im in (pa, pb, faded)]
    header, gap = 40, 16
    out = Image.new("RGB", (3 * size[0] + 2 * gap, size[1] + header), "white")
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=22)
    titles = (
        labels[0] if a is not None else f"{labels[0]}: (none)",
        labels[1] if b is not None else f"{labels[1]}: (none)",
        f"difference: {share:.2%} of pixels",
    )
    for i, (panel, title) in enumerate(zip(panels, titles, strict=True)):
        x = i * (size[0] + gap)
        out.paste(panel, (x, header))
        draw.rectangle((x, header, x + size[0] - 1, header + size[1] - 1), outline=(187, 187, 187))
        draw.text((x + 4, 8), title, fill="black", font=font)
    return out, share


# -- data -----------------------------------------------------------------------


def _lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)


def data_diff(before: dict[str, bytes | None], after: dict[str, bytes | None], name: str, rev: str) -> str:
    """Unified diff of a figure's data files (``json``, ``csv``), or ``""`` when they are equal."""
    chunks: list[str] = []
    for ext in DATA_EXTS:
        old, new = before.get(ext), after.get(ext)
        if old == new:
            continue
        chunks.extend(
            difflib.unified_diff(
                _lines(old), _lines(new), fromfile=f"{rev}:{name}.{ext}", tofile=f"working tree:{name}.{ext}"
            )
        )
    text = "".join(chunks)
    return text if not text or text.endswith("\n") else text + "\n"


def _data_changed(old: bytes | None, new: bytes | None) -> bool:
    """Whether two sidecars record different data (hash of the source tables), not just new files."""
    import json

    def data_hash(raw: bytes | None):
        try:
            return json.loads(raw or b"{}").get("provenance", {}).get("data_sha256")
        except ValueError:
            return raw

    return old is not None and new is not None and data_hash(old) != data_hash(new)


# -- the comparison -------------------------------------------------------------


def compare(root: Path, rev: str = "HEAD", out_dir: Path | None = None) -> list[FigureDiff]:
    """Compare ``figures/`` at ``rev`` with the working tree and write the review files.

    Parameters
    ----------
    root : pathlib.Path
        The project folder (holding ``figures/``), inside a git repository.
    rev : str
        Any git revision.
    out_dir : pathlib.Path, optional
        Where to write (default ``<root>/build/diff``); replaced as a whole.

    Returns
    -------
    list of FigureDiff
        Sorted by status, language and id.
    """
    root = Path(root)
    out_dir = Path(out_dir) if out_dir else root / "build" / "diff"
    old = committed_files(root, rev)
    new = working_files(root / "figures")
    changed_paths = {
        rel
        for rel in old.keys() | new.keys()
        if rel not in old or rel not in new or _blob_sha(new[rel].read_bytes()) != old[rel]
    }

    def read_old(rel: str) -> bytes | None:
        return _git_bytes(root, "cat-file", "blob", old[rel]) if rel in old else None

    def read_new(rel: str) -> bytes | None:
        return new[rel].read_bytes() if rel in new else None

    figures: dict[tuple[str, str], FigureDiff] = {}
    for rel in sorted(changed_paths):
        lang, fid, ext = _split(rel)  # type: ignore[misc]
        if rel in old and rel in new and read_old(rel) == read_new(rel):
            continue  # same content, different blob form (line endings): not a change
        in_old = any(f"{lang}/{fid}.{e}" in old for e in FIGURE_EXTS)
        in_new = any(f"{lang}/{fid}.{e}" in new for e in FIGURE_EXTS)
        status = "changed" if in_old and in_new else ("added" if in_new else "removed")
        figures.setdefault((lang, fid), FigureDiff(lang, fid, status)).files.append(ext)

    staging = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for (lang, fid), d in sorted(figures.items()):
            (staging / lang).mkdir(exist_ok=True)
            base = f"{lang}/{fid}"
            rel_out = out_dir.relative_to(root).as_posix() if out_dir.is_relative_to(root) else str(out_dir)
            if "png" in d.files:
                image, d.changed_pixels = side_by_side(
                    read_old(f"{base}.png"), read_new(f"{base}.png"), (f"before ({rev})", "after (working tree)")
                )
                image.save(staging / lang / f"{fid}.png", optimize=False)
                d.outputs.append(f"{rel_out}/{base}.png")
            d.data_changed = _data_changed(read_old(f"{base}.json"), read_new(f"{base}.json")) or "csv" in d.files
            text = data_diff(
                {e: read_old(f"{base}.{e}") for e in DATA_EXTS},
                {e: read_new(f"{base}.{e}") for e in DATA_EXTS},
                base,
                rev,
            )
            if text:
                (staging / lang / f"{fid}.diff").write_bytes(text.encode("utf-8"))
                d.outputs.append(f"{rel_out}/{base}.diff")
        (staging / "summary.txt").write_bytes(summary(list(figures.values()), rev).encode("utf-8") + b"\n")
        if out_dir.exists():
            old_dir = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old_dir, ignore_errors=True)
            os.replace(out_dir, old_dir)
            os.replace(staging, out_dir)
            shutil.rmtree(old_dir, ignore_errors=True)
        else:
            out_dir.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    order = {"changed": 0, "added": 1, "removed": 2}
    return sorted(figures.values(), key=lambda d: (order[d.status], d.lang, d.id))


def summary(diffs: list[FigureDiff], rev: str) -> str:
    """The printed summary: one line per figure, then the counts."""
    counts = {s: sum(d.status == s for d in diffs) for s in ("changed", "added", "removed")}
    order = {"changed": 0, "added": 1, "removed": 2}
    lines = [
        f"Figures, {rev} -> working tree: {counts['changed']} changed, {counts['added']} added, "
        f"{counts['removed']} removed."
    ]
    for d in sorted(diffs, key=lambda d: (order[d.status], d.lang, d.id)):
        pixels = f", {d.changed_pixels:.2%} of pixels" if d.changed_pixels is not None else ""
        data = ", data changed" if d.data_changed else ""
        lines.append(f"  {d.status:8} {d.key}  ({' '.join(sorted(d.files))}{pixels}{data})")
    return "\n".join(lines)
