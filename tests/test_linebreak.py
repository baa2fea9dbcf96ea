"""Chinese and English line breaking of figure labels (shdata.linebreak)."""

from __future__ import annotations

import pytest

from shdata import notebook
from shdata.errors import ParameterError
from shdata.linebreak import (
    NO_LINE_END,
    NO_LINE_START,
    bad_breaks,
    full_width_brackets,
    has_cjk,
    wrap,
)


def lines(text):
    return text.split("\n")


@pytest.mark.parametrize("width", range(6, 40, 2))
def test_period_in_brackets_never_leaves_a_lone_bracket_or_splits_the_range(width):
    # The yrd-technology-flows label that printed "(2023年1—9月\n)" before.
    out = wrap("上海输出至苏浙皖技术交易额 (2023年1—9月)", width, "zh")
    assert "（2023年1—9月）" in out.replace("\n", "") and "(" not in out and ")" not in out
    for ln in lines(out):
        assert ln not in ("）", "(", ")"), out
        assert ln[0] not in NO_LINE_START and ln[-1] not in NO_LINE_END, out
    assert "1—9月" in "".join(ln for ln in lines(out) if "9" in ln), out  # 1—9月 on one line
    assert bad_breaks(out) == []


@pytest.mark.parametrize("width", range(6, 40, 2))
def test_research_carriers_is_never_split(width):
    # yrd-innovation-center-network printed "…等研/发载体" before.
    out = wrap("联合共建企业研发中心等研发载体", width, "zh")
    assert any("研发载体" in ln for ln in lines(out)), out
    assert bad_breaks(out) == []


@pytest.mark.parametrize("text", ["技术合同成交额4850亿元，比上年增长21.1%", "科技型中小企业贷款户数增长49.99%"])
def test_numbers_stay_with_their_units(text):
    for width in range(6, 30, 2):
        out = wrap(text, width, "zh")
        for token in ("4850亿元", "21.1%", "49.99%"):
            if token in text:
                assert any(token in ln for ln in lines(out)), out


def test_wrapped_chinese_respects_the_width_in_columns():
    out = wrap("长三角国家技术创新中心累计与龙头企业共建联合创新中心", 20, "zh")
    assert all(len(ln) * 2 <= 20 for ln in lines(out)), out
    assert out.replace("\n", "") == "长三角国家技术创新中心累计与龙头企业共建联合创新中心"


def test_english_keeps_a_number_with_its_unit():
    out = wrap("Technology contracts exported abroad, ¥2,000.5 bn in all", 40)
    assert any("¥2,000.5 bn" in ln for ln in lines(out)), out
    assert wrap("Shanghai", 28) == "Shanghai"


def test_full_width_brackets_only_in_chinese():
    assert full_width_brackets("成交额 (亿元)") == "成交额（亿元）"
    assert full_width_brackets("Value (¥ bn)") == "Value (¥ bn)"


def test_bad_breaks_finds_each_rule():
    assert ("kinsoku-start", "）") in bad_breaks("上海（2023年1—9月\n）")
    assert bad_breaks("技术交易额（\n亿元）")[0][0] == "kinsoku-end"
    assert bad_breaks("联合共建企业研发中心等研\n发载体") == [("cjk-break", "发载体")]
    assert bad_breaks("上海输出至苏浙皖\n技术交易额") == []


def test_params_wrap_uses_the_line_breaker():
    P = notebook.validate(lang="zh")
    assert P.wrap(["联合共建企业研发中心等研发载体"], 16) == [wrap("联合共建企业研发中心等研发载体", 16, "zh")]


@pytest.mark.parametrize("kwargs", [{"width": 2}, {"width": "10"}, {"lang": "fr"}])
def test_wrap_refuses_bad_arguments(kwargs):
    with pytest.raises(ParameterError):
        wrap("上海", **{"width": 10, "lang": "zh", **kwargs})


def test_a_line_may_break_before_or_after_a_number_with_its_unit():
    assert bad_breaks("博士生\n5.10万人") == []
    assert bad_breaks("5.10万人\n博士生") == []
    assert wrap("在读博士研究生5.10万人", 14, "zh").split("\n")[-1] == "5.10万人"


@pytest.mark.parametrize(
    "text",
    [
        "Source: 上海市科学技术委员会《2023上海科技进步报告》§8.2 · Chart:\nshdata",  # yrd-technology-flows en
        "Source: 上海市科学技术委员会《2023上海科技进步报告》§8.2 ·\nChart: shdata",
        "Source:\n上海市科学技术委员会《2023上海科技进步报告》§8.2, §4.3 · Chart: shdata",
        "Shanghai–Suzhou (上海-苏州), cluster\nrank 5",
    ],
)
def test_a_break_that_replaced_a_space_is_not_a_break_inside_a_word(text):
    assert bad_breaks(text) == [] and bad_breaks(text, "en") == []


def test_the_wrapped_english_source_line_passes_at_every_width():
    credit = "Source: 上海市科学技术委员会《2023上海科技进步报告》§8.2, §7.3 · Chart: shdata"
    for width in range(20, 90, 3):
        assert bad_breaks(wrap(credit, width, "en"), "en") == [], (width, wrap(credit, width, "en"))


def test_a_break_beside_chinese_or_inside_a_number_with_its_unit_is_still_caught():
    assert bad_breaks("（2023年1—\n9月）") == [("cjk-break", "9月）")]
    assert bad_breaks("技术合同成交额48\n50亿元") == [("cjk-break", "50亿元")]
    assert bad_breaks("Chart: shdata 研\n发载体") == [("cjk-break", "发载体")]


def test_english_text_quoting_chinese_keeps_its_brackets_and_chinese_text_gets_full_width():
    note = "Hong Kong's technology (科技) score is printed 1.71, which is not a multiple of 100/170"
    out = wrap(note, 40, "en")
    assert "(科技)" in out.replace("\n", " ") and "（" not in out and bad_breaks(out, "en") == []
    assert "（科技）" in wrap("香港的科技 (科技) 得分印为1.71", 40, "zh")


# -- English text quoting Chinese: wrapped and judged as English -----------------------------------


def test_every_english_note_quoting_chinese_wraps_cleanly_at_every_width(pkg):
    # valid-patents-unit quotes '24.14件' and failed the linter with cjk-break in the
    # standalone variant of outputs-patents-contracts.
    notes = [n["text"] for r in pkg.descriptor["resources"] for n in r.get("notes", []) if has_cjk(n.get("text", ""))]
    assert any("'24.14件'" in n for n in notes)
    for note in notes:
        for width in range(12, 160, 7):
            out = wrap(note, width, "en")
            assert out.replace("\n", "").replace(" ", "") == note.replace(" ", ""), (width, out)
            assert bad_breaks(out, "en") == [], (width, out)


def test_english_breaks_at_spaces_and_never_inside_a_word_or_a_short_chinese_quote():
    note = (
        "§7.2 prints the stock of valid invention patents as '24.14件' (24.14 items), a "
        "per-10,000-population ratio with 上年度减免税额 quoted"
    )
    for width in range(16, 60):
        lines = wrap(note, width, "en").split("\n")
        words = [w for ln in lines for w in ln.split(" ")]
        assert words == note.split(" "), (width, lines)  # every line ends at a space of the text


def test_a_chinese_run_longer_than_a_line_breaks_at_a_phrase_boundary():
    out = wrap("Source: 上海市科学技术委员会《2023上海科技进步报告》§8.2 · Chart: shdata", 30, "en")
    assert out.split("\n")[0] == "Source:" and "《2023上海\n科技进步报告》" in out
    assert bad_breaks(out, "en") == []


@pytest.mark.parametrize(
    "text,bad",
    [
        ("municipal projects in 个\nwhere §2.1 prints 项;", False),  # at a space beside a Chinese character
        ("as '24.14件'\n(24.14 items)", False),
        ("recorded as 10\n万吨, and the time basis", True),  # a number parted from its unit
        ("as '24.14\n件' (items)", True),
        ("the word 研\n发载体 is", True),  # inside a Chinese word
        ("the sentence\n'累计服务创新型\n企5676家' (a character", False),
    ],
)
def test_english_text_is_judged_by_english_breaks_around_chinese_runs(text, bad):
    assert (bad_breaks(text, "en") != []) is bad, bad_breaks(text, "en")


def test_the_chinese_judgement_of_an_english_break_beside_chinese_was_the_false_positive():
    # Judged as Chinese, a break at the space after 个 looks like a cut inside 个where.
    assert bad_breaks("municipal projects in 个\nwhere §2.1 prints 项;") != []
    assert bad_breaks("municipal projects in 个\nwhere §2.1 prints 项;", "en") == []
    with pytest.raises(ParameterError, match="lang 'fr'"):
        bad_breaks("上海", "fr")
