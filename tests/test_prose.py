"""The prose style check (shdata.prose): each rule has a failing and a passing example."""

from __future__ import annotations

import pytest

from shdata import prose

IDS = {"hk-technology-typo", "double-counting", "nsfc_projects_by_programme"}
LABELS = {"Artificial intelligence"}


def rules(text, lang):
    return [p.rule for p in prose.check(text, lang, ids=IDS, labels=LABELS)]


@pytest.mark.parametrize(
    "rule,lang,bad,good",
    [
        ("leading-numeral", "en", "3 programmes have no flag.", "Three programmes have no flag."),
        ("leading-numeral", "en", "It grew. 21,298 SMEs registered.", "It grew. In 2023, 21,298 SMEs registered."),
        ("leading-numeral", "en", "¥3.4 bn went to Shanghai.", "Shanghai received ¥3.4 bn."),
        ("internal-id", "en", "For Hong Kong see note hk-technology-typo.", "Hong Kong's score is most likely a typo."),
        ("internal-id", "en", "The tech_loan_balance rose.", "The loan balance rose."),
        ("internal-id", "zh", "见 nsfc_projects_by_programme。", "见国家自然科学基金表。"),
        ("doubled-qualifier", "zh", "据此推算上年末约为2470亿元（推算值）。", "据此推算上年末为2470亿元（推算值）。"),
        ("doubled-qualifier", "zh", "研发投入约4.4%左右。", "研发投入4.4%左右。"),
        ("doubled-qualifier", "zh", "新增专利超1万余项。", "新增专利1万余项。"),
        ("doubled-qualifier", "zh", "培育企业超过100家以上。", "培育企业超过100家。"),
        ("doubled-qualifier", "zh", "超级博士后超1000人以上。", "超级博士后超1000人。"),
        (
            "doubled-qualifier",
            "en",
            "It implies about ¥247 bn (derived) a year earlier.",
            "It implies ¥247 bn (derived) a year earlier.",
        ),
        ("half-width-punctuation", "zh", "总计为资助额的加总,因此重复计算。", "总计为资助额的加总，因此重复计算。"),
        ("half-width-punctuation", "zh", "科技得分(报告值)为1.71。", "科技得分（报告值）为1.71。"),
        ("half-width-punctuation", "zh", "总计会被重复计算", "总计会被重复计算。"),
        # a quotation of the report keeps its punctuation; the sentence around it may not use half-width marks
        ("half-width-punctuation", "zh", "报告写“重组26家,新建9家”,共35家。", "报告写“重组26家,新建9家”，共35家。"),
        ("list-join", "en", "It appears in Beijing, Seoul, New York.", "It appears in Beijing, Seoul and New York."),
        ("list-join", "zh", "三大产业为人工智能，集成电路和生物医药。", "三大产业为人工智能、集成电路和生物医药。"),
        ("label-case", "en", "Most are led by Artificial intelligence (8).", "Artificial intelligence leads (8)."),
    ],
)
def test_each_rule_fails_on_its_example_and_passes_the_fix(rule, lang, bad, good):
    assert rule in rules(bad, lang), f"{rule} missed in {bad!r}"
    assert rule not in rules(good, lang), (
        f"{rule} flagged in {good!r}: {prose.check(good, lang, ids=IDS, labels=LABELS)}"
    )


@pytest.mark.parametrize(
    "text,lang",
    [
        ("In 2023, banks lent ¥5 bn to 21,298 firms, up 20% on the year.", "en"),
        (
            (
                "Shanghai ranks No. 3 in the world. The General Program, the Key Program and the Young Scientists Fund "
                "lead."
            ),
            "en",
        ),
        ("The ratio is 3.5 times; e.g. most firms are small.", "en"),
        ("2023年末，上海和北京的贷款余额分别为5亿元和4亿元。", "zh"),
        ("上海获项目4900个（其中面上项目2171个）。", "zh"),
        ("A double-counting total is still a total.", "en"),
        # 超, 近 and 约 inside words are not qualifiers; 多 and 以上 count only right after a number.
        ("“超级博士后”激励计划资助400余人。", "zh"),
        ("近年来培育企业100多家，其中医学类占50%以上。", "zh"),
        ("在约束条件下研发投入4.4%左右。", "zh"),
    ],
)
def test_ordinary_prose_passes(text, lang):
    assert prose.check(text, lang, ids=IDS, labels=LABELS) == []


def test_problem_names_where_rule_and_words():
    (problem,) = prose.check("3 programmes.", "en", where="funding-x [en] commentary")
    assert str(problem) == "funding-x [en] commentary: leading-numeral: '3 programmes.'"


def test_sentences_split_in_both_languages():
    assert prose.sentences("No. 3 in 2023. Second one!\n- a bullet", "en") == [
        "No. 3 in 2023.",
        "Second one!",
        "a bullet",
    ]
    assert prose.sentences("甲。乙！丙", "zh") == ["甲。", "乙！", "丙"]


def test_package_vocabulary_knows_ids_and_capitalised_labels(pkg):
    ids, labels = prose.package_vocabulary(pkg)
    assert {"nsfc_projects_by_programme", "hk-technology-typo", "tech_loan_balance"} <= ids
    assert "Artificial intelligence" in labels
    assert "General Program" not in labels  # a proper name keeps its capitals
