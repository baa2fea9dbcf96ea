"""shdata: validated, citable tables from the Shanghai Science and Technology
Progress Report 2023 (2023上海科技进步报告).

Quick start
-----------
>>> import shdata
>>> shdata.tables()                          # the catalog          # doctest: +SKIP
>>> df = shdata.load("nsfc_projects_by_programme")                  # doctest: +SKIP
>>> shdata.metadata("nsfc_projects_by_programme").notes             # doctest: +SKIP

Importing shdata is cheap: pandas is imported on the first load, and plotting
libraries only by :mod:`shdata.figures`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    CheckError,
    DataFileError,
    DescriptorError,
    ParameterError,
    ShdataError,
    UnitError,
    UnknownTableError,
)
from .package import Note, Package, Printed, TableMeta, report_citation

if TYPE_CHECKING:
    import pandas as pd

    from .checks import CheckResult
    from .provenance import Trace

__version__ = "0.1.0"
__release_date__ = "2026-11-27"  # also in CITATION.cff (date-released)

__all__ = [
    "tables",
    "load",
    "metadata",
    "describe",
    "check",
    "derived",
    "value",
    "trace",
    "report_citation",
    "Printed",
    "Package",
    "TableMeta",
    "Note",
    "ShdataError",
    "UnknownTableError",
    "DescriptorError",
    "DataFileError",
    "UnitError",
    "CheckError",
    "ParameterError",
    "__version__",
]

_default: Package | None = None


def _pkg() -> Package:
    """The package at the default data folder (re-created if that folder changes)."""
    global _default
    from .paths import default_data_dir

    where = default_data_dir()
    if _default is None or _default.data_dir != where:
        _default = Package(where)
    return _default


def tables() -> pd.DataFrame:
    """Catalog of every table: id, titles, topic, section, period, units, row count."""
    return _pkg().tables()


def load(table_id: str, units: str = "printed") -> pd.DataFrame:
    """Load a table as a typed DataFrame; see :meth:`Package.load`."""
    return _pkg().load(table_id, units=units)


def metadata(table_id: str) -> TableMeta:
    """Metadata of a table: titles, units, section, period, notes, citation."""
    return _pkg().metadata(table_id)


def describe(table_id: str, lang: str = "en") -> None:
    """Print a human summary of a table (metadata, notes, checks, the data)."""
    from .summary import describe_text

    print(describe_text(_pkg(), table_id, lang=lang))


def check(table_ids: list[str] | None = None) -> list[CheckResult]:
    """Validate every table and run every consistency check; see :mod:`shdata.checks`."""
    from .checks import run_checks

    pkg = _pkg()
    for tid in table_ids or pkg.ids():
        pkg.parsed(tid)
    return run_checks(pkg, table_ids)


def derived(table_id: str) -> pd.DataFrame:
    """Values implied but not printed (e.g. last year's level), flagged as derived."""
    from .checks import derived as _derived

    return _derived(_pkg(), table_id)


def value(table_id: str, row: str | dict, field: str = "value") -> Printed:
    """One value as printed (text, unit, qualifier, period, labels); see :meth:`Package.value`."""
    return _pkg().value(table_id, row, field)


def trace(table_id: str, row: str, column: str = "value") -> Trace:
    """Where one value is printed: section, quote, whole sentence and offset; see :mod:`shdata.provenance`."""
    from .provenance import trace as _trace

    return _trace(_pkg(), table_id, row, column)
