"""The figure linter: every rule catches a deliberately bad synthetic figure and
lets a good one pass."""

from __future__ import annotations

import pytest

from shdata import lint, style
from shdata.errors import ParameterError

plt = pytest.importorskip("matplotlib.pyplot")
MM = 1 / 25.4


@pytest.fixture
def house():
    """House style for one test; rcParams are restored afterwards."""
    with plt.rc_context():
        style.apply("en")
        yield
        plt.close("all")


def rules(fig, lang="en", **kw):
    return {d.rule for d in lint.lint_figure(fig, "test-figure", lang, **kw)}


def bars(width_mm=89, height_mm=50, values=(3, 2), names=("Shanghai", "Beijing")):
    fig, ax = plt.subplots(figsize=(width_mm * MM, height_mm * MM))
    ax.barh(list(names), list(values), color=[style.HIGHLIGHT, style.CONTEXT])
    return fig, ax


def test_a_good_figure_passes(house):
    fig, ax = bars()
    for i, v in enumerate((3, 2)):
        ax.text(v, i, f" {v}", va="center")
    ax.margins(x=0.15)
    ax.set_xlabel("Value (units)")
    assert lint.lint_figure(fig, "test-figure", "en", printed=["3", "2"]) == []


def test_canvas(house):
    fig, _ = bars()
    fig.text(0.97, 0.5, "Beyond the edge")
    found = lint.lint_figure(fig, "test-figure", "en")
    assert any(d.rule == "canvas" and d.text == "Beyond the edge" for d in found)
    fig2, _ = bars()
    assert "canvas" not in rules(fig2)


def test_margin(house):
    fig, _ = bars()
    fig.get_layout_engine().set(w_pad=0, h_pad=0)
    assert "margin" in rules(fig)
    fig2, _ = bars()  # the house pads keep 1.5 mm
    assert "margin" not in rules(fig2)


def test_text_overlap(house):
    fig, ax = bars()
    ax.text(0.5, 0.5, "first label")
    ax.text(0.6, 0.5, "second label")
    found = [d for d in lint.lint_figure(fig, "test-figure", "en") if d.rule == "text-overlap"]
    assert found and "second label" in str(found[0]) and "first label" in str(found[0])
    fig2, ax2 = bars()
    ax2.text(0.1, 0.1, "first label")
    ax2.text(1.5, 0.9, "second label")
    assert "text-overlap" not in rules(fig2)


def test_text_over_a_mark_it_does_not_label(house):
    fig, ax = bars(values=(10, 9))
    # Anchored in empty space of the axes but drawn across the Shanghai bar.
    ax.annotate("note about Beijing", xy=(9, 1), xytext=(1, 0), va="center")
    assert "text-over-mark" in rules(fig)
    fig2, ax2 = bars(values=(10, 9))
    ax2.text(10, 0, " 10", va="center")  # a value label at the end of its bar
    ax2.text(4, 0, "inside", va="center")  # a label anchored on its bar
    ax2.margins(x=0.15)
    assert "text-over-mark" not in rules(fig2)


def test_text_over_a_line(house):
    fig, ax = plt.subplots(figsize=(89 * MM, 50 * MM))
    ax.plot([0, 10], [0, 10], color=style.CONTEXT)
    ax.text(2, 6.5, "far from the line", ha="left", va="center", fontsize=9)
    assert "text-over-mark" not in rules(fig)
    ax.text(3.5, 5, "across the line", ha="left", va="center")
    assert "text-over-mark" in rules(fig)


def test_axes_size(house):
    fig, (a, b) = plt.subplots(1, 2, figsize=(183 * MM, 50 * MM), gridspec_kw={"width_ratios": [1, 14]})
    a.bar(["x"], [1])
    b.bar(["x"], [1])
    assert "axes-size" in rules(fig)
    fig2, (a2, b2) = plt.subplots(1, 2, figsize=(183 * MM, 50 * MM))
    a2.bar(["x"], [1])
    b2.bar(["x"], [1])
    assert "axes-size" not in rules(fig2)


def test_blank_band(house):
    # funding-unicorns: wspace=0.9 under constrained layout left ~45 % of the width blank.
    fig, axes = plt.subplots(1, 2, figsize=(183 * MM, 50 * MM), gridspec_kw={"wspace": 0.9})
    for ax in axes:
        ax.barh(["a", "b"], [1, 2])
    found = [d for d in lint.lint_figure(fig, "test-figure", "en") if d.rule == "blank-band"]
    assert found and "vertical blank band" in found[0].detail
    fig2, axes2 = plt.subplots(1, 2, figsize=(183 * MM, 50 * MM))
    for ax in axes2:
        ax.barh(["a", "b"], [1, 2])
    assert "blank-band" not in rules(fig2)


@pytest.mark.parametrize("size, rule", [(4.5, "font-min"), (12, "font-max")])
def test_font_size(house, size, rule):
    fig, ax = bars()
    ax.set_title("Title", fontsize=size)
    assert rule in rules(fig)
    fig2, ax2 = bars()
    ax2.set_title("Title", fontsize=5 if rule == "font-min" else 10)
    assert rule not in rules(fig2)


@pytest.mark.parametrize(
    "bad, good, rule",
    [
        ("上海技术合同成交额\n，全部", "上海技术合同成交额，\n全部", "kinsoku-start"),
        ("上海技术交易额（\n亿元）", "上海技术交易额\n（亿元）", "kinsoku-end"),
        ("联合共建企业研发中心等研\n发载体", "联合共建企业研发中心等\n研发载体", "cjk-break"),
        ("输出至苏浙皖\n（2023年1—\n9月）", "输出至苏浙皖\n（2023年1—9月）", "cjk-break"),
        ("技术交易额(亿元)", "技术交易额（亿元）", "fullwidth-brackets"),
    ],
)
def test_chinese_text_rules(house, bad, good, rule):
    style.apply("zh")
    fig, ax = bars(width_mm=120, height_mm=60, names=("上海", "北京"))
    ax.set_xlabel(bad)
    found = lint.lint_figure(fig, "test-figure", "zh")
    assert any(d.rule == rule and d.text == bad for d in found), found
    fig2, ax2 = bars(width_mm=120, height_mm=60, names=("上海", "北京"))
    ax2.set_xlabel(good)
    assert rule not in rules(fig2, "zh")


def test_thousands_separators_in_english_only(house):
    fig, ax = bars(values=(4850, 1491))
    ax.text(4850, 0, " 4850", va="center")
    ax.margins(x=0.2)
    found = [d for d in lint.lint_figure(fig, "test-figure", "en") if d.rule == "thousands"]
    assert {d.text for d in found} >= {" 4850", "1000"}  # value label and ticks
    fig2, ax2 = bars(values=(4850, 1491))
    ax2.xaxis.set_major_formatter(style.number_formatter("en"))
    ax2.text(4850, 0, " 4,850", va="center")
    ax2.set_xlabel("Contracts, 2023 (items)")  # a year is not a number
    ax2.margins(x=0.2)
    assert "thousands" not in rules(fig2)
    style.apply("zh")
    fig3, ax3 = bars(values=(4850, 1491), names=("上海", "北京"))
    ax3.text(4850, 0, " 4850亿元", va="center")  # Chinese prints no separators
    ax3.margins(x=0.25)
    assert "thousands" not in rules(fig3, "zh")


def test_years_are_not_numbers():
    assert [y for _, y in lint._numbers("2023 and 2022–2023")] == [True, True, True]
    assert [y for _, y in lint._numbers("¥2023 bn, 2023%")] == [False, False]


def test_precision_against_the_printed_registry(house):
    printed = ["528.1", "20.51", "40"]
    fig, ax = bars(values=(52.81, 20.51))
    ax.text(52.81, 0, " ¥52.810 bn", va="center")  # invents a digit
    ax.text(20.51, 1, " +20.510%", va="center")
    ax.margins(x=0.3)
    found = {d.text for d in lint.lint_figure(fig, "test-figure", "en", printed=printed) if d.rule == "precision"}
    assert found == {" ¥52.810 bn", " +20.510%"}
    fig2, ax2 = bars(values=(52.81, 20.51))
    ax2.text(52.81, 0, " ¥52.81 bn", va="center")  # 528.1亿元 converted, same digits
    ax2.text(20.51, 1, " +20.51%", va="center")
    ax2.text(30, 1, "39.7%", va="center")  # a computed share, 3 digits
    ax2.margins(x=0.3)
    assert "precision" not in rules(fig2, printed=printed)


def test_waiver_removes_one_defect_for_one_text_and_unused_waivers_are_reported(house):
    fig, ax = bars()
    ax.text(0.5, 0.5, "first label")
    ax.text(0.6, 0.5, "second label")
    assert "text-overlap" not in rules(fig, waive={"text-overlap": "first label"})
    found = lint.lint_figure(
        fig, "test-figure", "en", waive=[("text-overlap", "first label", "why"), ("font-min", "first label", "stale")]
    )
    assert [d.rule for d in found] == ["unused-waiver"] and "font-min" in found[0].detail


@pytest.mark.parametrize("waive", [{"no-such-rule": "x"}, {"margin": ""}, [("margin",)], "margin"])
def test_bad_waivers_are_refused(waive):
    with pytest.raises(ParameterError):
        lint.normalize_waivers(waive)


def test_defect_is_one_line_naming_figure_rule_and_text():
    d = lint.Defect("funding-x", "margin", "Contract value\n(¥ bn)", "0.2 mm from the right edge; keep 1 mm")
    assert str(d) == "funding-x: margin: 'Contract value⏎(¥ bn)': 0.2 mm from the right edge; keep 1 mm"
    assert "\n" not in str(d)


def test_overlap_waiver_may_name_either_text_even_over_two_lines(house):
    fig, ax = plt.subplots(figsize=(89 * MM, 50 * MM))
    ax.text(0.5, 0.5, "first\nlabel")
    ax.text(0.52, 0.5, "second\nlabel")
    assert "text-overlap" in rules(fig)
    assert rules(fig, waive={"text-overlap": "second\nlabel"}) == set()
    assert rules(fig, waive={"text-overlap": "first label"}) == set()


def test_english_figures_may_quote_chinese_in_half_width_brackets(house):
    fig, ax = bars(width_mm=120, height_mm=60)
    ax.set_xlabel("Technology (科技) score")
    assert "fullwidth-brackets" not in rules(fig, "en")
    assert "fullwidth-brackets" in rules(fig, "zh")
