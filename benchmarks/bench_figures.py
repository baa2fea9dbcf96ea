"""Benchmark: the cost of writing the figures, before and after issue 8's changes.

The notebooks' own figures are captured (each notebook's code is executed in
this process in both languages; ``publish`` is intercepted and the figure is
pickled), then each figure is written in PNG (300 dpi), SVG and PDF three ways:

a) *before*: what ``publish`` did before issue 8: three ``savefig`` calls,
   constrained layout re-solved in each, matplotlib's stock PDF font
   subsetting, plus a separate 110-dpi preview render;
b) *after, journal*: lint, layout frozen after the lint's draw, lean PDF
   subsetting (:mod:`shdata.render`), preview scaled down from the PNG;
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
import pickle
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("png", "svg", "pdf")
DPI = 300


def capture(notebooks: list[str]) -> list[tuple[str, str, list[str], bytes]]:
    """(figure id, lang, sources, pickled figure) for every figure the notebooks publish."""
    import matplotlib.pyplot as plt

    from shdata import notebook

    figures = []

    def grab(P, fig, figure_id, *, sources, **_):
        figures.append((figure_id, P.lang, list(sources), pickle.dumps(fig)))
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
    return figures


def before(fig) -> None:
    for fmt in FORMATS:
        fig.savefig(io.BytesIO(), format=fmt, **({"dpi": DPI} if fmt == "png" else {}))
    fig.savefig(io.BytesIO(), format="png", dpi=110)


def after(fig, figure_id, lang, sources, standalone: bool) -> None:
    from shdata import lint, render
    from shdata import standalone as sa

    meta = render.Metadata(title="t", caption="c", provenance="{}")
    registry = lint.printed_registry(sources)
    lint.find_defects(fig, figure_id, lang, registry)  # defects of today's figures do not stop the bench
    render.freeze_layout(fig)
    blobs = render.render_all(fig, FORMATS, meta, DPI)
    render.preview_png(fig, blobs["png"], DPI, 110)
    if standalone:
        st = sa.texts(sources, lang, "Placeholder headline stating the finding of the figure", "Units, period")
        sa.grow(fig, lang, st)
        lint.find_defects(fig, figure_id, lang, registry)
        render.render_all(fig, FORMATS, meta, DPI)


def main() -> None:
    import matplotlib.pyplot as plt

    from shdata import style

    notebooks = sys.argv[1:] or ["funding"]
    figures = capture(notebooks)
    times = {"a": 0.0, "b": 0.0, "c": 0.0}
    for figure_id, lang, sources, blob in figures:
        style.apply(lang)
        for way in "abc":
            fig = pickle.loads(blob)
            t = time.perf_counter()
            if way == "a":
                before(fig)
            else:
                after(fig, figure_id, lang, sources, standalone=way == "c")
            times[way] += time.perf_counter() - t
            plt.close(fig)
    base = times["a"]
    print(f"Figures: {len(figures)} ({', '.join(notebooks)}; en and zh), formats {', '.join(FORMATS)}, {DPI} dpi\n")
    print("| way | seconds | ratio to (a) |\n|---|---:|---:|")
    labels = {
        "a": "(a) before: 3 savefig + preview, layout per save, stock PDF subsetting",
        "b": "(b) after, journal: lint + frozen layout + lean PDF subsetting + preview from PNG",
        "c": "(c) after, journal + standalone",
    }
    for way in "abc":
        print(f"| {labels[way]} | {times[way]:.2f} | {times[way] / base:.2f}× |")
    print(f"\n{platform.machine()}, {platform.system()}, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
