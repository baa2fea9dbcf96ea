"""The examples in shdata's docstrings run and print what they show (the palmerpenguins lesson:
prose that no test reads drifts from the code)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from .conftest import ROOT

MODULES = sorted(
    f"shdata.{p.stem}".removesuffix(".__init__")
    for p in (ROOT / "shdata").glob("*.py")
    if ">>> " in p.read_text(encoding="utf-8")
)


def test_there_are_examples():
    assert len(MODULES) >= 5


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (see the output above)"
