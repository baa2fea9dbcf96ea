"""`shdata new`: a notebook scaffold that builds, passes nbval and joins the manifest."""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shdata import notebook, scaffold
from shdata.cli import main

from .buildkit import copy_data
from .conftest import PYTEST_QUICK, ROOT

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _params_cell(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "".join(next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_declares_the_parameters_from_one_place(path):
    assert _params_cell(path) == scaffold.parameters_source(), (
        f"{path.name}: its parameters cell differs from shdata.scaffold.parameters_source()"
    )


def test_the_parameters_are_the_ones_validate_checks():
    declared = [
        n
        for n, p in inspect.signature(notebook.validate).parameters.items()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    assert [p[0] for p in scaffold.parameters()] == declared


def _project(root: Path, tables: set[str] | None = None) -> Path:
    """A project with no notebook at ``root``: the package files and a copy of the data package,
    or, given ``tables``, of the part of it that holds just those tables (see buildkit.copy_data)."""
    (root / "notebooks").mkdir(parents=True)
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, root / name)
    copy_data(root / "data", tables)
    return root


@pytest.fixture
def empty_project(tmp_path, monkeypatch) -> Path:
    """A project with the whole data package and no notebook, the current folder."""
    root = _project(tmp_path / "proj")
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize(
    "args,message",
    [
        (["new", "My-Notebook"], "notebook name 'My-Notebook' is not allowed; use 2-41 lower-case letters"),
        (["new", "class"], "notebook name 'class' is not allowed"),
        (["new", "taken"], "notebooks/taken.ipynb already exists; choose another name"),
        (["new", "fresh", "--table", "nsfc_project"], "unknown table id 'nsfc_project'; did you mean"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(empty_project, capsys, args, message):
    (empty_project / "notebooks" / "taken.ipynb").write_text("{}", encoding="utf-8")
    before = sorted(p.name for p in (empty_project / "notebooks").iterdir())
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in (empty_project / "notebooks").iterdir()) == before
    assert not (empty_project / "figures").exists()


def _kind_of_example(meta) -> tuple:
    """What decides the example's code: the table's shape, whether it has levels, printed totals."""
    import shdata

    names = {f["name"] for f in meta.fields}
    levels = meta.shape == "indicator" and bool((shdata.load(meta.id)["kind"] == "level").any())
    return meta.shape, levels, "row_type" in names


def _only_places(meta) -> bool:
    """Whether every value the table holds is a place in a ranking (a rank or a change of rank)."""
    import shdata
    from shdata.schema import PLACE_KINDS

    if meta.shape == "indicator":
        return set(shdata.load(meta.id)["kind"]) <= PLACE_KINDS
    kinds = {f["name"]: f.get("shdata:kind") for f in meta.fields}
    return all(kinds[f] in PLACE_KINDS for f in meta.value_fields)


def test_the_example_draws_each_kind_of_table_and_refuses_tables_without_numbers(tmp_path):
    """Every table gets example code or a one-line refusal (no numbers to draw, or only ranks); one
    table of each kind is drawn in both languages and both variants (in-process, no kernel, small
    PNGs), passing the figure linter, and its texts pass the text audit (number provenance, caveats,
    parity, prose)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import shdata
    from shdata import text

    drawn: dict[tuple, str] = {}
    refused: list[str] = []
    for tid in shdata._pkg().ids():
        meta = shdata.metadata(tid)
        if not meta.value_fields:
            with pytest.raises(scaffold.ScaffoldError, match=f"table '{tid}' has no label column and numeric"):
                scaffold.new_notebook("t", tid)
            continue
        if _only_places(meta):
            refused.append(tid)
            with pytest.raises(scaffold.ScaffoldError, match=f"table '{tid}' holds only ranks"):
                scaffold.new_notebook("t", tid)
            continue
        cells = [c for c in scaffold.new_notebook("t", tid)["cells"] if c["cell_type"] == "code"]
        for cell in cells:
            compile("".join(cell["source"]), tid, "exec")
        drawn.setdefault(_kind_of_example(meta), tid)
    assert len(drawn) >= 3
    assert "global_top100_innovation_centres" in refused and "overview_rankings" in refused, refused
    for tid in drawn.values():
        cells = [c for c in scaffold.new_notebook("t", tid)["cells"] if c["cell_type"] == "code"]
        fid = f"t-{tid.replace('_', '-')}"
        for lang in ("en", "zh"):
            ns: dict = {}
            exec("".join(cells[0]["source"]), ns)
            # as papermill injects them; shdata build asks for both variants
            ns.update(output_dir=str(tmp_path), formats=["png"], dpi=72, lang=lang, variant=["journal", "standalone"])
            try:
                for cell in cells[1:]:
                    exec("".join(cell["source"]), ns)
            finally:
                plt.close("all")
            for folder in (tmp_path / lang, tmp_path / lang / "standalone"):
                record = json.loads((folder / f"{fid}.json").read_text(encoding="utf-8"))
                assert record["provenance"]["sources"][0]["table"] == tid
                assert record["headline"] and record["alt"], (tid, lang)
            assert (tmp_path / lang / "standalone" / f"{fid}.png").is_file()
            assert (tmp_path / lang / f"{fid}.csv").is_file(), "publish(data=...) writes the values drawn"
            assert len(ns["values"]) >= 1
            if lang == "en" and len({v.base for v in ns["values"]}) == len(ns["values"]):
                assert "the largest is" in ns["commentary"]
            # The headline names the largest value without a verb that must agree with a label
            # ("Enterprises in the cultivation pool has ...") and, in Chinese, without "为" before
            # a qualifier ("为约43.4万份").
            assert ns["headline"].startswith("The largest value") if lang == "en" else "最大：" in ns["headline"]
    assert text.audit(tmp_path) == []


def test_new_notebook_builds_passes_nbval_and_joins_the_manifest(tmp_path):
    """``shdata new`` -> nbval -> ``shdata build``. The project holds only the table the notebook
    draws: the build ends with the static site, whose pages for the other hundred tables would
    take most of this test's time and are tested by tests/test_site.py."""
    import shdata

    table = next(t for t in shdata._pkg().ids() if shdata.metadata(t).shape == "measure")
    empty_project = _project(tmp_path / "proj", tables={table})
    assert shdata.Package(empty_project / "data").ids() == [table]
    env_cmd = [sys.executable, "-m", "shdata.cli"]
    done = subprocess.run(
        [*env_cmd, "new", "demo", "--table", table], cwd=empty_project, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Created notebooks/demo.ipynb" in done.stdout
    path = empty_project / "notebooks" / "demo.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    fid = f"demo-{table.replace('_', '-')}"
    assert any(f'src="../figures/en/{fid}.png"' in "".join(o["data"].get("text/html", "")) for o in outputs)
    text = "".join("".join(o["data"].get("text/markdown", "")) for o in outputs if "data" in o)
    assert "the largest is" in text and "Source:" in text
    assert (empty_project / "figures" / "en" / f"{fid}.png").is_file()

    nbval = subprocess.run(
        [
            *PYTEST_QUICK,
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--nbval",
            "notebooks/demo.ipynb",
            "-o",
            "addopts=",
            "-o",
            "testpaths=",
        ],
        cwd=empty_project,
        capture_output=True,
        text=True,
    )
    assert nbval.returncode == 0, nbval.stdout[-3000:]

    build = subprocess.run(
        [*env_cmd, "build", "demo", "--lang", "zh", "--jobs", "1", "--formats", "png"],
        cwd=empty_project,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    manifest = json.loads((empty_project / "figures" / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["figures"] if e["id"] == fid)
    # English from `shdata new` (and nbval), Chinese from the build
    assert entry["notebook"] == "demo" and set(entry["title"]) == {"en", "zh"}
