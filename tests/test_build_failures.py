"""`shdata build` with notebooks that fail or misbehave: each failure is one line, the previous
figures stay as they were, and the other runs still build.

All the misbehaving notebooks run in one build of a copy of the session's built mini project
(see tests/buildkit.py), beside a good one, and each test reads what that build did to its
notebook: a build's fixed cost (its processes and imports) is paid once, not once per kind of
failure, and one build with many failures is also the harder case for "the others still build".
Tests only read the shared build; those that change the project (a notebook fixed, a notebook
deleted) work on copies of it, and their builds run nothing. The build is English only (a
failure's handling does not depend on the language; both languages are built by the other build
tests), and the figures it must leave alone are those of figures/en/.

A module of its own so that pytest-xdist (``--dist loadscope``) can run it beside
tests/test_build.py rather than after it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from .buildkit import (
    build,
    copy_project,
    explain,
    snapshot,
    statuses,
    temp_files,
    write_notebook,
)

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long

#: A notebook that points its output elsewhere (here: straight at figures/) to publish there.
REDIRECT = (
    '\nP.output_dir = P.output_dir.parent.parent.parent.parent.parent / "figures"\n'
    'P.publish(fig, "sneaky", sources=["yrd_technology_trade"], title="t", caption="c", '
    "commentary=commentary, headline=headline, alt=alt, subtitle=subtitle)\n"
)

#: A notebook that writes a file into its output folder without publishing it.
UNDECLARED = '\n(P.output_dir / P.lang / "extra.csv").write_text("a,b")\n'


def parameters_reset(path: Path) -> None:
    """A notebook that sets a parameter again after the injected cell (the runtime half of the injection check)."""
    write_notebook(path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell('output_dir = "figures"'))
    nb.cells[2]["id"] = "reset"
    nbformat.write(nb, path)


@dataclass(frozen=True)
class FailedBuild:
    project: Path
    before: dict[str, str]  # figures/en/ before the build
    done: subprocess.CompletedProcess

    def failed_line(self, notebook: str) -> str:
        return next(line for line in self.done.stdout.splitlines() if line.startswith(f"FAILED {notebook} (en)"))


@pytest.fixture(scope="module")
def failed(template, tmp_path_factory) -> FailedBuild:
    """One English build of: ``other`` (good), ``mini`` (raises), and one notebook per kind of misbehaviour."""
    project = copy_project(template, tmp_path_factory.mktemp("failures") / "project")
    before = snapshot(project / "figures" / "en")
    nbs = project / "notebooks"
    write_notebook(nbs / "other.ipynb")
    write_notebook(nbs / "mini.ipynb", extra="\nraise RuntimeError('deliberate failure')\n")
    write_notebook(nbs / "untagged.ipynb", tag_parameters=False)
    write_notebook(nbs / "sneaky.ipynb", extra=REDIRECT)
    parameters_reset(nbs / "reset.ipynb")
    write_notebook(nbs / "undeclared.ipynb", extra=UNDECLARED)
    done = build(project, "--lang", "en")
    return FailedBuild(project, before, done)


def test_failing_notebooks_keep_previous_figures_and_others_still_build(failed):
    project, done = failed.project, failed.done
    assert done.returncode == 1, explain(project, done)
    assert statuses(done) == {
        "mini-en": "failed",
        "other-en": "built",
        "reset-en": "failed",
        "sneaky-en": "failed",
        "undeclared-en": "failed",
        "untagged-en": "failed",
    }, done.stdout
    after = snapshot(project / "figures" / "en")
    # (other's files, in en/ and en/standalone/, are new; everything else is untouched)
    assert {k: v for k, v in after.items() if not k.rpartition("/")[2].startswith("other-")} == failed.before
    assert (project / "figures" / "en" / "other-trade.png").exists()
    for name in ("untagged", "sneaky", "reset", "undeclared"):
        assert not list((project / "figures").rglob(f"{name}-trade.*")), f"{name} published nothing"
    assert not temp_files(project), "no half-written files"
    assert not any((project / "build" / "staging").glob("*"))
    m = json.loads((project / "figures" / "manifest.json").read_text(encoding="utf-8"))
    assert {f["id"] for f in m["figures"]} == {"mini-trade", "other-trade"}


def test_an_error_is_one_line_and_the_full_error_is_kept(failed):
    line = failed.failed_line("mini")
    assert "RuntimeError: deliberate failure" in line and "build/failed/mini-en.log" in line
    # the full error is kept where a person can read it, with the executed notebook
    failed_dir = failed.project / "build" / "failed"
    assert "deliberate failure" in (failed_dir / "mini-en.log").read_text(encoding="utf-8")
    assert (failed_dir / "mini-en.ipynb").exists()


def test_a_fixed_notebook_is_what_it_was_at_the_last_good_build(failed, tmp_path):
    """The failure left the last good build's record alone: fixed again, there is nothing to do."""
    project = copy_project(failed.project, tmp_path / "project")
    for name in ("untagged", "sneaky", "reset", "undeclared"):
        (project / "notebooks" / f"{name}.ipynb").unlink()
    write_notebook(project / "notebooks" / "mini.ipynb")
    done = build(project, "--lang", "en")
    assert done.returncode == 0, explain(project, done)
    assert statuses(done) == {"mini-en": "skipped", "other-en": "skipped"}, done.stdout


def test_figures_of_a_deleted_notebook_leave_figures_and_the_manifest(failed, tmp_path):
    """``mini``, built in both languages (the template's build), is deleted: its files leave figures/
    and the manifest, in both languages, and ``other``'s stay. Nothing runs: the build only prunes."""
    from shdata.manifest import unaccounted

    project = copy_project(failed.project, tmp_path / "project")
    assert (project / "figures" / "zh" / "mini-trade.pdf").exists()
    for nb in (project / "notebooks").glob("*.ipynb"):
        if nb.stem != "other":  # mini, and the misbehaving ones (they never published)
            nb.unlink()
    done = build(project, "--lang", "en")
    assert done.returncode == 0, explain(project, done)
    assert statuses(done) == {"other-en": "skipped"}, done.stdout
    for lang in ("en", "zh"):
        assert f"files of mini-{lang} (notebooks/mini.ipynb no longer exists)" in done.stdout
    assert not list((project / "figures").rglob("mini-trade.*"))
    assert (project / "figures" / "en" / "other-trade.pdf").exists()
    m = json.loads((project / "figures" / "manifest.json").read_text(encoding="utf-8"))
    assert [f["id"] for f in m["figures"]] == ["other-trade"]
    assert unaccounted(project / "figures") == ([], [])


def test_untagged_parameters_cell_fails_with_one_line(failed):
    line = failed.failed_line("untagged")
    assert "notebooks/untagged.ipynb has no cell tagged 'parameters'" in line and "tag the cell" in line


def test_publish_refuses_any_folder_but_the_staging_one(failed):
    line = failed.failed_line("sneaky")
    assert "ParameterError: publish:" in line and "staging folder" in line
    assert not [p for p in failed.project.rglob("sneaky.*") if p.parent.name != "notebooks"]


def test_overridden_parameters_are_refused_by_setup(failed):
    line = failed.failed_line("reset")
    assert "the build's parameters were overridden" in line and "'parameters'" in line


def test_undeclared_files_fail_the_run(failed):
    line = failed.failed_line("undeclared")
    assert "it wrote en/extra.csv without declaring it" in line
    assert not list((failed.project / "figures").rglob("extra.csv"))
