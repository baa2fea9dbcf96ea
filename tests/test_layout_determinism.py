"""Byte-identical SVGs from a constrained layout: the solver (kiwisolver) orders its variables by
memory address, so the same figure solved in two processes may differ in the last bits of an axes
position (PYTHONHASHSEED does not matter), and matplotlib's SVG backend hashes the exact clip box
into its clip-path ids. render.freeze_layout rounds the solved positions."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import textwrap

import pytest

from shdata import render

plt = pytest.importorskip("matplotlib.pyplot")

FIGURE = textwrap.dedent("""
    import matplotlib.pyplot as plt
    from shdata import style
    style.apply("en")
    rows = [["Joint innovation centres", "R&D carriers"], ["Overseas", "Domestic", "Foreign-invested firms"],
            ["Agreements", "Grant-plus-investment projects"]]
    fig, axes = plt.subplots(3, 1, figsize=(7.2, 3.0), sharex=True,
                             gridspec_kw={"height_ratios": [len(r) for r in rows]})
    for k, (ax, names) in enumerate(zip(axes, rows)):
        ax.barh(range(len(names)), [37 + 101 * k + 13 * i for i in range(len(names))], height=0.55)
        ax.set_yticks(range(len(names)), names)
        ax.set_title(f"Panel {k + 1}", loc="left", fontsize=6.5)
    axes[-1].set_xlabel("Count")
""")


def _svg(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _build():
    ns: dict = {}
    exec(FIGURE, ns)
    return ns["fig"]


def test_a_last_bit_difference_in_the_solved_layout_does_not_change_the_file():
    with plt.rc_context():
        files = []
        for nudge in (False, True):
            fig = _build()
            fig.draw_without_rendering()  # the layout is solved
            if nudge:  # what another process's solver may return
                ax = fig.axes[1]
                x0, y0, x1, y1 = ax.get_position().extents
                from matplotlib.transforms import Bbox

                ax._set_position(Bbox([[x0, y0 + 4e-15], [x1, y1]]))
            render.freeze_layout(fig)
            files.append(_svg(fig))
            plt.close(fig)
        assert files[0] == files[1]


def test_rounding_keeps_the_layout_and_the_axes_in_it():
    with plt.rc_context():
        fig = _build()
        fig.draw_without_rendering()
        before = [ax.get_position().extents for ax in fig.axes]
        render.freeze_layout(fig)
        after = [ax.get_position().extents for ax in fig.axes]
        assert all(abs(a - b) < 1e-9 for e0, e1 in zip(before, after, strict=True) for a, b in zip(e0, e1, strict=True))
        assert all(ax.get_in_layout() for ax in fig.axes)
        assert fig.get_layout_engine() is None  # no more solving
        plt.close(fig)


def test_a_frozen_figure_is_drawn_once_per_file_and_stays_frozen():
    # With any layout engine set (even matplotlib's "none" placeholder) savefig draws the figure
    # twice, and afterwards restores "no engine" as the rcParams' constrained layout.
    with plt.rc_context():
        fig = _build()
        render.freeze_layout(fig)  # solves the layout itself when it was never drawn
        draws: list[str] = []
        real_draw = fig.draw

        def counting_draw(renderer):
            draws.append(type(renderer).__name__)
            return real_draw(renderer)

        fig.draw = counting_draw
        meta = render.Metadata(title="t", caption="c", provenance="{}")
        render.render_all(fig, ("svg", "pdf", "png"), meta, 100)
        render.render_all(fig, ("svg",), meta, 100)
        assert len(draws) == 4, draws
        assert fig.get_layout_engine() is None
        plt.close(fig)


def test_svg_is_identical_across_processes_with_different_hash_seeds(tmp_path):
    script = tmp_path / "figure.py"
    script.write_text(
        FIGURE
        + textwrap.dedent("""
        import hashlib, io
        from shdata import render
        fig.draw_without_rendering()
        render.freeze_layout(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        print(hashlib.sha256(buf.getvalue()).hexdigest())
    """),
        encoding="utf-8",
    )
    # Three processes show it: two fixed seeds that differ and a random one (each process also
    # places its objects at other addresses). They run side by side: each is 2 s of start-up.
    procs = [
        subprocess.Popen(
            [sys.executable, str(script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "MPLBACKEND": "Agg"},
        )
        for seed in ("0", "1", "random")
    ]
    digests = set()
    for proc in procs:
        out, err = proc.communicate()
        assert proc.returncode == 0, err[-2000:]
        digests.add(out.strip())
    assert len(digests) == 1, digests
    assert all(len(d) == len(hashlib.sha256().hexdigest()) for d in digests)
