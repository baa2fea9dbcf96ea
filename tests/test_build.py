"""`shdata build` and `shdata cite` as a researcher uses them, on a temporary
copy of the project with a small extra notebook (so the tests stay quick)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from .conftest import ROOT

SHDATA = [sys.executable, "-m", "shdata.cli"]

MINI_CODE = '''
import shdata
from shdata import fmt, notebook, style

P = notebook.setup(globals(), notebook="mini")
t = shdata.value("yrd_technology_trade", "total_trade")
fig, ax = P.figure(height=0.3)
ax.bar([P.label(t)[:12]], [float(t)], color=style.BASE)
P.publish(fig, "mini-trade", sources=["yrd_technology_trade"], title=P.t("Trade", "交易"),
          caption=P.t("Caption.", "说明。"), commentary=fmt.quantity(t, P.lang))
'''


def _mini_notebook(path: Path, extra: str = "") -> None:
    params = (ROOT / "notebooks" / "talent.ipynb")
    nb = nbformat.read(params, as_version=4)
    pcell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    new = nbformat.v4.new_notebook()
    new.metadata = nb.metadata
    new.cells = [nbformat.v4.new_markdown_cell("# mini"), pcell, nbformat.v4.new_code_cell(MINI_CODE + extra)]
    for i, c in enumerate(new.cells):
        c["id"] = f"c{i}"
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbformat.write(new, path)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project: data, lock, pyproject, and only the mini notebook."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "data", root / "data")
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, root / name)
    (root / "notebooks").mkdir()
    _mini_notebook(root / "notebooks" / "mini.ipynb")
    return root


def build(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SHDATA, "build", "--jobs", "2", "--formats", "png,pdf", "--dpi", "100", *args],
                          cwd=project, capture_output=True, text=True)


def statuses(done: subprocess.CompletedProcess) -> dict[str, str]:
    out = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[2] in ("built", "skipped", "failed"):
            out[f"{parts[0]}-{parts[1]}"] = parts[2]
    return out


def rehash(project: Path) -> None:
    from shdata.package import Package

    Package(project / "data", verify_hashes=False).rehash()


def test_build_then_noop_then_rebuild_on_each_kind_of_change(project):
    done = build(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert statuses(done) == {"mini-en": "built", "mini-zh": "built"}
    for lang in ("en", "zh"):
        for ext in ("png", "pdf", "json"):
            assert (project / "figures" / lang / f"mini-trade.{ext}").exists()
    assert (project / "build" / "html" / "mini-en.html").exists()
    assert (project / "build" / "notebooks" / "mini-zh.ipynb").exists()
    manifest = json.loads((project / "figures" / "manifest.json").read_text(encoding="utf-8"))
    assert [f["id"] for f in manifest["figures"]] == ["mini-trade"]

    # nothing changed: everything skipped
    assert set(statuses(build(project)).values()) == {"skipped"}

    # a data file the notebook does not read: still skipped
    p = project / "data" / "patents.csv"
    p.write_text(p.read_text(encoding="utf-8").replace(",6185,", ",6186,"), encoding="utf-8")
    rehash(project)
    assert set(statuses(build(project)).values()) == {"skipped"}

    # a data file it reads: rebuilt, and the new value reaches the commentary
    p = project / "data" / "yrd_technology_trade.csv"
    p.write_text(p.read_text(encoding="utf-8").replace(",1491,", ",1492,"), encoding="utf-8")
    rehash(project)
    assert set(statuses(build(project)).values()) == {"built"}
    executed = (project / "build" / "notebooks" / "mini-zh.ipynb").read_text(encoding="utf-8")
    assert "1492亿元" in executed

    # a parameter: rebuilt; and back again
    assert set(statuses(build(project, "--dpi", "120")).values()) == {"built"}
    assert set(statuses(build(project)).values()) == {"built"}

    # the notebook's code: only that change matters, not its outputs
    nb_path = project / "notebooks" / "mini.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A note the researcher added."))
    nb.cells[-1]["id"] = "added"
    nbformat.write(nb, nb_path)
    assert set(statuses(build(project, "--lang", "en")).values()) == {"built"}

    # an output file modified by hand: that run is rebuilt
    (project / "figures" / "zh" / "mini-trade.png").write_bytes(b"not a png")
    assert statuses(build(project)) == {"mini-en": "skipped", "mini-zh": "built"}

    # --force rebuilds everything
    assert set(statuses(build(project, "--force")).values()) == {"built"}


def test_manifest_is_rewritten_byte_identically(project):
    assert build(project).returncode == 0
    before = {n: (project / "figures" / n).read_bytes() for n in ("manifest.json", "manifest.csv")}
    assert build(project, "--force").returncode == 0
    for n, data in before.items():
        assert (project / "figures" / n).read_bytes() == data, n
    m = json.loads(before["manifest.json"])
    fig = m["figures"][0]
    assert set(fig["title"]) == {"en", "zh"} and fig["sections"] == ["§8.2"]
    assert all(len(f["sha256"]) == 64 for f in fig["files"])
    assert "timestamp" not in before["manifest.json"].decode() and "seconds" not in before["manifest.json"].decode()


def test_failing_notebook_keeps_previous_figures_and_others_still_build(project, tmp_path):
    assert build(project).returncode == 0
    good = {p.name: p.read_bytes() for p in (project / "figures" / "en").iterdir()}
    manifest = (project / "figures" / "manifest.json").read_bytes()
    # a second notebook that works, and the mini notebook broken after it publishes
    _mini_notebook(project / "notebooks" / "other.ipynb")
    nb = nbformat.read(project / "notebooks" / "other.ipynb", as_version=4)
    nb.cells[-1].source = nb.cells[-1].source.replace('"mini-trade"', '"other-trade"').replace('"mini"', '"other"')
    nbformat.write(nb, project / "notebooks" / "other.ipynb")
    _mini_notebook(project / "notebooks" / "mini.ipynb", extra="\nraise RuntimeError('deliberate failure')\n")
    try:
        done = build(project, "--lang", "en")
        assert done.returncode == 1
        assert statuses(done) == {"mini-en": "failed", "other-en": "built"}
        assert "deliberate failure" in done.stdout
        assert (project / "build" / "failed" / "mini-en.ipynb").exists()
        for name, data in good.items():
            assert (project / "figures" / "en" / name).read_bytes() == data, f"{name} was touched"
        assert (project / "figures" / "en" / "other-trade.png").exists()
        assert not list(project.rglob(".*.tmp")), "no half-written files"
        assert not (project / "build" / "staging").exists() or not any((project / "build" / "staging").iterdir())
        m = json.loads((project / "figures" / "manifest.json").read_text(encoding="utf-8"))
        assert {f["id"] for f in m["figures"]} == {"mini-trade", "other-trade"}
    finally:
        (project / "notebooks" / "other.ipynb").unlink()
        _mini_notebook(project / "notebooks" / "mini.ipynb")
        for lang in ("en", "zh"):
            for f in (project / "figures" / lang).glob("other-trade.*"):
                f.unlink()
    # the next run picks up where it stopped
    done = build(project, "--lang", "en")
    assert done.returncode == 0 and statuses(done)["mini-en"] == "built"
    del manifest


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a process is POSIX")
def test_interrupted_build_leaves_only_complete_files(project):
    assert build(project).returncode == 0
    before = {p: p.read_bytes() for p in (project / "figures").rglob("*") if p.is_file()}
    proc = subprocess.Popen([*SHDATA, "build", "--force", "--jobs", "2", "--formats", "png,pdf", "--dpi", "100"],
                            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)  # the kernels are starting
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    after = {p: p.read_bytes() for p in (project / "figures").rglob("*") if p.is_file()}
    assert set(after) == set(before), "no new or missing files"
    for p, data in after.items():
        # untouched, or replaced whole by the identical file of a finished run
        assert data == before[p], p
    assert not list(project.rglob(".*.tmp"))
    # and the next build completes
    assert build(project).returncode == 0


def test_selection_and_bad_options(project):
    done = build(project, "mini", "--lang", "zh", "--jobs", "1")
    assert done.returncode == 0 and list(statuses(done)) == ["mini-zh"]
    bad = build(project, "minni")
    assert bad.returncode == 2 and "unknown notebook 'minni'; did you mean 'mini'?" in bad.stderr
    bad = subprocess.run([*SHDATA, "build", "--jobs", "0"], cwd=project, capture_output=True, text=True)
    assert bad.returncode == 2 and "--jobs must be at least 1" in bad.stderr
    outside = subprocess.run([*SHDATA, "build"], cwd=project.parent, capture_output=True, text=True)
    assert outside.returncode == 2 and "needs a project folder" in outside.stderr


def cite(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SHDATA, "cite", *args], cwd=project, capture_output=True, text=True)


def test_cite_text_credits_the_report_first(project):
    assert build(project).returncode == 0
    done = cite(project, "mini-trade")
    assert done.returncode == 0
    text = done.stdout
    assert text.index("Shanghai Municipal Science and Technology Commission") < text.index("with processing by shdata")
    assert "2023上海科技进步报告" in text and "§8.2" in text and "0.1.0" in text


def test_cite_bibtex_parses(project):
    from pybtex.database import parse_string

    done = cite(project, "mini-trade", "--format", "bibtex")
    db = parse_string(done.stdout, "bibtex")
    assert set(db.entries) == {"mini_trade", "shdata"}
    fig = db.entries["mini_trade"]
    assert "Shanghai Municipal" in str(fig.persons["author"][0])
    assert "processing by shdata" in fig.fields["note"]
    report = parse_string(cite(project, "--report", "--format", "bibtex").stdout, "bibtex")
    assert len(report.entries) == 1


def test_cite_csl_json_and_report(project):
    items = json.loads(cite(project, "mini-trade", "--format", "csl-json").stdout)
    assert items[0]["type"] == "figure" and items[0]["author"][0]["literal"].startswith("Shanghai")
    assert items[1]["type"] == "software" and items[1]["version"]
    report = cite(project, "--report", "--section", "§2.1").stdout
    assert report.startswith("Shanghai Municipal Science and Technology Commission. 2023上海科技进步报告") and "§2.1" in report


def test_cite_unknown_figure_suggests(project):
    done = cite(project, "mini-trad")
    assert done.returncode == 2 and "did you mean 'mini-trade'" in done.stderr


def test_citation_cff_matches_the_package():
    import shdata

    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert "cff-version: 1.2.0" in cff
    assert f"version: {shdata.__version__}" in cff
    assert f'date-released: "{shdata.__release_date__}"' in cff
