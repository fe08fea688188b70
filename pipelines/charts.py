"""The indicator chart: a Making Data Count XmR chart with reference lines for comparator and target.

One chart for the screen and the paper: the dashboard's indicator page shows
it and the Board pack (radar.actions.board_pack) draws it to SVG, so the
Board reads on paper the chart it sees on screen.  Building an Altair spec is
pure (data in, a Vega-Lite description out), so it sits with the work.

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

Nothing Radar charts can be below zero, and no percentage above 100, so the
value axis starts at zero (lower only if a charted value itself is) and a
percentage's axis stops at 100 at most; lines are clipped to the axis, so a
limit computed below zero is never drawn there.  For a seasonally adjusted
series the axis says so, and each point's tooltip gives the value as
reported beside the adjusted one that is charted.
"""

from __future__ import annotations

import altair as alt
import polars as pl

UNIT_LABELS = {"count": "count", "percent": "%", "rate_per_10k": "per 10,000 children", "days": "days"}
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
# How a tooltip writes a value, as pipelines.messages.number does: a count of children is a whole number.
VALUE_FORMATS = {"count": ",.0f", "days": ",.0f"}
LIMITS = {"lower": "Lower process limit", "upper": "Upper process limit"}


SEASONALLY_ADJUSTED = "seasonally adjusted"


def y_scale(points: pl.DataFrame, unit: str, references: list[tuple[str, float]]) -> alt.Scale:
    """The value axis: from zero (or a lower charted value) up, and never above 100 for a percentage."""
    values = pl.concat([points["value"], points["upper"], pl.Series([v for _, v in references], dtype=pl.Float64)])
    lowest = points["value"].min()
    bottom = min(0.0, lowest) if lowest is not None else 0.0
    if unit != "percent":
        return alt.Scale(domainMin=bottom, nice=True)
    top = values.max()
    return alt.Scale(domain=[bottom, 100.0 if top is None else min(100.0, top)], nice=True)


def spc_chart(
    points: pl.DataFrame, unit: str, references: list[tuple[str, float]], seasonal: bool = False
) -> alt.LayerChart:
    """Chart `points` (period, value, reported, mean, lower, upper, signal, assessment) with a rule per reference.

    `value` is what the cycle charted, `reported` the month's value as the
    agency sent it; they differ only for a `seasonal` series, whose `value`
    is seasonally adjusted.  `signal` is null for a common-cause month;
    `assessment` (concern, improvement, or null for neither) colours a
    special-cause point.
    """
    data = points.select(
        "period", "value", "reported", "mean", "lower", "upper",
        month=(pl.col("period") + "-01").str.to_date("%Y-%m-%d"),
        variation=pl.when(pl.col("signal").is_null())
        .then(pl.lit(COMMON_CAUSE))
        .otherwise(pl.col("assessment").fill_null("neither").replace_strict(POINT_CLASSES)),
    )
    x = alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y"))
    scale = y_scale(points, unit, references)
    title = f"{UNIT_LABELS[unit]}, {SEASONALLY_ADJUSTED}" if seasonal else UNIT_LABELS[unit]

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=title, scale=scale)

    digits = VALUE_FORMATS.get(unit, ",.1f")
    shown = [alt.Tooltip("reported:Q", title="Reported", format=digits)]
    if seasonal:
        shown.append(alt.Tooltip("value:Q", title=SEASONALLY_ADJUSTED.capitalize(), format=digits))

    values = alt.Chart(data).encode(x=x, y=y("value"))
    line = values.mark_line(invalid=BREAK_AT_MISSING, color=POINT_COLOURS[COMMON_CAUSE], clip=True, aria=False)
    dots = values.mark_point(filled=True, size=60, opacity=1, clip=True, aria=False).encode(
        color=alt.Color(
            "variation:N",
            title=None,
            scale=alt.Scale(domain=list(POINT_COLOURS), range=list(POINT_COLOURS.values())),
            legend=alt.Legend(orient="bottom", labelLimit=0),  # 0: labels in full, never "Special cause: improvem…"
        ),
        tooltip=[
            alt.Tooltip("period:N", title="Month"),
            *shown,
            alt.Tooltip("variation:N", title="Variation"),
        ],
    )
    mean = alt.Chart(data).mark_line(invalid=BREAK_AT_MISSING, color=PROCESS_COLOUR, clip=True, aria=False).encode(
        x=x, y=y("mean")
    )
    limit_lines = data.unpivot(on=list(LIMITS), index="month", variable_name="limit", value_name="level")
    limits = (
        alt.Chart(limit_lines.with_columns(pl.col("limit").replace_strict(LIMITS)))
        .mark_line(invalid=BREAK_AT_MISSING, color=PROCESS_COLOUR, strokeDash=[6, 4], clip=True, aria=False)
        .encode(x=x, y=y("level"), detail="limit:N")
    )
    lines = pl.DataFrame(references, schema={"label": pl.String, "value": pl.Float64}, orient="row")
    reference = alt.Chart(lines).encode(
        y=y("value"), color=alt.Color("label:N", legend=None, scale=alt.Scale(scheme="dark2"))
    )
    rules = reference.mark_rule(strokeDash=[2, 2], clip=True, aria=False)
    labels = reference.mark_text(align="left", dx=4, dy=-7).encode(x=alt.value(0), text="label:N")
    return alt.layer(limits, mean, line, dots, rules, labels).resolve_scale(color="independent")
