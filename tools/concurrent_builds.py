#!/usr/bin/env python3
"""Run pairs of concurrent ``shdata build --force`` in one project folder and check nothing is lost.

Works on a temporary copy of the project (data, lock file, pyproject and the
chosen notebooks), never on the checkout itself. After a reference build, each
pair starts two forced builds at once; afterwards both must have exited 0 (the
second waits for the first, and says so), ``figures/`` must be byte-identical to
the reference, and no temporary or staging file may be left anywhere. Every
third pair runs its second build with ``--no-wait``, which must instead exit 2
with one line naming the running build, or succeed if it got the lock first.

Usage::

    .venv/bin/python tools/concurrent_builds.py [--pairs 20] [--notebooks talent] [--keep]

Exit status 0 when every pair passed, 1 otherwise (the first failure is printed).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = ["--jobs", "2", "--formats", "png,pdf", "--dpi", "100"]


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(project: Path) -> list[str]:
    temps = [p for p in project.rglob("*.tmp")]
    staging = project / "build" / "staging"
    temps += list(staging.glob("*")) if staging.exists() else []
    return [str(p.relative_to(project)) for p in temps]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--notebooks", default="talent", help="comma-separated notebooks to copy (default: talent)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="shdata-concurrent-"))
    project = tmp / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copytree(ROOT / "data", project / "data")
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, project / name)
    for nb in args.notebooks.split(","):
        shutil.copy(ROOT / "notebooks" / f"{nb}.ipynb", project / "notebooks" / f"{nb}.ipynb")
    cmd = [sys.executable, "-m", "shdata.cli", "build", *OPTIONS]
    started = time.perf_counter()
    try:
        ref = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
        if ref.returncode != 0:
            print(f"reference build failed:\n{ref.stdout}\n{ref.stderr}")
            return 1
        reference = snapshot(project / "figures")
        print(f"reference build: {len(reference)} files in figures/ ({project})", flush=True)
        for i in range(1, args.pairs + 1):
            no_wait = i % 3 == 0
            second = [*cmd, "--force"] + (["--no-wait"] if no_wait else [])
            procs = [
                subprocess.Popen(
                    [*cmd, "--force"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                ),
                subprocess.Popen(second, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            ]
            outs = [p.communicate() for p in procs]
            problems = []
            for n, (p, (out, err)) in enumerate(zip(procs, outs, strict=True)):
                refused = (
                    n == 1
                    and no_wait
                    and p.returncode == 2
                    and len(err.strip().splitlines()) == 1
                    and "another shdata build is running" in err
                )
                if p.returncode != 0 and not refused:
                    problems.append(f"build {n + 1} exited {p.returncode}:\n{out}\n{err}")
            waited = sum("Waiting for the shdata build already running" in out for out, _ in outs)
            after = snapshot(project / "figures")
            if after != reference:
                lost = sorted(set(reference) - set(after))
                changed = sorted(k for k in reference if k in after and after[k] != reference[k])
                extra = sorted(set(after) - set(reference))
                problems.append(f"figures/ differ: lost {lost}, changed {changed}, extra {extra}")
            left = leftovers(project)
            if left:
                problems.append(f"left behind: {left}")
            how = "second refused (--no-wait)" if any(p.returncode == 2 for p in procs) else f"{waited} waited"
            print(f"pair {i:2}/{args.pairs}: {'FAIL' if problems else 'ok'} ({how})", flush=True)
            if problems:
                print("\n".join(problems))
                return 1
        print(
            f"{args.pairs} pairs of concurrent forced builds: no figure lost or changed, no temporary "
            f"file left ({time.perf_counter() - started:.0f} s)"
        )
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
