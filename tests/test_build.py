"""`shdata build` and `shdata cite` as a researcher uses them, each test on its own
copy of a small project (a template built once per session and only copied).

Failing and deleted notebooks are in tests/test_build_failures.py, locks, signals and time limits in
tests/test_build_processes.py, and the fault table in tests/test_build_faults.py.
"""

from __future__ import annotations

import json
import re
import subprocess

import nbformat
import pytest

from shdata.manifest import unaccounted

from .buildkit import (
    FAST,
    ROOT,
    build,
    copy_project,
    explain,
    one_line,
    run,
    statuses,
)

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long


def rehash(project) -> None:
    from shdata.package import Package

    Package(project / "data", verify_hashes=False).rehash()


def test_build_then_noop_then_rebuild_on_each_kind_of_change(built_template, tmp_path):
    # The first build of a fresh project is the session template's: every copy starts from it.
    first = built_template.first_build
    assert statuses(first) == {"mini-en": "built", "mini-zh": "built"}, first.stdout
    project = copy_project(built_template.root, tmp_path / "project")
    for lang in ("en", "zh"):
        for ext in ("png", "pdf", "json"):
            assert (project / "figures" / lang / f"mini-trade.{ext}").exists()
    assert (project / "build" / "html" / "mini-en.html").exists()
    assert (project / "build" / "notebooks" / "mini-zh.ipynb").exists()
    manifest = json.loads((project / "figures" / "manifest.json").read_text(encoding="utf-8"))
    assert [f["id"] for f in manifest["figures"]] == ["mini-trade"]

    # nothing changed: everything skipped
    done = build(project)
    assert set(statuses(done).values()) == {"skipped"}, explain(project, done)

    # a data file the notebook does not read (and no check reads): still skipped
    p = project / "data" / "waic_2023.csv"
    p.write_text(p.read_text(encoding="utf-8").replace(",133,", ",134,"), encoding="utf-8")
    rehash(project)
    done = build(project)
    assert set(statuses(done).values()) == {"skipped"}, explain(project, done)

    # a data file it reads: rebuilt, and the new value reaches the commentary
    p = project / "data" / "yrd_technology_trade.csv"
    p.write_text(p.read_text(encoding="utf-8").replace(",1491,", ",1492,"), encoding="utf-8")
    rehash(project)
    assert explained(project) == {
        "mini-en": ("rebuild", "table yrd_technology_trade changed"),
        "mini-zh": ("rebuild", "table yrd_technology_trade changed"),
    }
    done = build(project)
    assert set(statuses(done).values()) == {"built"}, explain(project, done)
    executed = (project / "build" / "notebooks" / "mini-zh.ipynb").read_text(encoding="utf-8")
    assert "1492亿元" in executed

    # An output file modified by hand: that run is rebuilt, the other is not (before the notebook
    # changes below, so that nothing else could explain the rebuild). `--explain` says so first:
    # it asks the very rule the build follows (build.decide).
    (project / "figures" / "zh" / "mini-trade.png").write_bytes(b"not a png")
    why = explained(project)
    assert why["mini-zh"] == ("rebuild", "output figures/zh/mini-trade.png was modified")
    assert why["mini-en"][0] == "skip" and re.fullmatch(
        r"up to date: same cells, parameters, 1 table, package, lock and Python; \d+ outputs intact", why["mini-en"][1]
    ), why
    done = build(project)
    assert statuses(done) == {"mini-en": "skipped", "mini-zh": "built"}, explain(project, done)
    # (the build above skipped mini-en although the build before it wrote its outputs back into
    # notebooks/mini.ipynb: only the notebook's code counts, not its outputs)

    # a parameter: rebuilt, and recorded as the run was given it (one language: both runs get the
    # same parameters)
    assert explained(project, "--dpi", "120", "--lang", "en") == {"mini-en": ("rebuild", "parameter dpi changed")}
    done = build(project, "--dpi", "120", "--lang", "en")
    assert statuses(done) == {"mini-en": "built"}, explain(project, done)
    assert explained(project, "--dpi", "120", "--lang", "en")["mini-en"][0] == "skip"
    assert explained(project, "--lang", "en") == {"mini-en": ("rebuild", "parameter dpi changed")}

    # What else makes a run rebuild, as `--explain` names it without running anything; the
    # rebuilds above showed that the build does what it says.
    nb_path = project / "notebooks" / "mini.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[-1].source += "\n# a comment the researcher added"
    nbformat.write(nb, nb_path)
    assert explained(project, "--dpi", "120", "--lang", "en") == {"mini-en": ("rebuild", "notebook cell 3 changed")}
    nb.cells.append(nbformat.v4.new_markdown_cell("A note the researcher added."))
    nb.cells[-1]["id"] = "added"
    nbformat.write(nb, nb_path)
    assert explained(project, "--dpi", "120", "--lang", "en") == {
        "mini-en": ("rebuild", "the notebook has 4 cells, 3 when last built")
    }
    assert explained(project, "--force", "--lang", "zh") == {
        "mini-zh": ("rebuild", "--force; the notebook has 4 cells, 3 when last built")
    }
    # (--force rebuilding everything: the concurrent forced builds in test_build_processes.py)


def explained(project, *args: str) -> dict[str, tuple[str, str]]:
    """``shdata build --explain``: run -> (``rebuild`` or ``skip``, the reasons), one line per run."""
    done = run(project, "build", *FAST, "--explain", *args)
    assert done.returncode == 0 and not done.stderr, explain(project, done)
    out = {}
    for line in done.stdout.splitlines():
        m = re.fullmatch(r"(\S+) \((en|zh)\): (rebuild|skip): (.+)", line)
        assert m, f"not an --explain line: {line!r}"
        out[f"{m[1]}-{m[2]}"] = (m[3], m[4])
    return out


def test_files_no_notebook_publishes_are_removed_or_kept_on_request(project):
    stray = project / "figures" / "en" / "old-figure.png"
    leftover = project / "figures" / "en" / ".mini-trade.pdf.1234.abc.tmp"
    stray.write_bytes(b"old")
    leftover.write_bytes(b"half")
    done = build(project, "--keep-orphans")
    assert done.returncode == 0 and stray.exists(), explain(project, done)
    assert "kept     figures/en/old-figure.png" in done.stdout
    done = build(project)
    assert done.returncode == 0, explain(project, done)
    assert not stray.exists() and not leftover.exists()
    assert "removed  figures/en/old-figure.png: no notebook publishes it" in done.stdout
    assert unaccounted(project / "figures") == ([], [])


def test_selection_and_bad_options(project):
    # (up to date, so nothing runs; a forced selection rebuilds only what it selects: the
    # concurrent forced builds in test_build_processes.py)
    done = build(project, "mini", "--lang", "zh", "--jobs", "1")
    assert done.returncode == 0 and statuses(done) == {"mini-zh": "skipped"}, explain(project, done)
    bad = build(project, "minni")
    assert bad.returncode == 2 and "unknown notebook 'minni'; did you mean 'mini'?" in one_line(bad.stderr)
    bad = run(project, "build", "--jobs", "0")
    assert bad.returncode == 2 and "--jobs must be at least 1" in one_line(bad.stderr)
    bad = run(project, "build", "--timeout", "0")
    assert bad.returncode == 2 and "--timeout must be a positive number" in one_line(bad.stderr)
    outside = run(project.parent, "build")
    assert outside.returncode == 2 and "needs a project folder" in one_line(outside.stderr)


def cite(project, *args: str) -> subprocess.CompletedProcess:
    return run(project, "cite", *args)


def test_cite_text_credits_the_report_first(project):
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
    assert (
        report.startswith("Shanghai Municipal Science and Technology Commission. 2023上海科技进步报告")
        and "§2.1" in report
    )


def test_cite_unknown_figure_suggests(project):
    done = cite(project, "mini-trad")
    assert done.returncode == 2 and "did you mean 'mini-trade'" in done.stderr


def test_citation_cff_matches_the_package():
    import shdata

    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert "cff-version: 1.2.0" in cff
    assert f"version: {shdata.__version__}" in cff
    assert f'date-released: "{shdata.__release_date__}"' in cff
