"""Units as printed in the report, and their conversion to base units.

The report prints amounts in Chinese myriad-scaled units: 亿元 (10^8 yuan),
万人 (10^4 persons), 万亿元 (10^12 yuan) and so on. The data files keep those
units; :func:`to_base` turns a printed value into plain yuan, persons, items.
Arithmetic is done on :class:`decimal.Decimal` built from the printed text, so
``1.13 万户`` becomes exactly ``11300 户`` (binary floats would give
11299.999999999998).
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from .errors import UnitError

# Longest prefix first: 万亿 must win over 万.
_SCALE_PREFIXES: tuple[tuple[str, int], ...] = (("万亿", 12), ("亿", 8), ("万", 4))

# Units that carry no scale and must not be split (they start with 万 or 亿
# only by accident of the language, e.g. none today; kept for safety).
_UNSCALED: frozenset[str] = frozenset({"%", "位", "个百分点"})

# English names of base units, for labels and `shdata describe`.
_EN = {
    "元": "yuan",
    "人": "persons",
    "人次": "person-times",
    "名": "persons",
    "件": "items",
    "项": "items",
    "个": "units",
    "家": "entities",
    "户": "accounts",
    "份": "documents",
    "台(套)": "instrument sets",
    "吨": "tonnes",
    "小时": "hours",
    "核小时": "core-hours",
    "平方米": "m²",
    "m²": "m²",
    "%": "%",
    "个百分点": "percentage points",
    "所": "institutions",
    "批": "batches",
    "场": "events",
    "篇": "articles",
    "次": "times",
    "发": "shots",
    "管": "tubes",
    "例": "cases",
    "款": "products",
    "年": "years",
    "天": "days",
    "条": "items",
    "座": "units",
    "套": "sets",
    "部": "items",
    "路": "paths",
    "束": "beams",
    "金": "gold awards",
    "银": "silver awards",
    "家次": "enterprise-times",
    "m2": "m²",
}
#: 位 by the kind of value it counts.
_WEI_EN = {"rank": "rank", "rank_change": "places", "level": "people"}
_SCALE_EN = {12: "trillion", 8: "hundred million", 4: "ten thousand"}


def split_unit(unit: str) -> tuple[int, str]:
    """Split a printed unit into a power-of-ten scale and a base unit.

    Parameters
    ----------
    unit : str
        Unit as printed, e.g. ``"亿元"``, ``"万人次"``, ``"%"``.

    Returns
    -------
    tuple of (int, str)
        Exponent of ten and base unit: ``"亿元" -> (8, "元")``.
    """
    if not isinstance(unit, str):
        raise UnitError(f"unit must be a string, got {unit!r}")
    # Full-width brackets (台（套）) and half-width ones (台(套)) are the same unit.
    unit = unicodedata.normalize("NFKC", unit)
    if unit in _UNSCALED:
        return 0, unit
    for prefix, exp in _SCALE_PREFIXES:
        if unit.startswith(prefix) and len(unit) > len(prefix):
            return exp, unit[len(prefix) :]
    return 0, unit


def base_unit(unit: str) -> str:
    """Return the unscaled unit: ``"亿元" -> "元"``."""
    return split_unit(unit)[1]


def scale_of(unit: str) -> int:
    """Return the power of ten a printed unit stands for: ``"万元" -> 4``."""
    return split_unit(unit)[0]


def to_base(value: Decimal | str | int | float, unit: str) -> Decimal:
    """Convert a printed value to its base unit exactly.

    Parameters
    ----------
    value : Decimal, str, int or float
        The printed value; pass the printed text for exact results.
    unit : str
        The printed unit.

    Returns
    -------
    decimal.Decimal
        The value in the base unit (``base_unit(unit)``).
    """
    exp = scale_of(unit)
    return Decimal(str(value)).scaleb(exp)


def describe_unit(unit: str, lang: str = "en", kind: str = "") -> str:
    """Human name of a printed unit.

    Parameters
    ----------
    unit : str
        Unit as printed.
    lang : {"en", "zh"}
        ``"zh"`` returns the unit unchanged.
    kind : str, optional
        The value's kind (:attr:`shdata.package.Printed.kind`). 位 counts places for a rank or a
        change of rank and people otherwise (34位院士); without a kind it is named as either.

    Returns
    -------
    str
        For example ``"亿元" -> "hundred million yuan"``.
    """
    if lang == "zh":
        return unit
    exp, base = split_unit(unit)
    name = _WEI_EN.get(kind, "rank or people (by the value's kind)") if base == "位" else _EN.get(base, base)
    return f"{_SCALE_EN[exp]} {name}" if exp else name
