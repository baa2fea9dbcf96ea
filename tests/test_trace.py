"""Per-value provenance: every value is traced to the phrase of the report that prints it.

Bad-provenance cases edit temporary copies of data/ (the ``editor`` fixture), never data/.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

import shdata
from shdata.cli import main
from shdata.package import Package
from shdata.provenance import (
    PROVENANCE_KEY,
    TraceError,
    check_provenance,
    cn_numbers,
    source_text,
)

from .conftest import DATA


def _cells(pkg: Package) -> int:
    return sum(
        1
        for tid in pkg.ids()
        for raw in pkg.parsed(tid).raw
        for col in pkg.metadata(tid).value_fields
        if raw.get(col, "") != ""
    )


def _edit_provenance(editor, fn) -> None:
    """Apply ``fn`` to the entries of a copied provenance file, then record its new hash."""
    path = editor.folder / "provenance.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    fn(doc["entries"])
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    Package(editor.folder, verify_hashes=False).rehash()


def _entry(entries, table, row, column="value") -> dict:
    return next(e for e in entries if (e["table"], e["row"], e["column"]) == (table, row, column))


def _failures(editor) -> list[str]:
    return check_provenance(editor.package())[1]


def test_every_value_cell_has_provenance_that_holds(pkg):
    n, failures = check_provenance(pkg)
    assert failures == []
    assert n == _cells(pkg) and n > 800


def test_the_report_text_is_in_the_repository_with_its_hash(pkg):
    text = source_text(pkg)
    assert text is not None and "2023上海科技进步报告" in text.replace("\n", "")


def test_trace_returns_section_quote_sentence_and_offset(pkg):
    t = shdata.trace("nsfc_projects_by_programme", "Total", "amount")
    assert t.section == "§2.1" and "339644.66" in t.quote and t.quote in t.sentence
    text = source_text(pkg)
    assert text is not None and text[t.offset : t.offset + len(t.quote)] == t.quote


def test_trace_accepts_a_row_label_and_records_words(pkg):
    t = shdata.trace("foreign_work_permits", "national_rank")
    assert (t.words, t.rule) == ("第一", "numeral") and "全国第一" in t.quote
    by_label = shdata.trace("unicorn_valuation_tiers", "估值100亿元—300亿元企业", "firms")
    assert by_label.row == "Valued 10–30 billion yuan" and "34家" in by_label.quote


def test_rank_from_a_printed_list_records_the_list_and_position():
    t = shdata.trace("nature_index_science_cities", "Wuhan", "rank")
    assert t.rule == "list-position" and t.position == 10 and t.quote.endswith("武汉")


def test_trace_of_an_unknown_row_or_column_is_one_line():
    with pytest.raises(TraceError, match="no row 'nope'") as exc:
        shdata.trace("ip_programmes", "nope")
    assert "\n" not in str(exc.value)
    with pytest.raises(TraceError, match="not a value column"):
        shdata.trace("nsfc_projects_by_programme", "Total", "programme_zh")


@pytest.mark.parametrize(
    "words, numbers",
    [
        ("全国第一", {1}),
        ("两年", {2}),
        ("六大", {6}),
        ("近百", {100}),
        ("近千", {1000}),
        ("四金三银", {4, 3}),
        ("保持不变", set()),
    ],
)
def test_chinese_numerals(words, numbers):
    assert cn_numbers(words) == numbers


def test_a_broken_quote_fails_in_one_line(editor):
    _edit_provenance(
        editor,
        lambda es: _entry(es, "nsfc_projects_by_programme", "Total", "amount").update(quote="总计\t4900\t339644.67"),
    )
    [msg] = _failures(editor)
    assert msg.startswith("nsfc_projects_by_programme/Total/amount:") and "339644.67" in msg and "\n" not in msg


def test_a_wrong_offset_fails_in_one_line(editor):
    def shift(es):
        _entry(es, "tech_finance_indicators", "tech_loan_accounts")["offset"] += 1

    _edit_provenance(editor, shift)
    [msg] = _failures(editor)
    assert "tech_finance_indicators/tech_loan_accounts/value" in msg and "does not occur at offset" in msg
    assert "«" in msg and "\n" not in msg


def test_a_value_missing_from_its_quote_fails(editor):
    editor.replace("nsfc_projects_by_programme", ",2171,", ",2172,")
    failures = _failures(editor)
    assert failures == [
        ("nsfc_projects_by_programme/General Program/projects: value 2172 is not printed in quote «面上项目\t2171»")
    ]


def test_a_value_that_its_words_do_not_say_fails(editor):
    editor.replace(
        "foreign_work_permits",
        "数量均全国第一,National rank of these permit counts,1,",
        "数量均全国第一,National rank of these permit counts,2,",
    )
    [msg] = _failures(editor)
    assert msg.startswith("foreign_work_permits/national_rank/value: value 2 is not what the words '第一'")


def test_a_missing_provenance_entry_fails(editor):
    _edit_provenance(editor, lambda es: es.remove(_entry(es, "tech_finance_indicators", "tech_loan_accounts")))
    assert _failures(editor) == ["tech_finance_indicators/tech_loan_accounts/value: no provenance entry (value 2.99)"]


def test_label_words_must_be_printed_beside_the_value(editor):
    _edit_provenance(
        editor, lambda es: _entry(es, "tech_finance_indicators", "tech_loan_accounts").update(keywords=["独角兽"])
    )
    [msg] = _failures(editor)
    assert "label words ['独角兽'] not in quote" in msg


def test_an_edited_provenance_file_is_refused_until_rehashed(editor):
    path = editor.folder / "provenance.json"
    path.write_text(path.read_text(encoding="utf-8").replace("339644.66", "339644.67"), encoding="utf-8")
    with pytest.raises(shdata.DataFileError, match="provenance.json: content differs"):
        check_provenance(editor.package())


def test_without_the_report_text_quotes_and_sentences_still_check(editor):
    """An installed wheel carries quotes and sentences but not the report: offsets are skipped."""
    (editor.folder / "source" / "shanghai-st-progress-report-2023.txt").unlink()
    pkg = editor.package()
    assert source_text(pkg) is None
    n, failures = check_provenance(pkg)
    assert failures == [] and n == _cells(pkg)


def test_check_cli_reports_the_provenance_count_and_fails_on_bad_provenance(editor, use_data, capsys):
    assert main(["check"]) == 0
    assert f"Provenance: {_cells(Package(DATA))} values checked" in capsys.readouterr().out
    _edit_provenance(editor, lambda es: es.remove(_entry(es, "tech_finance_indicators", "tech_loan_accounts")))
    use_data(editor.folder)
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "UNTRACED" in out and "tech_finance_indicators/tech_loan_accounts/value: no provenance entry" in out


def test_trace_and_show_trace_on_the_command_line(capsys):
    assert main(["trace", "ip_programmes", "china_patent_award_silver"]) == 0
    out = capsys.readouterr().out
    assert "quote     第24届中国专利奖评选中获四金三银" in out and "rule      numeral: 三银" in out
    assert main(["show", "gii_2023_top_clusters", "--trace"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10 and all("«" in line for line in lines)


def test_describe_carries_the_quotes(capsys):
    shdata.describe("unicorns_shanghai")
    assert "«上海共有上榜企业66家,总估值11147亿元»" in capsys.readouterr().out


def test_loading_does_not_read_the_provenance(pkg):
    fresh = Package(DATA)
    for tid in fresh.ids():
        fresh.load(tid)
    assert not hasattr(fresh, "_provenance")
    assert fresh.descriptor[PROVENANCE_KEY]["hash"].startswith("sha256:")


def test_table_period_is_derived_from_the_rows(pkg):
    """The table-level period lists exactly the periods its rows use (sorted, '; '-joined), or, for a
    measure table whose columns cover different periods, those its columns declare (``shdata:period``)."""
    wrong = []
    for tid in pkg.ids():
        meta = pkg.metadata(tid)
        if "period" in {f["name"] for f in meta.fields}:
            periods = {r["period"] for r in pkg.parsed(tid).raw}
        else:
            periods = {f["shdata:period"] for f in meta.fields if "shdata:period" in f}
            if not periods and ";" not in meta.period:
                continue  # one period for the whole table
        derived = "; ".join(sorted(periods))
        if meta.period != derived:
            wrong.append(f"{tid}: {meta.period!r} != {derived!r}")
    assert wrong == []


def test_each_column_of_a_measure_table_says_its_own_period(pkg):
    """T.period of talent_programmes: new entrants in 2023, cumulative entrants to the end of 2023."""
    from shdata.text import TextError, Writer

    T = Writer("en", pkg)
    row = "Shuguang Scholars"
    new, cumulative = (
        T.cell("talent_programmes", row, "new_entrants"),
        T.cell("talent_programmes", row, "cumulative_entrants"),
    )
    assert (T.period(new), T.period(cumulative)) == ("in 2023", "cumulatively to the end of 2023")
    Z = Writer("zh", pkg)
    assert Z.period(Z.cell("talent_programmes", row, "cumulative_entrants")) == "截至2023年末累计"
    several = dataclasses.replace(new, period="2023; cumulative to end-2023")
    with pytest.raises(TextError, match="declare the column's period"):
        T.period(several)


def test_every_note_has_chinese_text_written_for_chinese_readers(pkg):
    bad = []
    for tid in pkg.ids():
        for n in pkg.metadata(tid).notes:
            zh = n.text_zh
            prose = re.sub(r"“[^”]*”", "", zh)  # a quotation keeps the report's own punctuation
            if (
                not zh
                or not zh.endswith("。")
                or any(c in prose for c in ",;:?!")
                or re.search(r"[\u4e00-\u9fff]\(|\)[\u4e00-\u9fff]", prose)
            ):
                bad.append(f"{tid}/{n.id}: {zh!r}")
    assert bad == []


def test_notes_shown_to_readers_name_no_internal_ids(pkg):
    ids = set(pkg.ids()) | {n.id for t in pkg.ids() for n in pkg.metadata(t).notes}
    bad = []
    for tid in pkg.ids():
        for n in pkg.metadata(tid).notes:
            if n.kind not in ("discrepancy", "footnote"):
                continue
            for text in (n.text, n.text_zh):
                hits = [w for w in re.findall(r"[a-z0-9]+(?:[-_][a-z0-9]+)+", text) if w in ids]
                if hits or "see note" in text:
                    bad.append(f"{tid}/{n.id}: {hits}")
    assert bad == []


def test_notes_under_figures_describe_the_data_and_the_double_counting(pkg):
    shown = [n for n in pkg.metadata("ideal_city_scores").notes if n.kind in ("discrepancy", "footnote")]
    assert shown and not any(w in n.text.lower() for n in shown for w in ("sector", "red,", "circle"))
    note = next(n for n in pkg.metadata("nsfc_projects_by_programme").notes if n.id == "total-double-counts-projects")
    assert "number of projects and the amount" in note.text and "项目数和资助额" in note.text_zh


def test_figure_sidecar_quotes_cover_every_value_of_its_sources(pkg):
    from shdata.provenance import figure_quotes

    quotes = figure_quotes(pkg, ["nsfc_projects_by_programme", "unicorns_shanghai"])
    assert len(quotes) == 34 + 6
    total = next(q for q in quotes if (q["row"], q["column"]) == ("Total", "projects"))
    assert total["section"] == "§2.1" and "4900" in total["quote"] and total["value"] == "4900"
