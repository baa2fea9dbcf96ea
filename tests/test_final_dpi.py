"""Text is measured at the dpi the PNG is drawn at: hinted glyphs are about 5 % wider at 300 dpi
than at a figure's 100 dpi, so a line wrapped or linted at 100 dpi could run past the edge of the
300-dpi PNG (the en standalone rankings-ideal-city note "...unrounded co|")."""

from __future__ import annotations

import pytest

from shdata import lint, standalone, style
from shdata.render import at_dpi

plt = pytest.importorskip("matplotlib.pyplot")
MM = 1 / 25.4
NOTE = (
    "For Shanghai and Mumbai the cause is rounding: the composite was computed from unrounded component "
    "scores, so it can differ from the mean of the printed components by 0.01."
)


@pytest.fixture
def house():
    with plt.rc_context():
        style.apply("en")
        yield
        plt.close("all")


def _width_in(text, size, dpi):
    fig = plt.figure(figsize=(8, 1), dpi=dpi)
    t = fig.text(0, 0.5, text, fontsize=size)
    w = t.get_window_extent(fig.canvas.get_renderer()).width / dpi
    plt.close(fig)
    return w


def _line_past_edge_at_300():
    """A figure whose one text line fits with room to spare at 100 dpi and runs past the edge at 300."""
    line = NOTE[:90]
    w100, w300 = _width_in(line, 5, 100), _width_in(line, 5, 300)
    assert w300 > w100 + 2 * MM, "test setup: hinted text is wider at 300 dpi"
    fig = plt.figure(figsize=(w100 + 4 * MM, 0.6), dpi=100)
    fig.text(1.5 * MM / (w100 + 4 * MM), 0.5, line, fontsize=5, va="center")
    return fig


def test_the_linter_measures_at_the_output_dpi(house):
    fig = _line_past_edge_at_300()

    def edges(defects):
        return [d for d in defects if d.rule in ("canvas", "margin")]

    assert edges(lint.lint_figure(fig, "demo", "en")) == []  # at the figure's own 100 dpi
    defects = edges(lint.lint_figure(fig, "demo", "en", dpi=300))
    assert [d.rule for d in defects] == ["canvas"] and "beyond the right edge" in defects[0].detail
    assert fig.dpi == 100  # given back its own dpi


def test_at_dpi_restores_the_figure(house):
    fig = plt.figure(figsize=(3, 2), dpi=100)
    with at_dpi(fig, 300):
        assert fig.dpi == 300 and fig.bbox.width == pytest.approx(900)
    assert fig.dpi == 100 and fig.bbox.width == pytest.approx(300) and tuple(fig.get_size_inches()) == (3, 2)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_standalone_texts_are_wrapped_to_fit_the_300_dpi_png(house, lang):
    style.apply(lang)
    fig, ax = plt.subplots(figsize=(89 * MM, 45 * MM), layout="constrained")
    ax.plot([0, 1], [0, 1])
    notes = (
        NOTE,
        "印刷值很可能是截断而非四舍五入；综合得分由未取整的分项得分计算，因此与印刷分项的平均值可能相差0.01。" * 2,
    )
    source = "Source: 上海市科学技术委员会《2023上海科技进步报告》智库看上海科技 · Chart: shdata"
    st = standalone.StandaloneText(
        "Shanghai ranks third of twenty cities as an ideal city for scientists", "Composite score, %", source, notes
    )
    standalone.grow(fig, lang, st, dpi=300)
    with at_dpi(fig, 300):
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        right = fig.bbox.width - 1.0 * 300 * MM  # the linter's 1 mm margin
        for t in fig.texts:
            assert t.get_window_extent(renderer).x1 <= right, t.get_text()
    assert [d for d in lint.lint_figure(fig, "demo", lang, dpi=300) if d.rule in ("canvas", "margin")] == []
