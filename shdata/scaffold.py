"""``shdata new NAME [--table ID]``: start a notebook the way the topic notebooks are built.

The new ``notebooks/NAME.ipynb`` has the ``parameters`` cell (generated here,
from the same constants :func:`shdata.notebook.validate` checks against; a test
holds every notebook's parameters cell to :func:`parameters_source`), the setup
cell, and one example figure drawn from the chosen table, with commentary
computed from the data. What the example draws is decided from the table's
metadata (its shape, units, kinds and periods), never from its id.

The notebook is executed once with the default parameters and written with its
outputs (as ``shdata build`` would write it), so it passes nbval at once;
``shdata build`` then builds it in every language and adds its figure to the
manifest. Nothing is written when the name or table is refused or the example
fails to run.
"""

from __future__ import annotations

import inspect
import json
import keyword
import os
import re
import shutil
import tempfile
from pathlib import Path

from .errors import ShdataError
from .schema import PLACE_KINDS

NAME_RE = re.compile(r"[a-z][a-z0-9_]{1,40}")


class ScaffoldError(ShdataError):
    """A notebook cannot be created (bad or taken name, unknown table, failing example)."""


# -- the parameters cell: one place ----------------------------------------------

# What each figure variant draws, for the comment on the ``variant`` parameter.
_VARIANT_DRAWS = {"journal": "no title drawn", "standalone": "headline, source and notes drawn"}


def parameters() -> list[tuple[str, str, str, str]]:
    """``(name, annotation, default, comment)`` of every notebook parameter, in cell order."""
    from . import _pkg
    from .notebook import DPI_RANGE, FORMATS, LANGS, VARIANTS, validate
    from .style import WIDTHS_MM

    sig = inspect.signature(validate).parameters
    widths = ", ".join(f'"{k}" ({v:g} mm)' for k, v in WIDTHS_MM.items())
    out = [
        (
            "lang",
            "str",
            json.dumps(sig["lang"].default),
            f"language of labels and commentary: {' or '.join(json.dumps(x) for x in LANGS)}",
        ),
        # Notebooks write every format by default; validate() alone defaults to PNG.
        (
            "formats",
            "list",
            json.dumps(list(FORMATS)),
            f"file formats to write: any of {', '.join(json.dumps(x) for x in FORMATS)}",
        ),
        ("dpi", "int", json.dumps(sig["dpi"].default), f"resolution of PNG files, {DPI_RANGE[0]}-{DPI_RANGE[1]}"),
        ("width", "str", json.dumps(sig["width"].default), f"{widths} or a width in mm"),
        (
            "output_dir",
            "str",
            json.dumps(sig["output_dir"].default),
            "figures go to <output_dir>/<lang>/; a relative path starts at the project root",
        ),
        ("year", "int", json.dumps(_pkg().edition), "edition of the report"),
        (
            "variant",
            "str",
            json.dumps(sig["variant"].default),
            " or ".join(f"{json.dumps(v)} ({_VARIANT_DRAWS[v]})" for v in VARIANTS)
            + f"; or both: {json.dumps(','.join(VARIANTS))}",
        ),
    ]
    declared = [n for n, p in sig.items() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    if [p[0] for p in out] != declared:  # pragma: no cover - guards the two lists drifting apart
        raise ScaffoldError(f"notebook parameters {declared} and the scaffold's {[p[0] for p in out]} differ")
    return out


def parameters_source() -> str:
    """The source of the cell tagged ``parameters``, identical in every notebook."""
    return "\n".join(f"{n}: {a} = {d}  # {c}" for n, a, d, c in parameters())


def setup_source(name: str) -> str:
    """The setup cell that follows the parameters cell."""
    return (
        "import shdata\nfrom shdata import notebook, style, units\n\n"
        f"P = notebook.setup(globals(), notebook={json.dumps(name)})"
    )


# -- the example figure ------------------------------------------------------------


def _selection(meta) -> tuple[str, str, str, str]:
    """``(field, where, why, row)`` of the example: the numeric column drawn, the code of the row
    filter and a comment saying why, and the code naming a drawn value's row for the figure data.

    Decided from the table's metadata and columns, never from its id.
    """
    import shdata

    if meta.shape == "indicator":
        kinds = shdata.load(meta.id)["kind"]
        if bool((kinds == "level").any()):
            return "value", '{"kind": "level"}', "  # counts and amounts, not growth rates or ranks", "v.key"
        if set(kinds) <= PLACE_KINDS:
            raise ScaffoldError(_only_places(meta.id))
        return "value", "None", "", "v.key"
    label = next((f for f in meta.label_fields if f.endswith("_en")), None)
    if label is None or not meta.value_fields or not meta.primary_key:
        raise ScaffoldError(
            f"table {meta.id!r} has no label column and numeric column to draw; choose another with --table"
        )
    kind = {f["name"]: f.get("shdata:kind", "") for f in meta.fields}
    amounts = [f for f in meta.value_fields if kind[f] not in PLACE_KINDS]
    if not amounts:
        raise ScaffoldError(_only_places(meta.id))
    row_type = next((f for f in meta.fields if f["name"] == "row_type"), None)
    totals = row_type is not None and "item" in row_type.get("constraints", {}).get("enum", [])
    row = f"{{{json.dumps(meta.primary_key[0])}: v.key}}"
    if totals:
        return amounts[0], '{"row_type": "item"}', "  # leave out printed totals", row
    return amounts[0], "None", "", row


def _only_places(table_id: str) -> str:
    """The refusal for a table whose values are all places (:data:`shdata.schema.PLACE_KINDS`): the
    example's bar chart and "the largest value" would make the worst place the largest."""
    return (
        f"table {table_id!r} holds only ranks, and the example draws amounts (the longest bar would be the "
        "worst place); choose another with --table, or start from notebooks/rankings.ipynb"
    )


def example_source(name: str, table_id: str) -> str:
    """The example figure cell: a sorted bar chart of ``table_id`` with its text written by the text layer.

    Commentary, headline, subtitle and alt text go through ``T = P.text()``, so
    every number in them is recorded with its source cell; ``data=`` records the
    values drawn. The figure passes the linter in both languages and both variants.
    """
    import shdata

    meta = shdata.metadata(table_id)  # raises UnknownTableError with a suggestion
    field, where, why, row = _selection(meta)
    # A measure column's title says what it measures; an indicator table's value column is just values.
    title = next(f.get("title", "") for f in meta.fields if f["name"] == field)
    measure = title if meta.shape != "indicator" and title else "Value"
    figure_id = f"{name}-{table_id}".replace("_", "-")
    return f"""from collections import Counter

TABLE = {json.dumps(meta.id)}
FIELD = {json.dumps(field)}  # the numeric column drawn; shdata.metadata(TABLE).value_fields lists them all
MEASURE = {json.dumps(measure)}  # what it measures, for the English axis label and subtitle
meta = shdata.metadata(TABLE)
T = P.text()  # writes this figure's texts and records the source of every number they quote
values = T.cells(TABLE, FIELD, where={where}){why}
# Draw only values that compare: the largest group sharing one unit and one period.
unit, period = Counter((v.unit, v.period) for v in values).most_common(1)[0][0]
values = sorted((v for v in values if (v.unit, v.period) == (unit, period)), key=float)

fig, ax = P.figure(height=0.15 + 0.06 * len(values))
ax.barh(range(len(values)), [float(v) for v in values], color=style.BASE, height=0.6)
ax.set_yticks(range(len(values)), P.wrap([P.label(v) for v in values], 40))
ax.tick_params(axis="y", length=0)
if units.base_unit(unit) == "元":  # money: ¥ bn or ¥ m in English, the printed unit in Chinese
    unit_label = style.money_axis(ax, unit, P.lang)
else:
    unit_label = P.t(units.describe_unit(unit, "en", values[0].kind), unit)
axis_label = P.t(f"{{MEASURE}} ({{unit_label}})", f"数值（{{unit_label}}）")
ax.set_xlabel(axis_label)
ax.grid(axis="x", lw=0.3, color="#dddddd")
ax.set_axisbelow(True)

# The texts: every number is computed from the values drawn and formatted by T, never typed.
# The largest value, or the values tied for it (T.largest() refuses a tie rather than name one of them).
leaders = [v for v in values if v.base == values[-1].base]
top, tied, n = leaders[-1], len(leaders) > 1, T.count(values)
names = T.join([T.label(v) for v in reversed(leaders)])
if P.lang == "en":
    each = " each" if tied else ""
    commentary = T.paragraph(
        f"Of the {{T.q(n, unit_word=False)}} values drawn, the largest {{'are those' if tied else 'is that'}} of "
        f"{{names}}: {{T.q(top)}}{{each}} {{T.period(top)}}",
        T.caveats())  # the data notes that bear on the values just quoted
    headline = T.sentence(f"The largest {{'values are those' if tied else 'value is that'}} of {{names}}: "
                          f"{{T.q(top)}}{{each}} {{T.period(top)}}")
    subtitle = f"{{axis_label}}, {{T.period(top).removeprefix('in ')}}"
    alt = T.sentence(f"Bar chart comparing {{T.q(n, unit_word=False)}} values, sorted with the largest at the top: "
                     f"{{names}} ({{T.q(top)}}{{each}})")
else:
    both = "并列" if tied else ""
    commentary = T.paragraph(
        f"图中{{T.q(n, unit_word=False)}}项数值中，{{names}}{{both}}最大：{{T.period(top)}}{{T.q(top)}}", T.caveats())
    headline = T.sentence(f"{{names}}{{both}}最大：{{T.period(top)}}{{T.q(top)}}")
    subtitle = f"{{axis_label}}，{{T.period(top)}}"
    alt = T.sentence(f"条形图，比较{{T.q(n, unit_word=False)}}项数值，按数值排序，最大的在最上方："
                     f"{{names}}（{{T.q(top)}}）")

P.publish(fig, {json.dumps(figure_id)}, sources=[TABLE],
          title=P.t(meta.title, meta.title_zh),
          caption=P.t("Sorted by value. " + notebook.source_line([TABLE], "en"),
                      "按数值排序。" + notebook.source_line([TABLE], "zh")),
          subtitle=subtitle, commentary=commentary, headline=headline, alt=alt,
          data=notebook.figure_data(TABLE, rows=[{row} for v in reversed(values)],  # in the order read
                                    columns=[FIELD]))"""


def new_notebook(name: str, table_id: str) -> dict:
    """The notebook JSON for ``notebooks/NAME.ipynb`` (no outputs yet)."""
    import nbformat

    import shdata

    meta = shdata.metadata(table_id)
    intro = (
        f"# {name}\n\n"
        f"Started with `shdata new {name} --table {table_id}`. The example below draws *{meta.title}* "
        f"({meta.title_zh}, report section {meta.section}); replace it with your own figures. Every number "
        "is read from `shdata`; nothing is typed in."
    )
    heading = f"## 1. {meta.title}\n\nAn example figure; edit the code, then run `shdata build`."
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    params = nbformat.v4.new_code_cell(parameters_source(), metadata={"tags": ["parameters"]})
    nb.cells = [
        nbformat.v4.new_markdown_cell(intro),
        params,
        nbformat.v4.new_code_cell(setup_source(name)),
        nbformat.v4.new_markdown_cell(heading),
        nbformat.v4.new_code_cell(example_source(name, table_id)),
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name.replace('_', '-')}-{i}"
    return json.loads(nbformat.writes(nb))


def check_name(name: str, notebooks_dir: Path) -> None:
    """Refuse a name that is not a plain lower-case identifier, or that is taken."""
    if not NAME_RE.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"notebook name {name!r} is not allowed; use 2-41 lower-case letters, digits and "
            "underscores, starting with a letter (e.g. 'patents_by_district')"
        )
    if (notebooks_dir / f"{name}.ipynb").exists():
        raise ScaffoldError(f"notebooks/{name}.ipynb already exists; choose another name")


def create(root: Path, name: str, table_id: str | None = None, run: bool = True) -> Path:
    """Create ``notebooks/NAME.ipynb`` in the project at ``root``; return its path.

    Parameters
    ----------
    root : pathlib.Path
        The project folder (``pyproject.toml``, ``notebooks/``, ``data/``).
    name : str
        Notebook name, a lower-case identifier.
    table_id : str, optional
        The table the example figure draws; default: the first table of the data package.
    run : bool, default True
        Execute the notebook with the default parameters and write it with its outputs
        (its English figure goes to ``figures/en/``), as ``shdata build`` would.
    """
    import shdata

    from ._io import atomic_path
    from .sync import dumps

    root = Path(root)
    notebooks_dir = root / "notebooks"
    check_name(name, notebooks_dir)
    table_id = table_id or shdata._pkg().ids()[0]
    nb = new_notebook(name, table_id)
    target = notebooks_dir / f"{name}.ipynb"
    if run:
        nb = _run_canonical(root, name, nb)
    data = dumps(nb).encode("utf-8")
    if target.exists():  # created meanwhile by someone else: never overwrite
        raise ScaffoldError(f"notebooks/{name}.ipynb already exists; choose another name")
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def _run_canonical(root: Path, name: str, nb: dict) -> dict:
    """Execute ``nb`` with its default parameters in a scratch folder; publish its figures into ``figures/``.

    Returns the executed notebook with the sources of ``nb``.
    """
    import papermill

    from .sync import canonical, dumps

    with tempfile.TemporaryDirectory(prefix=f"shdata-new-{name}-") as scratch:
        src, out, figs = Path(scratch) / f"{name}.ipynb", Path(scratch) / "out.ipynb", Path(scratch) / "figures"
        src.write_text(dumps(nb), encoding="utf-8")
        env_before = os.environ.get("SHDATA_DATA_DIR")
        os.environ["SHDATA_DATA_DIR"] = env_before or str(root / "data")
        try:
            papermill.execute_notebook(
                str(src),
                str(out),
                parameters={"output_dir": str(figs)},
                cwd=str(root),
                progress_bar=False,
                log_output=False,
            )
        except papermill.PapermillExecutionError as exc:
            raise ScaffoldError(
                f"the example figure failed to run ({exc.ename}: {exc.evalue}); nothing written; try another --table"
            ) from None
        finally:
            if env_before is None:
                os.environ.pop("SHDATA_DATA_DIR", None)
        executed = json.loads(out.read_text(encoding="utf-8"))
        done = canonical(nb, executed, figures_dir=root / "figures", notebooks_dir=root / "notebooks")
        for f in sorted(figs.glob("*/*")):
            dest = root / "figures" / f.parent.name / f.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(f), dest)
    return done
