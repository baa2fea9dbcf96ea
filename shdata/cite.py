"""Citations for figures and for the report, crediting the report first and
shdata's processing second ("... with processing by shdata"), as Our World in
Data credits its sources."""
from __future__ import annotations

import json
from importlib import metadata as _md

from . import __release_date__, __version__
from .errors import ShdataError
from .package import REPORT_PUBLISHER as PUBLISHER_EN
from .package import report_citation, report_titles

FORMATS = ("text", "bibtex", "csl-json")


def package_info() -> dict:
    """Name, version, year and repository URL of the installed package."""
    url = ""
    try:
        for entry in _md.metadata("shdata").get_all("Project-URL") or []:
            label, _, link = entry.partition(",")
            if label.strip().lower() in ("repository", "source", "homepage"):
                url = link.strip()
                break
    except _md.PackageNotFoundError:  # running from a source tree without installing
        pass
    return {"name": "shdata", "version": __version__, "year": __release_date__[:4], "url": url}


def _report(source: dict | None = None) -> dict:
    title_zh, title_en = report_titles(source)
    return {"title_zh": title_zh, "title_en": title_en}


def _bib_escape(text: str) -> str:
    return text.replace("\\", "\\textbackslash{}").replace("{", "\\{").replace("}", "\\}").replace(
        "&", "\\&").replace("%", "\\%").replace("#", "\\#").replace("_", "\\_").replace("§", "\\S{}")


def cite_report(fmt: str = "text", section: str | None = None, source: dict | None = None) -> str:
    """Citation of the report (optionally a section) in ``fmt``."""
    if fmt not in FORMATS:
        raise ShdataError(f"citation format {fmt!r} is not allowed; use one of {', '.join(FORMATS)}")
    r = _report(source)
    if fmt == "text":
        return report_citation(section, "en", source)
    if fmt == "bibtex":
        note = f"\n  note = {{{_bib_escape(section)}}}," if section else ""
        return ("@report{shanghai_st_progress_2023,\n"
                f"  author = {{{{{PUBLISHER_EN}}}}},\n"
                f"  title = {{{_bib_escape(r['title_zh'])} [{_bib_escape(r['title_en'])}]}},\n"
                f"  institution = {{{{{PUBLISHER_EN}}}}},{note}\n"
                "  language = {chinese}\n}")
    item = {"id": "shanghai_st_progress_2023", "type": "report", "title": r["title_zh"],
            "title-short": r["title_en"], "author": [{"literal": PUBLISHER_EN}],
            "publisher": PUBLISHER_EN, "language": "zh-CN"}
    if section:
        item["section"] = section
    return json.dumps([item], ensure_ascii=False, indent=2)


def cite_figure(entry: dict, fmt: str = "text", lang: str = "en", source: dict | None = None,
                variant: str = "journal") -> str:
    """Citation of one figure from its manifest entry (``variant="standalone"`` names that variant)."""
    if fmt not in FORMATS:
        raise ShdataError(f"citation format {fmt!r} is not allowed; use one of {', '.join(FORMATS)}")
    pkg = package_info()
    r = _report(source)
    sections = ", ".join(entry["sections"])
    title = entry["title"].get(lang) or entry["title"].get("en") or next(iter(entry["title"].values()))
    if variant != "journal":
        title = f"{title} [{variant} variant]"
    processing = f"with processing by shdata {pkg['version']} ({pkg['year']})" + (f", {pkg['url']}" if pkg["url"] else "")
    if fmt == "text":
        return (f"{PUBLISHER_EN}. {r['title_zh']} ({r['title_en']}), {sections}; {processing}. "
                f"Figure {entry['id']}: {title}.")
    key = entry["id"].replace("-", "_")
    if fmt == "bibtex":
        url = f"\n  url = {{{pkg['url']}}}," if pkg["url"] else ""
        return ("@misc{" + key + ",\n"
                f"  author = {{{{{PUBLISHER_EN}}}}},\n"
                f"  title = {{{_bib_escape(title)}}},\n"
                f"  howpublished = {{Figure {_bib_escape(entry['id'])}, from {_bib_escape(r['title_zh'])} "
                f"[{_bib_escape(r['title_en'])}], {_bib_escape(sections)}}},\n"
                f"  note = {{Data: {PUBLISHER_EN}; {_bib_escape(processing)}}},{url}\n"
                f"  year = {{{pkg['year']}}}\n}}\n\n"
                "@software{shdata,\n"
                "  author = {{shdata contributors}},\n"
                f"  title = {{shdata: validated tables and figures from the {_bib_escape(r['title_en'])}}},\n"
                f"  version = {{{pkg['version']}}},\n"
                f"  year = {{{pkg['year']}}},{url}\n}}")
    items = [
        {"id": key, "type": "figure", "title": title, "author": [{"literal": PUBLISHER_EN}],
         "container-title": f"{r['title_zh']} ({r['title_en']})", "section": sections,
         "note": f"Data: {PUBLISHER_EN}; {processing}", "number": entry["id"],
         "issued": {"date-parts": [[int(pkg["year"])]]}, **({"URL": pkg["url"]} if pkg["url"] else {})},
        {"id": "shdata", "type": "software", "title": "shdata", "version": pkg["version"],
         "author": [{"literal": "shdata contributors"}], "issued": {"date-parts": [[int(pkg["year"])]]},
         **({"URL": pkg["url"]} if pkg["url"] else {})},
    ]
    return json.dumps(items, ensure_ascii=False, indent=2)
