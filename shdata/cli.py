"""The ``shdata`` command line.

Every failure a user can cause prints one line, ``shdata: error: ...``, and
exits with status 2; ``shdata check`` exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import os
import signal
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
    with pd.option_context(
        "display.max_rows",
        1000,
        "display.width",
        250,
        "display.max_colwidth",
        70,
        "display.unicode.east_asian_width",
        False,
    ):
        print(cat[["id", "topic", "section", "rows", "title"]].to_string(index=False))
    print(f"\n{len(cat)} tables; `shdata show TABLE_ID` for one of them.")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    import shdata

    if args.trace:
        from .provenance import table_traces

        for t in table_traces(shdata._pkg(), args.table_id):
            print(t.line())
        return 0
    shdata.describe(args.table_id, lang=args.lang)
    derived = shdata.derived(args.table_id)
    if len(derived):
        print("\nDerived (computed by shdata, not printed in the report):")
        print(derived[["indicator", "value", "unit", "period", "method"]].to_string(index=False))
    return 0


def _cmd_trace(args: argparse.Namespace) -> int:
    import shdata

    t = shdata.trace(args.table_id, args.row, args.column)
    print(f"{t.table}/{t.row}/{t.column} = {t.value}")
    print(f"section   {t.section}")
    print(f"quote     {t.quote}")
    if t.rule:
        print(f"rule      {t.rule}: " + (f"{t.words}" if t.words else f"position {t.position} of the printed list"))
    print(f"offset    {t.offset} (character offset in data/source/, the report text)")
    print(f"sentence  {t.sentence}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    import shdata

    pkg = shdata._pkg()
    ids = args.table_ids or pkg.ids()
    results = shdata.check(ids)  # validates every row first; a bad cell raises
    print(f"Schema validation: {len(ids)} tables, all rows valid.")
    from .integrity import undescribed_files

    stray = undescribed_files(pkg)
    for rel in stray:
        print(
            f"  UNDESCRIBED      {rel}: no resource in datapackage.json describes this file; describe it or delete it"
        )
    bad = [r for r in results if not r.ok]
    expected = [r for r in results if r.status == "expected-fail"]
    for r in results:
        if r.status != "pass" or args.verbose:
            print(f"  {r.status.upper():16} {r.table}/{r.id}: {r.detail}")
    print(
        f"Consistency checks: {len(results)} run, {len(results) - len(bad) - len(expected)} pass, "
        f"{len(expected)} known discrepancies (documented), {len(bad)} failures."
    )
    from .provenance import check_provenance

    n_traced, untraced = check_provenance(pkg, ids)
    for line in untraced:
        print(f"  {'UNTRACED':16} {line}")
    print(f"Provenance: {n_traced} values checked against the quote printed at their offset, {len(untraced)} failures.")
    print("\nData notes:")
    n_notes = 0
    for tid in ids:
        for note in pkg.metadata(tid).notes:
            if args.all_notes or note.kind in ("discrepancy", "footnote", "extraction"):
                print(f"  [{note.kind}] {tid}/{note.id}: {note.text}")
            n_notes += 1
    if not args.all_notes:
        print(f"  ({n_notes} notes in all; `shdata check --all-notes` prints scope and qualifier notes too)")
    if bad or untraced:
        print(
            f"\nshdata check: FAILED: {len(bad)} check(s) disagree with the data"
            + "".join(f", {r.table}/{r.id}" for r in bad)
            + (f"; {len(untraced)} value(s) without valid provenance" if untraced else "")
        )
        return 1
    if stray:
        print(f"\nshdata check: FAILED: {len(stray)} data file(s) no resource describes: {', '.join(stray)}")
        return 1
    print("\nshdata check: OK")
    return 0


_stopping: list[int] = []  # the signal that stopped the build, once one has


def _stop_on_signal(signum, frame) -> None:
    """SIGTERM (``timeout``, ``kill``, CI) stops the build exactly as Ctrl-C does."""
    # Once: a second signal must not cut the clean-up short. A terminal's Ctrl-C under dev.py
    # arrives twice (the process group's, and the one dev.py passes on); the second can arrive
    # while this handler runs, and Python then runs the handler again inside this one, at its
    # first call. The list is tested and filled before any call, so that second run returns.
    if _stopping:
        return
    _stopping.append(signum)
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is _stop_on_signal:
            signal.signal(sig, signal.SIG_IGN)
    from .build import BuildInterrupted

    raise BuildInterrupted(signal.Signals(signum).name)


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import find_project

    project = find_project()
    options = {"dpi": args.dpi, "width": args.width, "formats": args.formats.split(",") if args.formats else None}
    if args.explain:
        from .build import explain

        for run, rebuild, reasons in explain(
            project, notebooks=args.notebooks or None, langs=args.lang or None, options=options, force=args.force
        ):
            print(f"{run.notebook} ({run.lang}): {'rebuild' if rebuild else 'skip'}: {'; '.join(reasons)}")
        return 0
    # The handlers are this build's: a second build in the same process (cli.main called twice,
    # as from a notebook or a test) starts with them fresh, and the caller gets its own back.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    _stopping.clear()
    signal.signal(signal.SIGTERM, _stop_on_signal)
    if previous[signal.SIGINT] is not signal.SIG_IGN:  # an ignored SIGINT (background job) stays so
        signal.signal(signal.SIGINT, _stop_on_signal)
    try:
        return _run_build(project, args, options)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_build(project, args: argparse.Namespace, options: dict) -> int:
    from .build import build, summary_table

    started = time.perf_counter()
    outcomes = build(
        project,
        notebooks=args.notebooks or None,
        langs=args.lang or None,
        jobs=args.jobs,
        force=args.force,
        echo=lambda m: print(m, flush=True),
        options=options,
        timeout=args.timeout,
        wait=not args.no_wait,
        keep_orphans=args.keep_orphans,
        sync=not args.no_sync,
    )
    elapsed = time.perf_counter() - started
    print()
    print(summary_table(outcomes))
    failed = [o for o in outcomes if o.status == "failed"]
    built = sum(o.status == "built" for o in outcomes)
    print(
        f"\n{built} built, {sum(o.status == 'skipped' for o in outcomes)} up to date, {len(failed)} failed "
        f"in {elapsed:.1f} s. Figures: {project.figures}/<lang>/, manifest: {project.figures}/manifest.json, "
        f"HTML: {project.build}/html/"
    )
    for o in failed:
        print(
            f"FAILED {o.run.notebook} ({o.run.lang}): {o.error} [full error: {o.log}; previous figures left untouched]"
        )
    # Last step: the static site, from whatever figures are in place.
    site_ok = _site(project, jobs=args.jobs)
    return 1 if failed or not site_ok else 0


def _site(project, force: bool = False, jobs: int | None = None) -> bool:
    """Bring the site up to date, rendering on ``jobs`` processes (default: the number of cores)."""
    from .site import SiteError, build_site

    jobs = jobs or os.cpu_count() or 1
    started = time.perf_counter()
    try:
        res = build_site(project, force=force, jobs=jobs)
    except SiteError as exc:
        print(f"shdata site: error: {exc}", file=sys.stderr)
        return False
    print(
        f"Site: {res.rendered} files rendered ({len(res.written)} changed), {res.unchanged} up to date, "
        f"{len(res.removed)} removed "
        f"in {time.perf_counter() - started:.2f} s: {res.folder}/index.html"
    )
    return True


def _cmd_site(args: argparse.Namespace) -> int:
    from .build import find_project

    if args.jobs is not None and args.jobs < 1:
        raise ShdataError(f"--jobs must be at least 1, got {args.jobs}")
    return 0 if _site(find_project(), force=args.force, jobs=args.jobs) else 1


def _cmd_cite(args: argparse.Namespace) -> int:
    import shdata

    from .cite import cite_figure, cite_report, cite_table
    from .manifest import load_manifest

    source = shdata._pkg().source
    given = [
        name for name, v in (("a FIGURE_ID", args.figure_id), ("--table", args.table), ("--report", args.report)) if v
    ]
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

        path = find_project(command="cite").figures / "manifest.json"
    figures = {e["id"]: e for e in load_manifest(path).get("figures", [])}
    if args.figure_id not in figures:
        raise ShdataError(
            f"unknown figure id {args.figure_id!r}{did_you_mean(args.figure_id, figures)} "
            f"({len(figures)} figures in {path})"
        )
    entry = figures[args.figure_id]
    variants = entry.get("variants", ["journal"])
    if args.variant not in variants:
        raise ShdataError(
            f"figure {args.figure_id!r} has no {args.variant} variant in {path} "
            f"(variants: {', '.join(variants)}); build it with `shdata build`"
        )
    print(cite_figure(entry, args.format, lang=args.lang, source=source, variant=args.variant))
    return 0


def _cmd_contact_sheet(args: argparse.Namespace) -> int:
    from .build import find_project
    from .contact_sheet import write_contact_sheet

    figures = Path(args.figures) if args.figures else find_project().figures
    for lang in args.lang or ["en", "zh"]:
        print(write_contact_sheet(figures, lang, args.variant))
    return 0


def _cmd_rehash(args: argparse.Namespace) -> int:
    from .integrity import checked_rehash

    changed = checked_rehash()
    print(f"Recorded sha256 of every data file; changed: {', '.join(changed) or 'none'}")
    return 0


def _project_root() -> Path:
    from .notebook import find_project_root

    root = find_project_root()
    if root is None:
        raise ShdataError(
            "no shdata project here (a folder with pyproject.toml and notebooks/); "
            "run this inside the shdata repository"
        )
    return root


def _cmd_diff(args: argparse.Namespace) -> int:
    from .diff import compare, summary

    root = _project_root()
    diffs = compare(root, args.rev)
    print(summary(diffs, args.rev))
    if diffs:
        print(f"\nBefore/after/difference images and data diffs: {root / 'build' / 'diff'}/")
    return 0


def _cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import create

    root = _project_root()
    path = create(root, args.name, args.table, run=not args.no_run)
    print(
        f"Created {path.relative_to(root)}; open it in JupyterLab, edit the example, then `shdata build {args.name}`."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .build import DEFAULT_TIMEOUT

    parser = argparse.ArgumentParser(
        prog="shdata",
        description="Tables, checks and figures from the Shanghai Science and Technology Progress Report 2023.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="list every table (the catalog)")
    p.add_argument("--topic", choices=["funding", "talent", "rankings", "yangtze_delta", "outputs"])
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", help="show one table with its metadata and notes")
    p.add_argument("table_id")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.add_argument("--trace", action="store_true", help="print each value beside the quote that prints it")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("trace", help="show where one value is printed in the report")
    p.add_argument("table_id", metavar="TABLE_ID")
    p.add_argument("row", metavar="ROW", help="indicator id, primary-key value or row label")
    p.add_argument("column", metavar="COLUMN", nargs="?", default="value", help="value column (default: value)")
    p.set_defaults(func=_cmd_trace)

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
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of each run; a slower run fails, the others go on (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="if another build is running in this project, exit at once instead of waiting",
    )
    p.add_argument(
        "--keep-orphans",
        action="store_true",
        help="keep files under figures/ that no notebook publishes any more (they are listed)",
    )
    p.add_argument(
        "--no-sync",
        action="store_true",
        help="do not write the English default run's outputs back into notebooks/*.ipynb",
    )
    p.add_argument(
        "--explain", action="store_true", help="print why each run would rebuild (or is up to date) and run nothing"
    )
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("cite", help="print a citation for a figure, a table, or the report")
    p.add_argument("figure_id", nargs="?", metavar="FIGURE_ID")
    p.add_argument("--format", choices=["text", "bibtex", "ris", "csl-json", "gbt7714", "apa"], default="text")
    p.add_argument(
        "--lang",
        choices=["en", "zh"],
        default="en",
        help="language of the citation (GB/T 7714 in Chinese for zh); BibTeX is English",
    )
    p.add_argument("--table", metavar="TABLE_ID", help="cite a table of the data package")
    p.add_argument("--report", action="store_true", help="cite the report alone")
    p.add_argument("--section", help="with --report: the section, e.g. §2.1")
    p.add_argument("--manifest", help="figure manifest to read (default: figures/manifest.json)")
    p.add_argument(
        "--variant",
        choices=["journal", "standalone"],
        default="journal",
        help="which variant of the figure (default journal)",
    )
    p.set_defaults(func=_cmd_cite)

    p = sub.add_parser("contact-sheet", help="all figures of a language on one page: figures/contact-sheet-<lang>.png")
    p.add_argument("--lang", action="append", choices=["en", "zh"], help="only this language (repeatable)")
    p.add_argument("--variant", choices=["journal", "standalone"], default="journal")
    p.add_argument("--figures", help="figures folder (default: the project's figures/)")
    p.set_defaults(func=_cmd_contact_sheet)

    p = sub.add_parser("diff", help="figures that differ from a git revision: side-by-side images, data diffs")
    p.add_argument("rev", nargs="?", default="HEAD", metavar="REV", help="git revision (default HEAD)")
    p.set_defaults(func=_cmd_diff)

    p = sub.add_parser("new", help="create notebooks/NAME.ipynb with one example figure")
    p.add_argument("name", metavar="NAME", help="notebook name: lower-case letters, digits, underscores")
    p.add_argument("--table", metavar="ID", help="table the example figure draws (default: the first table)")
    p.add_argument("--no-run", action="store_true", help="write the notebook without executing it")
    p.set_defaults(func=_cmd_new)

    p = sub.add_parser("site", help="build the static site (figure and table pages, citations) in build/site/")
    p.add_argument("--force", action="store_true", help="render every page even if it is up to date")
    p.add_argument("-j", "--jobs", type=int, default=None, help="processes rendering pages (default: number of cores)")
    p.set_defaults(func=_cmd_site)

    p = sub.add_parser("rehash", help="(maintainers) record the sha256 of edited data files")
    p.set_defaults(func=_cmd_rehash)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ._startup import skip_unused_optional_imports

    skip_unused_optional_imports()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ShdataError as exc:
        print(f"shdata: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        terminated = getattr(exc, "signal_name", "") == "SIGTERM"
        after = (
            ": notebooks stopped; finished runs are kept, the rest build next time" if args.command == "build" else ""
        )
        print(f"shdata: {'terminated (SIGTERM)' if terminated else 'interrupted'}{after}", file=sys.stderr)
        return 143 if terminated else 130
    except BrokenPipeError:  # `shdata list | head` (before OSError, of which it is one)
        return 0
    except OSError as exc:  # a folder that cannot be read or written, outside what shdata checks itself
        where = f": {exc.filename}" if exc.filename else ""
        print(f"shdata: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
