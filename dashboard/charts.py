"""The indicator chart: a Making Data Count XmR chart with reference lines for comparator and target.

The values are a line with points; the mean is a solid line and the lower and
upper process limits are dashed, all as the monthly cycle stored them, so a
re-based segment shows its own limits.  Points are coloured by the special
cause they take part in: orange a concern, blue an improvement, grey a change
in an indicator where neither direction is good or bad, the line's own colour
common cause.

A month whose value could not be computed (or was never stored) must read
as a gap in the line, never as a zero, so every line breaks at missing
values instead of joining its neighbours across them.  A series too short
for limits simply has no mean or limit lines.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from radar.dashboard.common import UNIT_LABELS

# Vega-Lite's default joins the points either side of a missing value; this breaks the path.
BREAK_AT_MISSING = "break-paths-show-domains"
COMMON_CAUSE = "Common cause"
POINT_CLASSES = {
    "concern": "Special cause: concern",
    "improvement": "Special cause: improvement",
    "neither": "Special cause: neither better nor worse",
}
POINT_COLOURS = {
    COMMON_CAUSE: "#37474f",
    POINT_CLASSES["concern"]: "#f28e2b",
    POINT_CLASSES["improvement"]: "#1f6fb4",
    POINT_CLASSES["neither"]: "#a0a0a0",
}
PROCESS_COLOUR = "#757575"
LIMITS = {"lower": "Lower process limit", "upper": "Upper process limit"}


def spc_chart(points: pl.DataFrame, unit: str, references: list[tuple[str, float]]) -> alt.LayerChart:
    """Chart `points` (period, value, mean, lower, upper, signal, assessment) with a labelled rule per reference.

    `signal` is null for a common-cause month; `assessment` (concern,
    improvement, or null for neither) colours a special-cause point.
    """
    data = points.select(
        "period", "value", "mean", "lower", "upper",
        month=(pl.col("period") + "-01").str.to_date("%Y-%m-%d"),
        variation=pl.when(pl.col("signal").is_null())
        .then(pl.lit(COMMON_CAUSE))
        .otherwise(pl.col("assessment").fill_null("neither").replace_strict(POINT_CLASSES)),
    )
    x = alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y"))

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=UNIT_LABELS[unit])

    values = alt.Chart(data).encode(x=x, y=y("value"))
    line = values.mark_line(invalid=BREAK_AT_MISSING, color=POINT_COLOURS[COMMON_CAUSE])
    dots = values.mark_point(filled=True, size=60, opacity=1).encode(
        color=alt.Color(
            "variation:N",
            title=None,
            scale=alt.Scale(domain=list(POINT_COLOURS), range=list(POINT_COLOURS.values())),
            legend=alt.Legend(orient="bottom"),
        ),
        tooltip=[
            alt.Tooltip("period:N", title="Month"),
            alt.Tooltip("value:Q", title="Value", format=",.1f"),
            alt.Tooltip("variation:N", title="Variation"),
        ],
    )
    mean = alt.Chart(data).mark_line(invalid=BREAK_AT_MISSING, color=PROCESS_COLOUR).encode(x=x, y=y("mean"))
    limit_lines = data.unpivot(on=list(LIMITS), index="month", variable_name="limit", value_name="level")
    limits = (
        alt.Chart(limit_lines.with_columns(pl.col("limit").replace_strict(LIMITS)))
        .mark_line(invalid=BREAK_AT_MISSING, color=PROCESS_COLOUR, strokeDash=[6, 4])
        .encode(x=x, y=y("level"), detail="limit:N")
    )
    lines = pl.DataFrame(references, schema={"label": pl.String, "value": pl.Float64}, orient="row")
    reference = alt.Chart(lines).encode(
        y="value:Q", color=alt.Color("label:N", legend=None, scale=alt.Scale(scheme="dark2"))
    )
    rules = reference.mark_rule(strokeDash=[2, 2])
    labels = reference.mark_text(align="left", dx=4, dy=-7).encode(x=alt.value(0), text="label:N")
    return alt.layer(limits, mean, line, dots, rules, labels).resolve_scale(color="independent")
