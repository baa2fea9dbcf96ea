"""Three statements a reader once found wrong or unsupported (issue 9), pinned so they cannot come back.

Each test reads the published sidecar of the figure (``figures/<lang>/<id>.json``),
which is what the notebook showed, the manifest lists and the site prints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

FIGURES = Path(__file__).resolve().parent.parent / "figures"


def _record(lang: str, figure_id: str) -> dict:
    path = FIGURES / lang / f"{figure_id}.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing; run `shdata build`")
    return json.loads(path.read_text(encoding="utf-8"))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?。！？])\s*", text) if s.strip()]


def test_rankings_commentary_names_every_city_in_all_four_lists():
    """Beijing and Tokyo are in all four top-ten lists; the text once said 'at least three'."""
    en = _record("en", "rankings-top10-lists")["commentary"]
    zh = _record("zh", "rankings-top10-lists")["commentary"]
    assert "at least three" not in en
    assert any("Beijing" in s and "Tokyo" in s for s in _sentences(en) if "all four" in s), en
    assert any("北京" in s and "东京" in s and "全部四项" in s for s in _sentences(zh)), zh


@pytest.mark.parametrize(
    "lang, printed_total, caveat_words",
    [
        ("en", "4,900", ("counted twice", "double-count")),
        ("zh", "4900", ("重复计算",)),
    ],
)
def test_nsfc_total_is_quoted_with_its_double_counting_caveat(lang, printed_total, caveat_words):
    """The printed NSFC total double-counts Major Program sub-projects; the caveat follows the number."""
    sentences = _sentences(_record(lang, "funding-nsfc-by-programme")["commentary"])
    at = next(i for i, s in enumerate(sentences) if printed_total in s)
    nearby = " ".join(sentences[at : at + 3])
    assert any(w in nearby for w in caveat_words), nearby
    assert "hk-" not in nearby and "total-double" not in nearby  # plain words, never a note id


@pytest.mark.parametrize(
    "lang, chart_words",
    [
        ("en", ("red", "yellow", "green", "sector", "circle")),
        ("zh", ("红", "黄", "绿", "扇区", "圆环")),
    ],
)
def test_ideal_city_notes_describe_the_scores_not_the_reports_circle_chart(lang, chart_words):
    """The notes under the dot chart once described the report's coloured circle chart."""
    rec = _record(lang, "rankings-ideal-city")
    text = " ".join(rec["notes"]) + " " + rec["commentary"]
    found = [w for w in chart_words if re.search(rf"\b{w}\b" if lang == "en" else w, text, flags=re.I)]
    assert not found, f"{lang}: notes mention {found}"
    assert rec["notes"], "the scores table's notes (what the scores are, the composite discrepancy) are shown"
