"""The catalog and the descriptor: every table is described completely."""

from __future__ import annotations

import re

import pytest

import shdata

from .conftest import DATA, Package

PKG = Package(DATA)
IDS = PKG.ids()
TOPICS = {"funding", "talent", "rankings", "yangtze_delta", "outputs"}
SECTION_RE = re.compile(r"§[1-8](\.[1-4])?|综述|数看上海科技|智库看上海科技")


def test_catalog_lists_every_table_with_its_row_count():
    cat = shdata.tables()
    assert list(cat["id"]) == IDS
    assert {"id", "title", "title_zh", "topic", "section", "period", "units", "rows"} <= set(cat.columns)
    for tid, rows in zip(cat["id"], cat["rows"], strict=True):
        assert rows == len(PKG.parsed(tid).raw) > 0


def test_every_topic_of_the_brief_is_covered():
    assert set(shdata.tables()["topic"]) == TOPICS


@pytest.mark.parametrize("table_id", IDS)
def test_table_metadata_is_complete(table_id):
    meta = shdata.metadata(table_id)
    assert meta.title and meta.title_zh and meta.description, "titles (en, zh) and description"
    assert meta.topic in TOPICS
    assert SECTION_RE.fullmatch(meta.section), f"section {meta.section!r}"
    assert meta.period
    assert meta.sha256 and len(meta.sha256) == 64
    for name, unit in meta.units.items():
        assert unit, f"numeric column {name!r} has no unit"
    # measure tables: every numeric column says what kind of value it holds
    if meta.shape == "measure":
        for f in meta.fields:
            if f.get("type") in ("integer", "number"):
                assert f.get("shdata:kind") in ("level", "share", "growth", "rank", "change", "rank_change", "ratio"), (
                    f["name"]
                )
    # labels come in Chinese and English
    zh = {f["name"][:-3] for f in meta.fields if f["name"].endswith("_zh")}
    en = {f["name"][:-3] for f in meta.fields if f["name"].endswith("_en")}
    assert zh == en, f"label columns without a translation: {zh ^ en}"
    for note in meta.notes:
        assert note.id and note.text and note.kind in ("footnote", "discrepancy", "extraction", "scope", "qualifier")


def test_citation_names_publisher_report_and_section():
    meta = shdata.metadata("nsfc_projects_by_programme")
    cite = meta.citation()
    assert "Shanghai Municipal Science and Technology Commission" in cite
    assert "2023上海科技进步报告" in cite and meta.section in cite
    assert "上海市科学技术委员会" in meta.citation("zh")


def test_frictionless_validates_the_whole_package():
    frictionless = pytest.importorskip("frictionless")
    report = frictionless.validate(str(DATA / "datapackage.json"))
    assert report.valid, report.flatten(["resourcePath", "rowNumber", "fieldName", "type", "note"])[:10]
