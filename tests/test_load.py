"""Loading: types, order, metadata, units, round trip."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

import shdata
from shdata import units as U

from .conftest import DATA, Package

PKG = Package(DATA)
IDS = PKG.ids()


@pytest.mark.parametrize("table_id", IDS)
def test_every_table_loads_typed_and_round_trips(table_id):
    meta = PKG.metadata(table_id)
    df = PKG.load(table_id)
    raw = PKG.parsed(table_id).raw
    assert len(df) == len(raw)
    assert list(df.columns) == [f["name"] for f in meta.fields]
    for f in meta.fields:
        col = df[f["name"]]
        if f.get("type") == "integer":
            assert str(col.dtype) in ("int64", "Int64"), f["name"]
        elif f.get("type") == "number":
            assert col.dtype == "float64", f["name"]
        # every printed cell comes back as the same value
        for cell, value in zip((r[f["name"]] for r in raw), col, strict=True):
            if cell == "":
                assert pd.isna(value)
            elif f.get("type") in ("integer", "number"):
                assert Decimal(repr(float(value))) == Decimal(cell), (f["name"], cell, value)
            else:
                assert str(value) == cell
    # label columns are ordered categoricals in report order
    for name in meta.label_fields:
        assert isinstance(df[name].dtype, pd.CategoricalDtype) and df[name].cat.ordered
        assert list(df[name].cat.categories) == list(dict.fromkeys(r[name] for r in raw if r[name]))
    attrs = df.attrs["shdata"]
    assert attrs["id"] == table_id and attrs["section"] == meta.section and attrs["citation"]


def test_nsfc_table_is_typed_and_ordered_as_printed():
    df = shdata.load("nsfc_projects_by_programme")
    assert df["projects"].dtype == "int64"
    assert df["programme_zh"].iloc[0] == "面上项目"
    assert df["programme_zh"].cat.categories[-1] == "总计"
    assert df.attrs["shdata"]["units"] == {"projects": "个", "amount": "万元"}
    notes = {n["id"] for n in df.attrs["shdata"]["notes"]}
    assert "double-counting" in notes


def test_base_units_convert_scaled_values_exactly():
    printed = shdata.load("tech_finance_indicators")
    base = shdata.load("tech_finance_indicators", units="base")
    for (_, p), (_, b) in zip(printed.iterrows(), base.iterrows(), strict=True):
        exp, unit = U.split_unit(p["unit"])
        assert b["unit"] == unit
        assert Decimal(repr(b["value"])) == Decimal(repr(p["value"])).scaleb(exp) or b["value"] == pytest.approx(
            p["value"] * 10**exp, rel=1e-12
        )
    row = base.set_index("indicator").loc["tech_loan_balance"]
    assert row["unit"] == "元"


def test_base_units_on_measure_tables_rename_the_unit():
    df = shdata.load("nsfc_projects_by_programme", units="base")
    assert df.attrs["shdata"]["units"]["amount"] == "元"
    printed = shdata.load("nsfc_projects_by_programme")
    assert df["amount"].iloc[0] == pytest.approx(printed["amount"].iloc[0] * 1e4)
    assert df["projects"].equals(printed["projects"])


def test_bad_units_mode_is_refused_with_the_allowed_values():
    with pytest.raises(shdata.UnitError, match=r"'printed', 'base'.*'yuan'"):
        shdata.load("nsfc_projects_by_programme", units="yuan")


def test_attrs_are_a_copy_not_shared_state():
    a = shdata.load("patents")
    a.attrs["shdata"]["title"] = "changed"
    assert shdata.load("patents").attrs["shdata"]["title"] != "changed"


def test_describe_prints_metadata_notes_and_printed_values(capsys):
    shdata.describe("nsfc_projects_by_programme")
    out = capsys.readouterr().out
    assert "§2.1" in out and "万元" in out and "double-counting" in out
    assert "106754.50" in out, "values are shown exactly as printed, trailing zeros included"


def test_derived_previous_year_levels_are_computed_and_flagged():
    d = shdata.derived("tech_finance_indicators")
    assert len(d) and d["derived"].all()
    raw = {r["indicator"]: r for r in PKG.parsed("tech_finance_indicators").raw}
    for _, row in d.iterrows():
        level_id = row["indicator"].removesuffix("_previous")
        growth = next(r for r in raw.values() if r.get("of") == level_id and r["kind"] == "growth")
        expected = float(Decimal(raw[level_id]["value"]) / (1 + Decimal(growth["value"]) / 100))
        assert row["value"] == pytest.approx(expected)
        assert row["period"] != raw[level_id]["period"]
    # derived values never appear in the data files
    assert all(not r["indicator"].endswith("_previous") for r in raw.values())


def test_derived_change_and_rank_change():
    d = shdata.derived("china_regional_innovation_2023")
    assert len(d) >= 1
    raw = {r["indicator"]: r for r in PKG.parsed("china_regional_innovation_2023").raw}
    for _, row in d.iterrows():
        level = raw[row["indicator"].removesuffix("_previous")]
        step = next(r for r in raw.values() if r.get("of") == level["indicator"])
        if step["kind"] == "change":
            assert row["value"] == pytest.approx(float(level["value"]) - float(step["value"]))


@pytest.mark.parametrize(
    "unit,exp,base",
    [
        ("亿元", 8, "元"),
        ("万元", 4, "元"),
        ("万亿元", 12, "元"),
        ("万人次", 4, "人次"),
        ("%", 0, "%"),
        ("个百分点", 0, "个百分点"),
        ("万台（套）", 4, "台(套)"),
        ("家", 0, "家"),
    ],
)
def test_split_unit(unit, exp, base):
    assert U.split_unit(unit) == (exp, base)


def test_to_base_is_exact():
    assert U.to_base("2.99", "万户") == Decimal("29900")
    assert U.to_base("10486.31", "亿元") == Decimal("1048631000000")
    assert U.describe_unit("亿元") == "hundred million yuan"
