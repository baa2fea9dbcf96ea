"""What readers quote: every commentary, headline and alt text in the figure sidecars
(figures/<lang>/<id>.json), in both languages.

- number provenance: every number in the texts is a recorded quantity that re-verifies against
  the data (a printed cell as printed, or a named derivation recomputed from its inputs), and a
  quoted value whose table has a note bearing on it carries that caveat;
- parity: the English and Chinese texts of a figure quote the same quantities;
- prose: the style check of shdata.prose.

The sidecar tests are parametrized over the sidecars present, so they cover every figure once the
notebooks are rebuilt. Synthetic sidecars check that each test can fail.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shdata import prose
from shdata import text as tx

from .conftest import ROOT

SIDECARS = sorted((ROOT / "figures").glob("*/*.json"))
NSFC = "nsfc_projects_by_programme"


def _load(path):
    rec = json.loads(path.read_text(encoding="utf-8"))
    if "commentary" not in rec:
        pytest.skip(f"{path.relative_to(ROOT)} predates the text layer; rebuild the figures")
    return rec


def _pairs():
    ids = sorted({p.stem for p in SIDECARS})
    return [i for i in ids if all((ROOT / "figures" / lang / f"{i}.json").is_file() for lang in tx.LANGS)]


@pytest.fixture(scope="module")
def vocabulary(pkg):
    return prose.package_vocabulary(pkg)


# -- every published figure ------------------------------------------------------------


@pytest.mark.parametrize("path", SIDECARS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_number_has_verified_provenance(pkg, path):
    problems = tx.verify_record(pkg, _load(path))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", SIDECARS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_texts_pass_the_prose_check_and_headline_and_alt_exist(path, vocabulary):
    rec = _load(path)
    ids, labels = vocabulary
    problems = [f"{rec['id']} [{rec['lang']}]: no {f}" for f in ("headline", "alt") if not rec.get(f)]
    for f in tx.TEXT_FIELDS:
        problems += map(
            str,
            prose.check(
                rec.get(f) or "", rec["lang"], ids=ids, labels=labels, where=f"{rec['id']} [{rec['lang']}] {f}"
            ),
        )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", SIDECARS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_data_notes_shown_under_a_figure_pass_the_prose_check(path, vocabulary):
    rec = json.loads(path.read_text(encoding="utf-8"))
    ids, _ = vocabulary
    problems: list[str] = []
    for note in rec.get("notes", []):
        problems += map(str, prose.check(note, rec["lang"], ids=ids, where=f"{rec['id']} [{rec['lang']}] note"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("fig", _pairs())
def test_english_and_chinese_quote_the_same_quantities(fig):
    en, zh = (_load(ROOT / "figures" / lang / f"{fig}.json") for lang in tx.LANGS)
    problems = tx.parity(en, zh)
    assert not problems, "\n".join(problems)


# -- the tests can fail: synthetic sidecars ------------------------------------------------


def _sidecar(pkg, lang, typed=""):
    T = tx.Writer(lang, pkg)
    total = T.cell(NSFC, {"row_type": "total"}, "projects")
    amounts = T.cells(NSFC, "amount", where={"row_type": "item"})
    top = T.largest(amounts)
    if lang == "en":
        commentary = T.paragraph(
            f"{T.period(total)}, Shanghai won {T.q(total)} NSFC projects",
            T.caveats(),
            f"{T.label(top)} brought {T.q(top)}{typed}",
        )
        headline = T.sentence(f"{T.label(top)} led with {T.q(top)}")
        alt = T.alt_bars(amounts, measure="funding", items="NSFC programmes")
    else:
        commentary = T.paragraph(
            f"{T.period(total)}，上海获国家自然科学基金项目{T.q(total)}",
            T.caveats(),
            f"{T.label(top)}资助额{T.q(top)}{typed}",
        )
        headline = T.sentence(f"{T.label(top)}资助额最高，达{T.q(top)}")
        alt = T.alt_bars(amounts, measure="资助额", items="类国家自然科学基金项目")
    rec = {"id": "synthetic", "lang": lang}
    rec.update(tx.sidecar_fields(T, commentary=commentary, headline=headline, alt=alt))
    return rec


def test_a_good_sidecar_passes_all_three_checks(pkg, vocabulary):
    en, zh = _sidecar(pkg, "en"), _sidecar(pkg, "zh")
    assert tx.verify_record(pkg, en) == [] and tx.verify_record(pkg, zh) == []
    assert tx.parity(en, zh) == []
    ids, labels = vocabulary
    for rec in (en, zh):
        for f in tx.TEXT_FIELDS:
            assert prose.check(rec[f], rec["lang"], ids=ids, labels=labels) == [], rec[f]


def test_a_typed_number_fails_with_one_line_naming_figure_language_and_number(pkg):
    rec = _sidecar(pkg, "en", typed=" across 17 programmes")
    assert tx.verify_record(pkg, rec) == ["synthetic [en] commentary: number '17' matches no recorded quantity"]
    rec = _sidecar(pkg, "zh", typed="，约占三成即30%")
    assert tx.verify_record(pkg, rec) == ["synthetic [zh] commentary: number '30' matches no recorded quantity"]


def test_a_number_inside_a_longer_number_is_not_excused(pkg):
    rec = _sidecar(pkg, "en", typed=" (of 4,9000)")  # '4,900' is recorded; '4,9000' is not it
    assert any("'4,9000'" in p for p in tx.verify_record(pkg, rec))


def test_unmatched_parity_fails(pkg):
    en = _sidecar(pkg, "en")
    T = tx.Writer("zh", pkg)
    total = T.cell(NSFC, {"row_type": "total"}, "projects")
    zh = {"id": "synthetic", "lang": "zh"}
    zh.update(
        tx.sidecar_fields(T, commentary=T.sentence(f"{T.period(total)}，上海获项目{T.q(total)}"), headline="", alt="")
    )
    problems = tx.parity(en, zh)
    assert problems and all(p.startswith("synthetic: quoted in English only: ") for p in problems)
    assert any('"General Program"' in p for p in problems)


def test_a_caveated_value_quoted_without_its_caveat_fails(pkg):
    T = tx.Writer("en", pkg)
    total = T.cell(NSFC, {"row_type": "total"}, "amount")
    rec = {"id": "synthetic", "lang": "en"}
    rec.update(tx.sidecar_fields(T, commentary=T.sentence(f"Shanghai won {T.q(total)}"), headline="", alt=""))
    problems = tx.verify_record(pkg, rec)  # the printed footnote and the note on the double-counted total
    assert len(problems) == 2 and all(
        p.startswith("synthetic [en]: '¥3.396 bn' is quoted without its caveat") for p in problems
    )
    T = tx.Writer("en", pkg)
    total = T.cell(NSFC, {"row_type": "total"}, "amount")
    rec.update(
        tx.sidecar_fields(T, commentary=T.paragraph(f"Shanghai won {T.q(total)}", T.caveats()), headline="", alt="")
    )
    assert tx.verify_record(pkg, rec) == []


def test_a_changed_data_value_fails_the_sidecar(editor, tmp_path):
    from shdata.package import Package

    pkg = Package(editor.folder)
    rec = _sidecar(pkg, "en")
    editor.replace(NSFC, "面上项目,General Program,2171,106754.50", "面上项目,General Program,2171,106754.60")
    problems = tx.verify_record(editor.package(), rec)
    assert any("is 106754.60万元 in the data, but the text quotes 106754.50万元" in p for p in problems)


def test_audit_reports_every_kind_of_problem_for_a_figures_folder(pkg, tmp_path):
    for lang in tx.LANGS:
        (tmp_path / lang).mkdir()
    good_en, bad_zh = _sidecar(pkg, "en"), _sidecar(pkg, "zh", typed="，共17类")
    (tmp_path / "en" / "synthetic.json").write_text(json.dumps(good_en, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "zh" / "synthetic.json").write_text(json.dumps(bad_zh, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "en" / "old.json").write_text(json.dumps({"id": "old", "lang": "en"}), encoding="utf-8")
    problems = tx.audit(tmp_path, pkg)
    assert "old [en]: sidecar predates the text layer; rebuild the figure" in problems
    assert "synthetic [zh] commentary: number '17' matches no recorded quantity" in problems


def test_the_command_line_lists_problems_and_fails(pkg, tmp_path, capsys, use_data):
    use_data(pkg.data_dir)
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "synthetic.json").write_text(
        json.dumps(_sidecar(pkg, "en", typed=" in 17 programmes"), ensure_ascii=False), encoding="utf-8"
    )
    assert tx.main([str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert out.out == "synthetic [en] commentary: number '17' matches no recorded quantity\n"
    (tmp_path / "en" / "synthetic.json").write_text(
        json.dumps(_sidecar(pkg, "en"), ensure_ascii=False), encoding="utf-8"
    )
    assert tx.main([str(tmp_path)]) == 0


def test_numbers_inside_a_quoted_caveat_are_the_notes_and_are_checked_as_its_text(pkg):
    T = tx.Writer("en", pkg)
    share = T.cell("unicorns_shanghai", "shanghai_share")
    rec: dict[str, Any] = {"id": "synthetic", "lang": "en"}
    rec.update(
        tx.sidecar_fields(
            T, commentary=T.paragraph(f"Shanghai's share is {T.q(share)}", T.caveats()), headline="", alt=""
        )
    )
    assert "66/316" in rec["commentary"] and tx.verify_record(pkg, rec) == []
    rec["caveats"][0]["text"] = rec["caveats"][0]["text"].replace("20.9%", "21%")
    rec["commentary"] = rec["commentary"].replace("20.9%", "21%")
    assert any(
        "is not the text of note unicorns_shanghai#unicorn-share-rounding" in p for p in tx.verify_record(pkg, rec)
    )
