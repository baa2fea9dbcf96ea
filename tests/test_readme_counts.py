"""The counts the README quotes are the package's counts, never typed by hand and left to drift."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from shdata.provenance import check_provenance

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _one(pattern: str) -> int:
    hits = {int(m) for m in re.findall(pattern, README)}
    assert len(hits) == 1, f"README: {pattern!r} gives {sorted(hits) or 'nothing'}"
    return hits.pop()


def test_table_count(pkg):
    assert _one(r"`data/` holds (\d+) tidy") == len(pkg.ids())
    assert {int(n) for n in re.findall(r"all (\d+) tables", README)} == {len(pkg.ids())}


def test_value_count(pkg):
    n, _ = check_provenance(pkg)
    assert _one(r"(\d+) printed values in all") == n
    assert _one(r"verifies all (\d+):") == n


def test_check_count(pkg):
    n = sum(len(pkg.metadata(t).checks) for t in pkg.ids())
    assert _one(r"runs \*\*(\d+) consistency") == n
    assert _one(r"validation \+ all (\d+) checks") == n


def test_note_count(pkg):
    assert _one(r"prints all (\d+) notes") == sum(len(pkg.metadata(t).notes) for t in pkg.ids())


@pytest.mark.parametrize("topic", ["funding", "talent", "rankings", "yangtze_delta", "outputs"])
def test_topic_rows(pkg, topic):
    tables: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    for t in pkg.ids():
        m = pkg.metadata(t)
        tables[m.topic] += 1
        rows[m.topic] += len(pkg.parsed(t).raw)
    m = re.search(rf"^\| {topic} \| (\d+) \| (\d+) \|", README, flags=re.MULTILINE)
    assert m and (int(m.group(1)), int(m.group(2))) == (tables[topic], rows[topic])
