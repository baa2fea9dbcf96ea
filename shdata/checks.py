"""Consistency checks of the report against itself, and derived values.

Checks are declared per table in ``datapackage.json`` under ``"shdata:checks"``;
this module only interprets them, so adding a check never means adding code.
A check compares a value computed from printed values with another printed
value, at the printed precision: the computed value is rounded half-up to the
number of decimals the compared value is printed with. Where the report is
known to be inconsistent the check says ``"expect": "fail"`` and points to the
data note that explains it; an expected failure that starts to pass is itself
reported, because the note would then be wrong.

Check types
-----------
sum         parts (row filter or list of refs) add up to total
share       100 * part / whole == share (part: one ref, or a list summed)
mean        mean of parts == result
row_mean    in every row, mean of ``fields`` == ``result`` field
ratio       numerator / denominator * scale == result
difference  minuend - subtrahend == result
equal       the same figure printed twice (units converted)
le          a <= b
row_le      in every row, ``lesser`` <= ``greater`` (where both are printed)

A *ref* addresses one cell: ``{"table": id, "row": {col: text} | "indicator id",
"field": col}``; ``table`` defaults to the checking table, ``field`` to ``value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from . import units as _units
from .errors import CheckError, DataFileError
from .package import Printed

if TYPE_CHECKING:
    import pandas as pd

    from .package import Package

# Count words the report uses interchangeably for the same figure in different
# places (e.g. 25个 in §2, 25项 in §2.1); any other difference of base units
# fails an `equal` check, since it means two different things are compared.
_SAME_COUNT = ({"个", "项", "款"}, {"家", "户"}, {"人", "名", "位"})

CHECK_TYPES = ("sum", "share", "mean", "row_mean", "ratio", "difference", "equal", "le", "row_le")


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check."""

    table: str
    id: str
    description: str
    status: str  # pass | fail | expected-fail | unexpected-pass
    detail: str
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "expected-fail")


class _Resolver:
    """Finds the printed values a check refers to, reporting bad refs as :class:`CheckError`."""

    def __init__(self, pkg: Package, table_id: str):
        self.pkg, self.table_id = pkg, table_id

    def _cell(self, table_id: str, raw: dict[str, str], field: str) -> Printed:
        try:
            cell = self.pkg.printed(table_id, raw, field)
        except DataFileError as exc:
            raise CheckError(f"check on {self.table_id!r}: {exc}") from None
        if cell.text == "":
            raise CheckError(f"check on {self.table_id!r}: {table_id} row {cell.key!r} has no printed {field}")
        return cell

    def _rows(self, table_id: str, row: Any) -> list[dict[str, str]]:
        try:
            return self.pkg.rows(table_id, row)
        except DataFileError as exc:
            raise CheckError(f"check on {self.table_id!r}: {exc}") from None

    def one(self, ref: Any, default_field: str = "value") -> Printed:
        if isinstance(ref, str):
            ref = {"row": ref}
        table_id = ref.get("table", self.table_id)
        rows = self._rows(table_id, ref.get("row"))
        if len(rows) != 1:
            raise CheckError(
                f"check on {self.table_id!r}: ref {ref} matches {len(rows)} rows of {table_id!r}, expected exactly 1"
            )
        return self._cell(table_id, rows[0], ref.get("field", default_field))

    def many(self, spec: Any, field: str) -> list[Printed]:
        if isinstance(spec, list):
            return [self.one(r if isinstance(r, dict) else {"row": r, "field": field}, field) for r in spec]
        rows = self._rows(self.table_id, spec)
        if not rows:
            raise CheckError(f"check on {self.table_id!r}: filter {spec} matches no rows")
        return [self._cell(self.table_id, r, field) for r in rows]


def _in_unit_of(value_base: Decimal, target: Printed) -> Decimal:
    return value_base.scaleb(-_units.scale_of(target.unit))


def _agrees(computed: Decimal, printed: Printed, tolerance: Any) -> bool:
    if tolerance is not None:
        return abs(computed - printed.value) <= Decimal(str(tolerance))
    quantum = Decimal(1).scaleb(-printed.decimals)
    return computed.quantize(quantum, rounding=ROUND_HALF_UP) == printed.value


def _fmt(d: Decimal) -> str:
    q = d.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
    return format(q, "f")


def _evaluate(pkg: Package, table_id: str, check: dict) -> tuple[bool, str]:
    """Return (agrees, detail) for one check."""
    r = _Resolver(pkg, table_id)
    ctype = check.get("type")
    tol = check.get("tolerance")
    field = check.get("field", "value")
    if ctype == "sum":
        parts = r.many(check["parts"], field)
        total = r.one(
            check["total"]
            if isinstance(check["total"], dict) and "row" in check["total"]
            else {"row": check["total"], "field": field},
            field,
        )
        computed = _in_unit_of(sum((p.base for p in parts), Decimal(0)), total)
        return _agrees(computed, total, tol), (
            f"sum of {len(parts)} parts = {_fmt(computed)} {total.unit}; printed total {total.text} {total.unit}"
        )
    if ctype == "share":
        # ``part`` may be a list of refs: printed parts whose sum the share is of (2 + 6 + 34 firms).
        parts = [r.one(p) for p in check["part"]] if isinstance(check["part"], list) else [r.one(check["part"])]
        whole, share = r.one(check["whole"]), r.one(check["share"])
        computed = sum((p.base for p in parts), Decimal(0)) / whole.base * 100
        part_text = " + ".join(p.text for p in parts)
        part_text = f"({part_text})" if len(parts) > 1 else part_text
        return _agrees(computed, share, tol), (
            f"100 × {part_text} / {whole.text} = {_fmt(computed)}%; printed {share.text}%"
        )
    if ctype == "mean":
        parts, result = [r.one(p) for p in check["parts"]], r.one(check["result"])
        computed = _in_unit_of(sum((p.base for p in parts), Decimal(0)) / len(parts), result)
        return _agrees(computed, result, tol), f"mean = {_fmt(computed)}; printed {result.text}"
    if ctype == "ratio":
        num, den, result = r.one(check["numerator"]), r.one(check["denominator"]), r.one(check["result"])
        scale = Decimal(str(check.get("scale", 1)))
        computed = (
            _in_unit_of(num.base / den.base * scale, result)
            if _units.scale_of(result.unit)
            else num.base / den.base * scale
        )
        return _agrees(computed, result, tol), (
            f"{num.text} / {den.text} × {scale} = {_fmt(computed)}; printed {result.text}"
        )
    if ctype == "difference":
        a, b, result = r.one(check["minuend"]), r.one(check["subtrahend"]), r.one(check["result"])
        computed = _in_unit_of(a.base - b.base, result)
        return _agrees(computed, result, tol), f"{a.text} − {b.text} = {_fmt(computed)}; printed {result.text}"
    if ctype == "equal":
        a, b = r.one(check["a"]), r.one(check["b"])
        # Round the finer printing to the coarser one's precision, in base units.
        qa, qb = a.decimals - _units.scale_of(a.unit), b.decimals - _units.scale_of(b.unit)
        ua, ub = _units.base_unit(a.unit), _units.base_unit(b.unit)
        if ua != ub and not any({ua, ub} <= group for group in _SAME_COUNT):
            return False, f"units differ: {a.ref} in {a.unit}, {b.ref} in {b.unit}"
        fine, coarse = (a, b) if qa >= qb else (b, a)
        computed = _in_unit_of(fine.base, coarse)
        return _agrees(computed, coarse, tol), (f"{a.ref} = {a.text} {a.unit}; {b.ref} = {b.text} {b.unit}")
    if ctype == "le":
        a, b = r.one(check["a"]), r.one(check["b"])
        return a.base <= b.base, f"{a.text} {a.unit} ≤ {b.text} {b.unit}"
    if ctype in ("row_mean", "row_le"):
        failures, n = [], 0
        for raw in pkg.parsed(table_id).raw:
            if ctype == "row_mean":
                cells = [r._cell(table_id, raw, f) for f in check["fields"]]
                result = r._cell(table_id, raw, check["result"])
                computed = sum((c.value for c in cells), Decimal(0)) / len(cells)
                if not _agrees(computed, result, tol):
                    failures.append(f"{result.key}: mean {_fmt(computed)} vs printed {result.text}")
            else:
                if raw[check["lesser"]] == "" or raw[check["greater"]] == "":
                    continue
                lo = r._cell(table_id, raw, check["lesser"])
                hi = r._cell(table_id, raw, check["greater"])
                if lo.base > hi.base:
                    failures.append(f"{lo.key}: {lo.text} > {hi.text}")
            n += 1
        return not failures, ("; ".join(failures) if failures else f"holds in all {n} rows")
    raise CheckError(
        f"check {check.get('id')!r} on {table_id!r}: unknown type {ctype!r}; allowed: {', '.join(CHECK_TYPES)}"
    )


def run_checks(pkg: Package, table_ids: list[str] | None = None) -> list[CheckResult]:
    """Run every declared consistency check.

    Parameters
    ----------
    pkg : Package
    table_ids : list of str, optional
        Restrict to these tables (default: all).

    Returns
    -------
    list of CheckResult
    """
    results = []
    notes_of = {tid: {n.id for n in pkg.metadata(tid).notes} for tid in pkg.ids()}
    for tid in table_ids or pkg.ids():
        for check in pkg.metadata(tid).checks:
            cid = check.get("id", "?")
            if check.get("expect") == "fail" and check.get("note") not in notes_of[tid]:
                raise CheckError(
                    f"check {cid!r} on {tid!r} expects a failure but names no data note "
                    f"of the table (note {check.get('note')!r})"
                )
            try:
                agrees, detail = _evaluate(pkg, tid, check)
            except (KeyError, TypeError, ZeroDivisionError) as exc:
                raise CheckError(f"check {cid!r} on {tid!r} is malformed: {exc!r}") from None
            expect_fail = check.get("expect") == "fail"
            status = (
                ("unexpected-pass" if agrees else "expected-fail") if expect_fail else ("pass" if agrees else "fail")
            )
            results.append(CheckResult(tid, cid, check.get("description", ""), status, detail, check.get("note")))
    return results


_PREVIOUS = {"2023": "2022", "end-2023": "end-2022"}


def derived(pkg: Package, table_id: str) -> pd.DataFrame:
    """Values implied by the report but not printed, computed and flagged.

    For each ``growth``, ``change`` or ``rank_change`` row of an indicator table
    that names the level it applies to (column ``of``), the previous period's
    level is computed: ``level / (1 + growth/100)``, ``level − change`` or
    ``rank + rank_change``. Nothing here is written to ``data/``.

    Returns
    -------
    pandas.DataFrame
        Columns: indicator, indicator_en, value, unit, period, derived_from,
        method, derived (always True). Empty for tables without such rows.
    """
    import pandas as pd

    meta = pkg.metadata(table_id)
    cols = ["indicator", "indicator_en", "value", "unit", "period", "derived_from", "method", "derived"]
    if meta.shape != "indicator":
        return pd.DataFrame(columns=cols)
    rows = {r["indicator"]: r for r in pkg.parsed(table_id).raw}
    out = []
    for r in rows.values():
        target = rows.get(r.get("of") or "")
        if r["kind"] not in ("growth", "change", "rank_change") or target is None:
            continue
        level, step = Decimal(target["value"]), Decimal(r["value"])
        if r["kind"] == "growth":
            value, method = level / (1 + step / 100), f"{target['value']} / (1 + {r['value']}%)"
        elif r["kind"] == "change":
            value, method = level - step, f"{target['value']} − {r['value']}"
        else:
            value, method = level + step, f"rank {target['value']} + {r['value']} positions moved up"
        out.append(
            {
                "indicator": f"{target['indicator']}_previous",
                "indicator_en": f"{target['indicator_en']} (previous period, derived)",
                "value": float(value),
                "unit": target["unit"],
                "period": _PREVIOUS.get(target["period"], f"period before {target['period']}"),
                "derived_from": f"{target['indicator']}, {r['indicator']}",
                "method": method,
                "derived": True,
            }
        )
    return pd.DataFrame(out, columns=cols)
