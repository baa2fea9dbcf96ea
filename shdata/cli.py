"""The ``shdata`` command line.

Every failure a user can cause prints one line, ``shdata: error: ...``, and
exits with status 2; ``shdata check`` exits 1 when a check fails.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import ShdataError, did_you_mean


def _cmd_list(args: argparse.Namespace) -> int:
    import pandas as pd

    import shdata

    cat = shdata.tables()
    if args.topic:
        cat = cat[cat["topic"] == args.topic]
    with pd.option_context("display.max_rows", 1000, "display.width", 250,
                           "display.max_colwidth", 70, "display.unicode.east_asian_width", False):
        print(cat[["id", "topic", "section", "rows", "title"]].to_string(index=False))
    print(f"\n{len(cat)} tables; `shdata show TABLE_ID` for one of them.")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    import shdata

    shdata.describe(args.table_id, lang=args.lang)
    derived = shdata.derived(args.table_id)
    if len(derived):
        print("\nDerived (computed by shdata, not printed in the report):")
        print(derived[["indicator", "value", "unit", "period", "method"]].to_string(index=False))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    import shdata

    pkg = shdata._pkg()
    ids = args.table_ids or pkg.ids()
    results = shdata.check(ids)  # validates every row first; a bad cell raises
    print(f"Schema validation: {len(ids)} tables, all rows valid.")
    bad = [r for r in results if not r.ok]
    expected = [r for r in results if r.status == "expected-fail"]
    for r in results:
        if r.status != "pass" or args.verbose:
            print(f"  {r.status.upper():16} {r.table}/{r.id}: {r.detail}")
    print(f"Consistency checks: {len(results)} run, {len(results) - len(bad) - len(expected)} pass, "
          f"{len(expected)} known discrepancies (documented), {len(bad)} failures.")
    print("\nData notes:")
    n_notes = 0
    for tid in ids:
        for note in pkg.metadata(tid).notes:
            if args.all_notes or note.kind in ("discrepancy", "footnote", "extraction"):
                print(f"  [{note.kind}] {tid}/{note.id}: {note.text}")
            n_notes += 1
    if not args.all_notes:
        print(f"  ({n_notes} notes in all; `shdata check --all-notes` prints scope and qualifier notes too)")
    if bad:
        print(f"\nshdata check: FAILED: {len(bad)} check(s) disagree with the data: "
              + ", ".join(f"{r.table}/{r.id}" for r in bad))
        return 1
    print("\nshdata check: OK")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import build, find_project, summary_table

    project = find_project()
    started = time.perf_counter()
    outcomes = build(project, notebooks=args.notebooks or None, langs=args.lang or None,
                     jobs=args.jobs, force=args.force, echo=lambda m: print(m, flush=True),
                     options={"dpi": args.dpi, "width": args.width,
                              "formats": args.formats.split(",") if args.formats else None})
    elapsed = time.perf_counter() - started
    print()
    print(summary_table(outcomes))
    failed = [o for o in outcomes if o.status == "failed"]
    built = sum(o.status == "built" for o in outcomes)
    print(f"\n{built} built, {sum(o.status == 'skipped' for o in outcomes)} up to date, {len(failed)} failed "
          f"in {elapsed:.1f} s. Figures: {project.figures}/<lang>/, manifest: {project.figures}/manifest.json, "
          f"HTML: {project.build}/html/")
    for o in failed:
        print(f"\nFAILED {o.run.notebook} ({o.run.lang}); executed notebook kept in "
              f"{project.build}/failed/{o.run.key}.ipynb; previous figures left untouched:\n{o.error}")
    site_ok = _site(project)  # last step: the static site, from whatever figures are in place
    return 1 if failed or not site_ok else 0


def _site(project, force: bool = False) -> bool:
    from .site import SiteError, build_site

    started = time.perf_counter()
    try:
        res = build_site(project, force=force)
    except SiteError as exc:
        print(f"shdata site: error: {exc}", file=sys.stderr)
        return False
    print(f"Site: {res.rendered} files rendered ({len(res.written)} changed), {res.unchanged} up to date, "
          f"{len(res.removed)} removed "
          f"in {time.perf_counter() - started:.2f} s: {res.folder}/index.html")
    return True


def _cmd_site(args: argparse.Namespace) -> int:
    from .build import find_project

    return 0 if _site(find_project(), force=args.force) else 1


def _cmd_cite(args: argparse.Namespace) -> int:
    from .cite import cite_figure, cite_report, cite_table
    from .manifest import load_manifest
    import shdata

    source = shdata._pkg().source
    given = [name for name, v in (("a FIGURE_ID", args.figure_id), ("--table", args.table), ("--report", args.report)) if v]
    if len(given) > 1:
        raise ShdataError(f"give one of a FIGURE_ID, --table ID or --report, not {' and '.join(given)}")
    if args.report:
        print(cite_report(args.format, section=args.section, source=source, lang=args.lang))
        return 0
    if args.table:
        print(cite_table(shdata.metadata(args.table), args.format, lang=args.lang, source=source))
        return 0
    if not args.figure_id:
        raise ShdataError("give a FIGURE_ID (see figures/manifest.json), --table TABLE_ID or --report")
    if args.manifest:
        path = Path(args.manifest)
    else:
        from .build import find_project

        path = find_project().figures / "manifest.json"
    figures = {e["id"]: e for e in load_manifest(path).get("figures", [])}
    if args.figure_id not in figures:
        raise ShdataError(f"unknown figure id {args.figure_id!r}{did_you_mean(args.figure_id, figures)} "
                          f"({len(figures)} figures in {path})")
    print(cite_figure(figures[args.figure_id], args.format, lang=args.lang, source=source))
    return 0


def _cmd_rehash(args: argparse.Namespace) -> int:
    from .package import Package

    changed = Package(verify_hashes=False).rehash()
    print(f"Recorded sha256 of every data file; changed: {', '.join(changed) or 'none'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shdata",
        description="Tables, checks and figures from the Shanghai Science and Technology Progress Report 2023.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="list every table (the catalog)")
    p.add_argument("--topic", choices=["funding", "talent", "rankings", "yangtze_delta", "outputs"])
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", help="show one table with its metadata and notes")
    p.add_argument("table_id")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("check", help="validate every table and run every consistency check")
    p.add_argument("table_ids", nargs="*", metavar="TABLE_ID")
    p.add_argument("-v", "--verbose", action="store_true", help="list passing checks too")
    p.add_argument("--all-notes", action="store_true", help="print every data note")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("build", help="run every notebook in every language: figures, manifest, HTML")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="notebook names (default: all)")
    p.add_argument("--lang", action="append", choices=["en", "zh"], help="only this language (repeatable)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="parallel runs (default: number of cores)")
    p.add_argument("--force", action="store_true", help="rebuild even what is up to date")
    p.add_argument("--dpi", type=int, help="PNG resolution for every run (default 300)")
    p.add_argument("--width", help="column width for every run: single, onehalf, double or mm (default double)")
    p.add_argument("--formats", help="comma-separated formats for every run (default png,svg,pdf)")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("cite", help="print a citation for a figure, a table, or the report")
    p.add_argument("figure_id", nargs="?", metavar="FIGURE_ID")
    p.add_argument("--format", choices=["text", "bibtex", "ris", "csl-json", "gbt7714", "apa"], default="text")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the citation (GB/T 7714 in Chinese "
                   "for zh); BibTeX is English")
    p.add_argument("--table", metavar="TABLE_ID", help="cite a table of the data package")
    p.add_argument("--report", action="store_true", help="cite the report alone")
    p.add_argument("--section", help="with --report: the section, e.g. §2.1")
    p.add_argument("--manifest", help="figure manifest to read (default: figures/manifest.json)")
    p.set_defaults(func=_cmd_cite)

    p = sub.add_parser("site", help="build the static site (figure and table pages, citations) in build/site/")
    p.add_argument("--force", action="store_true", help="render every page even if it is up to date")
    p.set_defaults(func=_cmd_site)

    p = sub.add_parser("rehash", help="(maintainers) record the sha256 of edited data files")
    p.set_defaults(func=_cmd_rehash)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ShdataError as exc:
        print(f"shdata: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shdata: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `shdata list | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
