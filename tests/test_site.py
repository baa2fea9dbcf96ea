"""`shdata site` without a browser: what is written, byte-identical rebuilds,
incremental rebuilds, failures that keep the previous site, notebook renderings
without machine paths and with each language's own narrative cells."""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from shdata import cite, site
from shdata.build import Project
from shdata.package import Package, write_descriptor

from .sitekit import cite_cli, copy_built


def _site(root: Path) -> Path:
    return root / "build" / "site"


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _figures(root: Path) -> list[str]:
    return sorted(site.read_figures(root / "figures"))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.imgs: list[dict] = []
        self.html_lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        for name in ("href", "src"):
            if a.get(name):
                self.refs.append((tag, a[name]))
        if a.get("srcset"):
            self.refs += [(tag, part.strip().split(" ")[0]) for part in a["srcset"].split(",")]
        if tag == "img":
            self.imgs.append(a)


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_every_figure_and_table_has_a_page_in_both_languages(built_site, pkg):
    root, _ = built_site
    out = _site(root)
    for fid in _figures(root):
        assert (out / "figures" / f"{fid}.html").is_file() and (out / "zh" / "figures" / f"{fid}.html").is_file()
    for tid in pkg.ids():
        assert (out / "tables" / f"{tid}.html").is_file() and (out / "zh" / "tables" / f"{tid}.html").is_file()
        assert (out / "data" / pkg.metadata(tid).path).read_bytes() == pkg.file_path(tid).read_bytes()
    for page in ("index.html", "tables/index.html", "notebooks/funding.html"):
        assert _parse(out / page).html_lang == "en"
        assert _parse(out / "zh" / page).html_lang == "zh-Hans"


def test_every_link_and_image_resolves_and_nothing_comes_from_the_network(built_site):
    root, _ = built_site
    out = _site(root)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 200
    for page in pages:
        parsed = _parse(page)
        for tag, ref in parsed.refs:
            url = urlsplit(ref)
            if url.scheme == "data":  # inline (the empty favicon), no request
                continue
            assert not url.scheme and not url.netloc, f"{page.relative_to(out)}: {tag} loads {ref} from the network"
            if not url.path:
                continue
            target = (page.parent / unquote(url.path)).resolve()
            assert target.is_file(), f"{page.relative_to(out)}: {ref} does not resolve"
        for img in parsed.imgs:
            assert img.get("alt"), f"{page.relative_to(out)}: an image without alt text"


class _CiteWiring(HTMLParser):
    """What the site's script needs of each citation box: every tab names a panel of the same box,
    every copy button an element (by id) that holds the ``<pre>`` it copies, and no id twice."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self):
        super().__init__()
        self.open: list[tuple[str, dict]] = []
        self.boxes: list[dict[str, set[str]]] = []
        self.ids_holding_pre: set[str] = set()
        self.copies: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids.append(a["id"])
        if "data-cite" in a:
            self.boxes.append({"tab": set(), "tabpanel": set()})
        if a.get("role") in ("tab", "tabpanel") and self.boxes and any("data-cite" in x for _, x in self.open):
            self.boxes[-1][a["role"]].add(a.get("data-fmt", ""))
        if tag == "button" and "data-copy" in a:
            self.copies.append(a["data-copy"])
        if tag == "pre":
            self.ids_holding_pre |= {x["id"] for _, x in self.open if x.get("id")}
        if tag not in self.VOID:
            self.open.append((tag, a))

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break


def test_every_citation_box_is_wired_as_the_script_expects(built_site):
    """On every page (the browser clicks the copy buttons of a few, and loads one page of each
    structure): the tabs and panels of a box match, and each copy button finds its text."""
    root, _ = built_site
    pages = sorted(_site(root).rglob("*.html"))
    boxes = 0
    for page in pages:
        wiring = _CiteWiring()
        wiring.feed(page.read_text(encoding="utf-8"))
        rel = page.relative_to(_site(root))
        for box in wiring.boxes:
            assert box["tab"] and box["tab"] == box["tabpanel"] and "" not in box["tab"], f"{rel}: {box}"
        assert set(wiring.copies) <= wiring.ids_holding_pre, f"{rel}: a copy button finds no <pre>"
        assert len(set(wiring.ids)) == len(wiring.ids), f"{rel}: an id used twice (getElementById finds the first)"
        assert len(wiring.copies) == sum(len(box["tab"]) for box in wiring.boxes), rel
        boxes += len(wiring.boxes)
    assert boxes >= len([p for p in pages if p.parent.name in ("figures", "tables") and p.name != "index.html"])


def test_a_rebuild_with_nothing_changed_writes_nothing_and_loads_no_renderer(built_site):
    root, first = built_site
    before = _tree(_site(root))
    # In a fresh process, as `shdata build` runs it: nothing is rendered, so neither
    # Jinja2, nbconvert nor citeproc is even imported.
    code = (
        "import sys; from shdata.build import Project; from shdata.site import build_site; "
        f"from pathlib import Path; r = build_site(Project(Path({str(root)!r}))); "
        "print(len(r.written), len(r.removed), r.unchanged, "
        "any(m in sys.modules for m in ('jinja2', 'nbconvert', 'citeproc', 'pandas')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    written, removed, unchanged, heavy = done.stdout.split()
    assert (written, removed, heavy) == ("0", "0", "False")
    assert int(unchanged) == len(json.loads((_site(root) / ".state.json").read_text())["outputs"])
    assert _tree(_site(root)) == before
    assert first.written and not first.failed


def test_rendering_again_gives_the_same_bytes(built_site):
    root, _ = built_site
    outputs, _ = site.plan(Project(root), _site(root))
    sample = [
        o
        for o in outputs
        if o.path
        in (
            "index.html",
            "zh/index.html",
            "figures/funding-unicorns.html",
            "zh/figures/funding-unicorns.html",
            "tables/unicorns_shanghai.html",
            "zh/notebooks/funding.html",
            "files/en/thumbs/funding-unicorns.png",
        )
    ]
    assert len(sample) == 7
    for o in sample:
        assert o.make() == (_site(root) / o.path).read_bytes(), f"{o.path} is not deterministic"


def test_a_changed_table_rebuilds_only_the_pages_that_depend_on_it(built_site, tmp_path):
    root = copy_built(built_site[0], tmp_path / "p")
    desc_path = root / "data" / "datapackage.json"
    desc = json.loads(desc_path.read_text(encoding="utf-8"))
    tid = "tech_credit_products"
    res = next(r for r in desc["resources"] if r["name"] == tid)
    res["description"] += " (Edited for the test.)"
    write_descriptor(desc_path, desc)
    related = {tid} | {
        t
        for r in desc["resources"]
        for c in r.get("shdata:checks", [])
        if tid in site._check_tables(c) | {r["name"]}
        for t in site._check_tables(c) | {r["name"]}
    }
    result = site.build_site(Project(root))
    allowed = {"data/datapackage.json"} | {f"{lang}tables/{t}.html" for t in related for lang in ("", "zh/")}
    assert {"data/datapackage.json", f"tables/{tid}.html", f"zh/tables/{tid}.html"} <= set(result.written)
    assert set(result.written) <= allowed, sorted(set(result.written) - allowed)
    assert "(Edited for the test.)" in (_site(root) / "tables" / f"{tid}.html").read_text(encoding="utf-8")


def test_a_changed_figure_rebuilds_its_pages_and_the_galleries_only(built_site, tmp_path):
    root = copy_built(built_site[0], tmp_path / "p")
    side = root / "figures" / "en" / "funding-unicorns.json"
    rec = json.loads(side.read_text(encoding="utf-8"))
    rec["headline"] = "A headline from the text layer"
    side.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    result = site.build_site(Project(root))
    # The English pages change; the Chinese ones are re-rendered (they link both sidecars) but come out the same.
    assert set(result.written) == {"index.html", "figures/funding-unicorns.html"}
    page = html.unescape((_site(root) / "figures" / "funding-unicorns.html").read_text(encoding="utf-8"))
    assert "<h1>A headline from the text layer</h1>" in page and rec["title"] in page  # title kept as subtitle


def test_a_missing_figure_file_stops_the_site_with_one_line_and_keeps_it(built_site, tmp_path):
    root = copy_built(built_site[0], tmp_path / "p")
    before = _tree(_site(root))
    (root / "figures" / "en" / "funding-unicorns.png").unlink()
    with pytest.raises(site.SiteError, match=r"funding-unicorns\.png: listed in en/funding-unicorns\.json but missing"):
        site.build_site(Project(root))
    assert _tree(_site(root)) == before


def test_a_page_that_fails_keeps_its_previous_version(built_site, tmp_path, monkeypatch):
    root = copy_built(built_site[0], tmp_path / "p")
    page = _site(root) / "tables" / "tech_credit_products.html"
    old = page.read_bytes()
    desc_path = root / "data" / "datapackage.json"
    desc = json.loads(desc_path.read_text(encoding="utf-8"))
    next(r for r in desc["resources"] if r["name"] == "tech_credit_products")["description"] += " x"
    write_descriptor(desc_path, desc)

    def broken(*a, **k):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(site, "_table_page", broken)
    with pytest.raises(site.SiteError, match="tables/tech_credit_products.html: RuntimeError: template exploded"):
        site.build_site(Project(root))
    assert page.read_bytes() == old
    monkeypatch.undo()
    assert "tables/tech_credit_products.html" in site.build_site(Project(root)).written, "retried next time"


def test_notebook_renderings_show_no_machine_path_and_only_their_language(built_site):
    root, _ = built_site
    en = (_site(root) / "notebooks" / "funding.html").read_text(encoding="utf-8")
    zh = (_site(root) / "zh" / "notebooks" / "funding.html").read_text(encoding="utf-8")
    for text in (en, zh):
        assert str(root) not in text and str(root.resolve()) not in text and "staging" not in text
        assert re.search(
            r'output_dir</span> <span class="o">=</span> <span class="s2">&quot;figures&quot;', text
        ) or re.search(r'output_dir</span> <span class="o">=</span> <span class="s2">"figures"', text)
        assert "Shared cell" in text
    assert "told in English" in en and "中文叙述" not in en
    assert "中文叙述" in zh and "told in English" not in zh


def test_clean_notebook_keeps_untagged_cells_and_code():
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {"tags": ["lang-zh"]}, "source": "中文"},
            {"cell_type": "markdown", "metadata": {}, "source": "both"},
            {"cell_type": "code", "metadata": {"tags": ["lang-zh"]}, "source": "x = 1", "outputs": []},
        ]
    }
    kept = site.clean_notebook(nb, "en", ["/nowhere"])["cells"]
    assert [c["source"] for c in kept] == ["both", "x = 1"], "only Markdown narrative is filtered by language"


def test_figure_page_cite_box_holds_exactly_what_the_cli_prints(built_site):
    root, _ = built_site
    page = (_site(root) / "zh" / "figures" / "funding-nsfc-by-programme.html").read_text(encoding="utf-8")
    boxes = dict(
        re.findall(
            r'<div class="cite-panel" role="tabpanel" id="cite-([a-z0-9-]+)"[^>]*>\s*'
            r'<pre class="cite-text">(.*?)</pre>',
            page,
            re.S,
        )
    )
    assert sorted(boxes) == sorted(cite.FORMATS)
    for fmt, text in boxes.items():
        printed = cite_cli(root, fmt, "funding-nsfc-by-programme", "--lang", "zh")
        assert html.unescape(text) == printed, fmt


def test_table_page_lists_checks_notes_and_derived_values(built_site):
    root, _ = built_site
    pkg = Package(root / "data")
    page = html.unescape((_site(root) / "tables" / "tech_finance_indicators.html").read_text(encoding="utf-8"))
    for note in pkg.metadata("tech_finance_indicators").notes:
        assert note.text in page
    assert "Derived values (computed by shdata, not printed)" in page and "_previous" in page
    unicorns = (_site(root) / "tables" / "unicorns_shanghai.html").read_text(encoding="utf-8")
    assert "known discrepancy (documented)" in unicorns


def test_every_chinese_interface_string_renders_in_the_bundled_font():
    from fontTools.ttLib import TTFont

    cmap = TTFont(site.FONTS / "NotoSansCJKsc-Regular-subset.ttf").getBestCmap()
    strings = json.loads((site.TEMPLATES / "strings.json").read_text(encoding="utf-8"))
    missing = {ch: key for key, v in strings.items() for ch in v["zh"] if ord(ch) >= 0x2E80 and ord(ch) not in cmap}
    assert not missing, f"characters the site's web font lacks (they would show as boxes): {missing}"


def test_pages_render_in_forked_processes_in_order_and_a_failure_stays_one_page():
    # In a fresh interpreter (one thread, as in `shdata build` when it reaches the site step).
    code = textwrap.dedent("""
        import json, os
        from shdata import site

        def page(i):
            return lambda: f"{i}:{os.getpid()}".encode()

        def broken():
            raise ValueError("template exploded\\nsecond line")

        todo = [site.Output(f"p{i:02}.html", [], page(i)) for i in range(40)]
        todo[7] = site.Output("p07.html", [], broken)
        made = site._render(todo, 2)
        print(json.dumps({"parent": os.getpid(), "made": [[ok, data.decode()] for ok, data in made]}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = json.loads(done.stdout)
    made = out["made"]
    assert made[7] == [False, "ValueError: template exploded"]
    rendered = [(i, data.split(":")) for i, (ok, data) in enumerate(made) if ok]
    assert [int(n) for _, (n, _) in rendered] == [i for i, _ in rendered] == [i for i in range(40) if i != 7]
    assert str(out["parent"]) not in {pid for _, (_, pid) in rendered}, "rendered in the parent, not in a pool"
