"""Consistency checks: each declared check holds (or fails exactly where a data
note says the report is inconsistent), and each check type can fail."""

from __future__ import annotations

import pytest

from shdata.checks import CHECK_TYPES, run_checks
from shdata.errors import CheckError

from .conftest import DATA, Package

PKG = Package(DATA)
ALL = [(tid, c["id"]) for tid in PKG.ids() for c in PKG.metadata(tid).checks]
RESULTS = {(r.table, r.id): r for r in run_checks(PKG)}


def test_check_ids_are_unique_within_each_table():
    assert len(ALL) == len(set(ALL))


@pytest.mark.parametrize("table_id,check_id", ALL, ids=[f"{t}/{c}" for t, c in ALL])
def test_declared_check_holds_or_is_a_documented_discrepancy(table_id, check_id):
    result = RESULTS[(table_id, check_id)]
    assert result.status in ("pass", "expected-fail"), f"{result.status}: {result.detail}"
    if result.status == "expected-fail":
        assert result.note is not None, "an expected failure names its note"
        note = {n.id: n for n in PKG.metadata(table_id).notes}[result.note]
        assert note.kind == "discrepancy"


def test_every_check_type_is_used_by_the_data():
    used = {c["type"] for tid in PKG.ids() for c in PKG.metadata(tid).checks}
    assert used >= {"sum", "share", "row_mean", "equal", "le", "row_le"}
    assert used <= set(CHECK_TYPES)


def _status(editor, table_id, check_id):
    pkg = editor.package()
    return next(r for r in run_checks(pkg, [table_id]) if r.id == check_id)


def test_sum_check_fails_when_a_part_changes(editor):
    editor.replace("nsfc_projects_by_programme", ",2171,", ",2172,")
    r = _status(editor, "nsfc_projects_by_programme", "nsfc-projects-sum")
    assert r.status == "fail" and "4901" in r.detail


def test_equal_check_fails_across_tables_and_units(editor):
    # 数看上海科技 prints 33.96亿元 for the NSFC amount; §2.1 prints 339644.66万元
    editor.replace("nsfc_projects_by_programme", "339644.66", "339744.66")
    editor.replace("nsfc_projects_by_programme", "106754.50", "106854.50")
    failing = [r for r in run_checks(editor.package()) if r.status == "fail"]
    assert any(r.table == "shuzi_investment" for r in failing), [r.id for r in failing]


def test_equal_check_refuses_different_base_units(editor):
    desc = editor.descriptor
    res = editor.resource(desc, "patents")
    res.setdefault("shdata:checks", []).append(
        {
            "id": "bogus",
            "type": "equal",
            "description": "patents vs NSFC amount",
            "a": {"row": "pct_applications"},
            "b": {"table": "nsfc_projects_by_programme", "row": {"row_type": "total"}, "field": "amount"},
        }
    )
    editor.save_descriptor(desc)
    r = _status(editor, "patents", "bogus")
    assert r.status == "fail" and "units differ" in r.detail


def test_share_check_detects_a_wrong_share(editor):
    editor.replace("yrd_technology_trade", ",592,", ",692,")
    r = next(r for r in run_checks(editor.package(), ["yrd_technology_trade"]))
    assert r.status == "fail" and "46.41" in r.detail


def test_expected_failure_that_starts_to_pass_is_reported(editor):
    # If the report's 20.8% were 20.9%, the discrepancy note would be wrong.
    editor.replace("unicorns_shanghai", ",20.8,", ",20.9,")
    r = _status(editor, "unicorns_shanghai", "unicorn-share-of-china")
    assert r.status == "unexpected-pass" and not r.ok


def test_row_mean_names_each_failing_row(editor):
    editor.replace("ideal_city_scores", "11.69", "11.70")
    r = _status(editor, "ideal_city_scores", "ideal-city-composite-row-mean")
    assert "Singapore" in r.detail or "新加坡" in r.detail


def test_row_le_detects_cumulative_below_new(editor):
    editor.replace("talent_programmes", ",150,2316", ",150,149")
    r = _status(editor, "talent_programmes", "cumulative-not-below-new")
    assert r.status == "fail" and "149" in r.detail


def test_le_detects_a_part_above_its_whole(editor):
    editor.replace("shuzi_outputs", ",23808,", ",53808,")
    r = _status(editor, "shuzi_outputs", "outbound-contracts-within-all")
    assert r.status == "fail"


def test_malformed_check_is_a_clear_error(editor):
    desc = editor.descriptor
    editor.resource(desc, "patents").setdefault("shdata:checks", []).append(
        {"id": "typo", "type": "summ", "description": "x"}
    )
    editor.save_descriptor(desc)
    with pytest.raises(CheckError, match="unknown type 'summ'; allowed: sum"):
        run_checks(editor.package(), ["patents"])


def test_check_with_a_ref_matching_no_row_is_a_clear_error(editor):
    desc = editor.descriptor
    editor.resource(desc, "patents").setdefault("shdata:checks", []).append(
        {"id": "dangling", "type": "le", "a": "no_such_row", "b": "pct_applications", "description": "x"}
    )
    editor.save_descriptor(desc)
    with pytest.raises(CheckError, match="matches 0 rows"):
        run_checks(editor.package(), ["patents"])


def test_expected_failure_must_name_a_note(editor):
    desc = editor.descriptor
    for c in editor.resource(desc, "unicorns_shanghai")["shdata:checks"]:
        c["note"] = "missing-note"
    editor.save_descriptor(desc)
    with pytest.raises(CheckError, match="names no data note"):
        run_checks(editor.package(), ["unicorns_shanghai"])
