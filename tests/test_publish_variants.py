"""publish(): lint before writing, the standalone variant, waivers in the record,
the manifest's variants, `shdata cite --variant`, the contact sheet."""

from __future__ import annotations

import json

import pytest

from shdata import cli, fmt, manifest, notebook, style
from shdata.contact_sheet import write_contact_sheet
from shdata.errors import FigureLintError, ParameterError, ShdataError

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long

plt = pytest.importorskip("matplotlib.pyplot")
TABLE = "yrd_technology_trade"


@pytest.fixture
def params(tmp_path):
    def make(lang="en", variant="journal,standalone", formats="png,pdf"):
        P = notebook.validate(lang=lang, formats=formats, output_dir=tmp_path / "figures", variant=variant)
        style.apply(lang)
        return P

    with plt.rc_context():
        yield make
        plt.close("all")


def trade_figure(P, bad=False):
    import shdata

    t = [shdata.value(TABLE, k) for k in ("total_trade", "shanghai_outflow")]
    fig, ax = P.figure(height=0.3)
    ax.barh(
        P.wrap([P.label(v) for v in t], 40),
        [float(v) for v in t],
        color=style.role_colours(["context", "shanghai"]),
        height=0.6,
    )
    for i, v in enumerate(t):
        ax.text(float(v), i, " " + fmt.quantity(v, P.lang), va="center")
    ax.invert_yaxis()
    ax.margins(x=0.25)
    unit = style.money_axis(ax, "亿元", P.lang)
    ax.set_xlabel(P.t(f"Technology trade ({unit})", f"技术交易额（{unit}）"))
    if bad:
        ax.text(0.5, 0.5, "overlapping note", transform=ax.transAxes)
        ax.text(0.52, 0.5, "overlapping note 2", transform=ax.transAxes)
    return fig


def publish(P, fig, **kw):
    args = {
        "sources": [TABLE],
        "title": P.t("Technology trade", "技术交易"),
        "caption": P.t("Caption.", "说明。"),
        "headline": P.t(
            "Shanghai supplies two fifths of the Yangtze Delta's internal technology trade",
            "上海输出的技术交易额约占长三角三省一市相互间技术交易额的四成",
        ),
        "subtitle": P.t("Technology trade, ¥ bn, January–September 2023", "技术交易额，亿元，2023年1—9月"),
    }
    args.update(kw)
    P.publish(fig, "yrd-technology-trade", **args)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_both_variants_written_with_their_sidecars(params, lang):
    P = params(lang)
    publish(P, trade_figure(P))
    root = P.output_dir / lang
    for variant, folder in (("journal", root), ("standalone", root / "standalone")):
        rec = json.loads((folder / "yrd-technology-trade.json").read_text(encoding="utf-8"))
        assert rec["variant"] == variant
        assert set(rec["files"]) == {"png", "pdf"}
        assert all((P.output_dir / f["path"]).is_file() for f in rec["files"].values())
    sa = json.loads((root / "standalone" / "yrd-technology-trade.json").read_text(encoding="utf-8"))
    assert sa["standalone"]["source"].startswith(
        P.t(
            "Source: 上海市科学技术委员会《2023上海科技进步报告》§8.2",
            "资料来源：上海市科学技术委员会《2023上海科技进步报告》§8.2",
        )
    )
    assert sa["standalone"]["notes"] == notebook.caveats([TABLE], lang)
    from PIL import Image

    with (
        Image.open(root / "yrd-technology-trade.png") as j,
        Image.open(root / "standalone" / "yrd-technology-trade.png") as s,
    ):
        assert j.width == s.width and s.height > j.height  # same column width, taller


def test_files_are_byte_identical_across_runs(params):
    P = params("zh")
    publish(P, trade_figure(P))
    first = {p.relative_to(P.output_dir): p.read_bytes() for p in P.output_dir.rglob("*") if p.is_file()}
    publish(P, trade_figure(P))
    second = {p.relative_to(P.output_dir): p.read_bytes() for p in P.output_dir.rglob("*") if p.is_file()}
    assert first == second and len(first) == 6


def test_a_defect_fails_with_one_line_per_defect_and_writes_nothing(params):
    P = params("en")
    publish(P, trade_figure(P))
    before = {p: p.read_bytes() for p in P.output_dir.rglob("*") if p.is_file()}
    with pytest.raises(FigureLintError) as exc:
        publish(P, trade_figure(P, bad=True))
    lines = str(exc.value).splitlines()
    assert "yrd-technology-trade: text-overlap: 'overlapping note': overlaps 'overlapping note 2'" in lines
    assert all(ln.startswith("yrd-technology-trade") for ln in lines[1:])
    assert {p: p.read_bytes() for p in P.output_dir.rglob("*") if p.is_file()} == before


def test_waiver_is_recorded_in_sidecar_and_manifest(params):
    P = params("en")
    publish(P, trade_figure(P, bad=True), waive=[("text-overlap", "overlapping note", "demonstration")])
    rec = json.loads((P.output_dir / "en" / "yrd-technology-trade.json").read_text(encoding="utf-8"))
    assert rec["waivers"] == [{"rule": "text-overlap", "text": "overlapping note", "reason": "demonstration"}]
    entry = manifest.collect(P.output_dir)[0]
    assert entry["waivers"]["en"] == rec["waivers"]


def test_standalone_needs_a_headline_and_writes_nothing_without_it(params):
    P = params("en")
    with pytest.raises(ParameterError, match="headline"):
        publish(P, trade_figure(P), headline="")
    assert not any(P.output_dir.rglob("*.png"))


def test_journal_only_is_todays_behaviour(params):
    P = params("en", variant="journal")
    publish(P, trade_figure(P), headline="", subtitle="")
    assert (P.output_dir / "en" / "yrd-technology-trade.png").is_file()
    assert not (P.output_dir / "en" / "standalone").exists()


@pytest.mark.parametrize(
    "value, expected",
    [("journal", ("journal",)), ("standalone,journal", ("journal", "standalone")), (["standalone"], ("standalone",))],
)
def test_variant_parameter(value, expected):
    assert notebook.validate(variant=value).variants == expected


@pytest.mark.parametrize("value", ["poster", [], "journal,poster", 3])
def test_variant_parameter_refuses_bad_values(value):
    with pytest.raises(ParameterError, match="variant"):
        notebook.validate(variant=value)


def test_manifest_lists_both_variants_and_cite_resolves_each(params, capsys):
    for lang in ("en", "zh"):
        P = params(lang)
        publish(P, trade_figure(P))
    entry = manifest.collect(P.output_dir)[0]
    assert entry["id"] == "yrd-technology-trade" and entry["variants"] == ["journal", "standalone"]
    assert {(f["lang"], f["variant"]) for f in entry["files"]} == {
        (lg, v) for lg in ("en", "zh") for v in ("journal", "standalone")
    }
    assert entry["title"]["en"] == "Technology trade"
    csv_rows = manifest.manifest_csv(manifest.manifest(P.output_dir)).splitlines()
    assert len(csv_rows) == 1 + 4 and ",variant," in csv_rows[0]
    path = P.output_dir / "manifest.json"
    path.write_text(json.dumps(manifest.manifest(P.output_dir)), encoding="utf-8")
    assert cli.main(["cite", "yrd-technology-trade", "--manifest", str(path)]) == 0
    journal = capsys.readouterr().out
    assert cli.main(["cite", "yrd-technology-trade", "--manifest", str(path), "--variant", "standalone"]) == 0
    standalone = capsys.readouterr().out
    assert "[standalone variant]" in standalone and "[standalone variant]" not in journal


def test_cite_refuses_a_missing_variant(params, capsys):
    P = params("en", variant="journal")
    publish(P, trade_figure(P))
    path = P.output_dir / "manifest.json"
    path.write_text(json.dumps(manifest.manifest(P.output_dir)), encoding="utf-8")
    assert cli.main(["cite", "yrd-technology-trade", "--manifest", str(path), "--variant", "standalone"]) == 2
    assert "has no standalone variant" in capsys.readouterr().err


def test_contact_sheet_is_deterministic_and_lists_every_figure(params, capsys):
    P = params("en")
    publish(P, trade_figure(P))
    out = write_contact_sheet(P.output_dir, "en")
    assert out == P.output_dir / "contact-sheet-en.png"
    first = out.read_bytes()
    assert cli.main(["contact-sheet", "--lang", "en", "--figures", str(P.output_dir)]) == 0
    assert out.read_bytes() == first
    sa = write_contact_sheet(P.output_dir, "en", "standalone")
    assert sa.name == "contact-sheet-en-standalone.png" and sa.read_bytes() != first


def test_contact_sheet_without_figures_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ShdataError, match="no PNG figures"):
        write_contact_sheet(tmp_path, "zh")
    assert cli.main(["contact-sheet", "--lang", "zh", "--figures", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def _tables_whose_english_notes_quote_chinese() -> list[str]:
    import shdata
    from shdata.linebreak import has_cjk

    return [t for t in shdata.tables()["id"] if any(has_cjk(n) for n in notebook.caveats([t], "en"))]


QUOTING_CHINESE = _tables_whose_english_notes_quote_chinese()


def test_tables_whose_english_notes_quote_chinese_are_found():
    # the linter test below is parametrized over these; an empty list would make it assert nothing
    assert "patents" in QUOTING_CHINESE and len(QUOTING_CHINESE) >= 5, QUOTING_CHINESE


@pytest.mark.parametrize("table", QUOTING_CHINESE)
@pytest.mark.parametrize("width", ["single", "onehalf", "double"])
def test_english_notes_quoting_chinese_pass_the_linter_in_the_standalone_variant(params, table, width):
    # Every table whose English notes quote Chinese ('24.14件', 《...》, 数量均全国第一...). Wrapped as
    # Chinese text, their lines broke where the linter then judged a cut inside a Chinese word (cjk-break).
    P = params("en", formats="png")
    fig, ax = P.figure(height=0.3, width=width)
    ax.barh(["A", "B"], [2, 1], color=style.role_colours(["shanghai", "context"]), height=0.5)
    ax.set_xlabel("Value")
    P.publish(
        fig,
        "notes-quoting-chinese",
        sources=[table],
        title="Notes",
        caption="Caption.",
        headline="A figure whose notes quote Chinese",
        subtitle="Values, as printed",
    )
    rec = json.loads((P.output_dir / "en" / "standalone" / "notes-quoting-chinese.json").read_text(encoding="utf-8"))
    assert rec["standalone"]["notes"] and not rec.get("waivers")
