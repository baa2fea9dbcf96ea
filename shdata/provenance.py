"""Per-value provenance: the printed phrase every value in ``data/`` comes from.

The provenance is data, not code: ``data/provenance.json`` (recorded with its
sha256 in the descriptor under ``"shdata:provenance"``) holds one entry per
value cell, keyed by table, row and column::

    {"table": "tech_finance_indicators", "row": "loan_balance", "column": "value",
     "quote": "...", "offset": 12345, "sentence": "...", "sentence_offset": 12300,
     "keywords": ["..."], "words": "全国第一", "rule": "numeral"}

* ``quote`` is the shortest span of the report text that holds the value as
  printed, its unit and enough of its label to identify it; ``offset`` is the
  character offset of the quote in the report text (``data/source/``).
* ``sentence`` is the whole printed sentence (or table row) around the quote,
  so that :func:`trace` works from an installed wheel, which carries no report.
* ``keywords`` are the words of the row's label that the quote or sentence
  prints; at least one is part of the row's Chinese label.
* A value written in words records ``words`` and a ``rule``: ``numeral`` (a
  Chinese numeral in the words is the value, 全国第一 → 1, 六大 → 6, 近百 → 100)
  or ``unchanged`` (保持不变 → 0). A rank read from the order of a printed list
  records ``rule`` ``list-position`` with ``list`` (the printed list) and
  ``position`` (1-based).

Nothing here is imported by ``import shdata``; the provenance file is read only
when a trace or the trace check is asked for.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DataFileError, DescriptorError, ShdataError

if TYPE_CHECKING:
    from .package import Package

PROVENANCE_KEY = "shdata:provenance"
SOURCE_KEY = "shdata:source-text"
RULES = ("numeral", "unchanged", "list-position")

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_LIST_SPLIT = re.compile(r"、|，|,|和|及")


class TraceError(ShdataError):
    """Provenance missing or not holding for a value."""


@dataclass(frozen=True)
class Trace:
    """Where one value is printed.

    Attributes
    ----------
    table, row, column : str
        The value cell (row = indicator id or primary-key value).
    value : str
        The value as stored (the digits as printed).
    section : str
        Report section of the table (``§2.1``, ``综述``...).
    quote : str
        The shortest printed phrase holding the value, its unit and label.
    sentence : str
        The whole printed sentence (or table row) around the quote.
    offset : int
        Character offset of ``quote`` in the report text.
    words, rule : str
        For values written in words or read from a list order: the words and
        the rule that turns them into the number (else empty).
    """

    table: str
    row: str
    column: str
    value: str
    section: str
    quote: str
    sentence: str
    offset: int
    words: str = ""
    rule: str = ""
    position: int | None = None

    def line(self) -> str:
        """One-line form: ``table/row/column = value  «quote»``."""
        how = f" [{self.rule}: {self.words or f'position {self.position}'}]" if self.rule else ""
        quote = re.sub(r"\s*\n\s*", " / ", self.quote)  # text the extraction split over lines
        return f"{self.table}/{self.row}/{self.column} = {self.value}  «{quote}»{how}"


# -- reading ---------------------------------------------------------------------------------


def _entry_key(e: dict) -> tuple[str, str, str]:
    return (e["table"], e["row"], e["column"])


def provenance_path(pkg: Package) -> Path:
    """The provenance file declared by the descriptor."""
    spec = pkg.descriptor.get(PROVENANCE_KEY)
    if not isinstance(spec, dict) or not spec.get("path"):
        raise DescriptorError(
            f"{pkg.descriptor_path}: no {PROVENANCE_KEY!r} entry; run tools/provenance.py to create the provenance file"
        )
    return pkg.data_dir / spec["path"]


def load_provenance(pkg: Package) -> dict[tuple[str, str, str], dict]:
    """Read and hash-check the provenance file, keyed by (table, row, column)."""
    cache = getattr(pkg, "_provenance", None)
    if cache is not None:
        return cache
    path = provenance_path(pkg)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"provenance file not found: {path}") from None
    want = (pkg.descriptor[PROVENANCE_KEY].get("hash") or "").removeprefix("sha256:")
    if pkg.verify_hashes and want and hashlib.sha256(data).hexdigest() != want:
        raise DataFileError(
            f"{path.name}: content differs from the sha256 recorded in the descriptor; "
            "if the edit is intended, run `shdata rehash`"
        )
    entries = json.loads(data.decode("utf-8"))["entries"]
    out: dict[tuple[str, str, str], dict] = {}
    for e in entries:
        out[_entry_key(e)] = e
    pkg._provenance = out  # type: ignore[attr-defined]
    return out


def source_text(pkg: Package) -> str | None:
    """The report's full text if present beside the data (a clone), else ``None`` (a wheel).

    Raises
    ------
    DataFileError
        If the text is present but differs from the sha256 recorded in the descriptor.
    """
    spec = pkg.descriptor.get(SOURCE_KEY)
    if not isinstance(spec, dict):
        return None
    path = pkg.data_dir / spec["path"]
    if not path.is_file():
        return None
    data = path.read_bytes()
    want = (spec.get("hash") or "").removeprefix("sha256:")
    if want and hashlib.sha256(data).hexdigest() != want:
        raise DataFileError(
            f"{spec['path']}: the report text differs from the sha256 recorded in the "
            "descriptor; restore it (it is the project's raw input)"
        )
    return data.decode("utf-8")


def row_key(meta: Any, raw: dict[str, str]) -> str:
    """The key naming one row in provenance and on the command line."""
    if meta.shape == "indicator":
        return raw["indicator"]
    return " | ".join(raw[k] for k in meta.primary_key)


def value_cells(pkg: Package, table_id: str):
    """Yield ``(row_key, column, raw_row)`` for every printed value cell of a table."""
    meta = pkg.metadata(table_id)
    for raw in pkg.parsed(table_id).raw:
        for col in meta.value_fields:
            if raw.get(col, "") != "":
                yield row_key(meta, raw), col, raw


# -- the public trace ------------------------------------------------------------------------


def _find_row(pkg: Package, table_id: str, row: str) -> tuple[str, dict[str, str]]:
    meta = pkg.metadata(table_id)
    raws = pkg.parsed(table_id).raw
    for raw in raws:
        if row == row_key(meta, raw):
            return row, raw
    # Also accept a unique row label in either language.
    hits = [raw for raw in raws if row in (raw.get(n) for n in meta.label_fields)]
    if len(hits) == 1:
        return row_key(meta, hits[0]), hits[0]
    from .errors import did_you_mean

    keys = [row_key(meta, r) for r in raws]
    raise TraceError(
        f"{table_id}: no row {row!r}{did_you_mean(row, keys)}; rows: {', '.join(keys[:8])}"
        + (" ..." if len(keys) > 8 else "")
    )


def trace(pkg: Package, table_id: str, row: str, column: str = "value") -> Trace:
    """Where one value is printed: section, quote, sentence and offset.

    Parameters
    ----------
    pkg : Package
    table_id : str
    row : str
        Indicator id, primary-key value (``shdata show`` prints them) or a
        unique row label.
    column : str, default "value"

    Returns
    -------
    Trace
    """
    meta = pkg.metadata(table_id)
    key, raw = _find_row(pkg, table_id, row)
    if column not in meta.value_fields:
        raise TraceError(f"{table_id}: {column!r} is not a value column; value columns: {', '.join(meta.value_fields)}")
    if raw.get(column, "") == "":
        raise TraceError(f"{table_id}/{key}: {column} is empty (not printed), so it has no quote")
    entry = load_provenance(pkg).get((table_id, key, column))
    if entry is None:
        raise TraceError(f"{table_id}/{key}/{column}: no provenance entry; run tools/provenance.py")
    return _to_trace(meta, key, column, raw[column], entry)


def _to_trace(meta: Any, key: str, column: str, value: str, e: dict) -> Trace:
    return Trace(
        table=meta.id,
        row=key,
        column=column,
        value=value,
        section=meta.section,
        quote=e["quote"],
        sentence=e["sentence"],
        offset=int(e["offset"]),
        words=e.get("words", ""),
        rule=e.get("rule", ""),
        position=e.get("position"),
    )


def table_traces(pkg: Package, table_id: str) -> list[Trace]:
    """Traces of every value cell of a table, in row order (missing entries raise)."""
    prov = load_provenance(pkg)
    meta = pkg.metadata(table_id)
    out = []
    for key, col, raw in value_cells(pkg, table_id):
        e = prov.get((table_id, key, col))
        if e is None:
            raise TraceError(f"{table_id}/{key}/{col}: no provenance entry; run tools/provenance.py")
        out.append(_to_trace(meta, key, col, raw[col], e))
    return out


def figure_quotes(pkg: Package, sources: list[str]) -> list[dict[str, Any]]:
    """The quotes of the values a figure's source tables hold, for its sidecar JSON."""
    out = []
    for tid in sources:
        for t in table_traces(pkg, tid):
            out.append(
                {
                    "table": t.table,
                    "row": t.row,
                    "column": t.column,
                    "value": t.value,
                    "section": t.section,
                    "quote": t.quote,
                    "offset": t.offset,
                }
            )
    return out


def _plain(label: str) -> str:
    """A label without quotation marks and brackets, which the report prints unevenly."""
    return re.sub(r"[（）()“”\"《》]", "", label)


# -- the check -------------------------------------------------------------------------------


def cn_numbers(words: str) -> set[int]:
    """Numbers a run of Chinese numerals in ``words`` spells (两年 → 2, 四金三银 → 4, 3, 近百 → 100)."""
    found: set[int] = set()
    total, current, seen = 0, 0, False
    for ch in words + " ":
        if ch in _CN_DIGITS:
            current, seen = _CN_DIGITS[ch], True
        elif ch in _CN_UNITS and (seen or ch in "十百千"):
            unit = _CN_UNITS[ch]
            total += (current or 1) * unit
            current, seen = 0, True
        else:
            if seen:
                found.add(total + current)
            total, current, seen = 0, 0, False
    return found


def _digits_pattern(value: str) -> re.Pattern:
    """The value as printed, allowing thousands separators, not inside a longer number."""
    sign = ""
    if value.startswith(("-", "+")):
        sign, value = r"[-+−]?", value[1:]
    intpart, _, frac = value.partition(".")
    body = r",?".join(re.escape(c) for c in intpart) + (r"\." + re.escape(frac) if frac else "")
    return re.compile(rf"(?<![\d.]){sign}{body}(?![\d]|\.\d)")


def check_entry(meta: Any, key: str, column: str, raw: dict[str, str], e: dict | None, text: str | None) -> str | None:
    """Return a one-line failure for one value cell, or ``None`` when its provenance holds."""
    where = f"{meta.id}/{key}/{column}"
    if e is None:
        return f"{where}: no provenance entry (value {raw[column]})"
    quote = e.get("quote", "")
    sentence = e.get("sentence", "")
    q = f"«{quote}»"
    if not quote or quote not in sentence:
        return f"{where}: quote {q} is not part of its recorded sentence"
    if text is not None:
        off = int(e.get("offset", -1))
        if text[off : off + len(quote)] != quote:
            return f"{where}: quote {q} does not occur at offset {off} of the report text"
        soff = int(e.get("sentence_offset", -1))
        if text[soff : soff + len(sentence)] != sentence or not soff <= off <= soff + len(sentence):
            return f"{where}: the sentence of quote {q} does not occur at offset {soff} of the report text"
    value = raw[column]
    rule = e.get("rule", "")
    if rule == "list-position":
        items = [i.strip() for i in _LIST_SPLIT.split(e.get("list", "")) if i.strip()]
        pos = e.get("position")
        if e.get("list", "") not in sentence:
            return f"{where}: list of quote {q} is not part of its sentence"
        if not isinstance(pos, int) or not 1 <= pos <= len(items) or str(pos) != value:
            return f"{where}: value {value} is not position {pos} of the printed list {q}"
        if items[pos - 1] not in quote:
            return f"{where}: list item {pos} ({items[pos - 1]}) is not in quote {q}"
    elif rule in ("numeral", "unchanged"):
        words = e.get("words", "")
        if not words or words not in quote:
            return f"{where}: words {words!r} are not in quote {q}"
        try:
            number = Decimal(value)
        except InvalidOperation:
            return f"{where}: value {value!r} is not a number"
        allowed = {0} if rule == "unchanged" else cn_numbers(words)
        if number not in {Decimal(n) for n in allowed}:
            return f"{where}: value {value} is not what the words {words!r} of quote {q} say ({rule})"
    elif rule:
        return f"{where}: unknown rule {rule!r} for quote {q}; allowed: {', '.join(RULES)}"
    elif not _digits_pattern(value).search(quote):
        return f"{where}: value {value} is not printed in quote {q}"
    keywords = e.get("keywords") or []
    context = quote + sentence
    missing = [k for k in keywords if k not in context]
    if not keywords or missing:
        return f"{where}: label words {missing or '(none recorded)'} not in quote {q} or its sentence"
    labels = [_plain(raw.get(n, "")) for n in meta.label_fields if n.endswith("_zh")] or [
        raw.get(n, "") for n in meta.label_fields
    ]
    if not any(_plain(k) in lab or lab in _plain(k) for k in keywords for lab in labels if lab):
        return f"{where}: no label word of quote {q} is part of the row label {labels[0] if labels else ''!r}"
    return None


def check_provenance(pkg: Package, table_ids: list[str] | None = None) -> tuple[int, list[str]]:
    """Verify the provenance of every value cell.

    Returns
    -------
    (int, list of str)
        The number of value cells verified and one line per failure, naming
        table, row, column and quote. Entries for cells that no longer exist
        fail too, so the file cannot drift from the tables.
    """
    prov = load_provenance(pkg)
    text = source_text(pkg)
    ids = table_ids or pkg.ids()
    failures, n, seen = [], 0, set()
    for tid in ids:
        meta = pkg.metadata(tid)
        for key, col, raw in value_cells(pkg, tid):
            n += 1
            seen.add((tid, key, col))
            msg = check_entry(meta, key, col, raw, prov.get((tid, key, col)), text)
            if msg:
                failures.append(msg)
    for k in prov:
        if k[0] in ids and k not in seen:
            failures.append(f"{k[0]}/{k[1]}/{k[2]}: provenance entry for a value cell that does not exist")
    return n, failures
