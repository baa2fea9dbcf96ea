"""Validate a CSV file against its Frictionless Table Schema.

shdata reads its small CSV files with the standard library and checks every
cell here, so that a bad file is reported as *file, row, column, value, rule*
instead of as a traceback from deep inside a parser. The full Frictionless
validator (``frictionless validate data/datapackage.json``) runs in the test
suite as an independent second opinion.

Beyond the standard constraints (``required``, ``unique``, ``minimum``,
``maximum``, ``enum``, ``pattern``) the semantic kind of each value is
enforced: counts and amounts (``level``) are non-negative, shares lie in
0–100, ranks are whole numbers from 1. Measure tables declare the kind per
field (``"shdata:kind"``); indicator tables per row (column ``kind``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .errors import DataFileError

KINDS = ("level", "share", "growth", "rank", "change", "rank_change", "ratio")
#: The kinds that are places in a ranking, not amounts: 第3位 (a rank), 上升2位 (a change of rank).
PLACE_KINDS = frozenset({"rank", "rank_change"})
INDICATOR_COLUMNS = ("indicator", "indicator_zh", "indicator_en", "value", "unit", "kind", "qualifier", "period")

_INT_RE = re.compile(r"[+-]?\d+")
_NUM_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class ParsedTable:
    """Rows of a validated CSV: the printed text and the typed values."""

    header: tuple[str, ...]
    raw: tuple[dict[str, str], ...]
    typed: tuple[dict[str, Any], ...]


def _parse_cell(text: str, ftype: str) -> Any:
    if text == "":
        return None
    if ftype == "integer":
        if not _INT_RE.fullmatch(text):
            raise ValueError("is not an integer")
        return int(text)
    if ftype == "number":
        if not _NUM_RE.fullmatch(text):
            raise ValueError("is not a number as printed (digits and one decimal point)")
        try:
            return Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - regex guards this
            raise ValueError("is not a number") from exc
    if ftype == "boolean":
        if text not in ("true", "false"):
            raise ValueError("is not 'true' or 'false'")
        return text == "true"
    return text


def _kind_problem(kind: str | None, value: Any) -> str | None:
    """Return why ``value`` is impossible for its semantic kind, or None."""
    if value is None or kind is None:
        return None
    if kind == "level" and value < 0:
        return "is a count or amount (kind 'level') and must not be negative"
    if kind == "share" and not (0 <= value <= 100):
        return "is a share in % (kind 'share') and must lie between 0 and 100"
    if kind == "rank" and (value < 1 or value != int(value)):
        return "is a rank (kind 'rank') and must be a whole number from 1"
    return None


def validate_csv(path: Path, schema: dict[str, Any], label: str | None = None) -> ParsedTable:
    """Read and validate one CSV file.

    Parameters
    ----------
    path : pathlib.Path
        The CSV file.
    schema : dict
        Its Table Schema (``fields``, optional ``primaryKey``).
    label : str, optional
        Name used in messages (defaults to the file name).

    Returns
    -------
    ParsedTable
        Printed text and typed values of every row.

    Raises
    ------
    DataFileError
        With file, row, column and the broken rule in one line.
    """
    label = label or path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{label}: data file not found ({path})") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{label}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    if text.startswith("\ufeff"):
        raise DataFileError(f"{label}: starts with a byte-order mark; save as UTF-8 without BOM")

    fields = schema.get("fields", [])
    names = [f["name"] for f in fields]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DataFileError(f"{label}: file is empty; expected header {','.join(names)}") from None
    except csv.Error as exc:
        raise DataFileError(f"{label}: malformed CSV header ({exc})") from None
    if header != names:
        raise DataFileError(
            f"{label}: header {','.join(header)!r} does not match the schema's fields {','.join(names)!r}"
        )

    by_name = {f["name"]: f for f in fields}
    is_indicator = all(c in by_name for c in ("indicator", "value", "unit", "kind"))
    raw_rows: list[dict[str, str]] = []
    typed_rows: list[dict[str, Any]] = []
    seen: dict[str, dict[Any, int]] = {n: {} for n in names if by_name[n].get("constraints", {}).get("unique")}
    pkey = schema.get("primaryKey") or []
    if isinstance(pkey, str):
        pkey = [pkey]
    seen_keys: dict[tuple, int] = {}

    try:
        for rowno, cells in enumerate(reader, start=2):  # row 1 is the header
            if not cells:
                raise DataFileError(f"{label}, row {rowno}: empty line")
            if len(cells) != len(names):
                raise DataFileError(
                    f"{label}, row {rowno}: {len(cells)} cells, expected {len(names)} ({','.join(names)})"
                )
            raw = dict(zip(names, cells, strict=True))
            typed: dict[str, Any] = {}
            for name, cell in raw.items():
                field = by_name[name]
                cons = field.get("constraints", {})
                where = f"{label}, row {rowno}, column {name!r}"
                if cell != cell.strip():
                    raise DataFileError(f"{where}: value {cell!r} has leading or trailing spaces")
                try:
                    value = _parse_cell(cell, field.get("type", "string"))
                except ValueError as exc:
                    raise DataFileError(f"{where}: value {cell!r} {exc}") from None
                if value is None:
                    if cons.get("required") or name in pkey:
                        raise DataFileError(f"{where}: value is required but the cell is empty")
                    typed[name] = None
                    continue
                if "minimum" in cons and value < Decimal(str(cons["minimum"])):
                    raise DataFileError(f"{where}: value {cell} is below the minimum {cons['minimum']}")
                if "maximum" in cons and value > Decimal(str(cons["maximum"])):
                    raise DataFileError(f"{where}: value {cell} is above the maximum {cons['maximum']}")
                if "enum" in cons and cell not in [str(e) for e in cons["enum"]]:
                    allowed = ", ".join(str(e) for e in cons["enum"])
                    raise DataFileError(f"{where}: value {cell!r} is not one of: {allowed}")
                if "pattern" in cons and not re.fullmatch(cons["pattern"], cell):
                    raise DataFileError(f"{where}: value {cell!r} does not match {cons['pattern']!r}")
                problem = _kind_problem(field.get("shdata:kind"), value)
                if problem:
                    raise DataFileError(f"{where}: value {cell} {problem}")
                if name in seen:
                    if value in seen[name]:
                        raise DataFileError(
                            f"{where}: value {cell!r} repeats row {seen[name][value]}; it must be unique"
                        )
                    seen[name][value] = rowno
                typed[name] = value
            if is_indicator:
                kind = typed.get("kind")
                if kind not in KINDS:
                    raise DataFileError(
                        f"{label}, row {rowno}, column 'kind': {kind!r} is not one of: {', '.join(KINDS)}"
                    )
                problem = _kind_problem(kind, typed.get("value"))
                if problem:
                    raise DataFileError(f"{label}, row {rowno}, column 'value': value {raw['value']} {problem}")
            if pkey:
                key = tuple(typed.get(k) for k in pkey)
                if key in seen_keys:
                    shown = dict(zip(pkey, key, strict=True))
                    raise DataFileError(f"{label}, row {rowno}: primary key {shown} repeats row {seen_keys[key]}")
                seen_keys[key] = rowno
            raw_rows.append(raw)
            typed_rows.append(typed)
    except csv.Error as exc:
        raise DataFileError(f"{label}, row {reader.line_num}: malformed CSV ({exc})") from None

    if is_indicator and "of" in by_name:
        ids = {r["indicator"] for r in typed_rows}
        for rowno, r in enumerate(typed_rows, start=2):
            if r.get("of") and r["of"] not in ids:
                raise DataFileError(f"{label}, row {rowno}, column 'of': {r['of']!r} is not an indicator of this table")
    return ParsedTable(tuple(header), tuple(raw_rows), tuple(typed_rows))
