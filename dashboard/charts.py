"""The indicator chart: a monthly line with reference lines for comparator and target.

A month whose value could not be computed (or was never stored) must read
as a gap in the line, never as a zero, so the line breaks at missing values
instead of joining its neighbours across them.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.common import UNIT_LABELS

# Vega-Lite's default joins the points either side of a missing value; this breaks the path.
BREAK_AT_MISSING = "break-paths-show-domains"


def series_chart(series: pl.DataFrame, unit: str, references: list[tuple[str, float]]) -> alt.LayerChart:
    """Chart `series` (period, value, note) with a labelled horizontal rule per (label, value) reference."""
    data = series.select(
        "period", "value", "note", month=(pl.col("period") + "-01").str.to_date("%Y-%m-%d")
    )
    line = alt.Chart(data).mark_line(point=True, invalid=BREAK_AT_MISSING).encode(
        x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y")),
        y=alt.Y("value:Q", title=UNIT_LABELS[unit]),
        tooltip=[
            alt.Tooltip("period:N", title="Month"),
            alt.Tooltip("value:Q", title="Value", format=",.1f"),
            alt.Tooltip("note:N", title="Note"),
        ],
    )
    lines = pl.DataFrame(references, schema={"label": pl.String, "value": pl.Float64}, orient="row")
    reference = alt.Chart(lines).encode(
        y="value:Q", color=alt.Color("label:N", legend=None, scale=alt.Scale(scheme="dark2"))
    )
    rules = reference.mark_rule(strokeDash=[6, 4])
    labels = reference.mark_text(align="left", dx=4, dy=-7).encode(x=alt.value(0), text="label:N")
    return alt.layer(line, rules, labels)
