"""Benchmark: the font cache of PDF subsetting (shdata._fontcache), empty against filled.

Every process that writes a PDF needs the lean copies of its fonts
(``shdata.render._lean_font``, ``_few_glyphs``). Each measurement is a fresh
Python process, and times (CPU seconds, ``time.process_time``, after the imports)
one of:

* ``warm_font_caches()``: what the build's warm kernel process does at start
  (the four house fonts: two bundled Noto CJK subsets, DejaVu Sans regular and bold);
* the first PDF of a Chinese figure with a Latin bold title (both kinds of font),
  drawing included: what a cold notebook kernel pays on its first PDF.

Each is done three ways, in one run and alternating: (a) an empty cache folder
(the process makes the copies and stores them), (b) the folder (a) filled (the
process reads them), (c) no cache (``SHDATA_CACHE_DIR=""``, as before the cache).
The PDFs of the three ways are checked to be the same bytes.

Run: ``.venv/bin/python benchmarks/bench_fontcache.py``. Prints a Markdown table.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPEAT = 5

CHILD = """
import hashlib, sys, time
import fontTools.subset, matplotlib.backends.backend_pdf
from matplotlib.figure import Figure
from shdata import render, style
style.register_fonts()
paths = render.house_font_files()
if sys.argv[1] == "warm":
    t = time.process_time()
    render.warm_font_caches(paths)
    print(time.process_time() - t, "-")
else:
    style.apply("zh")
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.bar(["上海", "Beijing"], [1, 2])
    ax.set_title("科技 Science 1,234", fontweight="bold")
    meta = render.Metadata(title="t", caption="c", provenance="{}")
    t = time.process_time()
    pdf = render.render(fig, "pdf", meta, 300)
    print(time.process_time() - t, hashlib.sha256(pdf).hexdigest())
"""


def _child(what: str, cache: str) -> tuple[float, str]:
    env = {**os.environ, "SHDATA_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, "-c", CHILD, what], capture_output=True, text=True, env=env, check=True)
    secs, digest = out.stdout.split()
    return float(secs), digest


def main() -> None:
    import fontTools
    import matplotlib

    import shdata

    rows = []
    for what, label in (
        ("warm", "`warm_font_caches()` (4 house fonts)"),
        ("pdf", "first PDF of a process (zh figure, Latin bold title; drawing included)"),
    ):
        times: dict[str, list[float]] = {"empty": [], "filled": [], "off": []}
        digests = set()
        for _ in range(REPEAT):
            with tempfile.TemporaryDirectory(prefix="shdata-bench-fontcache-") as tmp:
                for way, cache in (("empty", tmp), ("filled", tmp), ("off", "")):
                    secs, digest = _child(what, cache)
                    times[way].append(secs)
                    digests.add(digest)
                size = sum(p.stat().st_size for p in Path(tmp, "fonts").glob("*.bin"))
        assert len(digests) == 1, f"{what}: the PDFs differ between the ways: {digests}"
        rows.append((label, {k: statistics.median(v) for k, v in times.items()}, size))

    print(
        f"Machine: {platform.machine()}, {platform.system()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, matplotlib {matplotlib.__version__}, fontTools {fontTools.version}, "
        f"shdata {shdata.__version__}; CPU seconds in a fresh process, median of {REPEAT} runs.\n"
    )
    print("| operation | (a) empty cache | (b) filled cache | (c) no cache | (b)/(a) | (b)/(c) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, t, _ in rows:
        print(
            f"| {label} | {t['empty']:.3f} | {t['filled']:.3f} | {t['off']:.3f} | "
            f"{t['filled'] / t['empty']:.2f}× | {t['filled'] / t['off']:.2f}× |"
        )
    print(f"\nThe cache folder after (a) of `warm_font_caches()`: {rows[0][2] / 1e6:.1f} MB.")
    print("The PDF's sha256 was the same in all three ways and every run.")


if __name__ == "__main__":
    main()
