"""Notes shown under a figure (sidecar ``notes``, the notebook's markdown, standalone footnotes)
describe the values the figure draws: a note with ``applies_to`` only when a drawn cell is in its
scope, a table-wide note always."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from shdata import notebook, style

plt = pytest.importorskip("matplotlib.pyplot")
YRD = "yrd_technology_trade"
NSFC = "nsfc_projects_by_programme"


def _note(pkg, table, nid, lang="en"):
    return next(n for n in pkg.metadata(table).notes if n.id == nid).render(lang)


def test_a_cell_note_is_shown_only_when_its_cell_is_drawn(pkg):
    share_note = _note(pkg, YRD, "share-rounding")
    outflow = notebook.figure_data(YRD, rows=["shanghai_outflow"])
    assert share_note not in notebook.caveats([YRD], "en", outflow)
    with_share = pd.concat([outflow, notebook.figure_data(YRD, rows=["shanghai_outflow_share"])], ignore_index=True)
    assert share_note in notebook.caveats([YRD], "en", with_share)
    assert share_note in notebook.caveats([YRD], "en")  # no data: every cell is drawn


def test_rows_and_columns_of_applies_to_both_count_and_table_wide_notes_stay(pkg):
    total_amount = _note(pkg, NSFC, "double-counting")  # rows: total, columns: amount
    flagged = _note(pkg, NSFC, "major-program-amount")  # rows: amount_flag *, columns: amount
    total_both = _note(pkg, NSFC, "total-double-counts-projects")  # rows: total, columns: projects and amount
    projects = notebook.figure_data(NSFC, columns=["projects"])  # every row, the projects column only
    shown = notebook.caveats([NSFC], "en", projects)
    assert total_amount not in shown and flagged not in shown and total_both in shown
    general = notebook.figure_data(NSFC, rows=[{"programme_en": "General Program"}], columns=["amount"])
    assert notebook.caveats([NSFC], "zh", general) == []
    everything = notebook.caveats([NSFC], "en", notebook.figure_data(NSFC))
    assert everything == notebook.caveats([NSFC], "en") and {total_amount, flagged, total_both} <= set(everything)
    # A note without applies_to is about the whole table: shown whatever cell is drawn.
    city = "ideal_city_scores"
    one = notebook.figure_data(city, rows=[{"city_en": "Shanghai"}], columns=["composite"])
    assert _note(pkg, city, "chart-legend") in notebook.caveats([city], "en", one)


def test_a_derived_value_draws_the_row_it_is_named_after(pkg):
    rows = notebook.derived_data("tech_finance_indicators", rows=["sme_loan_balance_previous"]).to_dict("records")
    from shdata import figdata

    (cells,) = figdata.drawn_cells(rows, pkg).values()
    assert [(raw["indicator"], f) for raw, f in cells] == [("sme_loan_balance", "value")]
    own = notebook.derivation(YRD, row="rest", value="899", unit="亿元", label_en="x", label_zh="x", method="a - b")
    assert figdata.drawn_cells(own.to_dict("records"), pkg) == {}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_publish_shows_the_notes_of_what_it_draws_in_sidecar_and_standalone(tmp_path, pkg, lang):
    P = notebook.validate(lang=lang, formats="png", dpi=100, output_dir=tmp_path, variant="journal,standalone")
    with plt.rc_context():
        style.apply(lang)
        fig, ax = P.figure(height=0.3)
        data = notebook.figure_data(YRD, rows=["total_trade", "shanghai_outflow"])
        ax.barh([0, 1], [float(v) for v in data["value"]], color=style.CONTEXT)
        ax.set_yticks([0, 1], [P.t("All", "全部"), P.t("Shanghai", "上海")])
        P.publish(
            fig,
            "test-notes",
            sources=[YRD],
            title="t",
            caption="c.",
            data=data,
            headline=P.t("Shanghai supplies a share", "上海输出一部分"),
            subtitle=P.t("¥ bn", "亿元"),
        )
        plt.close(fig)
    for folder in (tmp_path / lang, tmp_path / lang / "standalone"):
        rec = json.loads((folder / "test-notes.json").read_text(encoding="utf-8"))
        assert rec["notes"] == notebook.caveats([YRD], lang, data)
        assert _note(pkg, YRD, "share-rounding", lang) not in rec["notes"]
    sa = json.loads((tmp_path / lang / "standalone" / "test-notes.json").read_text(encoding="utf-8"))
    assert sa["standalone"]["notes"] == rec["notes"]
