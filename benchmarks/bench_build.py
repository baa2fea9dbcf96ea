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

Run: ``.venv/bin/python benchmarks/bench_build.py [--with-nbconvert]``. Prints a
Markdown table with ratios against (b).
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

    results = {}
    t = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "shdata"), "build", "--force"], cwd=proj, check=True, capture_output=True, text=True
    )
    results["a"] = time.perf_counter() - t
    site = re.search(r"^Site: .* in ([0-9.]+) s", done.stdout, flags=re.M)
    results["a2"] = results["a"] - (float(site.group(1)) if site else 0.0)

    out = work / "papermill"
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
    results["b"] = time.perf_counter() - t

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
