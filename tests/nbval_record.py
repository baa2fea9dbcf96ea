"""Keep the outputs nbval's run of a notebook produced, as the executed notebook.

Loaded only by the test session's shared English run of a notebook (tests/conftest.py), a pytest
process of its own that runs nbval over that one notebook: nbval executes the committed notebook
as committed (default parameters, a cold kernel, in a sandbox project) and compares each cell's
outputs with the committed ones. The outputs it received are what every other test that needs the
notebook run in English reads, so that the notebook is executed once in English per test session,
not once for nbval and again with papermill.

The executed notebook, written to the path in ``SHDATA_NBVAL_RECORD`` when the session ends, is
the committed notebook with each code cell's outputs replaced by those the kernel sent nbval and
execution counts from 1; a cell nbval did not run keeps no outputs and no count.
"""

from __future__ import annotations

import os

import pytest

RECORD_ENV = "SHDATA_NBVAL_RECORD"
_ran: dict[int, list] = {}  # id() of a cell of the collected notebook -> the outputs nbval received
_notebooks: list = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    outputs = getattr(item, "test_outputs", None)  # set by nbval's IPyNbCell.runtest as it reads them
    cell = getattr(item, "cell", None)
    if outputs is not None and cell is not None:
        _ran[id(cell)] = [dict(o) for o in outputs]
        if not any(nb is item.parent.nb for nb in _notebooks):
            _notebooks.append(item.parent.nb)


def pytest_sessionfinish(session) -> None:
    path = os.environ.get(RECORD_ENV)
    if not path or len(_notebooks) != 1:
        return
    import copy

    import nbformat

    nb = copy.deepcopy(_notebooks[0])
    count = 0
    for original, cell in zip(_notebooks[0].cells, nb.cells, strict=True):
        if cell.cell_type != "code":
            continue
        outputs = _ran.get(id(original))
        if outputs is None:
            cell.outputs, cell.execution_count = [], None
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        for o in cell.outputs:
            if o.get("output_type") == "execute_result":
                o["execution_count"] = count
    nbformat.write(nb, path)
