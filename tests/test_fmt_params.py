"""Number formatting for commentary and parameter validation (fast, no kernel)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shdata import fmt
from shdata.errors import ParameterError
from shdata.notebook import validate
from shdata.package import Printed


def p(text, unit, qualifier=""):
    return Printed(text, unit, qualifier, "2023", "label", "标签", "t")


@pytest.mark.parametrize(
    "value,en,zh",
    [
        (p("528.1", "亿元"), "¥52.81 bn", "528.1亿元"),
        (p("2.99", "万户"), "29,900", "2.99万户"),
        (p("52.14", "%"), "52.14%", "52.14%"),
        (p("92.70", "%"), "92.70%", "92.70%"),
        (p("43.4", "万份", "约"), "about 434,000", "约43.4万份"),
        (p("2500", "人次", "余"), "more than 2,500 person-times", "2500余人次"),  # as printed: 余 before the unit
        (p("339644.66", "万元"), "¥3.396 bn", "33.96亿元"),  # above 1亿, read in 亿元 (shdata.text rules)
        (p("6700", "万元", "超"), "more than ¥67 m", "超6700万元"),
    ],
)
def test_quantity_in_both_languages(value, en, zh):
    assert fmt.quantity(value, "en") == en
    assert fmt.quantity(value, "zh") == zh


def test_money_and_percent():
    assert fmt.money(Decimal("693152.37"), "en") == "¥693,000"
    assert fmt.money(Decimal("693152.37"), "zh") == "69.3万元"
    assert fmt.money(Decimal("2.47e11"), "zh") == "2470亿元"
    assert fmt.percent(Decimal("85.4285"), "en") == "85.4%"


def test_format_refuses_unknown_language():
    with pytest.raises(ParameterError, match="lang 'fr' is not allowed"):
        fmt.quantity(p("1", "家"), "fr")


def test_validate_accepts_defaults_and_papermill_strings():
    P = validate(formats="png,pdf", width="120", dpi=150)
    assert P.formats == ("png", "pdf") and P.width == 120.0 and P.dpi == 150


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"lang": "fr"}, "lang 'fr'"),
        ({"formats": []}, "formats"),
        ({"formats": ["png", "gif"]}, "'gif'"),
        ({"dpi": 0}, "dpi 0"),
        ({"dpi": 72.5}, "dpi 72.5"),
        ({"dpi": True}, "dpi True"),
        ({"width": 10}, "width 10 mm"),
        ({"output_dir": ""}, "output_dir"),
        ({"year": "2023"}, "year '2023'"),
        ({"bogus": 1}, "unknown parameter 'bogus'"),
    ],
)
def test_validate_names_the_bad_parameter(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        validate(**kwargs)
