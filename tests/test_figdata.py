"""Each figure's data: `publish(..., data=df)` writes the exact values drawn as
`<id>.csv`, and every value in every figure CSV is a printed value of a source
table or a flagged derivation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from shdata import figdata, notebook
from shdata.errors import ParameterError

from .conftest import ROOT

SIDECARS = sorted(
    p
    for p in (ROOT / "figures").glob("*/*.json")
    if "csv" in json.loads(p.read_text(encoding="utf-8")).get("files", {})
)


def _publish(tmp_path: Path, data, fid: str = "test-credit", sources=("tech_credit_products",)) -> Path:
    """Publish a small lint-clean figure with ``data``: the house style (constrained layout, margins)
    applies as in a notebook, inside an rc_context so no other test sees it."""
    import matplotlib.pyplot as plt

    from shdata import style

    P = notebook.validate(lang="en", formats=["svg"], output_dir=str(tmp_path))
    P.notebook = "test"
    with plt.rc_context():
        style.apply("en")
        fig, ax = P.figure(height=0.3)
        ax.plot([0, 1], [0, 1])
        try:
            P.publish(fig, fid, sources=list(sources), title="Credit products", caption="Caption.", data=data)
        finally:
            plt.close(fig)
    return tmp_path / "en"


@pytest.mark.parametrize("sidecar", SIDECARS, ids=[f"{p.parent.name}/{p.stem}" for p in SIDECARS])
def test_every_value_in_every_figure_csv_is_printed_or_a_flagged_derivation(sidecar):
    rec = json.loads(sidecar.read_text(encoding="utf-8"))
    csv_path = ROOT / "figures" / rec["files"]["csv"]["path"]
    assert hashlib.sha256(csv_path.read_bytes()).hexdigest() == rec["files"]["csv"]["sha256"]
    sources = [s["table"] for s in rec["provenance"]["sources"]]
    assert figdata.verify(csv_path, sources) == []


def test_publish_writes_the_values_drawn_with_a_frictionless_descriptor(tmp_path, pkg):
    import frictionless

    data = notebook.figure_data("tech_credit_products", columns=["amount"])
    folder = _publish(tmp_path, data)
    rows = figdata.read(folder / "test-credit.csv")
    # the printed text, in report order (trailing zeros and all)
    assert [r["value"] for r in rows] == [raw["amount"] for raw in pkg.parsed("tech_credit_products").raw]
    assert {r["unit"] for r in rows} == {"亿元"} and all(r["label_zh"] and r["label_en"] for r in rows)
    rec = json.loads((folder / "test-credit.json").read_text(encoding="utf-8"))
    assert rec["files"]["csv"]["path"] == "en/test-credit.csv"
    assert figdata.verify(folder / "test-credit.csv", ["tech_credit_products"]) == []
    figdata.write_package(tmp_path)
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_derived_values_are_flagged_and_checked_against_shdata_derived(tmp_path):
    data = notebook.figure_data("tech_finance_indicators", rows=["sme_loan_balance"])
    import pandas as pd

    data = pd.concat(
        [data, notebook.derived_data("tech_finance_indicators", rows=["sme_loan_balance_previous"])], ignore_index=True
    )
    folder = _publish(tmp_path, data, "test-derived", ["tech_finance_indicators"])
    rows = figdata.read(folder / "test-derived.csv")
    assert [r["derived"] for r in rows] == ["false", "true"] and rows[1]["method"]
    assert figdata.verify(folder / "test-derived.csv") == []


def _round(rows):
    rows[-1]["value"] = rows[-1]["value"].rsplit(".", 1)[0]  # a printed decimal, rounded


@pytest.mark.parametrize(
    "mutate,problem",
    [
        (_round, "prints"),
        (lambda rows: rows[0].update(unit="万元"), "unit '万元'"),
        (lambda rows: rows[1].update(derived="true"), "without a method"),
        (lambda rows: rows[2].update(row="Nope"), "has 0 rows"),
    ],
    ids=["rounded", "wrong-unit", "unexplained-derived", "unknown-row"],
)
def test_a_value_that_is_not_printed_is_reported(tmp_path, mutate, problem):
    folder = _publish(tmp_path, notebook.figure_data("tech_credit_products", columns=["amount"]))
    rows = figdata.read(folder / "test-credit.csv")
    assert "." in rows[-1]["value"], "test setup: the last amount is printed with decimals"
    mutate(rows)
    bad = tmp_path / "bad.csv"
    bad.write_text(figdata.to_csv(rows), encoding="utf-8")
    problems = figdata.verify(bad)
    assert len(problems) == 1 and problem in problems[0], problems


def test_a_derived_value_that_disagrees_with_shdata_derived_is_reported(tmp_path):
    data = notebook.derived_data("tech_finance_indicators", rows=["sme_loan_balance_previous"])
    folder = _publish(tmp_path, data, "test-derived", ["tech_finance_indicators"])
    path = folder / "test-derived.csv"
    rows = figdata.read(path)
    rows[0]["value"] = rows[0]["value"][:7]  # the derived value, rounded
    path.write_text(figdata.to_csv(rows), encoding="utf-8")
    assert any("shdata.derived gives" in p for p in figdata.verify(path))


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d.drop(columns=["unit"]), "missing unit"),
        (lambda d: d.assign(value=[float(v) for v in d["value"]]), "not text"),
        (lambda d: d.assign(table="nsfc_projects_by_programme"), "not among the figure's sources"),
        (lambda d: d.iloc[0:0], "no rows"),
    ],
)
def test_bad_figure_data_stops_publish_before_any_file_is_written(tmp_path, mutate, message):
    data = mutate(notebook.figure_data("tech_credit_products"))
    with pytest.raises(ParameterError, match=message):
        _publish(tmp_path, data)
    assert not list(tmp_path.rglob("test-credit.*"))


def test_unknown_rows_and_columns_name_the_table():
    with pytest.raises(ParameterError, match="tech_credit_products has no numeric column 'loans'"):
        notebook.figure_data("tech_credit_products", columns=["loans"])
    with pytest.raises(ParameterError, match="tech_credit_products has no row"):
        notebook.figure_data("tech_credit_products", rows=[{"product_en": "Nope"}])
    with pytest.raises(ParameterError, match="needs a method"):
        notebook.derivation("unicorns_shanghai", row="rest", value=1, unit="家", label_en="x", label_zh="x", method="")


def test_the_worked_example_notebook_passes_its_data():
    nb = json.loads((ROOT / "notebooks" / "funding.ipynb").read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    cell = next(c for c in code if '"funding-credit-products"' in c)
    assert "data=notebook.figure_data(" in cell
