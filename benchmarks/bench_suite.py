"""Benchmark: the whole test suite (``python3 dev.py test``) on a fresh clone, and what it cost the machine.

Each round times ``python3 dev.py test`` on a fresh clone whose ``.venv`` is already
set up (setup is not timed), as the README asks, and records in the same run what the
whole machine spent meanwhile (Linux ``/proc/stat``): the busy CPU-seconds, how busy
the cores were (busy CPU-seconds over wall time times cores), and how many processes
were started. The suite is bound by CPU, so its time is about its CPU-seconds over the
cores. On the shared virtual machine we develop on, the same work costs more
CPU-seconds when the host is busy (up to a fifth more within the hour): the busy
CPU-seconds of a round show how fast the machine was, and rounds at several hours show
the spread a user will see.

Run (from the project root, with nothing else running)::

    .venv/bin/python benchmarks/bench_suite.py [--rounds N] [--rev REV]

``--rev`` is the commit to clone (default ``HEAD``); uncommitted changes are not measured.
Prints one Markdown row per round, then the table.
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


def machine_counters() -> tuple[float, int] | None:
    """Busy CPU-seconds since boot (user, nice, system, irq, softirq) and processes started, or None."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in lines[0].split()[1:8])
    forks = next(int(line.split()[1]) for line in lines if line.startswith("processes "))
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"), forks


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
        rows = []
        for _ in range(args.rounds):
            when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            c0, t0 = machine_counters(), time.perf_counter()
            done = subprocess.run([sys.executable, "dev.py", "test"], cwd=clone, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            c1 = machine_counters()
            summary = next(
                (m[0] for m in re.finditer(r"\d+ passed.*? in [\d.]+s", done.stdout)), f"exit {done.returncode}"
            )
            if c0 is not None and c1 is not None:
                cpu, forks = c1[0] - c0[0], c1[1] - c0[1]
                cost = f"{cpu:.0f} | {100 * cpu / (wall * cores):.0f} % | {forks}"
            else:
                cost = "n/a | n/a | n/a"
            rows.append(f"| {when} | {rev} | {wall:.1f} | {cost} | {summary} |")
            print(rows[-1], file=sys.stderr, flush=True)
            if done.returncode != 0:
                print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
                return 1
        print(f"\n{cores} cores.\n")
        print("| started | commit | suite (s) | busy CPU (s) | cores busy | processes started | pytest |")
        print("|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
