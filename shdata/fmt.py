"""Numbers for commentary, in English or Chinese (the first version; see :mod:`shdata.text`).

:func:`quantity` now applies the rules of the text layer, :mod:`shdata.text`;
new notebook code writes sentences with a :class:`shdata.text.Writer`, which also
records every number's provenance.

Chinese text keeps the report's own myriad units ("123.4亿元"); English text
converts to thousands, millions and billions ("¥12.34 bn"), with the same
number of significant digits as the printed value, so no precision is invented
or lost. Printed qualifiers travel with the number ("约12.3万份" / "about 123,000").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .errors import ParameterError
from .package import Printed

LANGS = ("en", "zh")


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ParameterError(f"lang {lang!r} is not allowed; use one of {', '.join(map(repr, LANGS))}")


def _round_sig(value: Decimal, sig: int) -> Decimal:
    if value == 0:
        return value
    exp = value.adjusted() - sig + 1
    return value.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP)


def _plain(value: Decimal, decimals: int | None = None) -> str:
    if decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = format(value, "f")
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}"
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def number(value: Decimal | float | int, lang: str = "en", decimals: int | None = None) -> str:
    """A bare number with thousands separators (en) or without (zh)."""
    _check_lang(lang)
    d = Decimal(str(value))
    text = _plain(d, decimals)
    return text if lang == "en" else text.replace(",", "")


def _english_scaled(base: Decimal, sig: int, money: bool) -> str:
    for size, suffix in ((Decimal("1e12"), " tn"), (Decimal("1e9"), " bn"), (Decimal("1e6"), " m")):
        if abs(base) >= size:
            scaled = _round_sig(base / size, sig)
            text = _plain(scaled)
            return (
                f"¥{text}{suffix}"
                if money
                else f"{text}{suffix.replace(' m', ' million').replace(' bn', ' billion').replace(' tn', ' trillion')}"
            )
    text = _plain(base if base == base.to_integral() and len(str(abs(int(base)))) <= sig else _round_sig(base, sig))
    return f"¥{text}" if money else text


def quantity(v: Printed, lang: str = "en", unit_word: bool = True) -> str:
    """Format a printed value for running text (the rules of :mod:`shdata.text`, nothing recorded).

    New code should use a :class:`shdata.text.Writer` (``T = P.text(); T.q(v)``), which also
    records the number's provenance for the tests; this function remains for old notebooks.

    Examples
    --------
    123.4 亿元 -> "¥12.34 bn" / "123.4亿元"; 1.25 万户 -> "12,500" / "1.25万户";
    12.30 % -> "12.30%"; 约 12.3 万份 -> "about 123,000" / "约12.3万份".
    """
    _check_lang(lang)
    from .text import Writer

    return Writer(lang).format(v, unit_word=unit_word)


def money(amount_base_yuan: Decimal | float, lang: str = "en", sig: int = 3) -> str:
    """A computed amount in yuan (e.g. an average award) for running text.

    English gives ``¥`` with m/bn; Chinese gives 万元 or 亿元. Superseded by
    ``T.q(T.ratio(a, b))`` of :mod:`shdata.text`, which records how the amount was derived.
    """
    _check_lang(lang)
    base = Decimal(str(amount_base_yuan))
    if lang == "en":
        return _english_scaled(base, sig, money=True)
    for exp, unit in ((8, "亿元"), (4, "万元")):
        if abs(base) >= Decimal(1).scaleb(exp):
            return f"{_plain(_round_sig(base.scaleb(-exp), sig)).replace(',', '')}{unit}"
    return f"{_plain(_round_sig(base, sig)).replace(',', '')}元"


def percent(value: Decimal | float, lang: str = "en", decimals: int = 1) -> str:
    """A computed percentage, e.g. a share worked out from printed counts.

    Superseded by ``T.q(T.share(part, whole))`` of :mod:`shdata.text`.
    """
    _check_lang(lang)
    return f"{number(Decimal(str(value)), lang, decimals)}%"


def period(text: str, lang: str = "en") -> str:
    """A period code from the data ("2023-01/09", "cumulative to end-2023") in words."""
    _check_lang(lang)
    if lang == "en":
        return {
            "2023-01/09": "January–September 2023",
            "2023-01/11": "January–November 2023",
            "end-2023": "at the end of 2023",
        }.get(text, text)
    table = {
        "2023": "2023年",
        "2023-01/09": "2023年1—9月",
        "2023-01/11": "2023年1—11月",
        "end-2023": "2023年末",
        "cumulative to end-2023": "截至2023年末累计",
    }
    return table.get(text, text)
