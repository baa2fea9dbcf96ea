#!/usr/bin/env python3
"""Run the whole test suite on a busy machine, as a background job, several times in a row.

Conditions reproduced: one CPU-bound process per core runs throughout, and the
suite is started the way a background job starts it (SIGINT ignored, no
terminal, stdin from /dev/null, its own session). Each pass must exit 0.

Usage (from the project root)::

    .venv/bin/python tools/stress_tests.py [--runs 3] [-- extra pytest arguments]

Prints the duration and the last lines of each pass, and exits 0 only if every
pass passed. The CPU burners are stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BURN = "while True:\n    pass\n"


def _background_job() -> None:
    """preexec_fn: what a shell does for `cmd &` without job control."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--burners",
        type=int,
        default=os.cpu_count() or 1,
        help="CPU-bound processes to run meanwhile (default: one per core)",
    )
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)

    python = sys.executable
    burners = [
        subprocess.Popen([python, "-c", BURN], stdin=subprocess.DEVNULL, start_new_session=True)
        for _ in range(args.burners)
    ]
    results = []
    try:
        for i in range(1, args.runs + 1):
            started = time.perf_counter()
            done = subprocess.run(
                [python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *args.pytest_args],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
                preexec_fn=_background_job,
            )
            seconds = time.perf_counter() - started
            tail = "\n".join(done.stdout.strip().splitlines()[-4:])
            results.append(done.returncode)
            print(
                f"pass {i}/{args.runs}: exit {done.returncode} in {seconds:.0f} s "
                f"with {len(burners)} CPU burners\n{tail}\n",
                flush=True,
            )
            if done.returncode != 0:
                log = ROOT / "build" / f"stress-pass-{i}.log"
                log.parent.mkdir(exist_ok=True)
                log.write_text(done.stdout, encoding="utf-8")
                print(f"full output of the failing pass: {log}", flush=True)
                break
    finally:
        for b in burners:
            b.kill()
            b.wait()
    ok = len(results) == args.runs and not any(results)
    print(f"stress: {'PASSED' if ok else 'FAILED'} ({sum(r == 0 for r in results)} of {args.runs} passes passed)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
