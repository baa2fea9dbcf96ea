"""`shdata build` with a notebook that fails or misbehaves: the failure is one line, the
previous figures stay as they were, and the other runs still build. Each test works on its
own copy of the session's built mini project (see tests/buildkit.py).

A module of its own so that pytest-xdist (``--dist loadscope``) can run it beside
tests/test_build.py rather than after it.
"""

from __future__ import annotations

import json

import nbformat

from .buildkit import (
    build,
    explain,
    snapshot,
    statuses,
    temp_files,
    write_notebook,
)


def test_failing_notebook_keeps_previous_figures_and_others_still_build(project):
    good = snapshot(project / "figures" / "en")
    write_notebook(project / "notebooks" / "other.ipynb")
    write_notebook(project / "notebooks" / "mini.ipynb", extra="\nraise RuntimeError('deliberate failure')\n")
    done = build(project, "--lang", "en")
    assert done.returncode == 1, explain(project, done)
    assert statuses(done) == {"mini-en": "failed", "other-en": "built"}
    failed_line = next(line for line in done.stdout.splitlines() if line.startswith("FAILED"))
    assert "RuntimeError: deliberate failure" in failed_line and "build/failed/mini-en.log" in failed_line
    # the full error is kept where a person can read it, with the executed notebook
    assert "deliberate failure" in (project / "build" / "failed" / "mini-en.log").read_text(encoding="utf-8")
    assert (project / "build" / "failed" / "mini-en.ipynb").exists()
    after = snapshot(project / "figures" / "en")
    # (other's files, in en/ and en/standalone/, are new; everything else is untouched)
    assert {k: v for k, v in after.items() if not k.rpartition("/")[2].startswith("other-")} == good
    assert (project / "figures" / "en" / "other-trade.png").exists()
    assert not temp_files(project), "no half-written files"
    assert not any((project / "build" / "staging").glob("*"))
    m = json.loads((project / "figures" / "manifest.json").read_text(encoding="utf-8"))
    assert {f["id"] for f in m["figures"]} == {"mini-trade", "other-trade"}
    # fixed again, the notebook is what it was at the last good build, whose record the failure
    # left alone: nothing to do
    write_notebook(project / "notebooks" / "mini.ipynb")
    done = build(project, "--lang", "en")
    assert done.returncode == 0 and statuses(done)["mini-en"] == "skipped", explain(project, done)


def test_untagged_parameters_cell_fails_with_one_line_and_writes_nothing(project):
    before = snapshot(project / "figures")
    write_notebook(project / "notebooks" / "mini.ipynb", tag_parameters=False)
    done = build(project)
    assert done.returncode == 1, explain(project, done)
    assert statuses(done) == {"mini-en": "failed", "mini-zh": "failed"}
    line = next(line for line in done.stdout.splitlines() if line.startswith("FAILED mini (en)"))
    assert "notebooks/mini.ipynb has no cell tagged 'parameters'" in line and "tag the cell" in line
    assert snapshot(project / "figures") == before


def test_publish_refuses_any_folder_but_the_staging_one(project):
    """A notebook that points its output elsewhere (here: straight at figures/) cannot publish."""
    before = snapshot(project / "figures")
    redirect = '\nP.output_dir = P.output_dir.parent.parent.parent.parent.parent / "figures"\n'
    write_notebook(
        project / "notebooks" / "mini.ipynb",
        extra=redirect
        + 'P.publish(fig, "sneaky", sources=["yrd_technology_trade"], title="t", caption="c", '
        + "commentary=commentary, headline=headline, alt=alt, subtitle=subtitle)\n",
    )
    done = build(project, "--lang", "en")
    assert done.returncode == 1, explain(project, done)
    line = next(line for line in done.stdout.splitlines() if line.startswith("FAILED mini (en)"))
    assert "ParameterError: publish:" in line and "staging folder" in line
    assert snapshot(project / "figures") == before
    assert not list(project.rglob("sneaky.*"))


def test_overridden_parameters_are_refused_by_setup(project):
    """The runtime half of the injection check: parameters reset after the injected cell."""
    nb_path = project / "notebooks" / "mini.ipynb"
    write_notebook(nb_path)
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell('output_dir = "figures"'))
    nb.cells[2]["id"] = "reset"
    nbformat.write(nb, nb_path)
    before = snapshot(project / "figures")
    done = build(project, "--lang", "en")
    assert done.returncode == 1, explain(project, done)
    line = next(line for line in done.stdout.splitlines() if line.startswith("FAILED mini (en)"))
    assert "the build's parameters were overridden" in line and "'parameters'" in line
    assert snapshot(project / "figures") == before


def test_undeclared_files_fail_the_run(project):
    before = snapshot(project / "figures")
    write_notebook(
        project / "notebooks" / "mini.ipynb", extra='\n(P.output_dir / P.lang / "extra.csv").write_text("a,b")\n'
    )
    done = build(project, "--lang", "en")
    assert done.returncode == 1, explain(project, done)
    line = next(line for line in done.stdout.splitlines() if line.startswith("FAILED mini (en)"))
    assert "it wrote en/extra.csv without declaring it" in line
    assert snapshot(project / "figures") == before
