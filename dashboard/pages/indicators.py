"""Indicator explorer: one indicator's monthly series against its comparator and target.

Values come from the store exactly as the monthly cycle computed them; a
month without a value is shown as a gap and a dash, with the reason, never
as a zero.  The national comparator is the catalogue's, the local target the
partnership's.
"""

import polars as pl
import streamlit as st

from dashboard.charts import series_chart
from dashboard.common import (
    MISSING,
    POLARITY_LABELS,
    UNIT_LABELS,
    context,
    engine,
    format_count,
    format_value,
    humanise,
    period_label,
    show_no_data,
)
from models import queries
from pipelines.feed_status import months

NOT_STORED = "No value stored for this month."

ctx = context()
catalogue = ctx.catalogue
st.title("Indicator explorer")

available = queries.indicators_with_values(engine(), ctx.la_code)
if not available:
    show_no_data()
    st.stop()

subgroups = {s.id: s.name for s in catalogue.subgroups if any(i.subgroup == s.id for i in catalogue.indicators)}
left, right = st.columns(2)
subgroup = left.selectbox("Subgroup", list(subgroups), format_func=subgroups.get, key="subgroup")
choices = [i.id for i in catalogue.indicators if i.subgroup == subgroup]
indicator = catalogue.indicator_by_id[
    right.selectbox(
        "Indicator",
        choices,
        index=next((n for n, i in enumerate(choices) if i in available), 0),
        format_func=lambda i: catalogue.indicator_by_id[i].name + ("" if i in available else " (no data yet)"),
        key="indicator",
    )
]
breakdowns = queries.indicator_breakdowns(engine(), ctx.la_code, indicator.id)
breakdown = ""
if len(breakdowns) > 1:
    breakdown = st.selectbox(
        "Breakdown", breakdowns, format_func=lambda b: humanise(b) if b else "Total", key="breakdown"
    )

unit = indicator.unit
st.subheader(indicator.name)
st.markdown(indicator.definition)
feed = catalogue.feed_by_id[indicator.feed]
st.caption(
    f"Unit: {UNIT_LABELS[unit]} · {POLARITY_LABELS[indicator.polarity]} · "
    f"Source: {feed.name} ({ctx.config.agencies[feed.agency].name})"
)

references: list[tuple[str, float]] = []
if indicator.comparator:
    c = indicator.comparator
    st.markdown(f"**National comparator:** {format_value(c.value, unit)} ({c.year}). {c.note}.")
    references.append((f"England {c.year}: {format_value(c.value, unit)}", c.value))
target = ctx.config.targets.get(indicator.id)
if target:
    st.markdown(f"**Local target:** {format_value(target.value, unit)} ({target.year}).")
    references.append((f"Target {target.year}: {format_value(target.value, unit)}", target.value))
if breakdown and references:
    st.caption("The comparator and target refer to the total, so they are not drawn for a breakdown.")
    references = []

stored = queries.indicator_series(engine(), ctx.la_code, indicator.id, breakdown)
if stored.is_empty():
    st.info("No values are stored for this indicator yet; they appear after the monthly cycle has run.")
    st.stop()

# Every month from the first to the last, so a month with no stored row is a visible gap too.
series = pl.DataFrame({"period": months(stored["period"].min(), stored["period"].max())}).join(
    stored, on="period", how="left", maintain_order="left"
)
st.altair_chart(series_chart(series, unit, references))
table = {
    "Month": [period_label(p) for p in series["period"]],
    "Value": [format_value(v, unit) for v in series["value"]],
}
if indicator.derived:
    table["Numerator"] = [format_count(v) for v in series["numerator"]]
    table["Denominator"] = [format_count(v) for v in series["denominator"]]
table["Note"] = [NOT_STORED if note is None else note for note in series["note"]]
st.dataframe(pl.DataFrame(table), hide_index=True)
st.caption(f"{MISSING} marks a month without a value; the note says why.")
