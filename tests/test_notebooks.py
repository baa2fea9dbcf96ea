"""The notebooks as researchers and the batch build run them: papermill in both
languages, figure files, fonts, determinism, provenance, and bad parameters."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import LANGS, NOTEBOOKS, PAPERMILL_QUICK, ROOT, run_papermill

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long

#: The topic notebooks tell the report's story; each publishes at least four figures.
TOPIC_NOTEBOOKS = {"funding", "talent", "rankings", "yangtze_delta", "outputs"}


def test_there_are_five_topic_notebooks():
    assert set(NOTEBOOKS) >= TOPIC_NOTEBOOKS


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook_runs_in_both_languages_and_writes_its_figures(runs, nb):
    ids = {}
    for lang in LANGS:
        run = runs.get(nb, lang)
        assert run.returncode == 0, run.log[-3000:]
        figures = run.figures
        records = [json.loads(p.read_text(encoding="utf-8")) for p in (figures / lang).glob("*.json")]
        mine = {r["id"] for r in records if r["notebook"] == nb}
        assert len(mine) >= (4 if nb in TOPIC_NOTEBOOKS else 1), f"{nb} ({lang}) published {sorted(mine)}"
        for fid in mine:
            for ext in ("png", "svg", "pdf"):
                assert (figures / lang / f"{fid}.{ext}").stat().st_size > 0
        ids[lang] = mine
    assert ids["en"] == ids["zh"], "both languages publish the same figure ids"


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_no_glyph_is_missing_and_nothing_is_printed_to_stderr(runs, nb):
    for lang in LANGS:
        out = runs.get(nb, lang).executed
        cells = json.loads(out.read_text(encoding="utf-8"))["cells"]
        streams = "".join(
            "".join(o.get("text", "")) for c in cells for o in c.get("outputs", []) if o.get("output_type") == "stream"
        )
        assert "Glyph" not in streams and "missing from" not in streams, streams[:500]
        assert "findfont" not in streams, streams[:500]


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_commentary_is_in_the_chosen_language(runs, nb):
    texts = {}
    for lang in LANGS:
        out = runs.get(nb, lang).executed
        cells = json.loads(out.read_text(encoding="utf-8"))["cells"]
        texts[lang] = "".join(
            "".join(o.get("data", {}).get("text/markdown", "")) for c in cells for o in c.get("outputs", [])
        )
    han = lambda t: len(re.findall(r"[\u4e00-\u9fff]", t))
    assert han(texts["zh"]) > 150, "Chinese run: Chinese commentary"
    latin_words = lambda t: len(re.findall(r"\b[a-z]{4,}\b", t))
    assert latin_words(texts["en"]) > 5 * latin_words(texts["zh"]) + 50, "English run: English commentary"
    assert texts["en"] and "Figure" in texts["en"] and "图" in texts["zh"]


def test_pdfs_embed_truetype_fonts_not_type3(runs):
    pdfs = [p for run in runs.all() for p in run.figures.glob("*/*.pdf")]
    assert pdfs
    for pdf in pdfs:
        data = pdf.read_bytes()
        assert b"/Type3" not in data, pdf.name
        assert b"/FontFile2" in data, f"{pdf.name}: no embedded TrueType font program"
        assert b"/CreationDate" not in data, f"{pdf.name}: carries a timestamp"
    zh = (runs.get("rankings", "zh").figures / "zh" / "rankings-ideal-city.pdf").read_bytes()
    assert b"NotoSansCJK" in zh


def test_svgs_draw_text_as_outlines_without_dates(runs):
    svgs = [p for run in runs.all() for p in run.figures.glob("*/*.svg")]
    assert svgs
    for svg in svgs:
        text = svg.read_text(encoding="utf-8")
        assert "<dc:date>" not in text, svg.name
        assert "font-family" not in text, f"{svg.name}: depends on an installed font"


def test_png_is_sized_to_the_column_width_and_dpi(runs):
    from PIL import Image

    img = Image.open(runs.get("funding", "en").figures / "en" / "funding-unicorns.png")
    width_px = round(183 / 25.4 * 300)  # default: double column, 300 dpi
    assert abs(img.size[0] - width_px) <= 1
    assert "Software" not in img.info
    prov = json.loads(img.info["Source"])
    assert prov["figure"] == "funding-unicorns" and prov["data_sha256"]


def test_provenance_names_source_tables_sections_and_version(runs):
    figures = runs.get("funding", "en").figures
    rec = json.loads((figures / "en" / "funding-nsfc-by-programme.json").read_text(encoding="utf-8"))
    src = rec["provenance"]["sources"][0]
    assert src["table"] == "nsfc_projects_by_programme" and src["section"] == "§2.1" and len(src["sha256"]) == 64
    assert rec["provenance"]["shdata_version"]
    # The printed footnote on the double-counted total travels with the number it bears on: the
    # commentary quotes the total, so the caveat follows it there (the chart does not draw the total).
    assert "counted twice" in rec["commentary"], "printed footnotes travel with the figure's text"
    pdf = (figures / "en" / "funding-nsfc-by-programme.pdf").read_bytes()
    # PDF info strings with non-Latin text are UTF-16BE
    assert "nsfc_projects_by_programme".encode("utf-16-be") in pdf


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_nbval_validates_every_cell_of_the_committed_notebook(runs, nb):
    """nbval executes the committed notebook as committed (default parameters, a cold kernel, in
    a sandbox project) and finds each code cell's outputs as committed: every code cell is one of
    its items, and every item passed. This is the session's English run of the notebook, which
    the other tests read (tests/conftest.py)."""
    run = runs.get(nb, "en")
    cells = json.loads((ROOT / "notebooks" / f"{nb}.ipynb").read_text(encoding="utf-8"))["cells"]
    code = sum(c["cell_type"] == "code" for c in cells)
    # nbval's report: the failures (with the differing outputs at their end), then one line per item
    failures, _, summary = run.log.partition(" PASSES ")
    assert run.returncode == 0, failures[-2500:] + summary[summary.find("short test summary") :]
    passed = re.findall(rf"^PASSED notebooks/{nb}\.ipynb::Cell (\d+)$", run.log, re.M)
    assert sorted(map(int, passed)) == list(range(code)), run.log[-3000:]


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_committed_notebook_is_in_sync_with_its_canonical_run(runs, nb):
    """The committed outputs are what a run with the default parameters produces (nbval checks the
    text; this checks the whole file, so that `git diff` shows only real changes)."""
    from shdata.sync import out_of_sync

    run = runs.get(nb, "en")
    assert run.returncode == 0, run.log[-3000:]
    message = out_of_sync(ROOT / "notebooks" / f"{nb}.ipynb", run.executed, figures_dir=ROOT / "figures", root=ROOT)
    assert message is None, message


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_previews_reference_the_published_files_not_base64(runs, nb):
    """Notebooks diff as text: each figure is one <img> line (text/html, and the same text/plain for
    nbval) whose path, relative to notebooks/, leads to the file the run wrote."""
    run = runs.get(nb, "en")
    cells = json.loads(run.executed.read_text(encoding="utf-8"))["cells"]
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not any("image/png" in o.get("data", {}) for o in outputs), "no base64 PNG in outputs"
    previews = [o for o in outputs if "shdata" in o.get("metadata", {})]
    published = {p.stem for p in (run.figures / "en").glob("*.png")}
    assert {o["metadata"]["shdata"]["figure"] for o in previews} == published
    for o in previews:
        html = "".join(o["data"]["text/html"])
        assert html == "".join(o["data"]["text/plain"])
        src = re.fullmatch(r'<img src="([^"]+)" alt="[^"]+" width="\d+">', html)
        assert src, html
        target = (run.notebooks / src.group(1)).resolve()
        assert target == (run.figures / o["metadata"]["shdata"]["file"]).resolve() and target.is_file()
        assert src.group(1) == f"../figures/{o['metadata']['shdata']['file']}", "the committed path, as run in place"


def test_width_and_dpi_parameters_change_the_png(tmp_path):
    from PIL import Image

    done = run_papermill(
        "yangtze_delta",
        tmp_path / "o.ipynb",
        tmp_path / "f",
        "-p",
        "width",
        "200",
        "-p",
        "dpi",
        "150",
        "-p",
        "formats",
        "png",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # The notebook's width is the width of every figure that does not choose its own ...
    wide = Image.open(tmp_path / "f" / "en" / "yrd-innovation-center-network.png")
    assert abs(wide.size[0] - round(200 / 25.4 * 150)) <= 1
    # ... and a figure of four values or fewer stays single-column (style.column_for).
    small = Image.open(tmp_path / "f" / "en" / "yrd-technology-trade.png")
    assert abs(small.size[0] - round(89 / 25.4 * 150)) <= 1
    assert not list((tmp_path / "f" / "en").glob("*.pdf")), "only the requested formats are written"


#: Each bad value, as papermill's ``-p`` arguments, and the one line that names it.
BAD_PARAMETERS = [
    (["-p", "lang", "fr"], "lang 'fr' is not allowed; use one of 'en', 'zh'"),
    (["-p", "formats", "bmp"], "formats: 'bmp' is not allowed; use any of 'png', 'svg', 'pdf'"),
    (["-p", "dpi", "-5"], "dpi -5 is not allowed; use a whole number from 72 to 1200"),
    (["-p", "width", "triple"], "width 'triple' is not allowed"),
    (["-p", "year", "2022"], "year 2022 is not available; editions in this package: 2023"),
    (["-p", "colour", "red"], "unknown parameter 'colour'; this notebook takes: lang, formats"),
]


def _assert_failed_in_the_first_cell(out: Path, output_dir: Path) -> None:
    """The executed notebook ``out`` stopped at the first code cell after the parameters, with a
    one-line ParameterError, and nothing was written to ``output_dir``."""
    cells = json.loads(out.read_text(encoding="utf-8"))["cells"]
    failed = [i for i, c in enumerate(cells) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    params_at = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    injected = 1 if any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells) else 0
    first_code_after = next(i for i, c in enumerate(cells) if i > params_at + injected and c["cell_type"] == "code")
    assert failed == [first_code_after]
    error = next(o for o in cells[first_code_after]["outputs"] if o.get("output_type") == "error")
    assert error["ename"] == "ParameterError" and "\n" not in error["evalue"]
    assert not output_dir.exists(), "nothing is written when a parameter is bad"


def test_bad_parameter_fails_in_the_first_cell_with_one_line(tmp_path):
    """The plain papermill CLI, exactly as the README shows it (``.venv/bin/papermill``): a non-zero
    exit, and the cell's error, in papermill's report and in the output notebook, is one line."""
    params, message = BAD_PARAMETERS[0]
    out = tmp_path / "bad.ipynb"
    papermill = Path(sys.executable).with_name("papermill")
    done = subprocess.run(
        [
            *(str(papermill), str(ROOT / "notebooks" / "talent.ipynb"), str(out)),
            *("-p", "output_dir", str(tmp_path / "f"), *params, "--no-progress-bar"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    err = done.stderr
    # papermill frames the cell's error; the cell's error itself is the single shdata line
    cell_error = err[err.index('Exception encountered at "In [') :].strip().splitlines()[1:]
    assert [x for x in cell_error if x.strip()] == [f"ParameterError: {message}"]
    _assert_failed_in_the_first_cell(out, tmp_path / "f")
    nb = json.loads(out.read_text(encoding="utf-8"))
    tb = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert tb[0]["traceback"] == [f"ParameterError: {message}"]


def test_every_bad_parameter_fails_in_the_first_cell_with_one_line(tmp_path):
    """Every bad value, through papermill's own parameter parsing and execution, in one kernel.

    A kernel and the notebook's imports cost some 3 s of CPU, and a bad value stops the run in the
    first cell; so the cases share one kernel whose namespace is reset between them (``%reset -f``
    leaves no name, no annotation, behind), instead of one papermill process each.
    """
    import papermill
    from jupyter_client.manager import KernelManager
    from papermill.cli import _resolve_type

    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(ROOT))
    try:
        for k, (params, message) in enumerate(BAD_PARAMETERS):
            # A client of its own for the reset: papermill's run leaves its event loop behind.
            kc = km.client()
            kc.start_channels()
            try:
                kc.wait_for_ready(timeout=120)
                reply = kc.execute_interactive("%reset -f", timeout=120, output_hook=lambda msg: None)
                assert reply["content"]["status"] == "ok"
            finally:
                kc.stop_channels()
            out, output_dir = tmp_path / f"bad-{k}.ipynb", tmp_path / f"f-{k}"
            # As the CLI reads `-p NAME VALUE`: the value's type is guessed from its text.
            given = {params[i + 1]: _resolve_type(params[i + 2]) for i in range(0, len(params), 3)}
            with pytest.raises(papermill.PapermillExecutionError) as failure:
                papermill.execute_notebook(
                    str(ROOT / "notebooks" / "talent.ipynb"),
                    str(out),
                    parameters={"output_dir": str(output_dir), **given},
                    km=km,
                    progress_bar=False,
                    log_output=False,
                )
            assert message in str(failure.value), params
            _assert_failed_in_the_first_cell(out, output_dir)
    finally:
        km.shutdown_kernel(now=True)


def test_help_notebook_documents_every_parameter():
    done = subprocess.run(
        [*PAPERMILL_QUICK, "--help-notebook", str(ROOT / "notebooks" / "funding.ipynb")], capture_output=True, text=True
    )
    assert done.returncode == 0
    for name in ("lang", "formats", "dpi", "width", "output_dir", "year"):
        assert name in done.stdout
    assert '"en" or "zh"' in done.stdout


@pytest.mark.parametrize("nb", NOTEBOOKS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_committed_figures_are_what_a_run_with_a_cold_kernel_writes(runs, nb, lang):
    """`shdata build` wrote the committed figures with kernels forked from a warm process; a run
    with a cold kernel must write the same bytes: every file, every format, the sidecars. In
    Chinese, the plain papermill CLI's run (``-p lang zh``); in English, the committed notebook run
    as committed, by nbval.

    This is also the check that a second run is byte-identical: two runs in different processes,
    with different kinds of kernel, at different times.
    """
    run = runs.get(nb, lang)
    assert run.returncode == 0, run.log[-3000:]
    written = sorted(p for p in (run.figures / lang).iterdir() if p.is_file())
    assert written
    for f in written:
        committed = ROOT / "figures" / lang / f.name
        assert committed.is_file() and f.read_bytes() == committed.read_bytes(), f"{lang}/{f.name} differs"


def test_nbval_runs_the_committed_notebooks_in_a_sandbox_project(monkeypatch, request):
    """nbval's kernels start in a sandbox project (tests/nbval_sandbox.py): a notebook run with its
    default parameters publishes there, not into the repository's figures/, and its previews'
    paths, relative to notebooks/, are those committed."""
    import os

    import nbval.plugin

    from shdata.notebook import find_project_root

    from . import nbval_sandbox

    if request.config.getoption("nbval", default=False):
        assert request.config.pluginmanager.has_plugin("tests.nbval_sandbox"), "nbval runs without its sandbox"
    started: dict[str, str] = {}
    monkeypatch.setattr(nbval.plugin, "RunningKernel", lambda name, cwd=None, **kw: started.setdefault("cwd", cwd))
    mine: list[Path] = []
    monkeypatch.setattr(nbval_sandbox, "_sandboxes", mine)  # this test's own sandbox, removed after it

    class NbvalLax:
        def getoption(self, name, default=None):
            return name == "nbval_lax"

    nbval_sandbox.pytest_configure(NbvalLax())  # type: ignore[arg-type]
    try:
        nbval.plugin.RunningKernel("python3", cwd=str(ROOT / "notebooks"))
        cwd = Path(started["cwd"])
        assert mine and cwd == mine[0] / "notebooks"
        assert find_project_root(cwd) == cwd.parent != ROOT
        assert os.path.relpath(cwd.parent / "figures" / "en" / "x.png", cwd) == "../figures/en/x.png"
    finally:
        for root in mine:
            shutil.rmtree(root, ignore_errors=True)
