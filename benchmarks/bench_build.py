"""Benchmark: `shdata build` against the usual ways of running the notebooks.

In one run, on a temporary copy of the project, for every notebook in both
languages (the same notebooks and parameters each time):

a) ``shdata build --force``: parallel (default jobs = cores), both figure variants
   (journal and standalone), HTML renderings, notebook sync, contact sheets and the
   static site; the site's share is read from the build's own report and shown too;
b) a plain sequential loop of the ``papermill`` CLI (the usual way), journal
   variant only (the notebooks' default);
c) ``jupyter nbconvert --execute`` on copies whose parameters cell was edited
   (only with ``--with-nbconvert``: it adds minutes and is not the reference);
d) a no-op ``shdata build`` (nothing changed).

Run: ``.venv/bin/python benchmarks/bench_build.py [--rounds N] [--with-nbconvert]``.
Prints a Markdown table with ratios against (b); with ``--rounds N``, (a) and (b)
alternate N times, every round's ratios are printed and the table shows the
median round (by the ratio of (a) to (b)).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Rounds of (a) and (b): ``--rounds N`` (default 1).
ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 1
BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="shdata-bench-"))
    proj = work / "project"
    proj.mkdir()
    for name in ("data", "notebooks"):
        shutil.copytree(ROOT / name, proj / name)
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, proj / name)
    notebooks = sorted(p.stem for p in (proj / "notebooks").glob("*.ipynb"))
    langs = ("en", "zh")
    env = {**os.environ, "SHDATA_DATA_DIR": str(proj / "data")}

    def build_force() -> tuple[float, float]:
        # Cold each time: the site, the build's state and its timings from the round before go.
        for name in ("build", "figures"):
            shutil.rmtree(proj / name, ignore_errors=True)
        t = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "shdata"), "build", "--force"], cwd=proj, check=True, capture_output=True, text=True
        )
        a = time.perf_counter() - t
        site = re.search(r"^Site: .* in ([0-9.]+) s", done.stdout, flags=re.M)
        return a, a - (float(site.group(1)) if site else 0.0)

    def papermill_loop() -> float:
        out = work / "papermill"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        t = time.perf_counter()
        for nb in notebooks:
            for lang in langs:
                subprocess.run(
                    [
                        str(BIN / "papermill"),
                        "--log-level",
                        "ERROR",
                        f"notebooks/{nb}.ipynb",
                        str(out / f"{nb}-{lang}.ipynb"),
                        "-p",
                        "lang",
                        lang,
                        "-p",
                        "output_dir",
                        str(out / "figures"),
                    ],
                    cwd=proj,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
        return time.perf_counter() - t

    # (a) and (b) alternate, ROUNDS times: on a shared machine one round can be a few percent off;
    # every round's ratios are printed, and the table gives the median round's.
    rounds = []
    for _ in range(ROUNDS):
        a, a2 = build_force()
        rounds.append({"a": a, "a2": a2, "b": papermill_loop()})
    rounds.sort(key=lambda r: r["a"] / r["b"])
    results = dict(rounds[len(rounds) // 2])

    conv = work / "nbconvert"
    conv.mkdir()
    for nb in notebooks if "--with-nbconvert" in sys.argv else []:
        for lang in langs:
            data = json.loads((proj / "notebooks" / f"{nb}.ipynb").read_text(encoding="utf-8"))
            for cell in data["cells"]:
                if "parameters" in cell.get("metadata", {}).get("tags", []):
                    src = "".join(cell["source"]).replace('lang: str = "en"', f'lang: str = "{lang}"')
                    src = src.replace('output_dir: str = "figures"', f'output_dir: str = "{conv / "figures"}"')
                    cell["source"] = src
            (conv / f"{nb}-{lang}.ipynb").write_text(json.dumps(data), encoding="utf-8")
    t = time.perf_counter()
    for nb in notebooks if "--with-nbconvert" in sys.argv else []:
        for lang in langs:
            subprocess.run(
                [
                    str(BIN / "jupyter"),
                    "nbconvert",
                    "--to",
                    "notebook",
                    "--execute",
                    str(conv / f"{nb}-{lang}.ipynb"),
                    "--output",
                    f"{nb}-{lang}.out.ipynb",
                ],
                cwd=proj,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
    results["c"] = time.perf_counter() - t

    noop = [timed([str(BIN / "shdata"), "build"], proj) for _ in range(5)]
    results["d"] = sorted(noop)[len(noop) // 2]

    ref = results["b"]
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}, Python "
        f"{platform.python_version()}; {len(notebooks)} notebooks x {len(langs)} languages = "
        f"{len(notebooks) * len(langs)} runs.\n"
    )
    if ROUNDS > 1:
        for i, r in enumerate(rounds, 1):
            print(
                f"round (sorted) {i}: a {r['a']:.2f} s, a2 {r['a2']:.2f} s, b {r['b']:.2f} s; "
                f"a/b {r['a'] / r['b']:.2f}, a2/b {r['a2'] / r['b']:.2f}"
            )
        print(f"\nThe median of {ROUNDS} rounds by a/b:\n")
    print("| way | seconds | ratio to the papermill loop |")
    print("|---|---:|---:|")
    names = {
        "a": "`shdata build --force`: both variants, HTML, sync, contact sheets, site",
        "a2": "the same without the site step",
        "b": "sequential `papermill` CLI loop, journal variant (reference)",
        "c": "sequential `jupyter nbconvert --execute`",
        "d": "no-op `shdata build` (median of 5)",
    }
    for k in ("a", "a2", "b", "c", "d"):
        if k == "c" and "--with-nbconvert" not in sys.argv:
            continue
        print(f"| ({k}) {names[k]} | {results[k]:.2f} | {results[k] / ref:.2f}× |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
