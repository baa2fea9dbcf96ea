"""Helpers for the site tests: a temporary project with the committed figures,
the data, and small executed notebooks, and its site built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from .conftest import ROOT

STAGING_SUFFIX = "build/staging/{key}/figures"


def executed_notebook(root: Path, lang: str) -> nbformat.NotebookNode:
    """A small notebook as `shdata build` leaves it: injected parameters naming the
    staging folder by its absolute path, narrative cells tagged by language, an
    output that prints the project path."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('lang: str = "en"\noutput_dir: str = "figures"')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell(
        f'# Parameters\nlang = "{lang}"\noutput_dir = "{root / STAGING_SUFFIX.format(key="funding-" + lang)}"\n'
    )
    injected.metadata["tags"] = ["injected-parameters"]
    en = nbformat.v4.new_markdown_cell("## Funding, told in English")
    en.metadata["tags"] = ["lang-en"]
    zh = nbformat.v4.new_markdown_cell("## 科技投入（中文叙述）")
    zh.metadata["tags"] = ["lang-zh"]
    both = nbformat.v4.new_markdown_cell("Shared cell: `shdata` 0.1")
    code = nbformat.v4.new_code_cell("print(P.output_dir)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{root}/figures/{lang}\n")]
    code.execution_count = 1
    # A figure preview as publish() leaves it: shown from the staging folder, which the build
    # removes once the run is published.
    staged = root / STAGING_SUFFIX.format(key="funding-" + lang) / lang / "funding-unicorns.png"
    shown = nbformat.v4.new_code_cell("P.publish(fig, 'funding-unicorns')")
    shown.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": f'<img src="{staged}" alt="Unicorns" width="692">', "text/plain": "preview"},
            metadata={
                "shdata": {
                    "figure": "funding-unicorns",
                    "file": f"{lang}/funding-unicorns.png",
                    "alt": "Unicorns",
                    "width_px": 692,
                }
            },
        )
    ]
    shown.execution_count = 2
    nb.cells = [nbformat.v4.new_markdown_cell("# Funding"), params, injected, en, zh, both, code, shown]
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i}"
    return nb


def make_project(dest: Path) -> Path:
    """Copy what the site reads into ``dest``: data, figures, notebooks, pyproject."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("data", "figures", "notebooks"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "build" / "notebooks").mkdir(parents=True)
    for lang in ("en", "zh"):
        nbformat.write(executed_notebook(dest, lang), dest / "build" / "notebooks" / f"funding-{lang}.ipynb")
    return dest


def copy_built(src: Path, dest: Path) -> Path:
    """A private copy of a built project (to change and rebuild)."""
    shutil.copytree(src, dest, symlinks=True)
    for lang in ("en", "zh"):  # as if executed here: the notebooks name their own project folder
        nbformat.write(executed_notebook(dest, lang), dest / "build" / "notebooks" / f"funding-{lang}.ipynb")
    return dest


def cite_cli(root: Path, fmt: str, *args: str) -> str:
    """What ``shdata cite ... --format FMT`` prints for the project at ``root`` (its manifest and data).

    The command's own entry point (:func:`shdata.cli.main`) runs in this process, with
    ``SHDATA_DATA_DIR`` set for it as the command would be given it: a process per citation
    would cost more than the citation, and tests/test_cite.py checks that the command run as a
    process prints what the API gives.
    """
    import contextlib
    import io
    import os
    from unittest import mock

    from shdata import cli

    printed = io.StringIO()
    with mock.patch.dict(os.environ, {"SHDATA_DATA_DIR": str(root / "data")}), contextlib.redirect_stdout(printed):
        code = cli.main(["cite", *args, "--format", fmt, "--manifest", str(root / "figures" / "manifest.json")])
    assert code == 0, f"shdata cite {' '.join(args)} --format {fmt} exited {code}"
    return printed.getvalue()
