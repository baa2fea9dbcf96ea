"""The text layer (shdata.text): numbers, words, claims, caveats and alt text in both languages,
and what publish() stores and embeds. Fast: no notebook kernel."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from shdata import text as tx
from shdata.package import Printed
from shdata.text import TextError, Writer

from .conftest import DATA

NSFC = "nsfc_projects_by_programme"


def p(text, unit, qualifier="", kind=""):
    return Printed(text, unit, qualifier, "2023", "label", "标签", "t", "k", kind=kind)


def every_printed(pkg) -> list[Printed]:
    """Every printed value of data/: each table, each numeric column, each row that prints one."""
    cells = Writer("en", pkg).cells
    return [x for tid in pkg.ids() for column in pkg.metadata(tid).value_fields for x in cells(tid, column)]


def test_every_value_in_wei_is_quoted_as_its_kind_says(pkg):
    """位 counts places (第3位, 上升2位) and people (34位院士): a value of data/ in 位 reads as a rank
    only when its kind (the row's, or the column's) is rank, as places when rank_change, and as
    people otherwise."""
    from shdata import units

    en, zh = Writer("en", pkg), Writer("zh", pkg)
    kinds = set()
    for x in every_printed(pkg):
        if x.unit != "位":
            continue
        kinds.add(x.kind)
        said = (en.q(x), zh.q(x))
        if x.kind == "rank" and x.qualifier == "前":
            assert said == (f"in the top {x.text}", f"前{x.text}位"), (x.ref, said)
        elif x.kind == "rank":
            assert "No. " in said[0] and f"第{x.text}位" in said[1], (x.ref, said)
        elif x.kind == "rank_change":
            assert said[0].startswith(("up ", "down ", "unchanged")), (x.ref, said)
            assert said[1].startswith(("上升", "下降", "持平")), (x.ref, said)
        else:
            assert "people" in said[0] and "No." not in said[0] and "第" not in said[1], (x.ref, said)
        assert (
            units.describe_unit(x.unit, "en", x.kind)
            == {"rank": "rank", "rank_change": "places", "level": "people"}[x.kind]
        ), x.ref
    assert kinds == {"rank", "rank_change", "level"}, "every value in 位 says which it is"


def test_a_value_in_wei_of_no_kind_and_arithmetic_on_places_are_refused(pkg):
    with pytest.raises(TextError, match="rank, rank_change or level"):
        Writer("en", pkg).q(p("5", "位"))
    ranks = Writer("en", pkg).cells("china_regional_innovation_subindices", "rank")[:2]
    with pytest.raises(TextError, match="places cannot be added"):
        tx.derive_difference(ranks[0], ranks[1])
    with pytest.raises(TextError, match="places cannot be added"):
        tx.derive_sum(ranks)
    people = p("34", "位", kind="level")
    assert tx.derive_sum([people, people]).value == 68  # people in 位 add up as any count
    # A rank relative to its field (3rd of 200) may be computed, to compare standings; it is a number.
    t = "nature_index_science_cities_shanghai"
    en, zh = Writer("en", pkg), Writer("zh", pkg)
    relative = tx.derive_ratio(en.cell(t, "overall_rank"), en.cell(t, "cities_ranked"))  # 3rd of 200
    assert relative.value == Decimal("0.015")
    assert "people" not in en.q(relative) and "位" not in zh.q(relative)


def test_no_english_quantity_or_unit_name_carries_chinese(pkg):
    """Every printed value of data/ quoted in English, and every unit's English name, is free of
    Chinese characters: a measure word (条, 座...) gives way to the label's noun, a unit such as 天
    is named ("12 days"), not copied ("12 天")."""
    import re

    from shdata import units

    han = re.compile(r"[\u3400-\u9fff]")
    en = Writer("en", pkg)
    for x in every_printed(pkg):
        assert not han.search(en.q(x)), (x.ref, en.q(x))
        assert not han.search(units.describe_unit(x.unit)), (x.ref, units.describe_unit(x.unit))


@pytest.fixture
def en(pkg):
    return Writer("en", pkg)


@pytest.fixture
def zh(pkg):
    return Writer("zh", pkg)


# -- numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,english,chinese",
    [
        (p("528.1", "亿元"), "¥52.81 bn", "528.1亿元"),
        (p("339644.66", "万元"), "¥3.396 bn", "33.96亿元"),  # 万元 above 1亿 read in 亿元, 4 digits
        (p("15", "亿元"), "¥1.5 bn", "15亿元"),  # never more digits than printed
        (p("95.00", "万元"), "¥950,000", "95.00万元"),
        (p("999.96", "万元"), "¥10.00 m", "999.96万元"),  # rounding that gains a digit moves scale
        (p("11147", "亿元"), "¥1.115 tn", "11147亿元"),
        (p("2.99", "万户"), "29,900", "2.99万户"),
        (p("12.30", "%"), "12.30%", "12.30%"),  # printed trailing zeros kept
        (p("1.2", "个百分点"), "1.2 percentage points", "1.2个百分点"),
        (p("3", "位", kind="rank"), "No. 3", "第3位"),
        (p("2", "位", kind="rank_change"), "up 2 places", "上升2位"),  # positive is up
        (p("-1", "位", kind="rank_change"), "down 1 place", "下降1位"),
        (p("0", "位", kind="rank_change"), "unchanged", "持平"),
        (p("3", "位", "前", kind="rank"), "in the top 3", "前3位"),  # 进入前三
        (p("34", "位", kind="level"), "34 people", "34位"),  # 位 counting people: 34位院士
        (p("1", "人"), "1 person", "1人"),  # one, in the singular
        (p("1", "位", kind="level"), "1 person", "1位"),
        (p("1", "人次"), "1 person-time", "1人次"),
        (p("43.4", "万份", "约"), "about 434,000", "约43.4万份"),
        (p("2500", "人次", "余"), "more than 2,500 person-times", "2500余人次"),
        (p("1.57", "万项", "余"), "more than 15,700", "1.57万余项"),
        (p("6700", "万元", "超"), "more than ¥67 m", "超6700万元"),
        (p("80", "%", "以上"), "over 80%", "80%以上"),
        (p("4.4", "%", "左右"), "about 4.4%", "4.4%左右"),
        (p("1", "亿元", "近"), "nearly ¥100 m", "近1亿元"),
        (p("1000", "万次", "突破"), "more than 10 million times", "突破1000万次"),
    ],
)
def test_printed_values_in_each_language(pkg, value, english, chinese):
    assert Writer("en", pkg).format(value) == english
    assert Writer("zh", pkg).format(value) == chinese


def test_a_derived_count_of_one_reads_in_the_singular(pkg):
    one = tx.derive_difference(p("35", "人"), p("34", "人"))
    assert Writer("en", pkg).format(one) == "1 person" and Writer("zh", pkg).format(one) == "1人"
    two = tx.derive_difference(p("36", "人"), p("34", "人"))
    assert Writer("en", pkg).format(two) == "2 people"


def test_derived_values_have_at_most_three_significant_digits(en, zh):
    total = en.cell("unicorns_shanghai", "china_unicorns")
    shanghai = en.cell("unicorns_shanghai", "shanghai_unicorns")
    share = en.share(shanghai, total)
    assert share.value == Decimal(100) * 66 / 316
    assert en.q(share) == "20.9%" and zh.q(share) == "20.9%"
    valuation = en.cell("unicorns_shanghai", "shanghai_valuation")
    mean = en.ratio(valuation, shanghai)  # 11147亿元 / 66 firms
    assert en.q(mean) == "¥16.9 bn" and zh.q(mean) == "169亿元"


def test_a_derived_value_is_no_more_precise_than_a_rough_input(pkg):
    # 15亿元 (two digits) per 519 deals: "¥2.9 m", not "¥2.89 m".
    rough, deals = p("15", "亿元"), p("519", "项")
    d = tx.derive_ratio(rough, deals)
    assert d.sig == 2 and Writer("en", pkg).format(d) == "¥2.9 m"
    assert Writer("zh", pkg).format(d) == "290万元"


def test_a_derived_value_from_a_qualified_input_is_approximate(pkg):
    d = tx.derive_ratio(p("43.4", "万份", "约"), p("4", "个"))
    assert Writer("en", pkg).format(d).startswith("about ") and Writer("zh", pkg).format(d).startswith("约")


def test_typed_numbers_are_refused(en):
    with pytest.raises(TextError, match="typed numbers are not allowed"):
        en.q(3.14)
    with pytest.raises(TextError, match="Printed or Derived"):
        en.share(3, 4)


def test_english_lists_thousands_and_chinese_does_not(en, zh):
    big = en.cell(NSFC, {"row_type": "total"}, "projects")
    assert en.q(big) == "4,900" and zh.q(big) == "4900个"


# -- words -----------------------------------------------------------------------


def test_lists_are_joined_the_locale_way(en, zh):
    assert en.join(["A", "B", "C"]) == "A, B and C"
    assert en.join(["A", "B"]) == "A and B"
    assert en.join(["A", "B", "C"], style="or") == "A, B or C"
    assert zh.join(["甲", "乙", "丙"]) == "甲、乙和丙"
    with pytest.raises(TextError, match="empty list"):
        en.join([])


def test_labels_take_sentence_case_articles_and_keep_proper_names(en, zh):
    ai = en.cell("unicorn_leading_industries", {"industry_en": "Artificial intelligence"}, "firms")
    assert en.label(ai) == "artificial intelligence"
    assert zh.label(ai) == "人工智能企业"
    general = en.cell(NSFC, "General Program", "amount")
    assert en.label(general) == "the General Program"  # proper name, with its article
    assert en.label(general, article=False) == "General Program"
    little_giant = en.cell("tech_credit_products", "Little Giant credit loan", "amount")
    assert en.label(little_giant) == "the Little Giant credit loan"  # multi-word proper name keeps capitals
    chinese = en.cell("unicorns_shanghai", "china_unicorns")
    assert en.label(chinese).startswith("Chinese")  # declared proper word (shdata:proper)
    assert en.sentence(f"{en.label(general)} led") == "The General Program led."


@pytest.mark.parametrize(
    "label,expected",
    [
        ("Artificial intelligence", "artificial intelligence"),
        ("AI chips", "AI chips"),
        ("A-class work permits", "A-class work permits"),
        ("S&T activity output index", "S&T activity output index"),
        ("National Key R&D Programme projects", "National Key R&D Programme projects"),
        ("Shanghai's rank", "Shanghai's rank"),
        ("Biomedicine", "biomedicine"),
    ],
)
def test_sentence_case(label, expected):
    assert tx.sentence_case(label, ["Shanghai"]) == expected


def test_every_english_label_field_declares_its_case(pkg):
    # Without it a label keeps its capital inside a sentence ("that of Enterprises in the pool").
    undeclared = [
        (r["name"], f["name"])
        for r in pkg.descriptor["resources"]
        for f in r["schema"]["fields"]
        if f["name"].endswith("_en") and f.get("type", "string") == "string" and "shdata:case" not in f
    ]
    assert undeclared == []
    for r in pkg.descriptor["resources"]:
        for f in r["schema"]["fields"]:
            assert f.get("shdata:case", "proper") in ("proper", "sentence"), (r["name"], f["name"])


@pytest.mark.parametrize(
    "table,row,inside",
    [
        ("star_market_pipeline", "pool_firms", "enterprises in the cultivation pool"),  # a category: lower case
        ("overview_rankings", "gii_cluster_rank", "Shanghai–Suzhou"),  # proper names keep their capital
        ("city_digital_transformation", "iot_card_users", "IoT data card users"),
    ],
)
def test_labels_read_in_sentence_case_and_proper_names_keep_their_capital(en, table, row, inside):
    assert en.label(en.cell(table, row)).startswith(inside)


def test_district_labels_keep_their_capital(en):
    labels = [en.label(x) for x in en.cells("district_innovation_highlights", "value")]  # "Putuo: ..."
    assert labels and all(label[0].isupper() for label in labels), labels


def test_english_sentences_never_start_with_a_numeral(en, zh):
    three = en.count(en.cells(NSFC, "amount")[:3])
    assert en.sentence(f"{en.q(three)} programmes have no flag") == "Three programmes have no flag."
    assert any(q.text == "Three" and q.kind == "words" for q in en.quantities)
    big = en.cell("enterprise_pipeline", "tech_smes_new")
    with pytest.raises(TextError, match=r"starts with the numeral '21,298'.*rephrase"):
        en.sentence(f"{en.q(big)} technology-based SMEs registered")
    with pytest.raises(TextError, match="numeral '¥3.396'"):
        en.sentence(f"{en.q(en.cell(NSFC, {'row_type': 'total'}, 'amount'))} went to Shanghai")
    assert zh.sentence("上海获项目4900个") == "上海获项目4900个。"
    assert en.paragraph("one", "", "two.") == "One. Two."
    assert zh.paragraph("甲", "乙。") == "甲。乙。"


def test_periods_in_words(en, zh):
    trade = en.cell("yrd_technology_trade", "total_trade")
    assert en.period(trade) == "in January–September 2023" and zh.period(trade) == "2023年1—9月"
    assert tx.period_phrase("end-2023", "en") == "at the end of 2023"
    assert tx.period_phrase("cumulative to end-2023", "zh") == "截至2023年末累计"


#: One code of each form the package's periods take, and its words in both languages.
PERIOD_PHRASES = [
    ("2023", "in 2023", "2023年"),
    ("end-2023", "at the end of 2023", "2023年末"),
    ("2023-11", "in November 2023", "2023年11月"),
    ("2023-01/09", "in January–September 2023", "2023年1—9月"),
    ("2023-05-20/31", "from 20 to 31 May 2023", "2023年5月20—31日"),
    ("2013/2023", "from 2013 to 2023", "2013—2023年"),
    ("2022-08/2023", "from August 2022 to 2023", "2022年8月至2023年"),
    ("2022-11/2023-11", "from November 2022 to November 2023", "2022年11月至2023年11月"),
    ("cumulative", "in total", "累计"),
    ("cumulative to end-2023", "cumulatively to the end of 2023", "截至2023年末累计"),
    ("cumulative to end-2023-09", "cumulatively to the end of September 2023", "截至2023年9月末累计"),
    ("since opening to end-2023", "from launch to the end of 2023", "自启用以来至2023年末"),
    ("3 years to 2023", "over the three years to 2023", "截至2023年的3年间"),
    ("target 2025", "(target for 2025)", "2025年目标"),
]


@pytest.mark.parametrize("code, en_words, zh_words", PERIOD_PHRASES, ids=[p[0] for p in PERIOD_PHRASES])
def test_each_form_of_period_reads_as_words(code, en_words, zh_words):
    assert tx.period_phrase(code, "en") == en_words
    assert tx.period_phrase(code, "zh") == zh_words


@pytest.mark.parametrize("code", ["2023-13", "2023-01/13", "2023-02-30/32", "1 years to 2023", "someday"])
def test_a_code_of_no_known_form_is_kept_as_written(code):
    """Not a form of the package (a month 13, a single year counted as years): shown as written,
    never half-read into a wrong phrase or an error."""
    assert tx.period_phrase(code, "en") == tx.period_phrase(code, "zh") == code


def test_every_period_in_the_package_reads_as_words(pkg):
    """No code of data/ reaches a sentence as it is written in the CSV ("2022-08/2023")."""
    import shdata

    codes = set()
    for tid in pkg.ids():  # a row's period, else its column's (shdata:period), else the table's
        meta = shdata.metadata(tid)
        codes.add(meta.period)
        df = shdata.load(tid)
        if "period" in df.columns:
            codes |= {str(p) for p in df["period"].dropna().unique()}
    desc = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
    codes |= {f["shdata:period"] for r in desc["resources"] for f in r["schema"]["fields"] if "shdata:period" in f}
    codes = {c for c in codes if ";" not in c}  # a table whose columns differ declares each column's
    assert codes
    raw = sorted(c for c in codes if tx.period_phrase(c, "en") == c or tx.period_phrase(c, "zh") == c)
    assert not raw, f"period codes with no words in shdata.text._PERIOD_WORDS: {raw}"
    forms = {next(i for i, (pattern, *_) in enumerate(tx._PERIOD_WORDS) if pattern.fullmatch(c)) for c in codes}
    assert forms == set(range(len(tx._PERIOD_WORDS))), "every form of period is one the package uses"


# -- claims ----------------------------------------------------------------------


def test_count_phrases_are_computed(en, zh):
    rows = en.cells(NSFC, "projects", where={"row_type": "item"})
    four = rows[:4]
    assert en.count_phrase(four, four, "lists") == "all four lists"
    assert en.count_phrase(four[:3], four, "lists") == "three of the four lists"
    assert en.count_phrase([], four, "lists") == "none of the four lists"
    assert en.count_phrase(four[:2], four[:2]) == "both"
    assert zh.count_phrase(four, four, "个榜单") == "全部四个榜单"
    assert zh.count_phrase(four[:3], four, "个榜单") == "四个榜单中的三个"
    with pytest.raises(TextError, match="more than all"):
        en.count_phrase(four, four[:3])


def test_superlatives_and_positions_come_from_the_data(en, zh):
    amounts = en.cells(NSFC, "amount", where={"row_type": "item"})
    top = en.largest(amounts)
    assert top.key == "General Program" and max(float(a) for a in amounts) == float(top)
    assert en.smallest(amounts).key == "Tianyuan Fund for Mathematics"
    assert [c.key for c in en.largest(amounts, 2)] == ["General Program", "Young Scientists Fund"]
    second = en.largest(amounts, 2)[1]
    assert en.position(second, amounts) == "the second-largest" and zh.position(second, amounts) == "第二大"
    assert en.position(top, amounts) == "the largest"


def test_a_tie_is_not_resolved_silently(pkg):
    a, b = (
        Printed("5", "个", "", "2023", "A", "甲", NSFC, "A", "projects"),
        Printed("5", "个", "", "2023", "B", "乙", NSFC, "B", "projects"),
    )
    with pytest.raises(TextError, match="a tie"):
        Writer("en", pkg).largest([a, b])


# -- caveats -----------------------------------------------------------------------


def test_the_double_counted_nsfc_total_brings_its_footnote(en, zh, pkg):
    total = en.cell(NSFC, {"row_type": "total"}, "amount")
    en.q(total)
    caveat = en.caveats()
    assert "counted twice" in caveat and not caveat.startswith("*")
    assert en.caveats() == ""  # said once
    zh.q(zh.cell(NSFC, {"row_type": "total"}, "amount"))
    assert "重复计算" in zh.caveats()
    # the project count of the total row double-counts the Major Program sub-projects too (a
    # discrepancy note: the printed footnote speaks only of the amount)
    fresh = Writer("en", pkg)
    fresh.q(fresh.cell(NSFC, {"row_type": "total"}, "projects"))
    caveat = fresh.caveats()
    assert "double-counts the Major Program sub-projects" in caveat and "counted twice" not in caveat
    fresh = Writer("zh", pkg)
    fresh.q(fresh.cell(NSFC, {"row_type": "total"}, "projects"))
    assert "重复计算了重大项目的课题" in fresh.caveats()
    fresh = Writer("en", pkg)
    fresh.q(fresh.cell(NSFC, "General Program", "projects"))  # an item row: no caveat
    assert fresh.caveats() == ""


@pytest.mark.parametrize("lang", tx.LANGS)
def test_the_nsfc_total_project_count_brings_the_double_counting_caveat_after_the_footnote(pkg, lang):
    # funding-nsfc-by-programme quotes 4,900 projects, then the amount: the printed footnote (**) on the
    # amount comes first, then the note that the project count is double-counted the same way.
    T = Writer(lang, pkg)
    T.q(T.cell(NSFC, {"row_type": "total"}, "projects"))
    T.q(T.cell(NSFC, {"row_type": "total"}, "amount"))
    notes = {n.id: tx.note_sentence(n.render(lang), lang) for n in pkg.metadata(NSFC).notes}
    joiner = " " if lang == "en" else ""
    assert T.caveats() == joiner.join([notes["double-counting"], notes["total-double-counts-projects"]])


def test_a_value_derived_from_a_caveated_cell_inherits_the_caveat(pkg):
    T = Writer("en", pkg)
    total = T.cell(NSFC, {"row_type": "total"}, "amount")
    general = T.cell(NSFC, "General Program", "amount")
    T.q(T.share(general, total))
    assert "counted twice" in T.caveats()
    T2 = Writer("en", pkg)
    T2.q(T2.count(T2.cells(NSFC, "amount")))  # counting rows does not
    assert T2.caveats() == ""


def test_unicorn_share_and_partial_year_caveats(pkg):
    T = Writer("en", pkg)
    T.q(T.cell("unicorns_shanghai", "shanghai_share"))
    assert "20.8%" in T.caveats()
    T = Writer("en", pkg)
    T.q(T.cell("yrd_technology_trade", "total_trade"))
    assert T.caveats() == "That figure covers January–September 2023 only, not the full year."
    T = Writer("zh", pkg)
    trade = T.cell("yrd_technology_trade", "total_trade")
    T.period(trade)
    T.q(trade)
    assert T.caveats() == ""  # the period was said in the sentence


# -- alt text ------------------------------------------------------------------------


def test_alt_text_names_chart_comparison_extremes_and_focus(en, zh):
    scores = en.cells("ideal_city_scores", "composite")
    shanghai = en.cell("ideal_city_scores", "Shanghai", "composite")
    alt = en.alt_bars(scores, measure="composite scores", items="cities", chart="dot", focus=shanghai)
    assert alt == (
        "Dot plot comparing composite scores across 20 cities; the highest is Singapore (11.69%) "
        "and the lowest Moscow (0.67%). Shanghai: 9.59%."
    )
    alt_zh = zh.alt_bars(
        zh.cells("ideal_city_scores", "composite"),
        measure="综合得分",
        items="个城市",
        chart="dot",
        focus=zh.cell("ideal_city_scores", "Shanghai", "composite"),
    )
    assert alt_zh == "点图，比较20个城市的综合得分；最高为新加坡（11.69%），最低为莫斯科（0.67%）。上海为9.59%。"
    with pytest.raises(TextError, match="chart 'pie'"):
        en.alt_bars(scores, measure="x", items="y", chart="pie")


@pytest.mark.parametrize("lang", tx.LANGS)
def test_alt_text_names_every_item_tied_at_an_extreme_and_reverifies(pkg, lang):
    # Two kinds of national research base have 2 each: the lowest is a tie.
    T = Writer(lang, pkg)
    bases = T.cells("shuzi_research_bases")
    low = min(float(b) for b in bases)
    tied = [b for b in bases if float(b) == low]
    assert len(tied) == 2
    names = T.join(
        [tx.label_form(b.label_en if lang == "en" else b.label_zh, T._label_field(b) or {}, lang) for b in tied]
    )
    alt = T.alt_bars(
        bases, measure="counts" if lang == "en" else "数量", items="kinds of base" if lang == "en" else "类科研基地"
    )
    number = T.format(tied[0])
    if lang == "en":
        assert f"the lowest are {names} ({number} each)" in alt, alt
    else:
        assert f"最低为{names}（各{number}）" in alt, alt
    rec = {"id": "t", "lang": lang, "commentary": "", "headline": "", "alt": alt}
    rec.update(T.record(rec))
    assert tx.verify_record(pkg, rec) == []
    tied_refs = [q["ref"]["row"] for q in rec["quantities"] if q["text"] == number]
    assert len(tied_refs) == 2  # each tied value is recorded and checked


# -- provenance of what publish stores ------------------------------------------------


def _sidecar(pkg, lang, build):
    T = Writer(lang, pkg)
    commentary, headline, alt = build(T)
    rec = {"id": "test-figure", "lang": lang}
    rec.update(tx.sidecar_fields(T, commentary=commentary, headline=headline, alt=alt))
    return rec


def _nsfc_texts(T):
    total = T.cell(NSFC, {"row_type": "total"}, "projects")
    amounts = T.cells(NSFC, "amount", where={"row_type": "item"})
    top = T.largest(amounts)
    if T.lang == "en":
        return (
            T.paragraph(
                f"{T.period(total)}, Shanghai won {T.q(total)} NSFC projects",
                T.caveats(),
                f"{T.label(top)} brought {T.q(top)}",
            ),
            T.sentence(f"{T.label(top)} led with {T.q(top)}"),
            T.alt_bars(amounts, measure="funding", items="programmes"),
        )
    return (
        T.paragraph(f"{T.period(total)}，上海获项目{T.q(total)}", T.caveats(), f"{T.label(top)}资助额{T.q(top)}"),
        T.sentence(f"{T.label(top)}最高，达{T.q(top)}"),
        T.alt_bars(amounts, measure="资助额", items="类项目"),
    )


def test_recorded_quantities_reverify_against_the_data(pkg):
    rec = _sidecar(pkg, "en", _nsfc_texts)
    assert tx.verify_record(pkg, rec) == []
    texts = {q["text"] for q in rec["quantities"]}
    assert {"4,900", "¥1.068 bn", "in 2023", "16"} <= texts
    q = next(q for q in rec["quantities"] if q["text"] == "¥1.068 bn")
    assert q["ref"] == {
        "table": NSFC,
        "row": {"programme_en": "General Program"},
        "column": "amount",
        "printed": "106754.50",
        "unit": "万元",
    }
    count = next(q for q in rec["quantities"] if q["text"] == "16")
    assert count["ref"]["op"] == "count" and len(count["ref"]["inputs"]) == 16
    json.dumps(rec, ensure_ascii=False)  # serialisable as it stands


def test_only_quantities_in_the_published_texts_are_stored(pkg):
    T = Writer("en", pkg)
    T.q(T.cell(NSFC, "Key Program", "amount"))  # formatted but not used
    rec = tx.sidecar_fields(T, commentary="No numbers here.", headline="", alt="")
    assert rec["quantities"] == []


def test_verification_catches_a_changed_value_and_false_precision(pkg):
    rec = _sidecar(pkg, "en", _nsfc_texts)
    q = next(q for q in rec["quantities"] if q["text"] == "¥1.068 bn")
    q["ref"]["printed"] = "106754.49"
    assert any(
        "is 106754.50万元 in the data, but the text quotes 106754.49万元" in m for m in tx.verify_record(pkg, rec)
    )
    rec = _sidecar(pkg, "en", _nsfc_texts)
    q = next(q for q in rec["quantities"] if q["text"] == "¥1.068 bn")
    q.update(text="¥1.2 bn", shown="1.2")  # a wrong rounding
    for f in tx.TEXT_FIELDS:
        rec[f] = rec[f].replace("¥1.068 bn", "¥1.2 bn")
    assert any("'¥1.2 bn' shows 1.2 (×1e9), but the data gives 1067545000" in m for m in tx.verify_record(pkg, rec))


def test_verification_catches_more_digits_than_printed(pkg):
    rec = _sidecar(pkg, "en", _nsfc_texts)
    q = next(q for q in rec["quantities"] if q["text"] == "4,900")
    q.update(text="4,900.0", shown="4900.0")
    rec["commentary"] = rec["commentary"].replace("4,900", "4,900.0")
    assert any("shows more digits than printed (4900个)" in m for m in tx.verify_record(pkg, rec))


def test_publish_stores_texts_and_embeds_headline_and_alt(pkg, tmp_path):
    import matplotlib
    from PIL import PngImagePlugin

    from shdata import manifest, style
    from shdata.notebook import validate

    def build(out):
        with matplotlib.rc_context():  # the house style, without leaking into other tests
            style.apply("zh")
            return _build(out)

    def _build(out):
        P = validate(lang="zh", formats=["png", "svg", "pdf"], dpi=72, output_dir=str(out))
        T = P.text()
        commentary, headline, alt = _nsfc_texts(T)
        fig, ax = P.figure(height=0.3)
        ax.plot([0, 1], [0, 1])
        P.publish(
            fig,
            "test-figure",
            sources=[NSFC],
            title="标题",
            caption="说明。",
            commentary=commentary,
            headline=headline,
            alt=alt,
        )
        assert P.writer is None  # the next figure starts afresh
        return out / "zh", (commentary, headline, alt)

    folder, (commentary, headline, alt) = build(tmp_path / "a")
    rec = json.loads((folder / "test-figure.json").read_text(encoding="utf-8"))
    assert (rec["commentary"], rec["headline"], rec["alt"]) == (commentary, headline, alt)
    assert tx.verify_record(pkg, rec) == []
    assert rec["title"] == "标题" and rec["files"]["svg"]["path"] == "zh/test-figure.svg"  # old keys kept
    svg = (folder / "test-figure.svg").read_text(encoding="utf-8")
    assert svg.index("<title>标题</title>") < svg.index(f"<desc>{alt}</desc>") < svg.index("<metadata>")
    png = PngImagePlugin.PngImageFile(folder / "test-figure.png")
    assert png.text["Alt"] == alt
    assert png.text["Headline"] == headline
    assert b"/Headline" in (folder / "test-figure.pdf").read_bytes()
    entry = manifest.collect(tmp_path / "a")[0]
    assert entry["headline"]["zh"] == headline and entry["alt"]["zh"] == alt
    # reproducible to the byte
    folder_b, _ = build(tmp_path / "b")
    for ext in ("png", "svg", "pdf", "json"):
        assert (folder / f"test-figure.{ext}").read_bytes() == (folder_b / f"test-figure.{ext}").read_bytes(), ext


def test_import_shdata_text_is_light():
    import subprocess
    import sys

    code = "import sys, shdata.text, shdata.prose; print(any(m in sys.modules for m in ('pandas', 'matplotlib')))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("总计为资助额这一列的加总,因此会被重复计算", "总计为资助额这一列的加总，因此会被重复计算"),
        ("科技得分(报告值)为1.71.", "科技得分（报告值）为1.71。"),
        ("占比20.8%,即66/316", "占比20.8%，即66/316"),
        ("增长19.53%", "增长19.53%"),
    ],
)
def test_chinese_punctuation_is_made_full_width(raw, expected):
    assert tx.zh_punctuation(raw) == expected


def test_chinese_sentences_and_caveats_get_full_width_punctuation(zh):
    assert zh.sentence("资助额(亿元),如下") == "资助额（亿元），如下。"
    zh.q(zh.cell(NSFC, {"row_type": "total"}, "amount"))
    caveat = zh.caveats()
    assert "," not in caveat and caveat.endswith("。") and not caveat.startswith("*")


def test_grew_fastest_names_the_level_and_differences_of_percentages_are_points(en, zh):
    growths = [
        en.cell("tech_finance_indicators", k)
        for k in ("tech_loan_balance_growth", "sme_loan_balance_growth", "tech_loan_accounts_growth")
    ]
    fastest = en.largest(growths)
    level = en.level_of(fastest)
    assert level.key == fastest.key.removesuffix("_growth")
    slowest = en.smallest(growths)
    gap = en.difference(fastest, slowest)
    assert en.q(gap).endswith(" percentage points") and zh.q(gap).endswith("个百分点")
    with pytest.raises(TextError, match="names no level"):
        en.level_of(level)


def test_quantifiers_and_lower_bounds_in_derivations(pkg, en, zh):
    rows = en.cells(NSFC, "projects", where={"row_type": "item"})
    assert en.quantifier(rows[:9], rows) == "most" and zh.quantifier(rows[:9], rows) == "多数"
    assert en.quantifier(rows[:8], rows) == "half" and en.quantifier(rows[:2], rows) == "a minority"
    assert en.quantifier(rows, rows) == "all" and en.quantifier([], rows) == "none"
    rec = {
        "id": "q",
        "lang": "en",
        "commentary": "Most programmes.",
        "headline": "",
        "alt": "",
        "quantities": [q.to_dict() for q in en.quantities if q.text == "most"],
    }
    assert tx.verify_record(pkg, rec) == []
    rec["quantities"][0]["text"] = "all"
    assert "'all' should say 'most'" in tx.verify_record(pkg, rec)[0]
    # more than 3000 firms + more than 1000 firms is still "more than"; a ratio to an exact count too
    a, b = p("3000", "家", "余"), p("1000", "家", "超")
    assert Writer("en", pkg).format(tx.derive_sum([a, b])) == "more than 4,000"
    assert Writer("zh", pkg).format(tx.derive_ratio(a, p("4", "个"))).startswith("超")
    assert Writer("en", pkg).format(tx.derive_ratio(p("4", "个"), a)).startswith("less than")


#: (part, whole, qualifier of part/whole, caveat): an exact value has no qualifier.
_BOUND_CASES = [
    (p("30", "家", "超"), p("100", "家"), "超", ""),  # more than 30 of 100: more than 30%
    (p("30", "家"), p("100", "家", "以上"), "不到", ""),  # 30 of more than 100: less than 30%
    (p("30", "家", "约"), p("100", "家"), "约", ""),  # about 30 of 100: about 30%
    (p("30", "家"), p("100", "家", "约"), "约", ""),
    (p("30", "家", "超"), p("100", "家", "约"), "约", "mixed-bounds"),  # a bound of an estimate
    (p("30", "家", "约"), p("100", "家", "余"), "约", "mixed-bounds"),
    (p("30", "家", "超"), p("100", "家", "余"), "约", "mixed-bounds"),  # bounds pulling opposite ways
    (p("30", "家"), p("100", "家"), "", ""),
]


@pytest.mark.parametrize("part,whole,qualifier,caveat", _BOUND_CASES)
def test_qualifier_of_a_share_follows_which_input_is_a_bound(pkg, part, whole, qualifier, caveat):
    for derive in (tx.derive_share, tx.derive_ratio):
        d = derive(part, whole)
        assert (d.qualifier, d.caveat) == (qualifier, caveat), derive.__name__
    share = tx.derive_share(part, whole)
    en, zh = Writer("en", pkg).format(share), Writer("zh", pkg).format(share)
    words = {
        "超": ("more than 30%", "超30%"),
        "不到": ("less than 30%", "不到30%"),
        "约": ("about 30%", "约30%"),
        "": ("30%", "30%"),
    }[qualifier]
    assert (en, zh) == words


def test_bounds_through_sums_differences_and_previous_levels(pkg):
    more, exact, about = p("30", "家", "超"), p("100", "家"), p("10", "家", "约")
    assert tx.derive_difference(exact, more).qualifier == "不到"  # 100 - (>30) < 70
    assert tx.derive_difference(more, p("10", "家")).qualifier == "超"
    assert (tx.derive_sum([more, exact]).qualifier, tx.derive_sum([more, about]).caveat) == ("超", "mixed-bounds")
    # a share of an upper bound of an exact whole is still an upper bound
    upper = tx.derive_difference(exact, more)
    assert tx.derive_share(upper, p("200", "家")).qualifier == "不到"
    # level / (1 + growth): more than the level now means more than it was
    assert tx.derive_previous(p("120", "亿元", "超"), p("20", "%")).qualifier == "超"


@pytest.mark.parametrize("lang", tx.LANGS)
def test_a_mixed_bound_value_brings_its_caveat_and_reverifies(pkg, lang):
    T = Writer(lang, pkg)
    # more than 1,000 firms (a lower bound) over nearly 1,000 firms (approximate)
    d = T.ratio(
        T.cell("foreign_talent_outreach", "lecture_enterprises"),
        T.cell("district_innovation_highlights", "putuo_wuning_tech_firms"),
    )
    quoted = T.q(d)
    caveat = T.caveats()
    assert caveat == tx.DERIVED_CAVEATS["mixed-bounds"][lang]
    assert T.caveats() == ""  # said once
    rec = {"id": "t", "lang": lang, "commentary": f"{quoted} {caveat}", "headline": "", "alt": ""}
    rec.update(T.record(rec))
    (q,) = rec["quantities"]
    assert q["caveat"] == "mixed-bounds" and rec["caveats"] == [{"text": caveat, "derivation": "mixed-bounds"}]
    assert tx.verify_record(pkg, rec) == []
    rec["commentary"] = quoted  # the caveat dropped
    assert any("quoted without its caveat" in m for m in tx.verify_record(pkg, rec))


def test_verification_catches_a_dropped_or_wrong_qualifier(pkg):
    T = Writer("en", pkg)
    more = T.cell("foreign_talent_outreach", "lecture_enterprises")  # 1000余家
    firms = T.cell("enterprise_policy_incentives", "hte_tax_firms")  # 3000余家
    quoted = T.q(more)
    rec: dict[str, Any] = {"id": "t", "lang": "en", "commentary": f"It served {quoted}.", "headline": "", "alt": ""}
    rec.update(T.record(rec))
    assert tx.verify_record(pkg, rec) == []
    rec["quantities"][0]["text"] = rec["commentary"] = "1,000"
    assert any("does not say 'more than'" in m for m in tx.verify_record(pkg, rec))
    # a share derived from them is re-derived with its qualifier: "about", and only indicative
    T = Writer("zh", pkg)
    quoted = T.q(T.share(more, firms))
    assert quoted.startswith("约")
    rec = {"id": "t", "lang": "zh", "commentary": quoted + T.caveats(), "headline": "", "alt": ""}
    rec.update(T.record(rec))
    assert tx.verify_record(pkg, rec) == []
    rec["quantities"][0]["text"] = rec["quantities"][0]["text"].replace("约", "超")
    assert any("does not say '约'" in m for m in tx.verify_record(pkg, rec))


def test_caveats_of_given_values_are_stateless(en):
    total = en.cell(NSFC, {"row_type": "total"}, "amount")
    first, second = en.caveats(total), en.caveats(total)
    assert first == second and "counted twice" in first
    projects = en.caveats(en.cell(NSFC, {"row_type": "total"}, "projects"))
    assert projects == en.caveats(en.cell(NSFC, {"row_type": "total"}, "projects")) and "counted twice" not in projects
    assert en.caveats(en.cell(NSFC, "General Program", "projects")) == ""


# -- numbers inside caveats, periods and labels (spans the number check accepts) ------------------


def _rec(T, commentary):
    rec = {"id": "test-figure", "lang": T.lang}
    rec.update(tx.sidecar_fields(T, commentary=commentary, headline="", alt=""))
    return rec


@pytest.mark.parametrize("lang", tx.LANGS)
def test_a_caveat_quoted_from_a_note_with_numbers_passes_and_only_its_span_is_excused(pkg, lang):
    # The YRD share note prints "592/1491 = 39.7%": numbers of the note, not of the figure.
    T = Writer(lang, pkg)
    share = T.cell("yrd_technology_trade", "shanghai_outflow_share")
    rec = _rec(T, T.paragraph(f"{T.period(share)} {T.q(share)}", T.caveats()))
    assert "1491" in rec["commentary"] and tx.verify_record(pkg, rec) == []
    assert [c["note"] for c in rec["caveats"]] == ["share-rounding"]
    # a number just outside the note's span is still checked
    extra = dict(rec, commentary=rec["commentary"] + " (17)")
    unmatched = f"test-figure [{lang}] commentary: number '17' matches no recorded quantity"
    assert tx.verify_record(pkg, extra) == [unmatched]
    # a recorded "caveat" that is not the note's text excuses nothing
    forged = json.loads(json.dumps(rec))
    forged["caveats"][0]["text"] = forged["caveats"][0]["text"].replace("1491", "1490")
    forged["commentary"] = forged["commentary"].replace("1491", "1490")
    assert any(
        "is not the text of note yrd_technology_trade#share-rounding" in p for p in tx.verify_record(pkg, forged)
    )


@pytest.mark.parametrize("lang", tx.LANGS)
def test_the_nsfc_double_counting_note_with_its_printed_totals_passes(editor, lang):
    # The discrepancy note on the project total prints 4900, 10, 32, 4868, 328963.89 and 339644.66; once it
    # applies to the quoted total (as a caveat), every one of those numbers is the note's.
    desc = editor.descriptor
    note = next(n for n in editor.resource(desc, NSFC)["notes"] if n["id"] == "total-double-counts-projects")
    note["applies_to"] = {"rows": {"row_type": "total"}, "columns": ["projects", "amount"]}
    editor.save_descriptor(desc)
    pkg = editor.package()
    T = Writer(lang, pkg)
    total = T.cell(NSFC, {"row_type": "total"}, "projects")
    amount = T.cell(NSFC, {"row_type": "total"}, "amount")
    said = (
        f"Shanghai won {T.q(total)} projects and {T.q(amount)}"
        if lang == "en"
        else f"上海获项目{T.q(total)}，资助额{T.q(amount)}"
    )
    rec = _rec(T, T.paragraph(said, T.caveats()))
    assert {c["note"] for c in rec["caveats"]} == {"double-counting", "total-double-counts-projects"}
    assert "339644.66" in rec["commentary"] and "328963.89" in rec["commentary"]
    assert tx.verify_record(pkg, rec) == []


@pytest.mark.parametrize("lang", tx.LANGS)
def test_the_partial_year_caveat_records_its_period(pkg, lang):
    T = Writer(lang, pkg)
    trade = T.cell("yrd_technology_trade", "total_trade")
    said = f"Trade was {T.q(trade)}" if lang == "en" else f"交易额{T.q(trade)}"
    rec = _rec(T, T.paragraph(said, T.caveats()))
    assert "2023" in rec["commentary"] and tx.verify_record(pkg, rec) == []
    (period,) = [q for q in rec["quantities"] if q["kind"] == "period"]
    assert period["form"] == "partial-year" and period["value"] == "2023-01/09"
    # the same sentence for another period does not verify
    wrong = json.loads(json.dumps(rec))
    for q in wrong["quantities"]:
        if q["kind"] == "period":
            q["text"] = tx.partial_year_sentence("2022-01/09", lang)
    wrong["commentary"] = wrong["commentary"].replace(period["text"], tx.partial_year_sentence("2022-01/09", lang))
    assert any("does not say '2023-01/09'" in p for p in tx.verify_record(pkg, wrong))


def test_digits_inside_a_recorded_label_are_the_labels(pkg):
    T = Writer("en", pkg)
    rank = T.cell("gii_2023_shanghai_suzhou", "cluster_rank")
    rec = _rec(T, T.sentence(f"{T.label(rank)}: {T.q(rank)}"))
    assert "top 100" in rec["commentary"] and tx.verify_record(pkg, rec) == []
    # typed, the same words are an unrecorded number
    typed = dict(rec, labels=[])
    assert tx.verify_record(pkg, typed) == ["test-figure [en] commentary: number '100' matches no recorded quantity"]
    # a recorded label must be the row's label as printed
    forged = json.loads(json.dumps(rec))
    forged["labels"][0]["text"] = forged["labels"][0]["text"].replace("100", "200")
    forged["commentary"] = forged["commentary"].replace("100", "200")
    assert any("is not the en label of gii_2023_shanghai_suzhou" in p for p in tx.verify_record(pkg, forged))


def test_chinese_counts_two_as_liang_and_the_text_verifies_with_parity(pkg):
    rows = Writer("en", pkg).cells(NSFC, "projects", where={"row_type": "item"})
    five, two = rows[:5], rows[:2]
    recs = {}
    for lang in tx.LANGS:
        T = Writer(lang, pkg)
        phrase = T.count_phrase(two, five, "lists" if lang == "en" else "项")
        both = T.count_phrase(two, two, "lists" if lang == "en" else "个榜单")
        recs[lang] = _rec(T, T.paragraph(phrase, both))
        assert tx.verify_record(pkg, recs[lang]) == []
    assert recs["zh"]["commentary"] == "五项中的两项。全部两个榜单。"
    assert recs["en"]["commentary"] == "Two of the five lists. Both lists."
    assert tx.parity(recs["en"], recs["zh"]) == []
    assert tx.spell(2, "zh") == "二" and tx.ordinal(2, "zh") == "第二" and tx.spell(12, "zh", counting=True) == "12"
