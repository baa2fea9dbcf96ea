"""The shdata command line as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shdata.cli import main

from .conftest import ROOT


def test_list_prints_the_catalog(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "nsfc_projects_by_programme" in out and "tables;" in out


def test_list_filters_by_topic(capsys):
    assert main(["list", "--topic", "rankings"]) == 0
    out = capsys.readouterr().out
    assert "ideal_city_scores" in out and "nsfc_projects_by_programme" not in out


def test_show_prints_table_metadata_notes_and_derived_values(capsys):
    assert main(["show", "tech_finance_indicators"]) == 0
    out = capsys.readouterr().out
    assert "§7.1" in out and "10486.31" in out and "Derived (computed by shdata" in out


def test_check_passes_and_prints_the_data_notes(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "shdata check: OK" in out
    assert "unicorn-share-rounding" in out and "double-counting" in out


def test_check_exits_1_when_a_check_fails(editor, use_data, capsys):
    editor.replace("nsfc_projects_by_programme", ",2171,", ",2172,")
    use_data(editor.folder)
    assert main(["check"]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_unknown_table_is_one_line_on_stderr_exit_2():
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "shdata.cli", "show", "nsfc"], capture_output=True, text=True, env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "unknown table id 'nsfc'" in done.stderr
    assert "Traceback" not in done.stderr


def test_broken_data_file_is_one_line_exit_2(editor, use_data, capsys):
    editor.replace("patents", ",6185,", ",61x5,")
    use_data(editor.folder)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("shdata: error: data/patents.csv, row") and err.count("\n") == 1


def test_bad_subcommand_is_refused_with_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_shdata_processes_skip_the_unused_iri_format_checker():
    # jsonschema's optional IRI checker compiles grammars for ~1.8 s at import; the CLI (and the
    # build workers, which call the same start-up) do without it, and still read and validate notebooks.
    code = (
        "import sys, io, contextlib\n"
        "from shdata.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list'])\n"
        "import nbformat\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbformat.validate(nb)\n"
        "print(sys.modules.get('rfc3987_syntax', 'absent'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "notebooks" / "funding.ipynb")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
