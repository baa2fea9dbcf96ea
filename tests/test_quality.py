"""The code-quality tools, run as CI runs them: ruff (lint and format) over shdata/ and tests/, with
the configuration in pyproject.toml; mypy's place in CI (`.ci/run`); the pre-commit configuration."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run `python3 dev.py setup`")
    return path


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing():
    done = _run(_tool("ruff"), "check", "--no-cache", "--output-format", "concise", "shdata", "tests")
    assert done.returncode == 0, done.stdout[-4000:]


def test_code_is_formatted_by_ruff():
    done = _run(_tool("ruff"), "format", "--no-cache", "--check", "shdata", "tests")
    assert done.returncode == 0, done.stdout[-4000:]


def test_ci_runs_mypy_after_the_tests():
    """mypy (13 s of CPU for a full check) is run by CI after the test suite, not inside it;
    this keeps that step in `.ci/run`, unconditional, after the test command."""
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    runs_tests = lines.index("$test_cmd")
    runs_mypy = [i for i, ln in enumerate(lines) if ln.startswith(".venv/bin/mypy")]
    assert runs_mypy and runs_mypy[0] > runs_tests, ".ci/run must run .venv/bin/mypy after the tests"
    assert "set -euo pipefail" in lines, "a type error must fail CI"


def test_pre_commit_configuration_is_valid_and_runs_the_checks():
    done = _run(_tool("pre-commit"), "validate-config", ".pre-commit-config.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    for hook in ("id: ruff", "id: ruff-format", "id: mypy", "id: notebooks-canonical", "id: shdata-check"):
        assert hook in text
