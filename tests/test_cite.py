"""`shdata cite` in every format, for a figure, a table and the report: each
format parses with the tool researchers use, and GB/T 7714 matches strings
checked by hand against GB/T 7714-2015."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pytest

import shdata
from shdata import cite, cli

from .conftest import ROOT

SHDATA = [sys.executable, "-m", "shdata.cli", "cite"]
FIGURE = "funding-nsfc-by-programme"
TABLE = "nsfc_projects_by_programme"
URL = "https://github.com/shdata-project/shdata"

# Checked by hand against GB/T 7714-2015: 主要责任者. 题名[文献类型标识/载体标识]. 出版地: 出版者, 出版年. 获取路径.
# The report prints no place or year: "[出版地不详]" / "[S.l.]" (§8.4.1.3), and no year rather than a guessed one.
GBT = {
    ("report", "zh"): "上海市科学技术委员会. 2023上海科技进步报告[R]. [出版地不详]: 上海市科学技术委员会.",
    ("report", "en"): "Shanghai Municipal Science and Technology Commission. 2023上海科技进步报告 [Shanghai Science "
    "and Technology Progress Report 2023][R]. [S.l.]: Shanghai Municipal Science and Technology "
    "Commission.",
    ("table", "zh"): f"上海市科学技术委员会. 2023年上海获国家自然科学基金项目情况[DS/OL]. shdata, 2026. {URL}.",
    ("table", "en"): "Shanghai Municipal Science and Technology Commission. NSFC projects awarded to Shanghai by "
    f"programme, 2023[DS/OL]. shdata, 2026. {URL}.",
    ("figure", "zh"): "上海市科学技术委员会. 2023年上海获国家自然科学基金项目数与资助额（按项目类型）[Z/OL]//"
    f"2023上海科技进步报告. shdata, 2026. {URL}.",
}
ARGS = {"report": ["--report"], "table": ["--table", TABLE], "figure": [FIGURE]}


def run(*args: str) -> str:
    """What ``shdata cite ARGS`` prints, from the command's own entry point in this process.

    A process per citation would cost more than the citation; the command run as a process is
    checked by :func:`test_same_citation_from_the_api_and_the_cli` (every format) and
    :func:`test_cite_errors_are_one_line`.
    """
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        code = cli.main(["cite", *args, "--manifest", str(ROOT / "figures" / "manifest.json")])
    assert code == 0, errors.getvalue()
    return printed.getvalue()


def run_process(*args: str) -> str:
    """What ``python -m shdata.cli cite ARGS`` prints, run as a process."""
    done = subprocess.run(
        [*SHDATA, *args, "--manifest", str(ROOT / "figures" / "manifest.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("kind,lang", sorted(GBT))
def test_gbt7714_matches_the_hand_checked_reference(kind, lang):
    assert run(*ARGS[kind], "--format", "gbt7714", "--lang", lang) == GBT[(kind, lang)] + "\n"


@pytest.mark.parametrize("kind", sorted(ARGS))
def test_bibtex_parses_with_pybtex_and_credits_the_commission(kind):
    from pybtex.database import parse_string

    db = parse_string(run(*ARGS[kind], "--format", "bibtex"), "bibtex")
    first = next(iter(db.entries.values()))
    assert "Shanghai Municipal Science and Technology Commission" in str(first.persons["author"][0])
    if kind == "report":
        assert "year" not in first.fields, "the report prints no year: none is invented"
    else:
        assert set(db.entries) >= {"shdata"}


@pytest.mark.parametrize("kind,lang", [(k, lang) for k in sorted(ARGS) for lang in ("en", "zh")])
def test_ris_parses_with_rispy(kind, lang):
    import rispy

    refs = rispy.loads(run(*ARGS[kind], "--format", "ris", "--lang", lang))
    assert refs[0]["type_of_reference"] == {"report": "RPRT", "table": "DATA", "figure": "FIGURE"}[kind]
    assert refs[0]["authors"] == [
        "上海市科学技术委员会" if lang == "zh" else "Shanghai Municipal Science and Technology Commission"
    ]
    assert refs[0]["title"]
    if kind == "report":
        assert "year" not in refs[0]


@pytest.mark.parametrize("kind,lang", [(k, lang) for k in sorted(ARGS) for lang in ("en", "zh")])
def test_csl_json_is_valid_against_the_csl_schema(kind, lang):
    import jsonschema

    schema = json.loads((ROOT / "tests" / "data" / "csl-data.json").read_text(encoding="utf-8"))
    items = json.loads(run(*ARGS[kind], "--format", "csl-json", "--lang", lang))
    jsonschema.validate(items, schema)
    assert items[0]["language"] == ("zh-CN" if lang == "zh" else "en")
    if kind == "report":
        assert "issued" not in items[0]


def test_an_invalid_item_fails_the_csl_schema():
    import jsonschema

    schema = json.loads((ROOT / "tests" / "data" / "csl-data.json").read_text(encoding="utf-8"))
    items = cite.report_items()
    items[0]["year"] = "2023"  # not a CSL variable: a tool importing it would drop it
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(items, schema)


def test_apa_marks_the_missing_year_and_renders_from_csl():
    assert "(n.d.)" in run("--report", "--format", "apa")
    assert "[Dataset]" in run(*ARGS["table"], "--format", "apa")


def test_text_credits_the_report_first_in_both_languages():
    en = run(*ARGS["table"])
    assert en.index("Shanghai Municipal Science and Technology Commission") < en.index("processing by shdata")
    zh = run(*ARGS["table"], "--lang", "zh")
    assert zh.startswith("上海市科学技术委员会") and "§2.1" in zh and "整理" in zh


def test_gbt_post_processing_fixes_only_what_citeproc_gets_wrong():
    item = cite.report_items(lang="en")[0]
    raw = "[1]SHANGHAI MUNICIPAL SCIENCE AND TECHNOLOGY COMMISSION. " + item["title"] + ". [S.l.]: x."
    fixed = cite._gbt_fix(raw, item)
    assert fixed.startswith("Shanghai Municipal Science and Technology Commission. ")
    assert f"{item['title']}[R]." in fixed
    assert cite._gbt_fix(fixed, item) == fixed, "idempotent: a correct entry is left alone"


def test_cite_errors_are_one_line():
    for args, message in (
        (["--table", "nsfc_projects"], "nsfc_projects"),
        (["--report", "--table", TABLE], "not --table and --report"),
        ([], "give a FIGURE_ID"),
    ):
        done = subprocess.run([*SHDATA, *args], capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_same_citation_from_the_api_and_the_cli():
    meta = shdata.metadata(TABLE)
    for fmt in cite.FORMATS:
        assert run_process(*ARGS["table"], "--format", fmt) == cite.cite_table(meta, fmt) + "\n"


def test_remembered_style_lookups_give_the_same_references():
    # cite._remember_style_lookups keeps citeproc-py's XPath answers on a parsed style: the
    # references (the report, tables and figures, both styles, both languages, the same
    # styles rendering one item after another as on the site) must come out as they do
    # without it, in a process of its own each way.
    script = (
        "import json, sys\n"
        "import shdata\n"
        "from shdata import cite\n"
        "if sys.argv[1] == 'plain':\n"
        "    cite._remember_style_lookups = lambda: None\n"
        "manifest = json.load(open(sys.argv[2], encoding='utf-8'))\n"
        "out = []\n"
        "for fmt in ('gbt7714', 'apa'):\n"
        "    for lang in ('en', 'zh'):\n"
        "        out.append(cite.cite_report(fmt, lang=lang))\n"
        "        out += [cite.cite_table(shdata.metadata(t), fmt, lang) for t in shdata.tables()['id'][:12]]\n"
        "        out += [cite.cite_figure(f, fmt, lang) for f in manifest['figures'][:6]]\n"
        "from citeproc.model import CitationStylesElement as E\n"
        "print(json.dumps({'remembers': getattr(E.xpath_search, 'remembers', False), 'refs': out}))\n"
    )
    manifest = str(ROOT / "figures" / "manifest.json")
    seen = {
        way: json.loads(
            subprocess.run(
                [sys.executable, "-c", script, way, manifest], capture_output=True, text=True, check=True
            ).stdout
        )
        for way in ("plain", "remembered")
    }
    assert seen["remembered"]["remembers"] and not seen["plain"]["remembers"]
    assert len(seen["plain"]["refs"]) == 4 * (1 + 12 + 6)
    assert seen["remembered"]["refs"] == seen["plain"]["refs"]
