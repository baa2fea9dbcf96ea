"""The data package: descriptor, table metadata and typed loading.

A :class:`Package` wraps one folder holding ``datapackage.json`` (a Frictionless
Data Package) and its CSV files. It validates each file against its schema and
its recorded sha256 when first read, then serves pandas DataFrames.

Load, process, save: nothing here writes to ``data/`` except :meth:`Package.rehash`,
the maintainer's step after an intended edit of a data file.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import units as _units
from .errors import DataFileError, DescriptorError, UnitError, UnknownTableError
from .paths import DESCRIPTOR, default_data_dir
from .schema import ParsedTable, validate_csv

if TYPE_CHECKING:  # pandas is imported only when a table is loaded
    import pandas as pd

UNITS_MODES = ("printed", "base")
REPORT_PUBLISHER = "Shanghai Municipal Science and Technology Commission"
REPORT_PUBLISHER_ZH = "上海市科学技术委员会"


@dataclass(frozen=True)
class Note:
    """A data note: a printed footnote, a discrepancy, an extraction caveat."""

    id: str
    kind: str
    text: str
    text_zh: str = ""

    def render(self, lang: str = "en") -> str:
        """Return the note's text in ``lang``, falling back to English."""
        return self.text_zh if lang == "zh" and self.text_zh else self.text


@dataclass(frozen=True)
class TableMeta:
    """Metadata of one table, as declared in ``datapackage.json``."""

    id: str
    title: str
    title_zh: str
    description: str
    topic: str
    section: str
    period: str
    notes: tuple[Note, ...]
    fields: tuple[dict, ...]
    primary_key: tuple[str, ...]
    path: str
    sha256: str | None
    checks: tuple[dict, ...]
    source: dict = field(default_factory=dict)

    @property
    def shape(self) -> str:
        """``"indicator"`` (one value column, unit per row) or ``"measure"``."""
        names = {f["name"] for f in self.fields}
        return "indicator" if {"indicator", "value", "unit", "kind"} <= names else "measure"

    @property
    def value_fields(self) -> tuple[str, ...]:
        """Names of the numeric columns."""
        return tuple(f["name"] for f in self.fields if f.get("type") in ("integer", "number"))

    @property
    def units(self) -> dict[str, str | None]:
        """Unit of each numeric column (``None`` if none); ``"(per row: column 'unit')"`` for indicator tables."""
        out: dict[str, str | None] = {}
        for f in self.fields:
            if f.get("type") not in ("integer", "number"):
                continue
            u = f.get("unit")
            out[f["name"]] = f"(per row: column {u['field']!r})" if isinstance(u, dict) else u
        return out

    @property
    def label_fields(self) -> tuple[str, ...]:
        """String columns that name rows: ``*_zh``, ``*_en``, the primary key."""
        return tuple(
            f["name"]
            for f in self.fields
            if f.get("type", "string") == "string"
            and (f["name"] in self.primary_key or f["name"].endswith(("_zh", "_en")))
        )

    def citation(self, lang: str = "en") -> str:
        """Citation of the report section this table comes from."""
        return report_citation(self.section, lang=lang, source=self.source)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (what ``df.attrs['shdata']`` holds)."""
        return {
            "id": self.id,
            "title": self.title,
            "title_zh": self.title_zh,
            "description": self.description,
            "topic": self.topic,
            "section": self.section,
            "period": self.period,
            "units": self.units,
            "notes": [n.__dict__.copy() for n in self.notes],
            "citation": self.citation(),
            "sha256": self.sha256,
        }


def report_titles(source: dict | None = None) -> tuple[str, str]:
    """Chinese and English title of the report, from the descriptor's ``sources[0]`` entry."""
    source = source or {}
    return (
        source.get("title_zh", "2023上海科技进步报告"),
        source.get("title", "Shanghai Science and Technology Progress Report 2023"),
    )


def report_citation(section: str | None = None, lang: str = "en", source: dict | None = None) -> str:
    """Citation string for the report, optionally pointing to a section.

    Parameters
    ----------
    section : str, optional
        Section as recorded in the metadata, e.g. ``"§2.1"`` or ``"数看上海科技"``.
    lang : {"en", "zh"}
    source : dict, optional
        The descriptor's ``sources[0]`` entry; defaults to the built-in description.
    """
    title_zh, title_en = report_titles(source)
    where = f", {section}" if section else ""
    if lang == "zh":
        return f"{REPORT_PUBLISHER_ZH}.《{title_zh}》{where.replace(', ', '，')}。"
    return f"{REPORT_PUBLISHER}. {title_zh} ({title_en}){where}."


class Package:
    """A folder with ``datapackage.json`` and the CSV files it describes.

    Parameters
    ----------
    data_dir : str or pathlib.Path, optional
        Folder to read; defaults to :func:`shdata.paths.default_data_dir`.
    verify_hashes : bool, default True
        Refuse a data file whose sha256 differs from the descriptor's.
    """

    def __init__(self, data_dir: str | Path | None = None, verify_hashes: bool = True):
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.verify_hashes = verify_hashes
        self._descriptor: dict | None = None
        self._meta: dict[str, TableMeta] | None = None
        self._parsed: dict[str, ParsedTable] = {}

    # -- descriptor ---------------------------------------------------------
    @property
    def descriptor_path(self) -> Path:
        return self.data_dir / DESCRIPTOR

    @property
    def descriptor(self) -> dict:
        """The parsed ``datapackage.json`` (read once)."""
        if self._descriptor is None:
            path = self.descriptor_path
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise DescriptorError(f"data package descriptor not found: {path}") from None
            except UnicodeDecodeError as exc:
                raise DescriptorError(f"{path}: not valid UTF-8 ({exc.reason})") from None
            try:
                desc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DescriptorError(
                    f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
                ) from None
            self._descriptor = self._check_descriptor(desc, path)
        return self._descriptor

    @staticmethod
    def _check_descriptor(desc: Any, path: Path) -> dict:
        if not isinstance(desc, dict) or not isinstance(desc.get("resources"), list):
            raise DescriptorError(f"{path}: expected a JSON object with a 'resources' list")
        required = ("name", "path", "title", "topic", "section", "period", "schema")
        names = set()
        for i, res in enumerate(desc["resources"]):
            if not isinstance(res, dict):
                raise DescriptorError(f"{path}: resources[{i}] is not an object")
            missing = [k for k in required if not res.get(k)]
            if missing:
                raise DescriptorError(f"{path}: resource {res.get('name', f'#{i}')!r} lacks {', '.join(missing)}")
            if res["name"] in names:
                raise DescriptorError(f"{path}: resource name {res['name']!r} appears twice")
            names.add(res["name"])
            fields = res["schema"].get("fields") if isinstance(res["schema"], dict) else None
            if not fields or not all(isinstance(f, dict) and f.get("name") for f in fields):
                raise DescriptorError(f"{path}: resource {res['name']!r} has no valid schema.fields")
        return desc

    @property
    def source(self) -> dict:
        """The report this package is curated from (the descriptor's ``sources[0]``)."""
        return (self.descriptor.get("sources") or [{}])[0]

    @property
    def edition(self) -> int:
        """Edition (report year) of this data package."""
        return int(self.descriptor.get("shdata:edition", 2023))

    def _metas(self) -> dict[str, TableMeta]:
        if self._meta is None:
            source = self.source
            metas = {}
            for res in self.descriptor["resources"]:
                pk = res["schema"].get("primaryKey") or []
                metas[res["name"]] = TableMeta(
                    id=res["name"],
                    title=res["title"],
                    title_zh=res.get("title_zh", ""),
                    description=res.get("description", ""),
                    topic=res["topic"],
                    section=res["section"],
                    period=res["period"],
                    notes=tuple(
                        Note(n["id"], n.get("kind", "note"), n.get("text", ""), n.get("text_zh", ""))
                        for n in res.get("notes", [])
                    ),
                    fields=tuple(res["schema"]["fields"]),
                    primary_key=tuple([pk] if isinstance(pk, str) else pk),
                    path=res["path"],
                    sha256=(res.get("hash") or "").removeprefix("sha256:") or None,
                    checks=tuple(res.get("shdata:checks", [])),
                    source=source,
                )
            self._meta = metas
        return self._meta

    def ids(self) -> list[str]:
        """Table ids in descriptor order."""
        return list(self._metas())

    def metadata(self, table_id: str) -> TableMeta:
        """Metadata of one table.

        Raises
        ------
        UnknownTableError
            If ``table_id`` is not in the package (with close matches).
        """
        metas = self._metas()
        if table_id not in metas:
            raise UnknownTableError(table_id, metas)
        return metas[table_id]

    # -- files ----------------------------------------------------------------
    def file_path(self, table_id: str) -> Path:
        return self.data_dir / self.metadata(table_id).path

    def parsed(self, table_id: str) -> ParsedTable:
        """Validated rows of one table (printed text and typed values)."""
        if table_id not in self._parsed:
            meta = self.metadata(table_id)
            path = self.file_path(table_id)
            label = f"{self.data_dir.name}/{meta.path}"
            if self.verify_hashes and meta.sha256:
                try:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                except FileNotFoundError:
                    raise DataFileError(f"{label}: data file not found ({path})") from None
                if digest != meta.sha256:
                    raise DataFileError(
                        f"{label}: content differs from the sha256 recorded in {DESCRIPTOR} "
                        f"(a published value may have changed); if the edit is intended, "
                        f"run `shdata rehash`"
                    )
            self._parsed[table_id] = validate_csv(
                path, {"fields": list(meta.fields), "primaryKey": list(meta.primary_key)}, label
            )
        return self._parsed[table_id]

    def rehash(self) -> list[str]:
        """Record the current sha256 and size of every data file in the descriptor.

        Returns
        -------
        list of str
            Ids whose hash changed.
        """
        desc = json.loads(self.descriptor_path.read_text(encoding="utf-8"))
        changed = []
        for res in desc["resources"]:
            data = (self.data_dir / res["path"]).read_bytes()
            new = "sha256:" + hashlib.sha256(data).hexdigest()
            if res.get("hash") != new:
                changed.append(res["name"])
            res["hash"], res["bytes"] = new, len(data)
        # The provenance file and the report text are recorded the same way (see shdata.provenance).
        for key in ("shdata:provenance", "shdata:source-text"):
            spec = desc.get(key)
            path = self.data_dir / spec["path"] if isinstance(spec, dict) and spec.get("path") else None
            if path is not None and path.is_file():
                data = path.read_bytes()
                new = "sha256:" + hashlib.sha256(data).hexdigest()
                if spec.get("hash") != new:
                    changed.append(spec["path"])
                spec["hash"], spec["bytes"] = new, len(data)
        write_descriptor(self.descriptor_path, desc)
        self._descriptor = self._meta = None
        self._parsed.clear()
        self.__dict__.pop("_provenance", None)
        return changed

    # -- frames ---------------------------------------------------------------
    def load(self, table_id: str, units: str = "printed") -> pd.DataFrame:
        """Load one table as a typed DataFrame.

        Parameters
        ----------
        table_id : str
            Id from :meth:`ids` (``shdata list``).
        units : {"printed", "base"}
            ``"printed"`` keeps the report's units (亿元, 万人...); ``"base"``
            converts 万/亿-scaled values to plain yuan, persons, items.

        Returns
        -------
        pandas.DataFrame
            Integers as ``int64`` (``Int64`` where cells are empty), decimals as
            ``float64``, row labels as ordered categoricals in report order.
            ``df.attrs["shdata"]`` holds a copy of the metadata.
        """
        import pandas as pd

        if units not in UNITS_MODES:
            raise UnitError(f"units must be one of {', '.join(repr(m) for m in UNITS_MODES)}, got {units!r}")
        meta = self.metadata(table_id)
        table = self.parsed(table_id)
        columns: dict[str, Any] = {}
        unit_of = dict(meta.units)
        for f in meta.fields:
            name, ftype = f["name"], f.get("type", "string")
            values = [r[name] for r in table.typed]
            if ftype in ("integer", "number"):
                if units == "base":
                    values, unit_of[name] = self._to_base(meta, table, f)
                if ftype == "integer" and all(v is None or v == int(v) for v in values):
                    ints = [None if v is None else int(v) for v in values]
                    columns[name] = pd.array(ints, dtype="Int64" if None in ints else "int64")
                else:
                    columns[name] = pd.array([float("nan") if v is None else float(v) for v in values], dtype="float64")
            elif name in meta.label_fields:
                order = list(dict.fromkeys(v for v in values if v is not None))
                columns[name] = pd.Categorical(values, categories=order, ordered=True)
            elif ftype == "boolean":
                columns[name] = pd.array(values, dtype="boolean")
            else:
                columns[name] = pd.array(values, dtype="string")
        if units == "base" and meta.shape == "indicator":
            columns["unit"] = pd.array([_units.base_unit(r["unit"]) for r in table.typed], dtype="string")
        df = pd.DataFrame(columns)
        attrs = meta.to_dict()
        attrs["units"] = unit_of
        attrs["units_mode"] = units
        df.attrs["shdata"] = copy.deepcopy(attrs)
        return df

    @staticmethod
    def _to_base(meta: TableMeta, table: ParsedTable, f: dict) -> tuple[list[Decimal | None], str | None]:
        name = f["name"]
        unit = f.get("unit")
        if isinstance(unit, dict):  # indicator table: unit per row
            col = unit["field"]
            return (
                [
                    None if r[name] is None else _units.to_base(raw[name], r[col])
                    for r, raw in zip(table.typed, table.raw, strict=True)
                ],
                f"(per row: column {col!r}, base units)",
            )
        if not unit:
            return [r[name] for r in table.typed], unit
        return (
            [
                None if r[name] is None else _units.to_base(raw[name], unit)
                for r, raw in zip(table.typed, table.raw, strict=True)
            ],
            _units.base_unit(unit),
        )

    def rows(self, table_id: str, row: str | dict) -> list[dict[str, str]]:
        """Printed rows matching an indicator id (indicator tables) or a ``{column: text}`` filter."""
        if isinstance(row, str):
            if self.metadata(table_id).shape != "indicator":
                raise DataFileError(
                    f"{table_id}: row {row!r} given as an id, but the table has no "
                    "indicator column; use a {column: value} filter"
                )
            row = {"indicator": row}
        if not isinstance(row, dict):
            raise DataFileError(f"{table_id}: row must be an indicator id or a {{column: value}} filter")
        return [r for r in self.parsed(table_id).raw if all(r.get(k) == str(v) for k, v in row.items())]

    def printed(self, table_id: str, raw: dict[str, str], field: str = "value") -> Printed:
        """The :class:`Printed` value of one printed row (from :meth:`rows`) and column."""
        meta = self.metadata(table_id)
        fdef = next((f for f in meta.fields if f["name"] == field), None)
        if fdef is None or fdef.get("type") not in ("integer", "number"):
            raise DataFileError(
                f"{table_id}: {field!r} is not a numeric column; numeric columns: {', '.join(meta.value_fields)}"
            )
        unit = fdef.get("unit")
        unit = raw[unit["field"]] if isinstance(unit, dict) else (unit or "")
        if meta.shape == "indicator":
            key, en, zh = raw["indicator"], raw.get("indicator_en", ""), raw.get("indicator_zh", "")
        else:
            key = raw.get((meta.primary_key or meta.label_fields or ("",))[0], "")
            en = next((raw[n] for n in meta.label_fields if n.endswith("_en")), "")
            zh = next((raw[n] for n in meta.label_fields if n.endswith("_zh")), "")
        qualifier = raw.get("qualifier", raw.get(f"{field}_qualifier", "")) or ""
        # A row's period column wins; a measure table whose columns cover different periods (new in
        # 2023, cumulative to end-2023) declares each column's with the field property "shdata:period".
        period = raw.get("period") or fdef.get("shdata:period") or meta.period
        return Printed(
            text=raw[field],
            unit=unit,
            qualifier=qualifier,
            period=period,
            label_en=en,
            label_zh=zh,
            table=table_id,
            key=key,
            field=field,
            kind=(raw.get("kind", "") if meta.shape == "indicator" else fdef.get("shdata:kind", "")) or "",
        )

    def value(self, table_id: str, row: str | dict, field: str = "value") -> Printed:
        """One printed value, for quoting in text.

        Parameters
        ----------
        table_id : str
        row : str or dict
            Indicator id (indicator tables) or a ``{column: text}`` filter matching one row.
        field : str, default "value"
            Numeric column to read.

        Returns
        -------
        Printed
        """
        hits = self.rows(table_id, row)
        if len(hits) != 1:
            raise DataFileError(f"{table_id}: row {row!r} matches {len(hits)} rows, expected 1")
        return self.printed(table_id, hits[0], field)

    def tables(self) -> pd.DataFrame:
        """Catalog of every table: id, titles, topic, section, period, units, rows."""
        import pandas as pd

        rows = []
        for tid in self.ids():
            m = self.metadata(tid)
            if m.shape == "indicator":
                unit_list = sorted({r["unit"] for r in self.parsed(tid).typed})
                units_text = ", ".join(unit_list)
            else:
                units_text = "; ".join(f"{k}: {v}" for k, v in m.units.items())
            rows.append(
                {
                    "id": tid,
                    "title": m.title,
                    "title_zh": m.title_zh,
                    "topic": m.topic,
                    "section": m.section,
                    "period": m.period,
                    "units": units_text,
                    "rows": len(self.parsed(tid).typed),
                    "notes": len(m.notes),
                }
            )
        return pd.DataFrame(rows)


def write_descriptor(path: Path, desc: dict) -> None:
    """Write a descriptor deterministically (keys in their order, indent 2) and atomically."""
    from ._io import write_json

    write_json(path, desc, indent=2, sort_keys=False)


@dataclass(frozen=True)
class Printed:
    """One value as printed in the report, with everything needed to quote it.

    Attributes
    ----------
    text : str
        The digits as printed (``"123.4"``).
    unit : str
        The printed unit (``"亿元"``).
    qualifier : str
        Printed qualifier (约, 超, 近, 余...) or ``""``.
    period : str
    label_en, label_zh : str
        What the value counts, from the table's label columns.
    table : str
        Source table id.
    key : str
        The row: its indicator id or primary-key value.
    field : str
        The column the value was read from.
    kind : str
        What the value is: the row's ``kind`` in an indicator table, else the column's
        ``shdata:kind`` (level, share, growth, rank, change, rank_change or ratio); ``""`` when
        neither says. It tells a rank in 位 (第3位) from people counted in 位 (34位院士).
    """

    text: str
    unit: str
    qualifier: str
    period: str
    label_en: str
    label_zh: str
    table: str
    key: str = ""
    field: str = "value"
    kind: str = ""

    @property
    def value(self) -> Decimal:
        return Decimal(self.text)

    @property
    def base(self) -> Decimal:
        """The value in its base unit (亿元 -> 元), exactly."""
        return _units.to_base(self.text, self.unit)

    @property
    def ref(self) -> str:
        """Where the value sits: ``table:row.field``."""
        return f"{self.table}:{self.key}.{self.field}"

    @property
    def decimals(self) -> int:
        return len(self.text.split(".")[1]) if "." in self.text else 0

    def __float__(self) -> float:
        return float(self.value)
