"""shdata.sync: the committed bytes of a notebook from its canonical run, and the out-of-sync check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shdata.sync import SyncError, canonical_bytes, out_of_sync, write_back


def _cell(kind: str, source: str, **extra) -> dict:
    cell: dict[str, Any] = {
        "cell_type": kind,
        "id": f"id-{abs(hash(source)) % 10**8}",
        "metadata": {},
        "source": source.splitlines(keepends=True),  # as saved on disk
    }
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    cell.update(extra)
    return cell


def _preview(staging: Path) -> dict:
    info = {"figure": "x-fig", "file": "en/x-fig.png", "alt": "Alt <&> text", "width_px": 692}
    text = f'<img src="{staging}/en/x-fig.png" alt="Alt" width="692">'
    return {
        "output_type": "display_data",
        "metadata": {"shdata": info},
        "data": {"text/html": text, "text/plain": text},
    }


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path, Path]:
    """A source notebook in <root>/notebooks and its executed run from a staging folder."""
    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    params = _cell("code", 'lang: str = "en"', metadata={"tags": ["parameters"]})
    body = _cell("code", "P.publish(...)")
    source = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "cells": [_cell("markdown", "# T"), params, body],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    }
    src = root / "notebooks" / "t.ipynb"
    src.write_text(json.dumps(source, indent=1) + "\n", encoding="utf-8")

    staging = tmp_path / "staging" / "figures"
    run: dict[str, Any] = copy.deepcopy(source)
    timing = {
        "execution": {"iopub.execute_input": "2026-01-01T00:00:00Z"},
        "papermill": {"duration": 1.5, "status": "completed"},
    }
    injected = _cell(
        "code",
        'lang = "en"\noutput_dir = "/tmp/x"',
        metadata={"tags": ["injected-parameters"], **timing},
        execution_count=2,
    )
    run["cells"][1].update(execution_count=1, metadata={"tags": ["parameters"], **timing})
    run["cells"][2].update(
        execution_count=3,
        metadata=dict(timing),
        outputs=[_preview(staging), {"output_type": "stream", "name": "stdout", "text": "done\n"}],
    )
    run["cells"].insert(2, injected)
    run["metadata"]["papermill"] = {"start_time": "2026-01-01", "parameters": {"lang": "en"}}
    executed = tmp_path / "executed.ipynb"
    executed.write_text(json.dumps(run), encoding="utf-8")
    return root, src, executed


def test_canonical_notebook_keeps_outputs_and_drops_volatile_metadata(project):
    root, src, executed = project
    nb = json.loads(canonical_bytes(src, executed, figures_dir=root / "figures"))
    assert [c["cell_type"] for c in nb["cells"]] == ["markdown", "code", "code"], "injected cell dropped"
    assert [c.get("execution_count") for c in nb["cells"][1:]] == [1, 2], "counts renumbered from 1"
    assert all(set(c["metadata"]) <= {"tags"} for c in nb["cells"]), "no execution/papermill metadata"
    assert "papermill" not in nb["metadata"]
    preview, stream = nb["cells"][2]["outputs"]
    assert (
        "".join(preview["data"]["text/html"])
        == '<img src="../figures/en/x-fig.png" alt="Alt &lt;&amp;&gt; text" width="692">'
    )
    assert preview["data"]["text/plain"] == preview["data"]["text/html"], "nbval compares the same text"
    assert "".join(stream["text"]) == "done\n"


def test_write_back_is_byte_identical_when_nothing_changed(project):
    root, src, executed = project
    assert write_back(src, executed, figures_dir=root / "figures") is True
    first = src.read_bytes()
    mtime = src.stat().st_mtime_ns
    assert write_back(src, executed, figures_dir=root / "figures") is False
    assert src.read_bytes() == first and src.stat().st_mtime_ns == mtime
    assert first.endswith(b"}\n") and b'\n "cells": [\n' in first, "saved the way JupyterLab saves"


def test_out_of_sync_names_the_notebook_and_the_command(project):
    root, src, executed = project
    msg = out_of_sync(src, executed, figures_dir=root / "figures", root=root)
    assert msg == "notebooks/t.ipynb is out of sync with its sources; run `shdata build`"
    write_back(src, executed, figures_dir=root / "figures")
    assert out_of_sync(src, executed, figures_dir=root / "figures", root=root) is None


def test_a_run_of_other_cells_is_refused(project):
    root, src, executed = project
    nb = json.loads(src.read_text(encoding="utf-8"))
    nb["cells"][2]["source"] = "P.publish(other)"
    src.write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(SyncError, match="edited after the run"):
        canonical_bytes(src, executed, figures_dir=root / "figures")


def test_the_pre_commit_check_catches_a_notebook_saved_after_a_partial_run(project, capsys):
    from shdata.sync import main

    root, src, executed = project
    write_back(src, executed, figures_dir=root / "figures")
    assert main(["--check", str(src)]) == 0
    nb = json.loads(src.read_text(encoding="utf-8"))
    nb["cells"][2]["execution_count"] = 7  # run out of order in JupyterLab, then saved
    src.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["--check", str(src)]) == 1
    assert capsys.readouterr().err == f"{src.as_posix()} is not saved as a canonical run; run `shdata build`\n"


def test_html_rendering_shows_the_published_figures_from_where_it_lives(project, tmp_path):
    from shdata.sync import render_html

    root, src, executed = project
    html = tmp_path / "staging" / "t.html"
    render_html(executed, html, figures_dir=root / "figures", shown_from=root / "build" / "html")
    body = html.read_text(encoding="utf-8")
    assert 'src="../../figures/en/x-fig.png"' in body, "relative to build/html/"
    assert "base64" not in body.split("<body", 1)[1]


def test_a_second_run_with_the_same_results_renders_the_same_page(project, tmp_path):
    """Another run computing the same thing differs in papermill's timings, its staging folder and
    the id papermill draws for the injected cell: none of that reaches the rendering, which shows
    ``output_dir`` as a user passes it."""
    from shdata.sync import render_html

    root, _, executed = project
    first = json.loads(executed.read_text(encoding="utf-8"))
    second = copy.deepcopy(first)
    injected = next(c for c in second["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    injected["id"] = "a1b2c3d4"
    injected["source"] = 'lang = "en"\noutput_dir = "/tmp/other-staging/figures"'
    second["metadata"]["papermill"]["start_time"] = "2026-02-02"
    for cell in second["cells"]:
        if "papermill" in cell["metadata"]:
            cell["metadata"]["papermill"]["duration"] = 9.9
    again = tmp_path / "again.ipynb"
    again.write_text(json.dumps(second), encoding="utf-8")
    pages = []
    for run in (executed, again):
        html = tmp_path / f"{run.stem}.html"
        render_html(run, html, figures_dir=root / "figures", shown_from=root / "build" / "html")
        pages.append(html.read_bytes())
    assert pages[0] == pages[1]
    assert b"/tmp/" not in pages[0] and b'<span class="s2">"figures"</span>' in pages[0]


def test_rendering_is_nbconvert_s_html_exporter_without_its_slow_closing_pass():
    # The renderings skip nbconvert's BeautifulSoup pass over the whole page and add what it
    # adds by pattern (shdata.sync.accessible): the page must be the one nbconvert makes.
    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    from shdata.site import TEMPLATES
    from shdata.sync import MISSING_ALT, html_exporter

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print('<b>')\nshow()")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="<b>\n"),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": '<img src="../figures/en/a.png" alt="A &amp; B" width="692">', "text/plain": "a"},
        ),
        nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
    ]
    markdown = "# Title\n\n## 科技投入（中文叙述）\n\n![plot](x.png) &#169; &lt;tag&gt; &#38;"
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), code]
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    for template in ("shdata_nb", "shdata_lab"):
        resources = {"shdata": {"root": "../", "header": ""}}
        ours, _ = html_exporter(template).from_notebook_node(nb, resources=resources)
        theirs, _ = HTMLExporter(
            template_name=template, extra_template_basedirs=[str(TEMPLATES / "nbconvert")]
        ).from_notebook_node(nb, resources={"shdata": {"root": "../", "header": ""}})
        assert str(BeautifulSoup(ours, features="html.parser")) == theirs
        assert ours.count('tabindex="0"') == theirs.count('tabindex="0"') == 6  # 2 inputs, 4 outputs
        assert ours.count(f'alt="{MISSING_ALT}"') == 1  # the PNG output had none ("plot" and "A & B" kept)
