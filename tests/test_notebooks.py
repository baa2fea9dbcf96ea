"""The notebooks as researchers and the batch build run them: papermill in both
languages, figure files, fonts, determinism, provenance, and bad parameters."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import ROOT

NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
LANGS = ("en", "zh")
PAPERMILL = [sys.executable, "-m", "papermill", "--log-level", "WARNING"]


def _run(nb: str, out_nb: Path, output_dir: Path, *params: str) -> subprocess.CompletedProcess:
    cmd = [*PAPERMILL, str(ROOT / "notebooks" / f"{nb}.ipynb"), str(out_nb), "--cwd", str(ROOT),
           "-p", "output_dir", str(output_dir), *params]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """Every notebook in both languages, run with the plain papermill CLI, two at a time."""
    base = tmp_path_factory.mktemp("runs")
    jobs = [(nb, lang) for nb in NOTEBOOKS for lang in LANGS]

    def one(job):
        nb, lang = job
        out = base / f"{nb}-{lang}.ipynb"
        return job, out, _run(nb, out, base / "figures", "-p", "lang", lang)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = {job: (out, done) for job, out, done in pool.map(one, jobs)}
    return base / "figures", results


def test_there_are_four_topic_notebooks():
    assert {"funding", "talent", "rankings", "yangtze_delta"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook_runs_in_both_languages_and_writes_its_figures(runs, nb):
    figures, results = runs
    ids = {}
    for lang in LANGS:
        out, done = results[(nb, lang)]
        assert done.returncode == 0, done.stderr[-2000:]
        records = [json.loads(p.read_text(encoding="utf-8")) for p in (figures / lang).glob("*.json")]
        mine = {r["id"] for r in records if r["notebook"] == nb}
        assert len(mine) >= 4, f"{nb} ({lang}) published {sorted(mine)}"
        for fid in mine:
            for ext in ("png", "svg", "pdf"):
                assert (figures / lang / f"{fid}.{ext}").stat().st_size > 0
        ids[lang] = mine
    assert ids["en"] == ids["zh"], "both languages publish the same figure ids"


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_no_glyph_is_missing_and_nothing_is_printed_to_stderr(runs, nb):
    _, results = runs
    for lang in LANGS:
        out, _ = results[(nb, lang)]
        cells = json.loads(out.read_text(encoding="utf-8"))["cells"]
        streams = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", [])
                          if o.get("output_type") == "stream")
        assert "Glyph" not in streams and "missing from" not in streams, streams[:500]
        assert "findfont" not in streams, streams[:500]


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_commentary_is_in_the_chosen_language(runs, nb):
    _, results = runs
    texts = {}
    for lang in LANGS:
        out, _ = results[(nb, lang)]
        cells = json.loads(out.read_text(encoding="utf-8"))["cells"]
        texts[lang] = "".join("".join(o.get("data", {}).get("text/markdown", "")) for c in cells
                              for o in c.get("outputs", []))
    han = lambda t: len(re.findall(r"[\u4e00-\u9fff]", t))
    assert han(texts["zh"]) > 150, "Chinese run: Chinese commentary"
    latin_words = lambda t: len(re.findall(r"\b[a-z]{4,}\b", t))
    assert latin_words(texts["en"]) > 5 * latin_words(texts["zh"]) + 50, "English run: English commentary"
    assert texts["en"] and "Figure" in texts["en"] and "图" in texts["zh"]


def test_pdfs_embed_truetype_fonts_not_type3(runs):
    figures, _ = runs
    pdfs = list(figures.glob("*/*.pdf"))
    assert pdfs
    for pdf in pdfs:
        data = pdf.read_bytes()
        assert b"/Type3" not in data, pdf.name
        assert b"/FontFile2" in data, f"{pdf.name}: no embedded TrueType font program"
        assert b"/CreationDate" not in data, f"{pdf.name}: carries a timestamp"
    zh = (figures / "zh" / "rankings-ideal-city.pdf").read_bytes()
    assert b"NotoSansCJK" in zh


def test_svgs_draw_text_as_outlines_without_dates(runs):
    figures, _ = runs
    for svg in figures.glob("*/*.svg"):
        text = svg.read_text(encoding="utf-8")
        assert "<dc:date>" not in text, svg.name
        assert "font-family" not in text, f"{svg.name}: depends on an installed font"


def test_png_is_sized_to_the_column_width_and_dpi(runs):
    from PIL import Image

    figures, _ = runs
    img = Image.open(figures / "en" / "funding-unicorns.png")
    width_px = round(183 / 25.4 * 300)  # default: double column, 300 dpi
    assert abs(img.size[0] - width_px) <= 1
    assert "Software" not in img.info
    prov = json.loads(img.info["Source"])
    assert prov["figure"] == "funding-unicorns" and prov["data_sha256"]


def test_provenance_names_source_tables_sections_and_version(runs):
    figures, _ = runs
    rec = json.loads((figures / "en" / "funding-nsfc-by-programme.json").read_text(encoding="utf-8"))
    src = rec["provenance"]["sources"][0]
    assert src["table"] == "nsfc_projects_by_programme" and src["section"] == "§2.1" and len(src["sha256"]) == 64
    assert rec["provenance"]["shdata_version"]
    assert any("counted twice" in n for n in rec["notes"]), "printed footnotes travel with the figure"
    pdf = (figures / "en" / "funding-nsfc-by-programme.pdf").read_bytes()
    # PDF info strings with non-Latin text are UTF-16BE
    assert "nsfc_projects_by_programme".encode("utf-16-be") in pdf


def test_a_second_run_is_byte_identical(runs, tmp_path):
    figures, _ = runs
    done = _run("funding", tmp_path / "again.ipynb", tmp_path / "figures")
    assert done.returncode == 0, done.stderr[-2000:]
    again = sorted((tmp_path / "figures" / "en").iterdir())
    assert again
    for f in again:
        assert f.read_bytes() == (figures / "en" / f.name).read_bytes(), f"{f.name} differs between runs"


def test_width_and_dpi_parameters_change_the_png(tmp_path):
    from PIL import Image

    done = _run("yangtze_delta", tmp_path / "o.ipynb", tmp_path / "f", "-p", "width", "single", "-p", "dpi", "150",
                "-p", "formats", "png")
    assert done.returncode == 0, done.stderr[-2000:]
    img = Image.open(tmp_path / "f" / "en" / "yrd-technology-trade.png")
    assert abs(img.size[0] - round(89 / 25.4 * 150)) <= 1
    assert not list((tmp_path / "f" / "en").glob("*.pdf")), "only the requested formats are written"


@pytest.mark.parametrize("params,message", [
    (["-p", "lang", "fr"], "lang 'fr' is not allowed; use one of 'en', 'zh'"),
    (["-p", "formats", "bmp"], "formats: 'bmp' is not allowed; use any of 'png', 'svg', 'pdf'"),
    (["-p", "dpi", "-5"], "dpi -5 is not allowed; use a whole number from 72 to 1200"),
    (["-p", "width", "triple"], "width 'triple' is not allowed"),
    (["-p", "year", "2022"], "year 2022 is not available; editions in this package: 2023"),
    (["-p", "colour", "red"], "unknown parameter 'colour'; this notebook takes: lang, formats"),
])
def test_bad_parameter_fails_in_the_first_cell_with_one_line(tmp_path, params, message):
    out = tmp_path / "bad.ipynb"
    done = _run("talent", out, tmp_path / "f", *params)
    assert done.returncode != 0
    assert message in done.stderr
    cells = json.loads(out.read_text(encoding="utf-8"))["cells"]
    failed = [i for i, c in enumerate(cells) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    params_at = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    injected = 1 if any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells) else 0
    first_code_after = next(i for i, c in enumerate(cells) if i > params_at + injected and c["cell_type"] == "code")
    assert failed == [first_code_after]
    error = next(o for o in cells[first_code_after]["outputs"] if o.get("output_type") == "error")
    assert error["ename"] == "ParameterError" and "\n" not in error["evalue"]
    assert not (tmp_path / "f").exists(), "nothing is written when a parameter is bad"


def test_help_notebook_documents_every_parameter():
    done = subprocess.run([*PAPERMILL, "--help-notebook", str(ROOT / "notebooks" / "funding.ipynb")],
                          capture_output=True, text=True)
    assert done.returncode == 0
    for name in ("lang", "formats", "dpi", "width", "output_dir", "year"):
        assert name in done.stdout
    assert '"en" or "zh"' in done.stdout
