"""The site in a real browser: headless Chromium through Playwright.

One browser per session, the site built once per session (``built_site``) and
served by a local static server, as ``python -m http.server`` serves it. In CI
(``CI=true``) these tests never skip: a missing browser is a failure. Outside
CI they skip when no Chromium is installed (``apt-get install -y chromium``)."""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .conftest import ROOT
from .sitekit import cite_cli

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long

CHROMIUM = Path(os.environ.get("SHDATA_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "build" / "site-screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"
FIGURE = "funding-nsfc-by-programme"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} not found: the browser tests must run in CI (.ci/run installs chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server(built_site):
    """The built site over HTTP on a free local port."""
    root, _ = built_site
    folder = root / "build" / "site"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def _watched(pg):
    """``pg``, recording its console errors, page errors, failed requests and HTTP errors in ``pg.problems``."""
    pg.problems = []
    pg.on("console", lambda m: pg.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(f"page error: {e}"))
    pg.on("requestfailed", lambda r: pg.problems.append(f"request failed: {r.url} ({r.failure})"))
    pg.on("response", lambda r: pg.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return pg


@pytest.fixture
def page(browser, server):
    """A fresh page that records console errors and failed requests."""
    base, _ = server
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    yield _watched(ctx.new_page())
    ctx.close()


def _pages(root: Path) -> list[str]:
    folder = root / "build" / "site"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.html"))


class _Structure(HTMLParser):
    """What of a page its script and the browser act on: every element with its id, classes, role,
    language, inline style and event handlers, its ``data-*`` and ARIA attributes, and what it makes
    the browser fetch; and the code and styles written into the page. Not its text, and not the
    links a reader may follow (tests/test_site.py resolves those on every page)."""

    #: ``<link rel=...>`` values whose ``href`` the browser loads with the page.
    FETCHED_LINKS = frozenset({"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest"})
    #: Attributes whose value the browser loads with the page (``data`` of ``<object>``).
    FETCHED = frozenset({"src", "srcset", "poster", "data"})
    #: Elements whose ``href`` the browser follows by itself: ``<base>`` (every relative URL) and SVG's.
    HREF_FETCHED = frozenset({"base", "use", "image"})
    #: Text the site's web font is loaded for (its ``unicode-range`` in site.css): CJK.
    CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")

    def __init__(self) -> None:
        super().__init__()
        self.parts: set[tuple] = set()
        self._inline: str | None = None

    def _acted_on(self, tag: str, name: str, attrs: dict) -> bool:
        if name in ("id", "class", "role", "lang", "style", "type"):
            return True
        if tag == "meta" and name in ("http-equiv", "content"):  # a refresh loads another page
            return True
        if name.startswith(("data-", "aria-", "on")):
            return True
        if tag == "link" and name == "href":
            return bool(set((attrs.get("rel") or "").split()) & self.FETCHED_LINKS)
        if name in ("href", "xlink:href"):
            return tag in self.HREF_FETCHED
        return name in self.FETCHED

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.parts.add((tag, tuple(sorted((k, v or "") for k, v in attrs if self._acted_on(tag, k, a)))))
        self._inline = tag if tag in ("script", "style") else None

    def handle_data(self, data):
        if self._inline:
            self.parts.add((self._inline, data))
        elif self.CJK.search(data):
            self.parts.add(("text", "CJK"))  # the page loads the CJK web font

    def handle_endtag(self, tag):
        self._inline = None


def _one_page_of_each_structure(root: Path) -> list[str]:
    """The first page (in path order) of each folder × :class:`_Structure` of the site.

    Pages of one folder and one structure differ only in their text and in links the browser does
    not load: in a browser they run the same script on the same elements and fetch the same files.
    The folder is part of the key because a relative path fetches another file from another folder.
    """
    folder = root / "build" / "site"
    first: dict[tuple, str] = {}
    for rel in _pages(root):
        parser = _Structure()
        parser.feed((folder / rel).read_text(encoding="utf-8"))
        first.setdefault((str(Path(rel).parent), frozenset(parser.parts)), rel)
    return sorted(first.values())


#: Run on each page after its `load` event: web fonts load after `load`, so let them finish; gallery
#: thumbnails load lazily, so load them all now and wait for each; then list the images that failed.
PAGE_CHECK = """async () => {
    await document.fonts.ready;
    await Promise.all(Array.from(document.images).map(i => {
        i.loading = 'eager';
        return i.decode().catch(() => null);
    }));
    return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
}"""


#: The cell prompts of a notebook rendering ("In [1]:") whose text is wider than their column, which
#: the browser then cuts with an ellipsis ("In [1…").
CLIPPED_PROMPTS = """() => Array.from(document.querySelectorAll('.jp-InputPrompt, .jp-OutputPrompt'))
    .filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent.trim())"""


def test_every_kind_of_page_loads_without_console_errors_or_failed_requests(page, server):
    """One page of each structure (:func:`_one_page_of_each_structure`), each checked in full, one
    after the other in one tab.

    The site's table pages are most of its pages and share a few structures; loading every one of
    them was most of this module's time.
    Every page that shows its own image, script or style is loaded; every page's links and images
    are resolved without a browser by tests/test_site.py, and the citation boxes' wiring, which the
    script acts on when a button is clicked, is checked there on every page too.

    (Loading the next pages in further tabs while one page is checked took as long and some 10 %
    more CPU, measured on the 2-core machine, where the rest of the suite keeps the other core busy.)
    """
    base, root = server
    pages = _pages(root)
    kinds = _one_page_of_each_structure(root)
    assert len(pages) > 200
    # Every figure page shows its own image, and every page but the table pages has a structure of
    # its own (as the README says): so each is loaded.
    not_tables = [p for p in pages if Path(p).parent.name != "tables" or Path(p).name == "index.html"]
    assert any(Path(p).parent.name == "figures" for p in not_tables) and set(not_tables) <= set(kinds)
    assert any(Path(p).parent.name == "tables" and Path(p).name != "index.html" for p in kinds)
    for rel in kinds:
        page.problems.clear()
        page.goto(f"{base}/{rel}", wait_until="load")
        broken = page.evaluate(PAGE_CHECK)
        assert not broken, f"{rel}: images that did not load: {broken}"
        assert not page.problems, f"{rel}: {page.problems}"
        if Path(rel).parent.name == "notebooks":
            clipped = page.evaluate(CLIPPED_PROMPTS)
            assert not clipped, f"{rel}: cell prompts cut short by their column: {clipped}"


def test_pages_of_one_structure_differ_only_in_text_and_links():
    """The grouping the browser test relies on: a changed id, class, data attribute, inline code or
    fetched file makes another structure; changed text or a changed link does not."""

    def structure(body: str) -> frozenset:
        parser = _Structure()
        parser.feed(f'<html lang="en"><head><link rel="stylesheet" href="a.css"></head><body>{body}</body></html>')
        return frozenset(parser.parts)

    same = structure('<p class="x">one</p><a href="t1.html">t1</a><link rel="alternate" href="zh/t1.html">')
    assert structure('<p class="x">two</p><a href="t2.html">t2</a><link rel="alternate" href="zh/t2.html">') == same
    for other in (
        '<p class="y">one</p><a href="t1.html">t1</a><link rel="alternate" href="zh/t1.html">',
        '<p class="x" data-copy="cite-apa">one</p><a href="t1.html">t1</a><link rel="alternate" href="zh/t1.html">',
        '<p class="x">one</p><a href="t1.html">t1</a><link rel="alternate" href="zh/t1.html"><img src="f.png">',
        '<p class="x">one</p><a href="t1.html">t1</a><link rel="alternate" href="zh/t1.html"><script>f()</script>',
        '<p class="x">一</p><a href="t1.html">t1</a><link rel="alternate" href="zh/t1.html">',  # loads the CJK font
        '<p class="x">one</p><a href="t1.html">t1</a><link rel="alternate" href="zh/t1.html"><base href="../">',
    ):
        assert structure(other) != same, other


def test_the_gallery_filters_by_topic_and_searches(page, server):
    base, _ = server
    page.goto(f"{base}/index.html")
    cards = page.locator("[data-card]")
    total = cards.count()
    assert total >= 20
    page.click("[data-topic-button=talent]")
    visible = page.locator("[data-card]:visible")
    assert 0 < visible.count() < total
    assert set(visible.evaluate_all("cs => cs.map(c => c.dataset.topic)")) == {"talent"}
    assert page.locator("#count").inner_text().startswith(str(visible.count()))
    page.click("[data-topic-button=all]")
    page.fill("#q", "nsfc")
    assert page.locator("[data-card]:visible").count() >= 1
    assert FIGURE in page.locator("[data-card]:visible a").first.get_attribute("href")
    page.fill("#q", "no figure is called this")
    assert page.locator("[data-card]:visible").count() == 0 and page.locator("#no-match").is_visible()
    assert not page.problems


def test_the_language_switch_keeps_you_on_the_same_figure(page, server):
    base, _ = server
    page.goto(f"{base}/figures/{FIGURE}.html")
    page.click("[data-lang-switch]")
    page.wait_for_url(f"**/zh/figures/{FIGURE}.html")
    assert page.evaluate("document.documentElement.lang") == "zh-Hans"
    page.click("[data-lang-switch]")
    page.wait_for_url(f"**/figures/{FIGURE}.html")
    assert "/zh/" not in page.url and page.evaluate("document.documentElement.lang") == "en"
    page.goto(f"{base}/zh/tables/unicorns_shanghai.html")
    page.click("[data-lang-switch]")
    assert page.url.endswith("/tables/unicorns_shanghai.html") and "/zh/" not in page.url


@pytest.mark.parametrize(
    "where,cli",
    [
        (f"figures/{FIGURE}.html", [FIGURE, "--lang", "en"]),
        (f"zh/figures/{FIGURE}.html", [FIGURE, "--lang", "zh"]),
        ("zh/tables/nsfc_projects_by_programme.html", ["--table", "nsfc_projects_by_programme", "--lang", "zh"]),
    ],
)
def test_each_copy_button_copies_exactly_what_the_cli_prints(page, server, where, cli):
    from shdata.cite import FORMATS

    base, root = server
    page.goto(f"{base}/{where}")
    for fmt in FORMATS:
        page.click(f"[role=tab][data-fmt='{fmt}']")
        page.click(f"button[data-copy='cite-{fmt}']")
        page.wait_for_function("() => window.shdataLastCopied !== undefined")
        copied = page.evaluate("navigator.clipboard.readText()")
        printed = cite_cli(root, fmt, *cli)
        assert copied == printed, fmt
        page.evaluate("window.shdataLastCopied = undefined")
    assert not page.problems


def test_the_site_works_from_file_urls(browser, server):
    _, root = server
    pg = browser.new_page()
    failed = []
    pg.on("requestfailed", lambda r: failed.append(r.url))
    pg.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    pg.goto((root / "build" / "site" / "zh" / "figures" / f"{FIGURE}.html").as_uri())
    assert pg.evaluate("document.images[0].naturalWidth") > 0
    pg.click("[data-lang-switch]")
    assert pg.url.endswith(f"/figures/{FIGURE}.html") and not failed
    pg.close()


def test_screenshots_of_the_gallery_and_a_figure_page_in_each_language(browser, server):
    base, _ = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    for lang, prefix in (("en", ""), ("zh", "zh/")):
        for name, rel, width in (
            ("gallery", "index.html", 1280),
            ("figure", f"figures/{FIGURE}.html", 1100),
            ("gallery-phone", "index.html", 390),
        ):
            pg = browser.new_page(viewport={"width": width, "height": 900})
            pg.goto(f"{base}/{prefix}{rel}", wait_until="load")
            pg.evaluate("document.fonts.ready")
            out = SHOTS / f"{name}-{lang}.png"
            pg.screenshot(path=str(out), full_page=name != "gallery-phone")
            pg.close()
            assert out.stat().st_size > 10_000
