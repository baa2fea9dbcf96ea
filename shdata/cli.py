"""The ``shdata`` command line.

Every failure a user can cause prints one line, ``shdata: error: ...``, and
exits with status 2; ``shdata check`` exits 1 when a check fails.
"""
from __future__ import annotations

import argparse
import sys

from .errors import ShdataError


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

    from .package import Package

    pkg = Package()
    ids = args.table_ids or pkg.ids()
    for tid in ids:
        pkg.parsed(tid)
    print(f"Schema validation: {len(ids)} tables, all rows valid.")
    from .checks import run_checks

    results = run_checks(pkg, ids)
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
