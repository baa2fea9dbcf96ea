"""Styling helpers for publication figures (shdata.style)."""

from __future__ import annotations

import pytest

from shdata import style
from shdata.errors import ParameterError

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture
def house():
    with plt.rc_context():
        style.apply("en")
        yield
        plt.close("all")


@pytest.mark.parametrize(
    "lang, x, text",
    [
        ("en", 1000, "1,000"),
        ("en", 2.5, "2.5"),
        ("en", 1250000.0, "1,250,000"),
        ("zh", 1000, "1000"),
        ("en", 0, "0"),
        ("en", -1500, "-1,500"),
    ],
)
def test_number_formatter(lang, x, text):
    assert style.number_formatter(lang)(x) == text


@pytest.mark.parametrize(
    "unit, lang, ticks, label",
    [
        ("亿元", "en", {0: "0", 500: "50", 1500: "150", 25: "2.5"}, "¥ bn"),
        ("万元", "en", {50000: "500", 250000: "2,500"}, "¥ m"),
        ("万亿元", "en", {2.5: "2,500"}, "¥ bn"),
        ("亿元", "zh", {1500: "1500"}, "亿元"),
        ("万元", "zh", {50000: "50000"}, "万元"),
    ],
)
def test_money_axis_converts_ticks_exactly_by_powers_of_ten(house, unit, lang, ticks, label):
    _, ax = plt.subplots()
    assert style.money_axis(ax, unit, lang) == label
    formatter = ax.xaxis.get_major_formatter()
    assert {x: formatter(x) for x in ticks} == ticks


def test_money_axis_refuses_other_units(house):
    _, ax = plt.subplots()
    with pytest.raises(ParameterError, match="money unit"):
        style.money_axis(ax, "万人", "en")


@pytest.mark.parametrize("n, column", [(1, "single"), (4, "single"), (5, "double"), (21, "double")])
def test_column_for(n, column):
    assert style.column_for(n) == column


def test_column_for_refuses_nonsense():
    with pytest.raises(ParameterError):
        style.column_for(0)


def test_a_forgotten_colour_is_context_grey(house):
    from matplotlib.colors import to_hex

    _, ax = plt.subplots()
    bars = ax.bar(["a", "b"], [1, 2])
    (line,) = ax.plot([0, 1], [0, 1])
    assert to_hex(bars[0].get_facecolor()).upper() == style.CONTEXT
    assert to_hex(line.get_color()).upper() == style.CONTEXT


def test_canvas_margins_keep_the_linter_margin(house):
    from shdata import lint

    fig, ax = plt.subplots(figsize=(3.5, 2))
    ax.barh(["Shanghai", "Beijing"], [3, 2])
    fig.get_layout_engine().set(w_pad=0, h_pad=0)
    assert any(d.rule == "margin" for d in lint.lint_figure(fig, "t", "en"))
    style.canvas_margins(fig)
    assert not any(d.rule == "margin" for d in lint.lint_figure(fig, "t", "en"))


def test_role_colours():
    assert style.role_colours(["shanghai", "context", "derived"]) == [style.HIGHLIGHT, style.CONTEXT, style.DERIVED]
    with pytest.raises(ParameterError):
        style.role_colours(["blue"])


@pytest.mark.parametrize(
    "lang, ticks, labels",
    [
        ("en", [0, 250, 500, 1000], ["0", "250", "500", "1,000"]),
        ("en", [0, 0.5, 1.0, 1.5], ["0.0", "0.5", "1.0", "1.5"]),
        ("en", [0.1, 0.2, 0.30000000000000004], ["0.1", "0.2", "0.3"]),
        ("zh", [0, 5000, 10000], ["0", "5000", "10000"]),
    ],
)
def test_tick_labels_share_their_decimals(lang, ticks, labels):
    assert style.number_formatter(lang).format_ticks(ticks) == labels


def test_figures_get_the_house_number_format_without_breaking_categories_or_log_axes(house):
    from shdata import notebook

    P = notebook.validate(lang="en")
    fig, (a, b) = P.figure(ncols=2)
    a.barh(["Shanghai", "Beijing"], [1500, 900])
    b.set_xscale("log")
    b.plot([10, 10000], [1, 2])
    fig.draw_without_rendering()
    assert [t.get_text() for t in a.get_yticklabels()] == ["Shanghai", "Beijing"]
    assert "1,000" in [t.get_text() for t in a.get_xticklabels()]
    assert "10^{3}" in "".join(t.get_text() for t in b.get_xticklabels())
