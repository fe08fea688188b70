"""Indicator explorer: one indicator's XmR chart against its comparator, target and published benchmarks.

Values, limits and icons come from the store exactly as the monthly cycle
computed them; a month without a value is shown as a gap and a dash, with
the reason, never as a zero.  A month's value is the one the agency
reported; a seasonally adjusted figure (what the chart of a `seasonal`
indicator shows) is always named as such beside it.  England has one figure
per year on this page: DfE's, as imported by `radar benchmarks import`, in
the England line, the chart and the benchmark table alike; only an
indicator DfE does not publish falls back to the catalogue's figure, with
its source.  The local target is the partnership's.  An analyst or the chair
can re-base a chart's limits here, with a reason, as `radar spc rebase` does.
"""

import polars as pl
import streamlit as st

from radar.core import periods
from radar.dashboard.actions import rebase_limits
from radar.dashboard.auth import require
from radar.dashboard.common import (
    MISSING,
    POLARITY_LABELS,
    benchmark_comparisons,
    context,
    england_figure,
    format_count,
    format_published,
    format_value,
    humanise,
    pseudonymised_columns,
    read,
    show_no_data,
)
from radar.dashboard.signals import label_note, series_badges, show_alert
from radar.models import alerts as alert_store
from radar.models import charts as chart_store
from radar.models import indicators as indicator_store
from radar.pipelines.alerts.early_warning import detection_statement
from radar.pipelines.benchmarks import ATTRIBUTION
from radar.pipelines.charts import SEASONALLY_ADJUSTED, UNIT_LABELS, spc_chart
from radar.pipelines.messages import number, value_range

NOT_STORED = "No value stored for this month."
RECENT_MONTHS = 3  # a resolved alert is listed for this many months after it cleared

person = require("indicators")
ctx = context()
catalogue = ctx.catalogue
st.title("Indicator explorer")

available = read(indicator_store.indicators_with_values, ctx.la_code)
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
breakdowns = read(indicator_store.indicator_breakdowns, ctx.la_code, indicator.id)
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

stored = read(indicator_store.indicator_series, ctx.la_code, indicator.id, breakdown)
latest_period = stored["period"].max() if stored.height else None
published = benchmark_comparisons().filter(pl.col("indicator") == indicator.id).sort("year", descending=True)
england = england_figure(published, latest_period)
references: list[tuple[str, float]] = []
if england:
    year, figure = england
    england_year, england_source = periods.financial_year_label(year), "Department for Education"
elif indicator.comparator:
    figure, england_year, england_source = indicator.comparator.value, indicator.comparator.year, indicator.comparator.note
if england or indicator.comparator:
    st.markdown(f"**England:** {format_value(figure, unit)} in {england_year} ({england_source}).")
    references.append((f"England {england_year}: {format_value(figure, unit)}", figure))
target = ctx.config.targets.get(indicator.id)
if target:
    st.markdown(f"**Local target:** {format_value(target.value, unit)} ({target.year}).")
    references.append((f"Target {target.year}: {format_value(target.value, unit)}", target.value))
if breakdown and references:
    st.caption("England and the target refer to the total, so they are not drawn for a breakdown.")
    references = []
if breakdown and england:
    st.caption(ATTRIBUTION)  # the benchmark table, which carries it otherwise, is for the total only

if stored.is_empty():
    st.info("No values are stored for this indicator yet; they appear after the monthly cycle has run.")
    st.stop()

# Every month from the first to the last, so a month with no stored row is a visible gap too.
series = pl.DataFrame({"period": periods.month_range(stored["period"].min(), stored["period"].max())}).join(
    stored, on="period", how="left", maintain_order="left"
)
spc = read(chart_store.spc_points, ctx.la_code, indicator.id, breakdown)
status = read(chart_store.series_status, ctx.la_code, indicator.id, breakdown)
if status:
    badges = series_badges(status)
    if badges:
        st.markdown(badges)
    note = label_note(status["label"], ctx.alerts.spc.min_points)
    if note:
        st.info(note, icon=":material/show_chart:")
adjusted = {} if spc.is_empty() or not indicator.seasonal else dict(zip(spc["period"], spc["value"]))
reported = stored.filter(pl.col("value").is_not_null()).tail(1).to_dicts()
if reported:
    month = reported[0]
    headline = f"**{periods.label(month['period'])}:** {format_value(month['value'], unit)} reported"
    if adjusted.get(month["period"]) is not None:
        headline += f" ({number(adjusted[month['period']], unit)} {SEASONALLY_ADJUSTED}, as charted)"
    st.markdown(headline + ".")
early = detection_statement(indicator, read(chart_store.early_warning, ctx.la_code, indicator.id, breakdown), breakdown)
st.markdown(f"**What Radar can detect early:** {early['statement']}")
limits = spc.filter(pl.col("upper").is_not_null()).tail(1).to_dicts()
if limits:
    point = limits[0]
    st.markdown(
        f"**Usual range{f' ({SEASONALLY_ADJUSTED})' if adjusted else ''}:** "
        f"{value_range(point['lower'], point['upper'], unit)} around a mean of "
        f"{number(point['mean'], unit)} (process limits in {periods.label(point['period'])})."
    )

charted = spc
if spc.is_empty():
    # Not charted yet: the values are drawn alone, joined to the empty chart frame for its (null) columns.
    charted = stored.select("period", "value").join(spc.drop("value"), on="period", how="left")
chart_points = series.select("period", reported="value").join(charted, on="period", how="left")
# Screen readers get the chart as one described image (its marks are hidden from them); the table has the values.
st.altair_chart(spc_chart(chart_points, unit, references, seasonal=bool(adjusted)).properties(
    description=f"Chart of {indicator.name} by month with its mean and process limits; "
                "the monthly values are in the table below.").configure(aria=False))
captions = []
if limits:
    captions.append(
        "Solid grey line: the mean. Dashed grey lines: the process limits, the range the month-to-month "
        "variation usually stays within. Orange points are a special cause of concern, blue an improvement, "
        "grey a change in an indicator where neither direction is better."
    )
if spc.is_empty():
    captions.append("Limits and signals appear once the monthly cycle (`radar cycle`) has charted this series.")
elif indicator.seasonal:
    captions.append(
        "This indicator follows the school year, so the chart shows seasonally adjusted values: each month "
        "less the usual level of the same month in earlier years (from the third year on), so that August "
        "is not read as an alarm. The monthly values below are as reported."
    )
if captions:
    st.caption(" ".join(captions))


def rebase_form() -> None:
    """Start the chart's limits again from a month (a new process), with why; the next cycle applies it."""
    with st.expander("Re-base the limits"), st.form("rebase", border=False):
        start = st.selectbox("Limits start again from", series["period"].to_list()[::-1], format_func=periods.label,
                             key="rebase_from")
        reason = st.text_input("Why the process changed (shown beside the chart and recorded with your name)",
                               key="rebase_reason")
        if st.form_submit_button("Record the re-base"):
            if not reason.strip():
                st.error("Say why: the Board reads it beside the chart.")
            elif rebase_limits(person, indicator.id, breakdown, start, reason):
                st.success(f"Recorded: the limits start again from {periods.label(start)} at the next monthly cycle.")
            else:
                st.info(f"A re-base from {periods.label(start)} was already recorded.")


if person.may_rebase() and not spc.is_empty():
    rebase_form()

with st.expander("Monthly values"):
    table = {
        "Month": [periods.label(p) for p in series["period"]],
        "Value": [format_value(v, unit) for v in series["value"]],
    }
    if adjusted:
        table[SEASONALLY_ADJUSTED.capitalize() + " (charted)"] = [
            MISSING if adjusted.get(p) is None else number(adjusted[p], unit) for p in series["period"]
        ]
    if indicator.derived:
        table["Numerator"] = [format_count(v) for v in series["numerator"]]
        table["Denominator"] = [format_count(v) for v in series["denominator"]]
    table["Note"] = [NOT_STORED if note is None else note for note in series["note"]]
    st.dataframe(pl.DataFrame(table), hide_index=True)
    st.caption(f"{MISSING} marks a month without a value; the note says why.")

st.subheader("Alerts")
recent = periods.shift(stored["period"].max(), 1 - RECENT_MONTHS)
related = read(alert_store.alerts, ctx.la_code).filter(
    pl.col("indicator") == indicator.id,
    pl.col("breakdown").fill_null("") == breakdown,
    (pl.col("status") != "resolved") | (pl.col("cleared_period") >= recent),
)
if related.is_empty():
    st.caption("No open or recently resolved alerts for this series.")
withheld = pseudonymised_columns(catalogue)
for alert in related.iter_rows(named=True):
    show_alert(ctx, alert, withheld)

if not breakdown and not published.is_empty():
    st.subheader("Published benchmarks")
    region = published["region"][0] or "Region"
    st.dataframe(
        pl.DataFrame({
            "Year": [periods.financial_year_label(y) for y in published["year"]],
            ctx.config.partnership.la_name: [
                format_published(v, s, unit) for v, s in zip(published["la_value"], published["la_symbol"])
            ],
            "England": [format_value(v, unit) for v in published["national"]],
            region: [format_value(v, unit) for v in published["regional"]],
            "Similar areas (median)": [format_value(v, unit) for v in published["sn_median"]],
            "Neighbours": [f"{n} of {published['neighbours'][0]}" for n in published["sn_count"]],
        }),
        hide_index=True,
    )
    st.caption(
        f"DfE reporting years ending 31 March. Similar areas: the median of {ctx.config.partnership.la_name}'s "
        f"statistical neighbours that published a figure (Neighbours says how many). {MISSING} marks a figure "
        "not published for that year."
    )
    st.caption(ATTRIBUTION)
