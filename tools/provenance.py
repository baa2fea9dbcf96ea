"""Generate ``data/provenance.json``: the printed phrase of every value in ``data/``.

For each value cell the script looks, in the report text (``data/source/``), for
the value as printed followed by its unit, preferring the table's own report
section and the printing whose sentence carries most of the row's Chinese
label; the quote is the shortest span holding the value, its unit and that
label word. Cases the search cannot settle -- values written in words, ranks
read from the order of a printed list, cells of tables that the extraction
turned into tab-separated columns, labels that the text words differently --
are settled by hand in ``tools/provenance_review.json`` (reviewed entries:
an anchor phrase to find, the words and rule, the list position). The script
never writes a value: it only records where each stored value is printed.

Run: ``.venv/bin/python tools/provenance.py [--report]`` then ``shdata rehash``
and ``shdata check``. ``--report`` lists the cells settled with low confidence.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from a checkout: import this checkout's shdata

# after the sys.path line above, which these imports need
from shdata._io import write_json  # noqa: E402
from shdata.package import Package  # noqa: E402
from shdata.provenance import (  # noqa: E402
    SOURCE_KEY,
    _digits_pattern,
    check_entry,
    value_cells,
)

REVIEW = ROOT / "tools" / "provenance_review.json"
SENTENCE_END = "。！？\n"


def section_ranges(text: str) -> dict[str, tuple[int, int]]:
    """Character range of each report section, from the headings in the body."""
    body = text.index("\n综述\n\nSUMMARIZE")
    heads: list[tuple[int, str]] = [(body, "综述")]
    for m in re.finditer(r"^(\d)\.(\d) \S+$", text[body:], flags=re.MULTILINE):
        heads.append((body + m.start(), f"§{m.group(1)}.{m.group(2)}"))
    # Chapter headings: the titles the table of contents prints ("2 加强基础研究组织化实施\t15").
    for m in re.finditer(r"^(\d) (\S+)\t\d+$", text[:body], flags=re.MULTILINE):
        at = text.find(f"\n{m.group(1)} {m.group(2)}\n", body)
        if at >= 0:
            heads.append((at + 1, f"§{m.group(1)}"))
    heads.append((text.index("\n数看上海科技\n\n»"), "数看上海科技"))
    heads.append((text.index("» 2023“理想之城”"), "智库看上海科技"))
    heads.append((text.index("\n组稿人\n"), "end"))
    heads.sort()
    ranges: dict[str, tuple[int, int]] = {}
    for (start, name), (end, _) in itertools.pairwise(heads):
        if name not in ranges:
            ranges[name] = (start, end)
    # A chapter (§2) without a heading line of its own spans its sections.
    for ch in "12345678":
        subs = [r for k, r in ranges.items() if k.startswith(f"§{ch}.")]
        if subs and f"§{ch}" not in ranges:
            lo = min(r[0] for r in subs)
            start = ranges.get(f"§{ch}", (lo, lo))[0]
            ranges[f"§{ch}"] = (start, max(r[1] for r in subs))
    return ranges


def sentence_at(text: str, start: int, end: int) -> tuple[int, int]:
    """The printed sentence (or line) holding ``text[start:end]``."""
    lo = start
    while lo > 0 and text[lo - 1] not in SENTENCE_END:
        lo -= 1
    hi = end
    while hi < len(text) and text[hi] not in SENTENCE_END:
        hi += 1
    if hi < len(text) and text[hi] in "。！？":
        hi += 1
    while lo < hi and text[lo] in " \t-•»":
        lo += 1
    return lo, hi


def _plain(label: str) -> str:
    return re.sub(r"[（）()“”\"《》]", "", label)


def common_words(label: str, sentence: str) -> list[str]:
    """Longest substrings of ``label`` (2+ characters, or the whole label) printed in ``sentence``."""
    label = _plain(label)
    best: list[str] = []
    n = len(label)
    for size in range(n, 0, -1):
        if size < 2 and n >= 2:
            break
        for i in range(n - size + 1):
            w = label[i : i + size]
            if w in sentence and not re.fullmatch(r"[\d.%\s]+", w):
                best.append(w)
        if best:
            return best[:1]
    return []


def _unit_pattern(unit: str) -> re.Pattern:
    q = r"(?:余|多|以上)?"
    return re.compile(r" ?" + q + q.join(re.escape(c) for c in unit))


def candidates(text: str, value: str, unit: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Printings of ``value`` in ``text[lo:hi]``: (start, end) including the unit when it follows."""
    out = []
    pat = _digits_pattern(value)
    for m in pat.finditer(text, lo, hi):
        end = m.end()
        # the unit may follow after a space, with a printed qualifier inside it (2万余小时, 300余位)
        u = _unit_pattern(unit).match(text, end) if unit else None
        if u:
            end = u.end()
        out.append((m.start(), end))
    return out


def _digits_end(text: str, value: str, start: int) -> int:
    """End of the value's digits in a candidate printing that starts at ``start``."""
    m = _digits_pattern(value).match(text, start)
    assert m is not None  # candidates() found the digits exactly there
    return m.end()


def label_of(meta, raw: dict[str, str]) -> str:
    zh = [raw[n] for n in meta.label_fields if n.endswith("_zh") and raw.get(n)]
    return zh[0] if zh else ""


def auto_entry(text: str, ranges, meta, key: str, col: str, raw: dict[str, str]) -> dict | None:
    """Find the printing of one value by search; ``None`` when none is convincing."""
    value = raw[col]
    unit_field = next(f for f in meta.fields if f["name"] == col).get("unit")
    unit = raw[unit_field["field"]] if isinstance(unit_field, dict) else (unit_field or "")
    if unit == "位" and meta.shape == "indicator" and raw.get("kind") == "rank":
        unit = "位"
    label = label_of(meta, raw)
    lo, hi = ranges.get(meta.section, (0, len(text)))
    found = [(c, 0) for c in candidates(text, value, unit, lo, hi)]
    # A chapter's opening lines sit before its first section heading: search everywhere
    # else too, with a penalty, so the table's own section wins when it prints the value.
    found += [(c, 5) for c in candidates(text, value, unit, 0, len(text)) if not lo <= c[0] < hi]
    best = None
    for (start, end), penalty in found:
        s_lo, s_hi = sentence_at(text, start, end)
        sentence = text[s_lo:s_hi]
        words = common_words(label, sentence)
        has_unit = bool(unit) and end > _digits_end(text, value, start)
        score: float = (len(words[0]) if words else 0) * 2 + (3 if has_unit else 0) - penalty
        # the label word nearest to the value
        q_lo, q_hi = start, end
        if words:
            w = words[0]
            occ = [m.start() + s_lo for m in re.finditer(re.escape(w), sentence)]
            near = min(occ, key=lambda p: abs(p - start))
            q_lo, q_hi = min(q_lo, near), max(q_hi, near + len(w))
            score -= (q_hi - q_lo) / 1000
        if best is None or score > best[0]:
            best = (score, q_lo, q_hi, s_lo, s_hi, words, has_unit)
    # A short label word ("排名") identifies nothing: such cells are settled by hand.
    if best is None or not best[5] or len(best[5][0]) < min(4, len(_plain(label))):
        return None
    _, q_lo, q_hi, _s_lo, _s_hi, words, has_unit = best
    return _entry(text, meta, key, col, q_lo, q_hi, words, {"_confidence": "unit" if has_unit else "no-unit"})


def _span(text: str, spec: dict, lo: int, hi: int) -> tuple[int, int]:
    """Where a reviewed quote is printed: ``quote``, or ``from`` ... ``to`` (across lines)."""
    if "near" in spec:  # a phrase just before the quote that makes it unique
        lo = text.index(spec["near"], lo, hi)
    if "quote" in spec:
        start = text.index(spec["quote"], lo, hi)
        return start, start + len(spec["quote"])
    start = text.index(spec["from"], lo, hi)
    return start, text.index(spec["to"], start, hi) + len(spec["to"])


def _entry(
    text: str, meta, key: str, col: str, q_lo: int, q_hi: int, keywords: list[str], extra: dict | None = None
) -> dict:
    s_lo, s_hi = sentence_at(text, q_lo, q_hi)
    e = {
        "table": meta.id,
        "row": key,
        "column": col,
        "quote": text[q_lo:q_hi],
        "offset": q_lo,
        "sentence": text[s_lo:s_hi],
        "sentence_offset": s_lo,
        "keywords": keywords,
    }
    e.update(extra or {})
    return e


def reviewed_entry(text: str, ranges, meta, key: str, col: str, raw: dict, review: dict) -> dict | None:
    """An entry settled by hand in the review file, or ``None`` if the review does not cover it."""
    lo, hi = ranges.get(meta.section, (0, len(text)))
    cell = review["cells"].get(f"{meta.id}/{key}/{col}")
    if cell is not None:
        if cell.get("anywhere"):
            lo, hi = 0, len(text)
        q_lo, q_hi = _span(text, cell, lo, hi)
        keywords = cell.get("keywords") or common_words(label_of(meta, raw), text[q_lo:q_hi])
        return _entry(text, meta, key, col, q_lo, q_hi, keywords, {k: cell[k] for k in ("words", "rule") if k in cell})
    lst = review["lists"].get(f"{meta.id}/{col}")
    if lst is not None:  # a rank read from the order of a printed top-N list
        l_lo = text.index(lst["list"], lo, hi)
        items = [i.strip() for i in re.split(r"、|，|,|和|及", lst["list"]) if i.strip()]
        label = label_of(meta, raw)
        if label not in items:
            return None
        pos = items.index(label) + 1
        i_hi = l_lo + len(lst["list"].split(label)[0]) + len(label)
        q_lo = text.rindex(lst["intro"], lo, l_lo)
        return _entry(
            text, meta, key, col, q_lo, i_hi, [label], {"rule": "list-position", "list": lst["list"], "position": pos}
        )
    grid = review["grids"].get(meta.id)
    if grid is not None:  # a table the extraction printed as tab-separated lines
        g_lo = text.index(grid["header"], lo, hi)
        header_end = text.index("\n", g_lo)
        cities = text[g_lo:header_end].split("\t")
        label = label_of(meta, raw)
        colno = cities.index(label)
        r_lo = text.index("\n" + grid["rows"][col] + "\t", header_end) + 1
        cells = text[r_lo : text.index("\n", r_lo)].split("\t")
        v_lo = r_lo + len("\t".join(cells[:colno])) + 1
        v_hi = v_lo + len(cells[colno])
        c_lo = g_lo + len("\t".join(cities[:colno])) + 1
        return _entry(text, meta, key, col, c_lo, v_hi, [label, grid["rows"][col].lstrip("•")])
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", action="store_true", help="list low-confidence and unresolved cells")
    args = ap.parse_args(argv)
    pkg = Package(ROOT / "data", verify_hashes=False)
    spec = pkg.descriptor[SOURCE_KEY]
    text = (pkg.data_dir / spec["path"]).read_text(encoding="utf-8")
    ranges = section_ranges(text)
    review: dict[str, dict] = {"cells": {}, "lists": {}, "grids": {}}
    if REVIEW.exists():
        review.update(json.loads(REVIEW.read_text(encoding="utf-8")))
    entries, unresolved, low = [], [], []
    for tid in pkg.ids():
        meta = pkg.metadata(tid)
        for key, col, raw in value_cells(pkg, tid):
            rk = f"{tid}/{key}/{col}"
            e = reviewed_entry(text, ranges, meta, key, col, raw, review)
            if e is None:
                e = auto_entry(text, ranges, meta, key, col, raw)
                if e is None:
                    unresolved.append(f"{rk} = {raw[col]} ({label_of(meta, raw)})")
                    continue
                if e.pop("_confidence") != "unit":
                    low.append(f"{rk} = {raw[col]}  «{e['quote']}»")
            msg = check_entry(meta, key, col, raw, e, text)
            if msg:
                unresolved.append(msg)
                continue
            entries.append(e)
    out = pkg.data_dir / "provenance.json"
    write_json(out, {"source": spec["path"], "entries": entries}, indent=1, sort_keys=False)
    print(
        f"{len(entries)} values traced, {len(unresolved)} unresolved, {len(low)} without a unit "
        f"beside the value; wrote {out.relative_to(ROOT)}"
    )
    if args.report:
        for line in unresolved:
            print("UNRESOLVED", line)
        for line in low:
            print("NO-UNIT   ", line)
    return 1 if unresolved else 0


if __name__ == "__main__":
    sys.exit(main())
