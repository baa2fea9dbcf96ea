"""Benchmark: the cost of writing the figures, before and after issue 8's changes.

The notebooks' own figures are drawn (each notebook's code is executed in this
process in both languages, once per way; ``publish`` is intercepted and only
the writing is timed), and each figure is written in PNG (300 dpi), SVG and PDF
three ways:

a) *before*: what ``publish`` did before issue 8: three ``savefig`` calls,
   constrained layout re-solved in each, matplotlib's stock PDF font
   subsetting, plus a separate 110-dpi preview render;
b) *after, journal*: the layout solved once and frozen (no layout engine left,
   so each format is one draw), one Agg drawing that gives both the PNG and the
   linter's geometry, lean PDF subsetting (:mod:`shdata.render`), preview
   scaled down from the PNG;
c) *after, journal + standalone*: (b), then the standalone variant grown,
   linted and written in the same three formats.

Every figure is written once per way, in one run; the table gives seconds and
ratios against (a). Headlines of the standalone variant are placeholders here
(the notebooks do not pass them yet); their cost is that of any headline.

Run: ``.venv/bin/python benchmarks/bench_figures.py [NOTEBOOK ...]`` (default: funding).
"""

from __future__ import annotations

import io
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("png", "svg", "pdf")
DPI = 300


def run_notebooks(notebooks: list[str], on_publish) -> None:
    """Execute the notebooks' code in this process in both languages, calling
    ``on_publish(fig, figure_id, lang, sources)`` instead of ``publish`` (no file is written).

    The figures are drawn anew for each way rather than pickled: some carry
    formatters defined inside shdata's helpers, which pickle cannot store.
    """
    import matplotlib.pyplot as plt

    from shdata import notebook

    def grab(P, fig, figure_id, *, sources, **_):
        on_publish(fig, figure_id, P.lang, list(sources))
        plt.close(fig)

    original = notebook._publish
    notebook._publish = grab
    out = tempfile.mkdtemp(prefix="shdata-bench-figures-")
    try:
        for name in notebooks:
            nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
            for lang in ("en", "zh"):
                ns = {"__name__": "__main__"}
                for cell in nb["cells"]:
                    if cell["cell_type"] != "code":
                        continue
                    exec(compile("".join(cell["source"]), f"{name}.ipynb", "exec"), ns)
                    if "parameters" in cell.get("metadata", {}).get("tags", []):
                        ns.update(lang=lang, output_dir=out)
    finally:
        notebook._publish = original


def before(fig) -> None:
    for fmt in FORMATS:
        fig.savefig(io.BytesIO(), format=fmt, **({"dpi": DPI} if fmt == "png" else {}))
    fig.savefig(io.BytesIO(), format="png", dpi=110)


def after(fig, figure_id, lang, sources, standalone: bool) -> None:
    """What ``publish`` does now, through the same functions (no files written)."""
    from shdata import lint, render
    from shdata import standalone as sa

    meta = render.Metadata(title="t", caption="c", provenance="{}")
    registry = lint.printed_registry(sources)

    def check(f):  # defects of the figures do not stop the bench
        return lint.find_defects(f, figure_id, lang, registry, drawn=True)

    with render.agg_canvas(fig), render.at_dpi(fig, DPI):
        render.freeze_layout(fig)
    png, _ = render.draw_and_check(fig, DPI, meta, check)
    blobs = render.render_all(fig, FORMATS, meta, DPI, png=png)
    render.preview_png(fig, blobs["png"], DPI, 110)
    if standalone:
        st = sa.texts(sources, lang, "Placeholder headline stating the finding of the figure", "Units, period")
        sa.grow(fig, lang, st, dpi=DPI)
        png, _ = render.draw_and_check(fig, DPI, meta, check)
        render.render_all(fig, FORMATS, meta, DPI, png=png)


def main() -> None:
    notebooks = sys.argv[1:] or ["funding"]
    times = {"a": 0.0, "b": 0.0, "c": 0.0}
    counted = []
    for way in "abc":

        def timed(fig, figure_id, lang, sources, way=way):
            t = time.perf_counter()
            if way == "a":
                before(fig)
            else:
                after(fig, figure_id, lang, sources, standalone=way == "c")
            times[way] += time.perf_counter() - t
            if way == "a":
                counted.append(figure_id)

        run_notebooks(notebooks, timed)
    figures = counted
    base = times["a"]
    print(f"Figures: {len(figures)} ({', '.join(notebooks)}; en and zh), formats {', '.join(FORMATS)}, {DPI} dpi\n")
    print("| way | seconds | ratio to (a) |\n|---|---:|---:|")
    labels = {
        "a": "(a) before: 3 savefig + preview, layout per save, stock PDF subsetting",
        "b": "(b) now, journal: frozen layout, one draw per file (the PNG's is linted), lean PDF subsetting",
        "c": "(c) now, journal + standalone",
    }
    for way in "abc":
        print(f"| {labels[way]} | {times[way]:.2f} | {times[way] / base:.2f}× |")
    print(f"\n{platform.machine()}, {platform.system()}, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
