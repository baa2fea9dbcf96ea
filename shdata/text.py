"""The text layer: sentences a researcher can quote, in English and Chinese.

Every notebook writes its commentary, headline and alt text through a
:class:`Writer` (``T = P.text()``), so the rules live here and are tested once:

- numbers: one money style per language (``¥3.396 bn`` / ``33.96亿元``), never
  more digits than the report printed, derived values to at most three
  significant digits, printed qualifiers carried into both languages
  (约 → "about", 超 → "more than", 以上 → "over", 余 → "more than", 近 → "nearly");
- words: lists joined per locale by Babel ("A, B and C" / "A、B和C"), category
  labels in sentence case inside English sentences while proper names keep
  their capitals (declared in the data: field properties ``shdata:case`` and
  ``shdata:article``), no English sentence starting with a numeral;
- provenance: every number the writer formats is recorded as a
  :class:`Quantity` (its text, value, unit and either its source cell or a named
  derivation from source cells), stored by ``publish`` in the figure's sidecar
  JSON, where :func:`verify_record` re-checks it against the data;
- caveats: a quoted value whose table carries a note bearing on it (declared by
  the note's ``applies_to``), or whose period covers part of a year, brings its
  caveat with it (:meth:`Writer.caveats`).

Nothing here imports pandas or matplotlib.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import units as _units
from .errors import ShdataError
from .package import Package, Printed
from .schema import PLACE_KINDS

LANGS = ("en", "zh")
DERIVED_SIG = 3  # derived values: at most three significant digits
MONEY_SIG = 4  # printed money quoted in prose: at most four (¥3.396 bn), never more than printed
LOCALES = {"en": "en_GB", "zh": "zh_Hans_CN"}  # British spelling matches the package ("programme")

# Printed qualifiers: English word, and whether Chinese prints it after the number.
QUALIFIERS = {
    "约": ("about", False),
    "左右": ("about", True),
    "近": ("nearly", False),
    "超": ("more than", False),
    "超过": ("more than", False),
    "突破": ("more than", False),
    "余": ("more than", True),
    "多": ("more than", True),
    "以上": ("over", True),
    "前": ("top", False),
    "不到": ("less than", False),
}
LOWER_BOUNDS = frozenset({"超", "超过", "突破", "余", "多", "以上"})
#: The qualifier of a derived value that is an upper bound (an exact part of more than a whole).
UPPER_BOUND = "不到"
#: Caveats a derivation itself brings (not a data note): code -> sentence per language.
DERIVED_CAVEATS = {
    "mixed-bounds": {
        "en": "That figure is computed from values the report gives only as a lower bound or approximately, "
        "so it is indicative only.",
        "zh": "该数值由报告给出的下限值和约数计算得出，仅供参考。",
    },
}

# English words for counted base units (others come from shdata.units.describe_unit).
_COUNT_EN = {
    "人": "people",
    "名": "people",
    "位": "people",
    "人次": "person-times",  # as China's statistical yearbooks translate it
    "篇": "papers",
    "家": "",
    "户": "",
    "项": "",
    "个": "",
    "件": "",
    "份": "",
    "所": "",
    "款": "",
    # Measure words whose noun the label names ("Measures in ...", "Gold awards won at ...").
    "条": "",
    "座": "",
    "套": "",
    "部": "",
    "路": "",
    "束": "",
    "金": "",
    "银": "",
    "家次": "",  # enterprises counted once per occurrence; the labels say "(enterprise-times)"
    "天": "days",
}
#: The singular of the plural words above, for a count shown as exactly one.
_COUNT_EN_ONE = {"people": "person", "person-times": "person-time", "papers": "paper", "days": "day"}
_COUNT_UNITS = frozenset(_COUNT_EN) | {"批", "场", "次", "发", "管", "例", "台(套)"}

_SMALL_EN = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
_TENS_EN = {
    20: "twenty",
    30: "thirty",
    40: "forty",
    50: "fifty",
    60: "sixty",
    70: "seventy",
    80: "eighty",
    90: "ninety",
}
_DIGITS_ZH = "零一二三四五六七八九十"
_ORDINAL_EN = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")

_CLASSIFIERS_ZH = frozenset("个类家项所位名座种批篇件份款场")
_MM = r"(0[1-9]|1[0-2])"  # a month of the calendar; any other two digits match no form
_PARTIAL_YEAR = re.compile(rf"(\d{{4}})-{_MM}/{_MM}")
NUMBER_RE = re.compile(r"\d(?:[\d,]*\d)?(?:\.\d+)?")


class TextError(ShdataError):
    """A sentence or number that breaks a rule of the text layer."""


# -- numbers ------------------------------------------------------------------


def sig_digits(text: str) -> int:
    """Significant digits of a number as written; trailing zeros of a whole number do not count.

    A Decimal string in exponent form ("6.00E+3") counts its mantissa digits.
    """
    text = text.replace(",", "").lstrip("-")
    if "E" in text.upper():
        return max(len(Decimal(text).as_tuple().digits), 1)
    # Leading zeros never count; trailing zeros count only after a decimal point ("106754.50").
    digits = text.replace(".", "").lstrip("0") if "." in text else text.lstrip("0").rstrip("0")
    return max(len(digits), 1)


def round_sig(value: Decimal, sig: int) -> Decimal:
    """Round to ``sig`` significant digits (half up), keeping the exponent of the last digit."""
    if value == 0:
        return Decimal(0)
    exp = value.adjusted() - sig + 1
    out = value.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP)
    if out.adjusted() > value.adjusted():  # 9.9996 -> 10.000 gained a digit: drop one
        out = out.quantize(Decimal(1).scaleb(exp + 1), rounding=ROUND_HALF_UP)
    return out


def _plain(d: Decimal) -> str:
    """Decimal without exponent notation, trailing zeros as given."""
    if d == d.to_integral_value() and int(d.as_tuple().exponent) > 0:
        d = d.quantize(Decimal(1))
    return format(d, "f")


def digits(d: Decimal, lang: str) -> str:
    """A number for prose: thousands separators in English (Babel, en_GB), none in Chinese.

    Decimal places are kept as given (``Decimal("12.30")`` stays ``12.30``).
    """
    text = _plain(d)
    if lang == "zh":
        return text
    from babel.numbers import format_decimal

    places = len(text.split(".")[1]) if "." in text else 0
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(Decimal(text), format=pattern, locale=LOCALES["en"])


def spell(n: int, lang: str, counting: bool = False) -> str:
    """Small whole numbers in words ("three" / "三"); larger ones as digits.

    ``counting=True`` is the form before a classifier or a counted noun: Chinese
    counts two as 两 (两项, 两个榜单), never 二 (二 is the digit: 第二, 十二).
    """
    if lang == "zh":
        if counting and n == 2:
            return "两"
        if 0 <= n <= 10:
            return _DIGITS_ZH[n]
        return str(n)
    if 0 <= n <= 20:
        return _SMALL_EN[n]
    if 20 < n < 100:
        tens, unit = divmod(n, 10)
        return _TENS_EN[tens * 10] + (f"-{_SMALL_EN[unit]}" if unit else "")
    return digits(Decimal(n), "en")


def count_words(n: int, lang: str) -> tuple[str, ...]:
    """Every word a count of ``n`` may be written as: counted form first (两, "both"), then :func:`spell`."""
    forms = [spell(n, lang, counting=True), spell(n, lang)]
    if lang == "en" and n == 2:
        forms.insert(0, "both")
    return tuple(dict.fromkeys(forms))


def ordinal(n: int, lang: str) -> str:
    """ "second" / "第二" (n ≥ 1)."""
    if lang == "zh":
        return f"第{spell(n, 'zh')}"
    if 1 <= n < len(_ORDINAL_EN):
        return _ORDINAL_EN[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def join(items: Sequence[str], lang: str, style: str = "standard") -> str:
    """Join a list the locale's way (Babel/CLDR): "A, B and C" / "A、B和C"; ``style="or"`` for "or"."""
    from babel.lists import format_list

    items = [str(i) for i in items]
    if not items:
        raise TextError("cannot join an empty list of items")
    return format_list(items, style=style, locale=LOCALES[lang])  # type: ignore[arg-type]


# -- derived values -----------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """A value computed from printed cells by a named derivation.

    Attributes
    ----------
    op : str
        ``sum``, ``difference``, ``ratio``, ``share``, ``mean``, ``count``,
        ``previous``, ``rank``.
    inputs : tuple
        :class:`~shdata.package.Printed` cells or other :class:`Derived` values.
    value : Decimal
        The result in its unit (base units for amounts; percent for shares).
    unit : str
        ``"元"``, ``"%"``, a count unit, or ``""`` for a pure number.
    qualifier : str
        What the qualifiers of the inputs make of the result (see :func:`_qual`):
        ``"超"`` (more than) for a lower bound, ``"不到"`` (less than) for an upper
        bound, ``"约"`` (about) otherwise; ``""`` when every input is exact.
    sig : int or None
        Most significant digits the result may be shown with; ``None`` = exact.
    caveat : str
        A key of :data:`DERIVED_CAVEATS` when the qualifier alone does not tell the
        reader what the value is worth (``"mixed-bounds"``).
    """

    op: str
    inputs: tuple
    value: Decimal
    unit: str
    qualifier: str = ""
    sig: int | None = None
    label_en: str = ""
    label_zh: str = ""
    caveat: str = ""

    def __float__(self) -> float:
        return float(self.value)

    @property
    def base(self) -> Decimal:
        return self.value


Value = "Printed | Derived"


def _base(x) -> Decimal:
    return x.base if isinstance(x, (Printed, Derived)) else Decimal(str(x))


#: What a value in 位 may be: a place (:data:`shdata.schema.PLACE_KINDS`: 第3位, 上升2位), or people
#: counted (34位院士, kind level).
_WEI_KINDS = PLACE_KINDS | {"level"}


def _quoted_in_own_words(x) -> bool:
    """Whether a printed value is quoted in words of its own rather than as an amount or a count:
    a percentage, percentage points, a rank or a change of rank. 位 also counts people
    (34位院士, kind ``level``): those are counts, "34 people". A value in 位 whose kind does not
    say which is refused rather than guessed."""
    if not isinstance(x, Printed):
        return False
    if x.unit == "位" and x.kind not in _WEI_KINDS:
        raise TextError(
            f"{x.ref}: a value in 位 is a rank, a change of rank or a count of people; its kind says "
            f"{x.kind or 'nothing'!r}: give the row kind rank, rank_change or level"
        )
    return x.unit in ("%", "个百分点") or _counts_places(x)


def _unit_of(x) -> str:
    if isinstance(x, Derived):
        return x.unit
    return _units.base_unit(x.unit) if x.unit not in ("%", "个百分点", "位") else x.unit


def _is_exact(x) -> bool:
    """Counts without qualifiers are exact; amounts and shares carry the printed precision."""
    if isinstance(x, Derived):
        return x.sig is None
    return _unit_of(x) in _COUNT_UNITS and not x.qualifier and "." not in x.text


def _limit(xs: Iterable) -> int:
    """Significant digits a derived value may show: three, fewer if a non-exact input was printed with fewer."""
    sig = DERIVED_SIG
    for x in xs:
        if isinstance(x, Derived):
            if x.sig is not None:
                sig = min(sig, x.sig)
        elif not _is_exact(x):
            sig = min(sig, sig_digits(x.text))
    return sig


def _sign(d: Decimal) -> int:
    return (d > 0) - (d < 0)


def _qual(terms: Sequence[tuple[Any, int]]) -> tuple[str, str]:
    """Qualifier and caveat of a derived value from its inputs and the way each moves it.

    Parameters
    ----------
    terms : list of (value, direction)
        ``direction`` is +1 when the result grows with the input (a numerator, a
        summand), -1 when it shrinks (a denominator, a subtrahend), 0 when it
        does not depend on its size.

    Returns
    -------
    (qualifier, caveat)
        A lower bound (超, 以上, 余...) that raises the result makes it a lower
        bound: ``"超"`` ("more than"; more than 5 of exactly 10 is more than 50%);
        one that lowers the result makes it an upper bound: ``"不到"`` ("less than";
        5 of more than 10 is less than 50%). Any approximate input (约, 左右, 近)
        makes it ``"约"`` ("about"), and so do bounds pulling opposite ways; if a
        bound is involved then, the value is only indicative and the caveat
        ``"mixed-bounds"`` says so (about 5 of more than 10 is neither about 50%
        nor a bound of it).
    """
    approx, caveat, dirs = False, "", set()
    for x, direction in terms:
        q = x.qualifier
        if isinstance(x, Derived) and x.caveat:
            caveat = x.caveat
        if not q or direction == 0:
            continue
        if q in LOWER_BOUNDS:
            dirs.add(direction)
        elif q == UPPER_BOUND:
            dirs.add(-direction)
        else:
            approx = True
    if not approx and not dirs:
        return "", caveat
    if approx or len(dirs) > 1:
        return "约", "mixed-bounds" if dirs or caveat else ""
    return ("超" if dirs == {1} else UPPER_BOUND), caveat


def _check_inputs(op: str, xs: Sequence) -> list:
    xs = list(xs)
    if not xs:
        raise TextError(f"{op}() needs at least one value")
    for x in xs:
        if not isinstance(x, (Printed, Derived)):
            raise TextError(
                f"{op}() takes values from the data (Printed or Derived), not {x!r}; "
                "read them with T.cell() or T.cells()"
            )
        if op in _ADDING and _counts_places(x):
            # A place is not an amount: 5th - 1st is no count of anything, and a derived value
            # carries no kind to say what it is. The report prints the moves it means (rank_change).
            raise TextError(
                f"{op}() of {x.ref if isinstance(x, Printed) else 'a value derived from ranks'}: places "
                "cannot be added or subtracted; quote the rank_change row the report prints"
            )
    return xs


#: Derivations that add or subtract their inputs. A rank may still be divided (3rd of 200 cities: a
#: rank relative to its field, to compare standings) and ordered.
_ADDING = frozenset({"sum", "difference", "mean", "previous"})


def _counts_places(x) -> bool:
    """Whether ``x`` is, or was derived from, a rank or a change of rank (a place, not people in 位)."""
    if isinstance(x, Printed):
        return x.unit == "位" and x.kind in PLACE_KINDS
    return isinstance(x, Derived) and any(_counts_places(i) for i in x.inputs)


def derive_sum(xs: Sequence) -> Derived:
    xs = _check_inputs("sum", xs)
    units = {_unit_of(x) for x in xs}
    if len(units) > 1:
        raise TextError(f"sum() of values in different units: {', '.join(sorted(units))}")
    exact = all(_is_exact(x) for x in xs)
    qual, caveat = _qual([(x, 1) for x in xs])
    return Derived(
        "sum",
        tuple(xs),
        sum((_base(x) for x in xs), Decimal(0)),
        units.pop(),
        qual,
        None if exact else MONEY_SIG,
        caveat=caveat,
    )


def derive_difference(a, b) -> Derived:
    xs = _check_inputs("difference", [a, b])
    if _unit_of(a) != _unit_of(b):
        raise TextError(f"difference() of values in different units: {_unit_of(a)}, {_unit_of(b)}")
    exact = all(_is_exact(x) for x in xs)
    unit = "个百分点" if _unit_of(a) == "%" else _unit_of(a)  # a difference of percentages is in points
    qual, caveat = _qual([(a, 1), (b, -1)])
    return Derived("difference", (a, b), _base(a) - _base(b), unit, qual, None if exact else _limit(xs), caveat=caveat)


def _quotient_terms(a, b) -> list[tuple[Any, int]]:
    """How ``a / b`` moves with each input: d/da = 1/b has the sign of ``b``, d/db = -a/b² the opposite of ``a``'s."""
    return [(a, _sign(_base(b))), (b, -_sign(_base(a)))]


def derive_ratio(a, b) -> Derived:
    """``a / b``: an amount per item (unit of ``a``) or a pure ratio ("2.3 times")."""
    xs = _check_inputs("ratio", [a, b])
    if _base(b) == 0:
        raise TextError("ratio() divides by zero")
    ua, ub = _unit_of(a), _unit_of(b)
    unit = "" if ua == ub else ua
    qual, caveat = _qual(_quotient_terms(a, b))
    return Derived("ratio", (a, b), _base(a) / _base(b), unit, qual, _limit(xs), caveat=caveat)


def derive_share(part, whole) -> Derived:
    """``100 * part / whole`` in percent; ``part`` may be a list (summed)."""
    if isinstance(part, (list, tuple)):
        part = derive_sum(part)
    xs = _check_inputs("share", [part, whole])
    if _base(whole) == 0:
        raise TextError("share() of a zero whole")
    qual, caveat = _qual(_quotient_terms(part, whole))
    return Derived("share", (part, whole), 100 * _base(part) / _base(whole), "%", qual, _limit(xs), caveat=caveat)


def derive_mean(xs: Sequence) -> Derived:
    xs = _check_inputs("mean", xs)
    total = derive_sum(xs)
    return Derived(
        "mean", tuple(xs), total.value / len(xs), total.unit, total.qualifier, _limit(xs), caveat=total.caveat
    )


def derive_count(xs: Sequence) -> Derived:
    xs = _check_inputs("count", xs) if xs else []
    return Derived("count", tuple(xs), Decimal(len(xs)), "")


def derive_previous(level, growth) -> Derived:
    """Last period's level implied by a printed level and its printed growth rate (%)."""
    xs = _check_inputs("previous", [level, growth])
    if _unit_of(growth) != "%":
        raise TextError(f"previous() needs a growth rate in %, got {growth.unit!r}")
    factor = 1 + _base(growth) / 100
    if factor == 0:
        raise TextError("previous(): a growth of -100% leaves no previous level")
    value = _base(level) / factor
    # level / f with f = 1 + g/100: d/dlevel = 1/f has the sign of f, d/dg = -level/(100 f²) the opposite of level's.
    qual, caveat = _qual([(level, _sign(factor)), (growth, -_sign(_base(level)))])
    return Derived("previous", (level, growth), value, _unit_of(level), qual, _limit(xs), caveat=caveat)


def derive_rank(x, among: Sequence, largest: bool = True) -> Derived:
    """Position of ``x`` among ``among`` (1 = largest, or smallest with ``largest=False``)."""
    among = _check_inputs("rank", among)
    if not any(x is y or _same(x, y) for y in among):
        raise TextError("rank(): the value is not among the values compared")
    bx = _base(x)
    better = sum(1 for y in among if (_base(y) > bx if largest else _base(y) < bx))
    return Derived("rank" if largest else "rank_smallest", (x, *among), Decimal(better + 1), "")


def _same(a, b) -> bool:
    return isinstance(a, Printed) and isinstance(b, Printed) and (a.table, a.key, a.field) == (b.table, b.key, b.field)


RECOMPUTE = {
    "sum": lambda xs: derive_sum(xs),
    "difference": lambda xs: derive_difference(*xs),
    "ratio": lambda xs: derive_ratio(*xs),
    "share": lambda xs: derive_share(*xs),
    "mean": lambda xs: derive_mean(xs),
    "count": lambda xs: derive_count(xs),
    "previous": lambda xs: derive_previous(*xs),
    "rank": lambda xs: derive_rank(xs[0], xs[1:]),
    "rank_smallest": lambda xs: derive_rank(xs[0], xs[1:], largest=False),
}


# -- references (what a sidecar records) -----------------------------------------


def _row_filter(pkg: Package, v: Printed) -> dict[str, str]:
    meta = pkg.metadata(v.table)
    if meta.shape == "indicator":
        return {"indicator": v.key}
    return {(meta.primary_key or meta.label_fields)[0]: v.key}


def ref(pkg: Package, x) -> dict:
    """JSON form of a value's provenance: its cell, or its derivation with its inputs."""
    if isinstance(x, Derived):
        return {"op": x.op, "inputs": [ref(pkg, i) for i in x.inputs]}
    return {
        "table": x.table,
        "row": _row_filter(pkg, x),
        "column": x.field,
        "printed": x.text,
        "unit": x.unit,
        **({"qualifier": x.qualifier} if x.qualifier else {}),
    }


def identity(r: dict) -> str:
    """Canonical text of a reference without its printed copy, for comparing languages."""

    def strip(d):
        if "op" in d:
            return {"op": d["op"], "inputs": [strip(i) for i in d["inputs"]]}
        if "period_of" in d:
            return {"period_of": strip(d["period_of"])}
        return {"table": d["table"], "row": d["row"], "column": d["column"]}

    return json.dumps(strip(r), ensure_ascii=False, sort_keys=True)


def resolve(pkg: Package, r: dict):
    """Re-read a reference from the data: a :class:`Printed` cell or a recomputed :class:`Derived`.

    Raises
    ------
    TextError
        If the cell is missing or ambiguous, or its printed text differs from the recorded one.
    """
    if "op" in r:
        if r["op"] not in RECOMPUTE:
            raise TextError(f"unknown derivation {r['op']!r}")
        return RECOMPUTE[r["op"]]([resolve(pkg, i) for i in r["inputs"]])
    try:
        hits = pkg.rows(r["table"], r["row"])
    except ShdataError as exc:
        raise TextError(str(exc)) from None
    if len(hits) != 1:
        raise TextError(f"{r['table']}: row {r['row']} matches {len(hits)} rows, expected 1")
    v = pkg.printed(r["table"], hits[0], r["column"])
    if "printed" in r and (v.text, v.unit) != (r["printed"], r["unit"]):
        raise TextError(
            f"{r['table']}: {r['row']} {r['column']} is {v.text}{v.unit} in the data, "
            f"but the text quotes {r['printed']}{r['unit']}"
        )
    return v


# -- recorded quantities --------------------------------------------------------


@dataclass
class Quantity:
    """One number as it appears in reader-facing text, with where it comes from.

    ``shown`` is the number as displayed and ``scale`` what one displayed unit is
    worth in the value's unit (``"¥3.396 bn"``: shown ``3.396``, scale ``1e9``
    yuan), so a test can recompute the display from the data.
    """

    text: str
    shown: str
    scale: str
    unit: str
    value: str
    ref: dict
    kind: str = "number"  # number | words | period | quantifier
    notes: list[str] = field(default_factory=list)
    form: str = ""  # for a period: which wording of it (a key of PERIOD_FORMS); "" = "phrase"
    caveat: str = ""  # a derivation's own caveat (a key of DERIVED_CAVEATS)

    def to_dict(self) -> dict:
        d = {
            "text": self.text,
            "shown": self.shown,
            "scale": self.scale,
            "unit": self.unit,
            "value": self.value,
            "ref": self.ref,
            "kind": self.kind,
        }
        if self.notes:
            d["notes"] = list(self.notes)
        if self.caveat:
            d["caveat"] = self.caveat
        if self.form:
            d["form"] = self.form
        return d


def _sci(exp: int) -> str:
    return "1" if exp == 0 else f"1e{exp}"


class Writer:
    """Sentences for one figure in one language, recording every number they quote.

    Create it with ``T = P.text()`` in a notebook (or ``Writer(lang)``); its
    methods return strings, and ``P.publish`` stores what was recorded.

    Parameters
    ----------
    lang : {"en", "zh"}
    package : Package, optional
        Defaults to the package shdata loads from.
    """

    def __init__(self, lang: str = "en", package: Package | None = None):
        if lang not in LANGS:
            from .errors import ParameterError

            raise ParameterError(f"lang {lang!r} is not allowed; use one of 'en', 'zh'")
        self.lang = lang
        self._package = package
        self.quantities: list[Quantity] = []
        self.labels: list[dict] = []
        self.caveat_spans: list[dict] = []  # note sentences quoted (their numbers are the note's, checked as text)
        self._caveated: set[str] = set()
        self._quoted: list = []
        self._periods_said: set[str] = set()

    @property
    def pkg(self) -> Package:
        """The data package (the default one unless given); read only when a value is looked up."""
        if self._package is None:
            from . import _pkg

            self._package = _pkg()
        return self._package

    # -- reading values -------------------------------------------------------
    def cell(self, table: str, row: str | dict, column: str = "value") -> Printed:
        """One printed value: ``row`` is an indicator id, a primary-key value, or ``{column: text}``."""
        if isinstance(row, str) and self.pkg.metadata(table).shape != "indicator":
            meta = self.pkg.metadata(table)
            row = {(meta.primary_key or meta.label_fields)[0]: row}
        return self.pkg.value(table, row, column)

    def cells(self, table: str, column: str = "value", where: dict | None = None) -> list[Printed]:
        """Every printed value of ``column`` in rows matching ``where`` (all rows if None), in table order."""
        rows = self.pkg.rows(table, where or {})
        return [self.pkg.printed(table, r, column) for r in rows if r.get(column, "") != ""]

    # -- derivations (values, not text; format them with q()) -------------------
    sum = staticmethod(derive_sum)
    difference = staticmethod(derive_difference)
    ratio = staticmethod(derive_ratio)
    share = staticmethod(derive_share)
    mean = staticmethod(derive_mean)
    count = staticmethod(derive_count)
    previous = staticmethod(derive_previous)

    def level_of(self, growth: Printed) -> Printed:
        """The level a printed growth rate or change refers to (its row's ``of``), to name what grew."""
        rows = self.pkg.rows(growth.table, _row_filter(self.pkg, growth))
        of = rows[0].get("of", "") if rows else ""
        if not of:
            raise TextError(f"{growth.table}: row {growth.key!r} names no level in its 'of' column")
        return self.cell(growth.table, of)

    def largest(self, xs: Sequence, n: int = 1):
        """The largest value (or the ``n`` largest, as a list), ties refused so no claim is arbitrary."""
        return self._extreme(xs, n, True)

    def smallest(self, xs: Sequence, n: int = 1):
        """The smallest value (or the ``n`` smallest)."""
        return self._extreme(xs, n, False)

    def _extreme(self, xs, n, largest):
        xs = _check_inputs("largest" if largest else "smallest", xs)
        ordered = sorted(xs, key=_base, reverse=largest)
        if len(ordered) > n and _base(ordered[n - 1]) == _base(ordered[n]):
            raise TextError(
                f"{'largest' if largest else 'smallest'}: a tie at position {n} "
                f"({self._label_text(ordered[n - 1])!r} and {self._label_text(ordered[n])!r}); "
                "say so in words rather than naming one"
            )
        return ordered[0] if n == 1 else ordered[:n]

    # -- formatting numbers -----------------------------------------------------
    def q(self, x, sig: int | None = None, unit_word: bool = True) -> str:
        """A value for running text, recorded with its provenance.

        Parameters
        ----------
        x : Printed or Derived
        sig : int, optional
            Fewer significant digits than the rules allow (never more).
        unit_word : bool
            Append the unit (zh) or its English word for counted people and papers (en).
        """
        if not isinstance(x, (Printed, Derived)):
            raise TextError(
                f"q() formats values from the data (Printed or Derived), not {x!r}; "
                "typed numbers are not allowed in text"
            )
        text, shown, exp, unit = self._format(x, sig, unit_word)
        self._record(x, text, shown, exp, unit)
        return text

    def format(self, x, sig: int | None = None, unit_word: bool = True) -> str:
        """Like :meth:`q` but records nothing: for chart labels, never for reader-facing sentences."""
        if not isinstance(x, (Printed, Derived)):
            raise TextError(f"format() formats values from the data (Printed or Derived), not {x!r}")
        return self._format(x, sig, unit_word)[0]

    def _record(self, x, text: str, shown: str, exp: int, unit: str, kind: str = "number") -> None:
        notes = self._notes_for(x)
        self.quantities.append(
            Quantity(
                text=text,
                shown=shown,
                scale=_sci(exp),
                unit=unit,
                value=_plain(_base(x)) if kind != "period" else shown,
                ref=ref(self.pkg, x),
                kind=kind,
                notes=notes,
                caveat=x.caveat if isinstance(x, Derived) else "",
            )
        )
        self._quoted.append(x)

    def _format(self, x, sig, unit_word) -> tuple[str, str, int, str]:
        """``(text, shown, exponent, unit)``: ``shown`` is the displayed number as a Decimal string whose
        exponent is the rounding step (``"6.00E+3"`` for 5999 shown as 6000), so a test can redo the rounding."""
        lang = self.lang
        unit = _unit_of(x)
        limit = sig_digits(x.text) if isinstance(x, Printed) else x.sig
        if sig is not None:
            limit = sig if limit is None else min(sig, limit)
        if _quoted_in_own_words(x):
            if x.kind == "rank" and x.qualifier == "前":  # 进入前三: within the top three, not "top No. 3"
                return (f"in the top {x.text}" if lang == "en" else f"前{x.text}位"), x.text, 0, unit
            return self._qualify(self._printed_special(x), x.qualifier), x.text, 0, unit
        if (
            isinstance(x, Printed)
            and lang == "zh"
            and not (unit == "元" and x.unit == "万元" and abs(x.base) >= Decimal("1e8"))
        ):
            # Chinese quotes a printed value as printed (trailing zeros, myriad unit and all).
            return self._zh_printed(x, unit_word), x.text, _units.scale_of(x.unit), unit
        if unit == "元":
            shown, exp, text = self._money(x, limit)
        elif unit == "%":
            shown = self._round(x, x.value, limit or DERIVED_SIG)
            exp, text = 0, f"{digits(shown, lang)}%"
        elif unit == "个百分点":
            shown = self._round(x, x.value, limit or DERIVED_SIG)
            exp, text = (
                0,
                f"{digits(shown, lang)} percentage points" if lang == "en" else f"{digits(shown, lang)}个百分点",
            )
        else:
            shown, exp, text = self._count(x, limit, unit_word)
        return self._qualify(text, x.qualifier), str(shown), exp, unit

    @staticmethod
    def _zh_printed(x: Printed, unit_word: bool) -> str:
        """As the report prints it: 约43.4万份, 2500余人次, 1.57万余项, 80%以上, 4.4%左右."""
        q = x.qualifier
        if not unit_word:
            return f"{q}{x.text}" if q and not QUALIFIERS.get(q, ("", False))[1] else f"{x.text}{q}"
        if not q:
            return f"{x.text}{x.unit}"
        if q in ("余", "多"):  # between the myriad prefix and the counted unit
            base = _units.base_unit(x.unit)
            prefix = x.unit[: len(x.unit) - len(base)] if x.unit.endswith(base) else x.unit
            return f"{x.text}{prefix}{q}{base}" if x.unit.endswith(base) else f"{x.text}{q}{x.unit}"
        if QUALIFIERS.get(q, ("", False))[1]:
            return f"{x.text}{x.unit}{q}"
        return f"{q}{x.text}{x.unit}"

    @staticmethod
    def _round(x, value: Decimal, limit: int | None) -> Decimal:
        """Round to ``limit`` significant digits; computed values lose trailing fractional zeros ("60.0" -> "60")."""
        if limit is None:  # exact: shown in full
            return value.quantize(Decimal(1)) if value == value.to_integral_value() else value
        shown = round_sig(value, limit)
        return shown.normalize() if isinstance(x, Derived) else shown

    def _printed_special(self, x: Printed) -> str:
        """A value of :func:`_quoted_in_own_words`, as printed: 12.5%, 1.2 percentage points, No. 3
        (第3位), and a change of rank with its direction (positive is up): "up 2 places" (上升2位),
        "down 1 place" (下降1位), "unchanged" (持平)."""
        if x.unit == "位" and x.kind == "rank_change":
            if x.value == 0:
                return "unchanged" if self.lang == "en" else "持平"
            places = x.text.lstrip("+-")
            if self.lang == "zh":
                return f"{'上升' if x.value > 0 else '下降'}{places}位"
            return f"{'up' if x.value > 0 else 'down'} {places} place{'' if abs(x.value) == 1 else 's'}"
        if self.lang == "zh":
            return f"第{x.text}位" if x.unit == "位" else f"{x.text}{x.unit}"
        if x.unit == "%":
            return f"{x.text}%"
        if x.unit == "个百分点":
            return f"{x.text} percentage points"
        return f"No. {x.text}"

    def _money(self, x, limit) -> tuple[Decimal, int, str]:
        base = _base(x)
        limit = min(limit or MONEY_SIG, MONEY_SIG)
        scales = (
            ((12, "万亿元"), (8, "亿元"), (4, "万元"), (0, "元"))
            if self.lang == "zh"
            else ((12, " tn"), (9, " bn"), (6, " m"), (0, ""))
        )
        # Round first, then choose the scale, so 999.96 m at 4 digits becomes ¥1 bn, not ¥1000 m.
        rounded = round_sig(base, limit)
        exp, suffix = next((e, sfx) for e, sfx in scales if abs(rounded) >= Decimal(1).scaleb(e) or e == 0)
        shown = rounded.scaleb(-exp)
        if isinstance(x, Derived) or (exp == 0 and shown == shown.to_integral_value()):
            shown = self._round(x, shown, limit) if isinstance(x, Derived) else shown.quantize(Decimal(1))
        if self.lang == "zh":
            return shown, exp, f"{digits(shown, 'zh')}{suffix}"
        return shown, exp, f"¥{digits(shown, 'en')}{suffix}"

    def _count(self, x, limit, unit_word) -> tuple[Decimal, int, str]:
        lang = self.lang
        base = _base(x)
        unit = _unit_of(x)
        exp = 0
        if lang == "en" and abs(base) >= Decimal("1e6"):
            exp = 9 if abs(base) >= Decimal("1e9") else 6
            shown = self._round(x, base.scaleb(-exp), limit or 28)
            text = f"{digits(shown, 'en')} {'billion' if exp == 9 else 'million'}"
        else:
            shown = self._round(x, base, limit if isinstance(x, Derived) else None)
            text = digits(shown, lang)
        if unit_word and unit and not (unit == "位" and _counts_places(x)):  # a rank relative to a count: a number
            if lang == "en":
                word = _COUNT_EN.get(unit, _units.describe_unit(unit))
                if shown == 1:
                    word = _COUNT_EN_ONE.get(word, word)
                text = f"{text} {word}" if word else text
            else:
                text = f"{text}{unit}"
        elif unit_word and isinstance(x, Derived) and x.op == "ratio":
            text = f"{text} times" if lang == "en" else f"{text}倍"
        return shown, exp, text

    def _qualify(self, text: str, qualifier: str) -> str:
        if not qualifier:
            return text
        word, after = QUALIFIERS.get(qualifier, (qualifier, False))
        if self.lang == "zh":
            return f"{text}{qualifier}" if after else f"{qualifier}{text}"
        return f"{word} {text}"

    # -- words from the data ------------------------------------------------------
    def _label_field(self, x: Printed) -> dict | None:
        meta = self.pkg.metadata(x.table)
        name = (
            "indicator_en"
            if meta.shape == "indicator"
            else next((n for n in meta.label_fields if n.endswith("_en")), None)
        )
        return next((f for f in meta.fields if f["name"] == name), None)

    def _label_text(self, x) -> str:
        while isinstance(x, Derived) and x.inputs:
            x = x.inputs[0]
        return x.label_en if self.lang == "en" else x.label_zh

    def label(self, x, article: bool = True) -> str:
        """The name of a value's row, as it should read inside a sentence.

        English labels follow their field's ``shdata:case`` (``"sentence"``: the
        first letter lower-cased unless the first word is an acronym;
        ``"proper"``: as printed) and take ``shdata:article`` ("the") when
        ``article`` is true. :meth:`sentence` capitalises a label that opens a
        sentence.
        """
        while isinstance(x, Derived) and x.inputs:  # a per-row derivation is named by its first input's row
            x = x.inputs[0]
        if not isinstance(x, Printed):
            raise TextError(f"label() names a printed cell's row, not {x!r}")
        text = self._label_text(x)
        if not text:
            raise TextError(f"{x.table}: row {x.key!r} has no {self.lang} label")
        text = label_form(text, self._label_field(x) or {}, self.lang, article)
        self.labels.append({"text": text, "table": x.table, "row": _row_filter(self.pkg, x)})
        return text

    def join(self, items: Sequence[str], style: str = "standard") -> str:
        """Join phrases the locale's way: "A, B and C" / "A、B和C"."""
        return join(items, self.lang, style)

    def period(self, x: Printed) -> str:
        """When a value applies, in words: "in 2023", "at the end of 2023", "in January–September 2023".

        The period is the row's (indicator tables), else the column's (field property
        ``shdata:period`` of a measure table), else the table's.
        """
        if not isinstance(x, Printed):
            raise TextError(f"period() says when a printed cell applies, not {x!r}")
        if ";" in (x.period or ""):
            raise TextError(
                f"{x.table}: column {x.field!r} has no single period ({x.period!r}); declare the "
                'column\'s period with the field property "shdata:period" in datapackage.json'
            )
        text = self._period_text(x, "phrase")
        self._periods_said.add(x.period)
        return text

    def _period_text(self, x: Printed, form: str) -> str:
        """A value's period in one of :data:`PERIOD_FORMS`, recorded (its years are numbers in the text)."""
        code = x.period
        text = PERIOD_FORMS[form](code, self.lang)
        years = re.findall(r"\d{4}", code)
        self.quantities.append(
            Quantity(
                text=text,
                shown=",".join(years),
                scale="1",
                unit="period",
                value=code,
                ref={"period_of": ref(self.pkg, x)},
                kind="period",
                form="" if form == "phrase" else form,
            )
        )
        return text

    # -- claims ---------------------------------------------------------------------
    def quantifier(self, part: Sequence, whole: Sequence) -> str:
        """ "all", "most", "half", "a minority", "none" (全部, 多数, 一半, 少数, 没有) of a set, computed.

        Prefer :meth:`count_phrase` ("three of the four"), which is exact; this is for
        sets too large to count out in a sentence.
        """
        k, n = derive_count(part), derive_count(whole)
        ki, ni = int(k.value), int(n.value)
        if ki > ni or ni == 0:
            raise TextError(f"quantifier: {ki} of {ni} is not a part of a whole")
        d = derive_share(k, n)
        text = quantifier_word(d.value, self.lang)
        self.quantities.append(
            Quantity(
                text=text,
                shown=_plain(d.value),
                scale="1",
                unit="%",
                value=_plain(d.value),
                ref=ref(self.pkg, d),
                kind="quantifier",
            )
        )
        return text

    def count_phrase(self, part: Sequence, whole: Sequence, noun: str = "") -> str:
        """How many of a set satisfy a claim, computed: "all four", "three of the five", "none of the four".

        ``part`` and ``whole`` are lists of values (the ones for which the claim
        holds, and all of them); ``noun`` follows the number ("lists" / "个榜单").
        """
        k, n = derive_count(part), derive_count(whole)
        ki, ni = int(k.value), int(n.value)
        if ki > ni:
            raise TextError(f"count_phrase: {ki} of {ni} is more than all")
        lang = self.lang
        if lang == "en":
            sp = f" {noun}" if noun else ""
            if ki == ni:
                text = f"both{sp}" if ni == 2 else f"all {spell(ni, 'en')}{sp}"
            elif ki == 0:
                text = f"none of the {spell(ni, 'en')}{sp}"
            else:
                text = f"{spell(ki, 'en')} of the {spell(ni, 'en')}{sp}"
        else:
            # "4个榜单中的3个": the classifier (个, 类, 家...) is repeated, the noun is not. A number before a
            # classifier or noun is counted (两个, not 二个).
            cls = noun[0] if noun[:1] in _CLASSIFIERS_ZH else ""
            if ki == ni:
                text = f"全部{spell(ni, 'zh', counting=bool(noun))}{noun}"
            elif ki == 0:
                text = f"{spell(ni, 'zh', counting=bool(noun))}{noun}中没有一{cls or '个'}"
            else:
                text = (
                    f"{spell(ni, 'zh', counting=bool(noun))}{noun}中的"
                    f"{spell(ki, 'zh', counting=bool(cls or noun))}{cls or noun}"
                )
        for c in (k, n):
            said = [w for w in count_words(int(c.value), lang) if w in text]
            self._record(c, said[0] if said else spell(int(c.value), lang), str(int(c.value)), 0, "", kind="words")
        return text

    def position(self, x, among: Sequence, largest: bool = True, what_en: str = "largest", what_zh: str = "大") -> str:
        """Where ``x`` ranks among ``among``, computed: "the largest", "the second-largest" / "最大", "第二大"."""
        d = derive_rank(x, among, largest)
        n = int(d.value)
        if self.lang == "en":
            text = f"the {what_en}" if n == 1 else f"the {ordinal(n, 'en')}-{what_en}"
        else:
            text = f"最{what_zh}" if n == 1 else f"{ordinal(n, 'zh')}{what_zh}"
        self._record(d, text, str(n), 0, "", kind="words")
        return text

    # -- sentences ----------------------------------------------------------------------
    def sentence(self, text: str) -> str:
        """One sentence: capitalised, ended, and never opening with a numeral in English.

        A small whole number at the start is spelled out ("Three programmes ...");
        any other leading numeral raises :class:`TextError` asking for a rephrase.
        """
        text = text.strip()
        if not text:
            raise TextError("empty sentence")
        if self.lang == "zh":
            text = zh_punctuation(text)
            return text if text[-1] in "。！？…" else text + "。"
        m = re.match(r"(¥?)(\d[\d,]*(?:\.\d+)?)(\s+\S+)?", text)
        if m:
            token = m.group(2)
            if m.group(1) or "," in token or "." in token or int(token) > 99:
                raise TextError(
                    f"English sentence starts with the numeral {m.group(0).split()[0]!r} "
                    f"({text[:40]!r}…); rephrase so that it starts with a word, e.g. 'In 2023, …'"
                )
            word = spell(int(token), "en")
            for q in list(self.quantities):
                if q.text == token or q.text.startswith(token + " "):
                    self.quantities.append(
                        Quantity(
                            text=word.capitalize(),
                            shown=q.shown,
                            scale=q.scale,
                            unit=q.unit,
                            value=q.value,
                            ref=q.ref,
                            kind="words",
                            notes=list(q.notes),
                        )
                    )
                    break
            text = word + text[len(token) :]
        text = text[0].upper() + text[1:]
        return text if text[-1] in ".!?" else text + "."

    def paragraph(self, *sentences: str) -> str:
        """Sentences joined into one paragraph (a space in English, nothing in Chinese)."""
        parts = [self.sentence(s) for s in sentences if s and s.strip()]
        return (" " if self.lang == "en" else "").join(parts)

    # -- caveats ----------------------------------------------------------------------------
    def _notes_for(self, x) -> list[str]:
        """Ids of data notes whose ``applies_to`` covers a value (or any cell it was derived from)."""
        out: list[str] = []
        for cell in _cells(x):
            row = None
            for note_def in descriptor_notes(self.pkg, cell.table):
                applies = note_def.get("applies_to")
                if not applies:
                    continue
                if row is None:
                    row = self.pkg.rows(cell.table, _row_filter(self.pkg, cell))[0]
                if note_applies(applies, row, cell.field) and note_def["id"] not in out:
                    out.append(note_def["id"])
        return out

    def caveats(self, *values) -> str:
        """Caveats of quoted values, as sentences (``""`` if none).

        With no arguments: the caveats of the values quoted since the last call,
        each said once per figure (write it right after the sentence that quotes
        them). With values: the caveats of those values, statelessly (safe inside
        ``P.t(english, chinese)``, which evaluates both texts).

        A caveat is the text of a data note whose ``applies_to`` covers a quoted
        cell (or a cell a quoted derivation was computed from), or, for a value
        covering part of a year whose period was not said, a sentence saying so,
        or a derivation's own caveat (:data:`DERIVED_CAVEATS`: a value computed
        from a lower bound and an approximate value is only indicative).
        """
        stateless = bool(values)
        seen: set[str] = set() if stateless else self._caveated
        out: list[str] = []
        order: list[tuple[str, int] | None] = []  # (table, position among its notes) of each note sentence
        for x in values if stateless else self._quoted:
            for cell in _cells(x):
                for nid in self._notes_for(cell):
                    key = f"{cell.table}#{nid}"
                    if key in seen:
                        continue
                    seen.add(key)
                    notes = self.pkg.metadata(cell.table).notes
                    pos, note = next((k, n) for k, n in enumerate(notes) if n.id == nid)
                    sentence = note_sentence(note.render(self.lang), self.lang)
                    self.caveat_spans.append({"text": sentence, "table": cell.table, "note": nid})
                    out.append(sentence)
                    order.append((cell.table, pos))
                key = f"period#{cell.period}"
                if (
                    _PARTIAL_YEAR.fullmatch(cell.period or "")
                    and cell.period not in self._periods_said
                    and key not in seen
                ):
                    seen.add(key)
                    out.append(self._period_text(cell, "partial-year"))
                    order.append(None)
            if isinstance(x, Derived) and x.caveat and f"derived#{x.caveat}" not in seen:
                seen.add(f"derived#{x.caveat}")
                sentence = DERIVED_CAVEATS[x.caveat][self.lang]
                self.caveat_spans.append({"text": sentence, "derivation": x.caveat})
                out.append(sentence)
                order.append(None)
        if not stateless:
            self._quoted = []
        return (" " if self.lang == "en" else "").join(_in_note_order(out, order))

    # -- alt text -----------------------------------------------------------------------------
    def alt_bars(
        self, values: Sequence, *, measure: str, items: str, chart: str = "bar", focus: Printed | None = None
    ) -> str:
        """Alt text for a bar or dot chart, from the data: what is compared, the extremes, and the focus value.

        Parameters
        ----------
        values : list of Printed or Derived
            The values drawn, one per bar.
        measure : str
            What the bars measure, in the writer's language ("funding" / "资助额").
        items : str
            What the bars are, plural ("NSFC programmes" / "类国家自然科学基金项目").
        chart : {"bar", "dot", "lollipop"}
        focus : Printed, optional
            A value to state explicitly (Shanghai's).
        """
        values = _check_inputs("alt_bars", values)
        n = derive_count(values)
        kinds = {
            "en": {"bar": "Bar chart", "dot": "Dot plot", "lollipop": "Lollipop chart"},
            "zh": {"bar": "条形图", "dot": "点图", "lollipop": "棒棒糖图"},
        }
        if chart not in kinds["en"]:
            raise TextError(f"alt_bars: chart {chart!r} is not known; use 'bar', 'dot' or 'lollipop'")
        count = self.q(n, unit_word=False)
        top, bottom = max(_base(v) for v in values), min(_base(v) for v in values)
        his = [v for v in values if _base(v) == top]
        los = [v for v in values if _base(v) == bottom]
        if self.lang == "en":
            if top == bottom:
                extremes = f"all are equal: {self._tied(his)}"
            else:
                hi_verb = "is" if len(his) == 1 else "are"
                lo_verb = "" if len(los) == 1 else "are "  # "and the lowest Moscow (0.67%)": the verb is understood
                extremes = f"the highest {hi_verb} {self._tied(his)} and the lowest {lo_verb}{self._tied(los)}"
            parts = [f"{kinds['en'][chart]} comparing {measure} across {count} {items}", extremes]
            if focus is not None:
                parts.append(f"{self.label(focus)}: {self.q(focus)}")
            return self.paragraph(f"{parts[0]}; {parts[1]}", *parts[2:])
        if top == bottom:
            extremes = f"各项相等：{self._tied(his)}"
        else:
            extremes = f"最高为{self._tied(his)}，最低为{self._tied(los)}"
        parts = [f"{kinds['zh'][chart]}，比较{count}{items}的{measure}", extremes]
        if focus is not None:
            parts.append(f"{self.label(focus)}为{self.q(focus)}")
        return self.paragraph("；".join(parts[:2]), *parts[2:])

    def _tied(self, values: Sequence) -> str:
        """Items sharing one extreme value, named with it: "X (2)", "X and Y (2 each)" / "X（2家）",
        "X和Y（各2家）". Every tied value is recorded, so re-verification checks each of them; values
        equal in the data but printed differently (3000家, 0.3万家) are each given with their own text."""
        labels, texts = [self.label(v) for v in values], [self.q(v) for v in values]
        en = self.lang == "en"
        if len(set(texts)) > 1:
            return self.join([f"{lab} ({t})" if en else f"{lab}（{t}）" for lab, t in zip(labels, texts, strict=True)])
        shown = texts[0] if len(values) == 1 else (f"{texts[0]} each" if en else f"各{texts[0]}")
        return f"{self.join(labels)} ({shown})" if en else f"{self.join(labels)}（{shown}）"

    # -- what publish stores --------------------------------------------------------------------
    def record(self, texts: dict[str, str]) -> dict:
        """The quantities and labels that appear in ``texts`` (commentary, headline, alt), for the sidecar."""
        joined = "\n".join(t for t in texts.values() if t)
        seen, quantities = set(), []
        for q in self.quantities:
            d = q.to_dict()
            key = json.dumps(d, ensure_ascii=False, sort_keys=True)
            if q.text and _occurs(q.text, joined) and key not in seen:
                seen.add(key)
                quantities.append(d)
        labels, lseen = [], set()
        for lab in self.labels:
            key = json.dumps(lab, ensure_ascii=False, sort_keys=True)
            if _occurs(lab["text"], joined) and key not in lseen:
                lseen.add(key)
                labels.append(lab)
        caveats, cseen = [], set()
        for c in self.caveat_spans:
            key = json.dumps(c, ensure_ascii=False, sort_keys=True)
            if c["text"] in joined and key not in cseen:
                cseen.add(key)
                caveats.append(c)
        return {"quantities": quantities, "labels": labels, "caveats": caveats}


def label_form(text: str, field_def: dict, lang: str, article: bool = True) -> str:
    """A row label as it reads inside a sentence, by its field's ``shdata:case`` and ``shdata:article``."""
    if lang == "en":
        if field_def.get("shdata:case") == "sentence":
            text = sentence_case(text, field_def.get("shdata:proper", ()))
        if article and field_def.get("shdata:article"):
            text = f"{field_def['shdata:article']} {text}"
    return text


def label_forms(pkg: Package, table: str, row: dict, lang: str) -> set[str]:
    """Every way :meth:`Writer.label` may write the label of the row ``row`` of ``table`` in ``lang``."""
    meta = pkg.metadata(table)
    name = (
        f"indicator_{lang}"
        if meta.shape == "indicator"
        else next((n for n in meta.label_fields if n.endswith(f"_{lang}")), None)
    )
    if name is None or not row.get(name):
        return set()
    fdef = next((f for f in meta.fields if f["name"] == name), {})
    return {label_form(row[name], fdef, lang, article) for article in (True, False)}


def _span_pattern(span: str) -> str:
    """Regex for a recorded span in text: also capitalised at a sentence start, never inside a longer
    number or word ("3" is not in "2023", "four" is not in "fourteen")."""
    pattern = re.escape(span)
    if span[:1].islower():
        pattern = f"[{span[0]}{span[0].upper()}]" + re.escape(span[1:])
    first, last = span[:1], span[-1:]
    if first.isascii() and first.isdigit():
        pattern = r"(?<![0-9.,])" + pattern
    elif first.isascii() and first.isalpha():
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if last.isascii() and last.isdigit():
        pattern += r"(?![0-9]|[.,][0-9])"
    elif last.isascii() and last.isalpha():
        pattern += r"(?![A-Za-z0-9])"
    return pattern  # Chinese has no word boundaries to respect


def _occurs(span: str, text: str) -> bool:
    return bool(span) and re.search(_span_pattern(span), text) is not None


def _in_note_order(sentences: list[str], order: list) -> list[str]:
    """Consecutive notes of one table in the order the data declares them: a printed footnote before
    the discrepancy note that discusses it, whichever quoted value brought which."""
    out, k = [], 0
    while k < len(sentences):
        j = k + 1
        if order[k] is not None:
            while j < len(sentences) and order[j] is not None and order[j][0] == order[k][0]:
                j += 1
        run = sorted(range(k, j), key=lambda i: order[i][1] if order[i] is not None else 0)
        out += [sentences[i] for i in run]
        k = j
    return out


def sidecar_fields(writer: Writer | None, *, commentary: str, headline: str, alt: str) -> dict:
    """What ``publish`` adds to a figure's sidecar JSON: the texts and the quantities they quote."""
    texts = {"commentary": commentary or "", "headline": headline or "", "alt": alt or ""}
    recorded = writer.record(texts) if writer is not None else {"quantities": [], "labels": [], "caveats": []}
    return {**texts, **recorded}


def _cells(x) -> list[Printed]:
    """The printed cells a value's meaning rests on (for caveats): counting rows or ranking one value
    among others does not depend on the others' values' caveats."""
    if isinstance(x, Derived):
        if x.op == "count":
            return []
        inputs = x.inputs[:1] if x.op.startswith("rank") else x.inputs
        out = []
        for i in inputs:
            out.extend(_cells(i))
        return out
    return [x]


def descriptor_notes(pkg: Package, table: str) -> list[dict]:
    """A table's notes as declared in the descriptor, with the ``applies_to`` that
    :class:`~shdata.package.Note` omits."""
    pkg.metadata(table)  # UnknownTableError, with close matches, for a table not in the package
    res = next(r for r in pkg.descriptor["resources"] if r["name"] == table)
    return res.get("notes", [])


def note_applies(applies: dict, row: dict[str, str], column: str) -> bool:
    """Whether a note's ``applies_to`` ({"rows": filter or list of filters, "columns": [...]}) covers a cell."""
    cols = applies.get("columns")
    if cols and column not in cols:
        return False
    rows = applies.get("rows")
    if rows is None:
        return True
    filters = rows if isinstance(rows, list) else [rows]
    return any(all(row.get(k) == str(v) for k, v in f.items()) for f in filters)


def sentence_case(label: str, proper: Iterable[str] = ()) -> str:
    """A category label as it reads inside an English sentence.

    "Artificial intelligence" -> "artificial intelligence"; kept as printed when
    the first word is an acronym ("AI chips", "A-class permits", "S&T ..."), starts
    a multi-word proper name (the next word is capitalised: "National Key R&D
    Programme ...", "Little Giant credit loan"), or is one of ``proper`` (the
    field's ``shdata:proper`` list, e.g. "Shanghai", with or without "'s").
    """
    words = label.split(" ")
    first = words[0]
    if len(first) > 1 and not first[1].islower():
        return label
    if len(words) > 1 and words[1][:1].isupper():
        return label
    bare = re.sub(r"['’]s$", "", first).rstrip(":,;")
    if first in proper or bare in proper:
        return label
    return label[0].lower() + label[1:]


_QUANTIFIERS = {"en": ("none", "a minority", "half", "most", "all"), "zh": ("没有", "少数", "一半", "多数", "全部")}


def quantifier_word(share: Decimal, lang: str) -> str:
    """The word for a share of a set in percent: 0 none, below 50 a minority, 50 half, above most, 100 all."""
    idx = 0 if share == 0 else 4 if share == 100 else 2 if share == 50 else 3 if share > 50 else 1
    return _QUANTIFIERS[lang][idx]


def _month_en(mm: str) -> str:
    from babel.dates import get_month_names

    return get_month_names("wide", locale=LOCALES["en"])[int(mm)]


_DD = r"(0[1-9]|[12]\d|3[01])"
#: The end of a year, or of a month of it: "end-2023", "end-2023-09".
_END = rf"end-(\d{{4}})(?:-{_MM})?"


def _end_zh(y: str, m: str | None) -> str:
    return f"{y}年{int(m)}月末" if m else f"{y}年末"


def _end_en(y: str, m: str | None) -> str:
    return f"the end of {_month_en(m)} {y}" if m else f"the end of {y}"


#: Every form a period code takes in the package, as words in a sentence: (pattern, Chinese,
#: English), each a function of the pattern's groups. A code matching none is returned as it is;
#: tests/test_text.py holds every code of data/ to a phrase here.
_PERIOD_WORDS: tuple[tuple[re.Pattern, Callable[..., str], Callable[..., str]], ...] = (
    (re.compile(r"(\d{4})"), lambda y: f"{y}年", lambda y: f"in {y}"),
    (re.compile(_END), lambda y, m: _end_zh(y, m), lambda y, m: f"at {_end_en(y, m)}"),
    (re.compile(rf"(\d{{4}})-{_MM}"), lambda y, m: f"{y}年{int(m)}月", lambda y, m: f"in {_month_en(m)} {y}"),
    (
        _PARTIAL_YEAR,
        lambda y, m1, m2: f"{y}年{int(m1)}—{int(m2)}月",
        lambda y, m1, m2: f"in {_month_en(m1)}–{_month_en(m2)} {y}",
    ),
    (
        re.compile(rf"(\d{{4}})-{_MM}-{_DD}/{_DD}"),
        lambda y, m, d1, d2: f"{y}年{int(m)}月{int(d1)}—{int(d2)}日",
        lambda y, m, d1, d2: f"from {int(d1)} to {int(d2)} {_month_en(m)} {y}",
    ),
    (re.compile(r"(\d{4})/(\d{4})"), lambda y1, y2: f"{y1}—{y2}年", lambda y1, y2: f"from {y1} to {y2}"),
    (
        re.compile(rf"(\d{{4}})-{_MM}/(\d{{4}})"),
        lambda y1, m, y2: f"{y1}年{int(m)}月至{y2}年",
        lambda y1, m, y2: f"from {_month_en(m)} {y1} to {y2}",
    ),
    (
        re.compile(rf"(\d{{4}})-{_MM}/(\d{{4}})-{_MM}"),
        lambda y1, m1, y2, m2: f"{y1}年{int(m1)}月至{y2}年{int(m2)}月",
        lambda y1, m1, y2, m2: f"from {_month_en(m1)} {y1} to {_month_en(m2)} {y2}",
    ),
    (re.compile(r"cumulative"), lambda: "累计", lambda: "in total"),
    (
        re.compile(rf"cumulative to {_END}"),
        lambda y, m: f"截至{_end_zh(y, m)}累计",
        lambda y, m: f"cumulatively to {_end_en(y, m)}",
    ),
    (
        re.compile(rf"since opening to {_END}"),
        lambda y, m: f"自启用以来至{_end_zh(y, m)}",
        lambda y, m: f"from launch to {_end_en(y, m)}",
    ),
    (
        re.compile(r"([2-9]|[1-9]\d) years to (\d{4})"),
        lambda n, y: f"截至{y}年的{int(n)}年间",
        lambda n, y: f"over the {spell(int(n), 'en')} years to {y}",
    ),
    (re.compile(r"target (\d{4})"), lambda y: f"{y}年目标", lambda y: f"(target for {y})"),
)


def period_phrase(code: str, lang: str) -> str:
    """A period code as words in a sentence.

    >>> period_phrase("2023-01/09", "en"), period_phrase("2023-01/09", "zh")
    ('in January–September 2023', '2023年1—9月')
    >>> period_phrase("2022-08/2023", "en"), period_phrase("cumulative to end-2023", "zh")
    ('from August 2022 to 2023', '截至2023年末累计')
    """
    for pattern, zh, en in _PERIOD_WORDS:
        whole = pattern.fullmatch(code)
        if whole:
            return (zh if lang == "zh" else en)(*whole.groups())
    return code


def partial_year_sentence(code: str, lang: str) -> str:
    """Caveat for a value that covers part of a year."""
    if lang == "zh":
        return f"该数据为{period_phrase(code, 'zh')}数据，并非全年。"
    return f"That figure covers {period_phrase(code, 'en').removeprefix('in ')} only, not the full year."


#: The wordings of a period a text may record: ``T.period`` (phrase) and the partial-year caveat.
PERIOD_FORMS = {"phrase": period_phrase, "partial-year": partial_year_sentence}

_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"


def zh_punctuation(text: str) -> str:
    """Half-width punctuation beside a Chinese character made full-width ("加总,因此" -> "加总，因此");
    a full stop after a Chinese character becomes "。". Digits and Latin text are left alone."""
    text = re.sub(
        rf"(?<=[{_CJK}])\s*([,;:?!()])\s*|\s*([,;:?!()])\s*(?=[{_CJK}])",
        lambda m: _FULL_WIDTH[m.group(1) or m.group(2)],
        text,
    )
    return re.sub(rf"(?<=[{_CJK}0-9%）])\.(?![0-9A-Za-z])", "。", text)


def note_sentence(text: str, lang: str) -> str:
    """A data note's text as a sentence of running text: footnote markers dropped, ended properly."""
    text = re.sub(r"^\*+\s*", "", text.strip())
    if not text:
        return ""
    if lang == "zh":
        text = zh_punctuation(text)
        return text if text[-1] in "。！？" else text + "。"
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


# -- figure files: headline and alt text as metadata ----------------------------------------


def svg_with_desc(data: bytes, alt: str) -> bytes:
    """Insert ``<desc>`` (the alt text) after the SVG's ``<title>``: an accessible description.

    Matplotlib writes ``<title>`` from the ``Title`` metadata but puts the
    description only into RDF, which screen readers ignore. The edit is a plain
    byte insertion, so the file stays deterministic.
    """
    if not alt:
        return data
    from xml.sax.saxutils import escape

    text = data.decode("utf-8")
    desc = f"<desc>{escape(alt)}</desc>"
    m = re.search(r"<title>.*?</title>\n?", text, flags=re.S)
    if not m:
        m = re.search(r"<svg\b[^>]*>\n?", text)
        if not m:
            raise TextError("figure SVG has no <svg> element to describe")
    return (text[: m.end()] + f" {desc}\n" + text[m.end() :]).encode("utf-8")


def file_metadata(fmt: str, headline: str, alt: str) -> dict[str, str]:
    """Extra metadata keys for a figure file: ``Headline`` and ``Alt`` (PNG text chunks, PDF Info entries)."""
    if fmt not in ("png", "pdf"):
        return {}
    return {k: v for k, v in (("Headline", headline), ("Alt", alt)) if v}


class quiet_custom_pdf_keys:
    """Silence matplotlib's warning about the custom PDF Info keys Headline and Alt (legal in PDF)."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.filterwarnings("ignore", message=r"Unknown infodict keyword: '(Headline|Alt)'")
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


# -- checking what a sidecar records ------------------------------------------------------------

TEXT_FIELDS = ("commentary", "headline", "alt")


def _shown_matches(value: Decimal, shown: str, scale: str) -> bool:
    s = Decimal(shown)
    exp = int(s.as_tuple().exponent)
    got = (value / Decimal(scale)).quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP)
    return got == s


def verify_quantity(pkg: Package, q: dict, lang: str) -> str | None:
    """Re-check one recorded quantity against the data; ``None`` if it holds, else the reason."""
    try:
        if q.get("kind") == "period":
            cell = resolve(pkg, q["ref"]["period_of"])
            if cell.period != q["value"]:
                return f"period {q['value']!r} recorded, but the data says {cell.period!r}"
            form = PERIOD_FORMS.get(q.get("form") or "phrase")
            if form is None:
                return f"period text {q['text']!r} has an unknown form {q.get('form')!r}"
            if q["text"] != form(cell.period, lang):
                return f"period text {q['text']!r} does not say {cell.period!r}"
            return None
        x = resolve(pkg, q["ref"])
    except ShdataError as exc:
        return str(exc)
    if q.get("kind") == "quantifier":
        word = quantifier_word(_base(x), lang)
        return None if q["text"] == word else f"{q['text']!r} should say {word!r} ({_plain(_base(x))}%)"
    value = x.value if _quoted_in_own_words(x) else _base(x)
    if not _shown_matches(value, q["shown"], q["scale"]):
        return f"{q['text']!r} shows {q['shown']} (×{q['scale']}), but the data gives {_plain(value)} {q['unit']}"
    if q.get("kind") == "words":
        n = int(Decimal(q["shown"]))
        if not any(w.lower() in q["text"].lower() for w in count_words(n, lang)) and ordinal(n, lang) not in q["text"]:
            return f"{q['text']!r} does not say {q['shown']}"
        return None
    shown_text = digits(Decimal(q["shown"]), lang)
    if shown_text not in q["text"]:
        return f"{q['text']!r} does not contain its number {shown_text}"
    if x.qualifier:
        word = x.qualifier if lang == "zh" else QUALIFIERS.get(x.qualifier, (x.qualifier, False))[0]
        if word not in q["text"]:
            return f"{q['text']!r} does not say {word!r}, the qualifier the data gives it"
    if isinstance(x, Derived) and (q.get("caveat") or "") != x.caveat:
        return f"{q['text']!r} records caveat {q.get('caveat')!r}, but its derivation gives {x.caveat!r}"
    if isinstance(x, Printed):
        if sig_digits(q["shown"]) > sig_digits(x.text):
            return f"{q['text']!r} shows more digits than printed ({x.text}{x.unit})"
    elif x.sig is not None and sig_digits(q["shown"]) > x.sig:
        return f"{q['text']!r} shows more than {x.sig} significant digits for a derived value"
    return None


def _mask(text: str, spans: Iterable[str]) -> str:
    """Blank out every occurrence of each span (longest first)."""
    for s in sorted({s for s in spans if s}, key=len, reverse=True):
        text = re.sub(_span_pattern(s), lambda m: " " * len(m.group(0)), text)
    return text


def unmatched_numbers(record: dict) -> list[tuple[str, str]]:
    """Numbers in a sidecar's commentary, headline and alt that no recorded quantity or label accounts for.

    Returns
    -------
    list of (field, number)
    """
    spans = (
        [q["text"] for q in record.get("quantities", [])]
        + [lab["text"] for lab in record.get("labels", [])]
        + [c["text"] for c in record.get("caveats", [])]
    )
    out = []
    for fld in TEXT_FIELDS:
        text = record.get(fld) or ""
        for m in NUMBER_RE.finditer(_mask(text, spans)):
            out.append((fld, m.group(0)))
    return out


def verify_record(pkg: Package, record: dict) -> list[str]:
    """Every problem with a sidecar's numbers, one line each naming figure, language and number."""
    fig, lang = record.get("id", "?"), record.get("lang", "?")
    problems = [
        f"{fig} [{lang}] {fld}: number {num!r} matches no recorded quantity" for fld, num in unmatched_numbers(record)
    ]
    for q in record.get("quantities", []):
        why = verify_quantity(pkg, q, lang)
        if why:
            problems.append(f"{fig} [{lang}]: {why}")
    for lab in record.get("labels", []):
        try:
            hits = pkg.rows(lab["table"], lab["row"])
        except ShdataError as exc:
            problems.append(f"{fig} [{lang}]: label {lab['text']!r}: {exc}")
            continue
        if len(hits) != 1:
            problems.append(f"{fig} [{lang}]: label {lab['text']!r} names {len(hits)} rows of {lab['table']}")
        elif lab["text"] not in label_forms(pkg, lab["table"], hits[0], lang):
            # A label excuses the digits inside it ("Global Top-100"), so it must be the row's label as printed.
            problems.append(
                f"{fig} [{lang}]: label {lab['text']!r} is not the {lang} label of "
                f"{lab['table']} row {lab['row']} in the data"
            )
    for c in record.get("caveats", []):
        if "derivation" in c:
            if DERIVED_CAVEATS.get(c["derivation"], {}).get(lang) != c["text"]:
                problems.append(
                    f"{fig} [{lang}]: caveat {c['text'][:40]!r}… is not the {lang} text of the "
                    f"derivation caveat {c['derivation']!r}"
                )
            continue
        note = (
            next((n for n in pkg.metadata(c["table"]).notes if n.id == c["note"]), None)
            if c.get("table") in pkg.ids()
            else None
        )
        if note is None or note_sentence(note.render(lang), lang) != c["text"]:
            problems.append(
                f"{fig} [{lang}]: caveat {c['text'][:40]!r}… is not the text of note "
                f"{c.get('table')}#{c.get('note')} in the data"
            )
    commentary = record.get("commentary") or ""
    for q in record.get("quantities", []):
        code = q.get("caveat")
        if code and DERIVED_CAVEATS.get(code, {}).get(lang, "\0") not in commentary:
            problems.append(
                f"{fig} [{lang}]: {q['text']!r} is quoted without its caveat "
                f"({DERIVED_CAVEATS.get(code, {}).get(lang, code)[:50]}…)"
            )
        for nid in q.get("notes", []):
            table = _note_table(q["ref"])
            note = next((n for t in table for n in pkg.metadata(t).notes if n.id == nid), None)
            if note is None:
                problems.append(f"{fig} [{lang}]: quantity {q['text']!r} names an unknown note")
                continue
            if note_sentence(note.render(lang), lang) not in commentary:
                problems.append(
                    f"{fig} [{lang}]: {q['text']!r} is quoted without its caveat ({note.render(lang)[:50]}…)"
                )
    return problems


def _note_table(r: dict) -> list[str]:
    if "op" in r:
        out = []
        for i in r["inputs"]:
            out.extend(_note_table(i))
        return out
    if "period_of" in r:
        return _note_table(r["period_of"])
    return [r["table"]]


def quantity_set(record: dict) -> set[str]:
    """What a text quotes, independent of language: the identities of its recorded quantities."""
    return {identity(q["ref"]) for q in record.get("quantities", [])}


def parity(en: dict, zh: dict) -> list[str]:
    """Quantities quoted in one language's texts but not the other's, one line each."""
    a, b = quantity_set(en), quantity_set(zh)
    fig = en.get("id", zh.get("id", "?"))
    return [f"{fig}: quoted in English only: {i}" for i in sorted(a - b)] + [
        f"{fig}: quoted in Chinese only: {i}" for i in sorted(b - a)
    ]


def audit(figures_dir, package: Package | None = None) -> list[str]:
    """Every problem in the published texts under ``figures_dir`` (``figures/<lang>/<id>.json``).

    Number provenance and caveats (:func:`verify_record`), English/Chinese
    parity (:func:`parity`) and the prose style check (:mod:`shdata.prose`), one
    line per problem. Sidecars written before the text layer (no ``commentary``
    field) are reported as such.
    """
    from pathlib import Path

    from . import prose

    if package is None:
        from . import _pkg

        package = _pkg()
    ids, labels = prose.package_vocabulary(package)
    problems: list[str] = []
    by_id: dict[str, dict[str, dict]] = {}
    for path in sorted(Path(figures_dir).glob("*/*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        fig, lang = rec.get("id", path.stem), rec.get("lang", path.parent.name)
        if "commentary" not in rec:
            problems.append(f"{fig} [{lang}]: sidecar predates the text layer; rebuild the figure")
            continue
        by_id.setdefault(fig, {})[lang] = rec
        problems += verify_record(package, rec)
        for fld in TEXT_FIELDS:
            if not rec.get(fld):
                problems.append(f"{fig} [{lang}]: no {fld}")
            problems += [
                str(p)
                for p in prose.check(rec.get(fld) or "", lang, ids=ids, labels=labels, where=f"{fig} [{lang}] {fld}")
            ]
    for _fig, recs in sorted(by_id.items()):
        if set(recs) == set(LANGS):
            problems += parity(recs["en"], recs["zh"])
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m shdata.text [FIGURES_DIR]``: print every text problem, one per line; exit 1 if any."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    folder = args[0] if args else "figures"
    problems = audit(folder)
    for line in problems:
        print(line)
    print(f"{len(problems)} problem(s) in {folder}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
