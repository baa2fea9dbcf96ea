"""The data behind a figure: the exact values drawn, as a CSV beside the figure.

The contract
------------
``P.publish(fig, id, ..., data=df)`` takes a DataFrame with one row per value
drawn and exactly the columns of :data:`COLUMNS`, every cell a string:

``table``, ``row``, ``field``
    Where the value sits in ``data/``: table id, row key (the ``indicator`` id,
    or the primary-key values joined by ``" | "``) and numeric column.
``label_en``, ``label_zh``
    What the value counts, in both languages (the table's label columns).
``measure``
    The column's title (measure tables) or ``""`` (indicator tables, whose
    labels already say what is measured).
``value``, ``unit``, ``qualifier``, ``kind``, ``period``
    The value **as printed** (digits as text, trailing zeros kept), its printed
    unit, printed qualifier (约, 超...), kind (level, share, growth...) and period.
``derived``, ``method``
    ``"false"`` and ``""`` for printed values; ``"true"`` and how the value was
    computed for values shdata derived (they are never printed in the report).

Build it with :func:`figure_data` (printed values, straight from the table, so
they stay exactly as printed), :func:`derived_data` (the rows of
:func:`shdata.derived`) and :func:`derivation` (any other computed value, e.g.
a remainder), concatenated in the order drawn. :func:`verify` checks a written
CSV against the data package; the test suite runs it on every figure.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._io import write_text
from .errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

    from .package import Package

COLUMNS = (
    "table",
    "row",
    "field",
    "label_en",
    "label_zh",
    "measure",
    "value",
    "unit",
    "qualifier",
    "kind",
    "period",
    "derived",
    "method",
)
KEY_SEP = " | "

_FIELD_DOCS = {
    "table": "Source table id in the shdata data package",
    "row": "Row of the source table: indicator id or primary-key values joined by ' | '",
    "field": "Numeric column of the source table the value is read from",
    "label_en": "What the value counts, in English",
    "label_zh": "What the value counts, in Chinese",
    "measure": "Title of the source column (measure tables)",
    "value": "The value as printed in the report (derived rows: as computed)",
    "unit": "Printed unit of the value",
    "qualifier": "Printed qualifier (约 about, 超 over, 近 nearly...), if any",
    "kind": "level, share, growth, rank, change, rank_change or ratio",
    "period": "Reference period as the report gives it",
    "derived": "true if computed by shdata from printed values, not printed in the report",
    "method": "How a derived value was computed",
}


def _pkg(pkg: Package | None) -> Package:
    if pkg is not None:
        return pkg
    from . import _pkg as default

    return default()


def row_key(pkg: Package, table_id: str, raw: dict[str, str]) -> str:
    """The key that identifies a printed row: indicator id, or primary-key values."""
    meta = pkg.metadata(table_id)
    if meta.shape == "indicator":
        return raw["indicator"]
    names = meta.primary_key or meta.label_fields[:1]
    return KEY_SEP.join(raw[n] for n in names)


def _record(pkg: Package, table_id: str, raw: dict[str, str], field: str) -> dict[str, str]:
    meta = pkg.metadata(table_id)
    p = pkg.printed(table_id, raw, field)
    fdef = next(f for f in meta.fields if f["name"] == field)
    kind = raw.get("kind") or fdef.get("shdata:kind", "")
    measure = "" if meta.shape == "indicator" else fdef.get("title", field)
    return {
        "table": table_id,
        "row": row_key(pkg, table_id, raw),
        "field": field,
        "label_en": p.label_en,
        "label_zh": p.label_zh,
        "measure": measure,
        "value": p.text,
        "unit": p.unit,
        "qualifier": p.qualifier,
        "kind": kind,
        "period": p.period,
        "derived": "false",
        "method": "",
    }


def _frame(records: list[dict[str, str]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(records, columns=list(COLUMNS), dtype=object)


def figure_data(
    table_id: str,
    rows: Iterable[str | dict] | None = None,
    columns: Iterable[str] | None = None,
    *,
    pkg: Package | None = None,
) -> pd.DataFrame:
    """Printed values of one table, in the figure-data contract.

    Parameters
    ----------
    table_id : str
    rows : iterable of str or dict, optional
        Indicator ids (indicator tables) or ``{column: printed text}`` filters, in
        the order drawn; each must match at least one row. Default: every row.
    columns : iterable of str, optional
        Numeric columns drawn; default: every numeric column with a value.

    Returns
    -------
    pandas.DataFrame
        One row per value, columns :data:`COLUMNS`, values exactly as printed.
    """
    pkg = _pkg(pkg)
    meta = pkg.metadata(table_id)
    fields = list(columns) if columns is not None else list(meta.value_fields)
    for f in fields:
        if f not in meta.value_fields:
            raise ParameterError(
                f"figure data: {table_id} has no numeric column {f!r}; numeric columns: {', '.join(meta.value_fields)}"
            )
    if rows is None:
        raws = list(pkg.parsed(table_id).raw)
    else:
        raws = []
        for spec in rows:
            hits = pkg.rows(table_id, spec)
            if not hits:
                raise ParameterError(f"figure data: {table_id} has no row {spec!r}")
            raws.extend(hits)
    records = [
        _record(pkg, table_id, raw, f) for raw in raws for f in fields if raw.get(f, "") != "" or columns is not None
    ]
    return _frame(records)


def derived_data(table_id: str, rows: Iterable[str] | None = None, *, pkg: Package | None = None) -> pd.DataFrame:
    """Values :func:`shdata.derived` computes for a table, flagged as derived.

    Parameters
    ----------
    rows : iterable of str, optional
        Derived indicator ids (``<level>_previous``) in the order drawn; default all.
    """
    from .checks import derived

    pkg = _pkg(pkg)
    d = derived(pkg, table_id)
    by_id = {r["indicator"]: r for r in d.to_dict("records")}
    wanted = list(rows) if rows is not None else list(by_id)
    records = []
    for rid in wanted:
        if rid not in by_id:
            raise ParameterError(f"figure data: {table_id} derives no {rid!r}; derived: {', '.join(by_id) or 'none'}")
        r = by_id[rid]
        source = pkg.rows(table_id, rid.removesuffix("_previous"))[0]
        records.append(
            {
                "table": table_id,
                "row": rid,
                "field": "value",
                "label_en": r["indicator_en"],
                "label_zh": f"{source.get('indicator_zh', '')}（上期，推算）",
                "measure": "",
                "value": repr(float(r["value"])),
                "unit": r["unit"],
                "qualifier": "",
                "kind": source.get("kind", ""),
                "period": r["period"],
                "derived": "true",
                "method": r["method"],
            }
        )
    return _frame(records)


def derivation(
    table_id: str,
    *,
    row: str,
    value: Any,
    unit: str,
    label_en: str,
    label_zh: str,
    method: str,
    period: str = "",
    kind: str = "level",
) -> pd.DataFrame:
    """One computed value (e.g. a printed total minus its printed parts), flagged as derived.

    ``method`` must say how it was computed, in terms of printed values.
    """
    if not method:
        raise ParameterError(f"figure data: derived value {row!r} needs a method saying how it was computed")
    return _frame(
        [
            {
                "table": table_id,
                "row": row,
                "field": "value",
                "label_en": label_en,
                "label_zh": label_zh,
                "measure": "",
                "value": str(value),
                "unit": unit,
                "qualifier": "",
                "kind": kind,
                "period": period,
                "derived": "true",
                "method": method,
            }
        ]
    )


def drawn_cells(
    records: Iterable[dict[str, str]], pkg: Package | None = None
) -> dict[str, list[tuple[dict[str, str], str]]]:
    """The printed cells a figure draws, per table: ``(printed row, column)`` pairs.

    ``records`` are figure-data rows (:func:`check_frame`). A derived value counts
    as drawing the printed row it is named after, if any (``<level>_previous``
    from :func:`derived_data` is computed from ``<level>``); a value computed by
    :func:`derivation` under a name of its own draws no printed cell.
    """
    pkg = _pkg(pkg)
    by_key: dict[str, dict[str, dict[str, str]]] = {}
    out: dict[str, list[tuple[dict[str, str], str]]] = {}
    for r in records:
        table = r["table"]
        if table not in by_key:
            by_key[table] = {row_key(pkg, table, raw): raw for raw in pkg.parsed(table).raw}
        raw = by_key[table].get(r["row"])
        if raw is None and r["derived"] == "true":
            raw = by_key[table].get(r["row"].removesuffix("_previous"))
        if raw is not None:
            out.setdefault(table, []).append((raw, r["field"]))
    return out


# -- writing --------------------------------------------------------------------


def check_frame(df: Any, figure_id: str, sources: Iterable[str]) -> list[dict[str, str]]:
    """Validate a figure-data frame; return its rows as dicts of strings.

    Raises
    ------
    ParameterError
        One line naming the figure and what is wrong.
    """
    cols = list(getattr(df, "columns", []))
    if cols != list(COLUMNS):
        missing = [c for c in COLUMNS if c not in cols]
        extra = [c for c in cols if c not in COLUMNS]
        raise ParameterError(
            f"data for {figure_id}: columns must be {', '.join(COLUMNS)} in that order"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unexpected {', '.join(map(str, extra))}" if extra else "")
            + " (build it with notebook.figure_data / derived_data / derivation)"
        )
    if not len(df):
        raise ParameterError(f"data for {figure_id}: no rows; pass the values the figure draws")
    sources = set(sources)
    out = []
    for i, rec in enumerate(df.to_dict("records")):
        bad = [c for c in COLUMNS if not isinstance(rec[c], str)]
        if bad:
            raise ParameterError(
                f"data for {figure_id}, row {i}: {bad[0]} is {rec[bad[0]]!r}, not text; "
                "values must stay as printed (use notebook.figure_data)"
            )
        if rec["table"] not in sources:
            raise ParameterError(
                f"data for {figure_id}, row {i}: table {rec['table']!r} is not among the "
                f"figure's sources ({', '.join(sorted(sources))})"
            )
        if rec["derived"] not in ("true", "false"):
            raise ParameterError(f"data for {figure_id}, row {i}: derived must be 'true' or 'false'")
        out.append(rec)
    return out


def to_csv(records: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(records)
    return buf.getvalue()


def resource(figure_id: str, lang: str, path: str, sha256: str, nbytes: int, title: str) -> dict:
    """Frictionless Tabular Data Resource describing one figure's CSV."""
    fields = []
    for c in COLUMNS:
        f: dict[str, Any] = {
            "name": c,
            "type": "boolean" if c == "derived" else "string",
            "description": _FIELD_DOCS[c],
        }
        if c == "derived":
            f["trueValues"], f["falseValues"] = ["true"], ["false"]
        if c in ("table", "row", "field", "value", "derived"):
            f["constraints"] = {"required": True}
        fields.append(f)
    return {
        "name": f"{figure_id}-{lang}",
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": title,
        "description": f"The values drawn in figure {figure_id}, as printed in the report (derived values flagged).",
        "schema": {"fields": fields},
        "hash": f"sha256:{sha256}",
        "bytes": nbytes,
    }


def write(folder: Path, figure_id: str, lang: str, records: list[dict[str, str]], title: str) -> tuple[dict, dict]:
    """Write ``<folder>/<id>.csv`` atomically; return its files entry and its resource descriptor."""
    text = to_csv(records)
    path = Path(folder) / f"{figure_id}.csv"
    write_text(path, text)
    data = text.encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    rel = f"{lang}/{path.name}"
    return {"path": rel, "sha256": sha}, resource(figure_id, lang, rel, sha, len(data), title)


# -- checking -------------------------------------------------------------------


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def verify(path: Path, sources: Iterable[str] | None = None, pkg: Package | None = None) -> list[str]:
    """Problems with a figure CSV: each printed value must be the printed value of its source cell.

    A row flagged ``derived`` must name a source table, a method, and, where
    :func:`shdata.derived` computes that row, carry its value.

    Returns
    -------
    list of str
        One line per problem; empty when every value checks out.
    """
    from .checks import derived

    pkg = _pkg(pkg)
    path = Path(path)
    problems = []
    rows = read(path)
    if not rows:
        return [f"{path.name}: no rows"]
    if list(rows[0]) != list(COLUMNS):
        return [f"{path.name}: columns {list(rows[0])} are not {list(COLUMNS)}"]
    allowed = set(sources) if sources is not None else None
    for i, r in enumerate(rows, start=2):
        where = f"{path.name} line {i}"
        if allowed is not None and r["table"] not in allowed:
            problems.append(f"{where}: table {r['table']} is not a source of the figure")
            continue
        try:
            meta = pkg.metadata(r["table"])
        except Exception:
            problems.append(f"{where}: unknown table {r['table']!r}")
            continue
        if r["derived"] == "true":
            if not r["method"]:
                problems.append(f"{where}: derived value without a method")
            known = derived(pkg, meta.id)
            hit = known[known["indicator"] == r["row"]]
            if len(hit) and repr(float(hit.iloc[0]["value"])) != r["value"]:
                problems.append(
                    f"{where}: derived {r['row']} is {r['value']}, shdata.derived gives {float(hit.iloc[0]['value'])!r}"
                )
            try:
                Decimal(r["value"])
            except InvalidOperation:
                problems.append(f"{where}: derived value {r['value']!r} is not a number")
            continue
        if r["derived"] != "false":
            problems.append(f"{where}: derived is {r['derived']!r}, not true/false")
            continue
        matches = [raw for raw in pkg.parsed(meta.id).raw if row_key(pkg, meta.id, raw) == r["row"]]
        if len(matches) != 1:
            problems.append(f"{where}: {meta.id} has {len(matches)} rows {r['row']!r}, expected 1")
            continue
        if r["field"] not in meta.value_fields:
            problems.append(f"{where}: {meta.id} has no numeric column {r['field']!r}")
            continue
        p = pkg.printed(meta.id, matches[0], r["field"])
        for col, want in (
            ("value", p.text),
            ("unit", p.unit),
            ("qualifier", p.qualifier),
            ("period", p.period),
            ("label_en", p.label_en),
            ("label_zh", p.label_zh),
        ):
            if r[col] != want:
                problems.append(f"{where}: {col} {r[col]!r} but {meta.id}:{r['row']}.{r['field']} prints {want!r}")
    return problems


def write_package(figures_dir: Path) -> dict | None:
    """Write ``figures/datapackage.json``, a Frictionless Data Package of every figure's CSV.

    Built from the ``data`` resource in each sidecar, so ``frictionless validate
    figures/datapackage.json`` checks every figure CSV. Written only on change;
    removed when no figure has data.
    """
    import json

    from . import __version__
    from ._io import write_json

    figures_dir = Path(figures_dir)
    resources = []
    for side in sorted(figures_dir.glob("*/*.json")):
        rec = json.loads(side.read_text(encoding="utf-8"))
        if isinstance(rec, dict) and isinstance(rec.get("data"), dict):
            resources.append(rec["data"])
    path = figures_dir / "datapackage.json"
    if not resources:
        path.unlink(missing_ok=True)
        return None
    desc = {
        "profile": "tabular-data-package",
        "name": "shdata-figure-data",
        "title": "The values drawn in shdata's figures",
        "description": "One CSV per figure and language: every value drawn, as printed in the Shanghai Science "
        "and Technology Progress Report 2023 (2023上海科技进步报告), derived values flagged.",
        "version": __version__,
        "resources": sorted(resources, key=lambda r: r["name"]),
    }
    write_json(path, desc, indent=1, sort_keys=False, only_if_changed=True)
    return desc
