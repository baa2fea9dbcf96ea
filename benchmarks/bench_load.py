"""Benchmark: import cost of shdata and the time to load every table.

Compares, in one run and on the same machine:

* ``import shdata`` against ``import pandas`` (the usual way's first step);
* ``shdata.load`` of every table (validated, typed, with metadata; first and
  cached) against plain ``pandas.read_csv`` of the same files (no validation);
* ``shdata check`` (every schema rule and consistency check) on its own;
* the provenance check of every value and a first ``shdata.trace`` (provenance is read
  only when asked for, so loading does not pay for it);
* ``frictionless validate`` of the whole package (the standard validator).

Run: ``.venv/bin/python benchmarks/bench_load.py``. Prints a Markdown table.
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
REPEAT = 7


def _import_time(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(REPEAT)
    ]
    return statistics.median(runs)


def _timed(fn) -> float:
    runs = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    import pandas as pd

    import shdata
    from shdata.checks import run_checks
    from shdata.package import Package
    from shdata.provenance import check_provenance

    ids = Package(DATA).ids()
    files = [DATA / Package(DATA).metadata(t).path for t in ids]

    def load_cold():
        pkg = Package(DATA)
        for t in ids:
            pkg.load(t)

    warm_pkg = Package(DATA)
    for t in ids:
        warm_pkg.parsed(t)

    def load_warm():
        for t in ids:
            warm_pkg.load(t)

    def read_csv_all():
        for f in files:
            pd.read_csv(f)

    def check_all():
        pkg = Package(DATA)
        for t in ids:
            pkg.parsed(t)
        run_checks(pkg)

    def provenance_all():
        pkg = Package(DATA)  # reads provenance.json and the report text, checks every quote
        return check_provenance(pkg)[0]

    def trace_one():
        shdata._default = None  # a fresh package: the provenance file is read on this first trace
        shdata.trace("nsfc_projects_by_programme", "Total", "amount")

    def frictionless_all():
        import frictionless

        report = frictionless.validate(str(DATA / "datapackage.json"))
        assert report.valid

    rows = [
        ("import pandas (reference)", _import_time("pandas")),
        ("import shdata", _import_time("shdata")),
        (f"pandas.read_csv, all {len(ids)} tables (reference)", _timed(read_csv_all)),
        (f"shdata.load, all {len(ids)} tables, cold (validate + hash)", _timed(load_cold)),
        (f"shdata.load, all {len(ids)} tables, cached", _timed(load_warm)),
        ("shdata check (validation + all consistency checks)", _timed(check_all)),
        (f"provenance check, all {provenance_all()} values (quote at offset, value, label)", _timed(provenance_all)),
        ("shdata.trace, first call (reads provenance.json)", _timed(trace_one)),
        ("frictionless validate datapackage.json (reference)", _timed(frictionless_all)),
    ]
    ref = rows[2][1]
    print(
        f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}, "
        f"pandas {pd.__version__}, shdata {shdata.__version__}; median of {REPEAT} runs.\n"
    )
    print("| operation | seconds | ratio to read_csv of all tables |")
    print("|---|---:|---:|")
    for name, secs in rows:
        print(f"| {name} | {secs:.4f} | {secs / ref:.2f}× |")


if __name__ == "__main__":
    main()
