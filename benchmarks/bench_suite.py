"""Benchmark: the whole test suite (``python3 dev.py test``) on a fresh clone, with the machine's speed.

The suite is bound by CPU (both cores of the 2-core development machine about 95 % busy),
so its time follows the speed the machine gives at that moment. On the shared virtual
machine we develop on, that speed drifts through the day by a fifth or more: the same
suite, the same code, took 2 min 40 s at one hour and 3 min 10 s twenty minutes later,
using 20 % more CPU-seconds for the same work. A time alone cannot say whether a change
made the suite slower or the machine was slower. So each round times, in one run:

a) the calibration: a fixed workload of pure Python (the kind of work the suite does)
   run as one process per core at once, before and after the suite; its time is the
   machine's speed at that moment, and the same on every machine state of equal speed;
b) ``python3 dev.py test`` on a fresh clone whose ``.venv`` is already set up (setup is
   not timed), as the README asks: the wall time, the CPU-seconds the whole machine
   spent meanwhile (from /proc/stat, Linux only) and pytest's summary line.

It prints a Markdown table, one row per round: the suite's time, the calibration's, and
their ratio, which moves with the suite's own cost and not with the machine's speed.

Run (from the project root, with nothing else running)::

    .venv/bin/python benchmarks/bench_suite.py [--rounds N] [--rev REV]

``--rev`` is the commit to clone (default ``HEAD``); uncommitted changes are not measured.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The calibration: a fixed amount of interpreted work (about 2 s on the development machine).
CALIBRATION = (
    "import zlib\n"
    "d = {}\n"
    "for i in range(3_000_000):\n"
    "    d[i % 1009] = d.get(i % 1009, 0) + len(str(i))\n"
    "zlib.compress(repr(d).encode() * 2000, 6)\n"
)


def calibrate(python: str, processes: int) -> float:
    """Seconds for ``processes`` copies of :data:`CALIBRATION` run at once (one per core)."""
    start = time.perf_counter()
    procs = [subprocess.Popen([python, "-c", CALIBRATION]) for _ in range(processes)]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("bench_suite: the calibration workload failed")
    return time.perf_counter() - start


def busy_cpu_seconds() -> float | None:
    """CPU-seconds the machine has spent busy since boot (user, nice, system, irq, softirq), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--rev", default="HEAD")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    rev = subprocess.run(
        ["git", "rev-parse", "--short", args.rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="shdata-bench-suite-"))
    clone = work / "shdata"
    try:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "--quiet", rev], cwd=clone, check=True)
        print(f"setting up .venv in a fresh clone of {rev} (not timed)...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "dev.py", "setup"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
        python = str(clone / ".venv" / "bin" / "python")
        rows = []
        for _ in range(args.rounds):
            when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            before = calibrate(python, cores)
            cpu0, t0 = busy_cpu_seconds(), time.perf_counter()
            done = subprocess.run(
                [sys.executable, "dev.py", "test"], cwd=clone, capture_output=True, text=True, env={**os.environ}
            )
            wall = time.perf_counter() - t0
            cpu1 = busy_cpu_seconds()
            after = calibrate(python, cores)
            summary = next(
                (m[0] for m in re.finditer(r"\d+ passed.*? in [\d.]+s", done.stdout)), f"exit {done.returncode}"
            )
            cal = (before + after) / 2
            cpu = f"{cpu1 - cpu0:.0f}" if cpu0 is not None and cpu1 is not None else "n/a"
            rows.append(
                f"| {when} | {rev} | {wall:.1f} | {cpu} | {before:.2f} / {after:.2f} | {wall / cal:.1f} | {summary} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
            if done.returncode != 0:
                print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
                return 1
        print(f"\n{cores} cores; calibration: {cores} copies of a fixed pure-Python workload at once.\n")
        print(
            "| started | commit | suite (s) | busy CPU (s) | calibration before / after (s) "
            "| suite ÷ calibration | pytest |"
        )
        print("|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
