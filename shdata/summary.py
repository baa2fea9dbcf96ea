"""Human-readable summaries of tables (``shdata.describe``, ``shdata show``)."""

from __future__ import annotations

import textwrap

from .package import Package
from .provenance import table_traces
from .units import describe_unit


def describe_text(pkg: Package, table_id: str, lang: str = "en") -> str:
    """Return the summary of one table as text.

    The data part shows every cell as printed in the report (the CSV text), so a
    reader can find each value in the report by eye.
    """
    import pandas as pd

    meta = pkg.metadata(table_id)
    parsed = pkg.parsed(table_id)
    lines = [f"{meta.id}: {meta.title}"]
    if meta.title_zh:
        lines.append(f"{' ' * len(meta.id)}  {meta.title_zh}")
    lines.append("")
    if meta.description:
        lines += textwrap.wrap(meta.description, 88) + [""]
    lines.append(f"topic    {meta.topic}")
    lines.append(f"source   {meta.citation(lang)}")
    lines.append(f"period   {meta.period}")
    if meta.shape == "indicator":
        used = sorted({r["unit"] for r in parsed.raw})
        lines.append("units    per row (column 'unit'): " + ", ".join(f"{u} ({describe_unit(u)})" for u in used))
    else:
        lines.append(
            "units    " + "; ".join(f"{k}: {v} ({describe_unit(v)})" if v else f"{k}: -" for k, v in meta.units.items())
        )
    lines.append(f"rows     {len(parsed.raw)}")
    if meta.notes:
        lines += ["", "Notes:"]
        for n in meta.notes:
            body = textwrap.wrap(n.render(lang), 84)
            lines.append(f"  [{n.kind}] {n.id}: {body[0] if body else ''}")
            lines += [f"      {b}" for b in body[1:]]
    if meta.checks:
        lines += ["", "Consistency checks:"]
        for c in meta.checks:
            expect = " (expected to fail, see note " + c.get("note", "?") + ")" if c.get("expect") == "fail" else ""
            lines.append(f"  {c.get('id')}: {c.get('description', '')}{expect}")
    lines += ["", "Printed in the report (`shdata trace TABLE_ID ROW COLUMN` for the whole sentence):"]
    lines += [f"  {t.line()}" for t in table_traces(pkg, table_id)]
    frame = pd.DataFrame(list(parsed.raw), columns=list(parsed.header))
    with pd.option_context(
        "display.max_rows",
        500,
        "display.max_columns",
        50,
        "display.width",
        200,
        "display.unicode.east_asian_width",
        True,
    ):
        lines += ["", "Data (as printed):", frame.to_string(index=False)]
    return "\n".join(lines)
