"""Overview: the current strategic threat assessment on one screen, for the Independent Chair.

How many alerts are open and where, what is getting worse, what is new this
month, which agencies have not sent their data, and what has improved.
Everything comes from the alerts and positive signals the monthly cycle
stored; the Alerts page has the detail and the evidence.
"""

import polars as pl
import streamlit as st

from radar.core import periods
from radar.dashboard.common import agency_name, context, engine, show_no_data
from radar.dashboard.signals import (
    ALERTS_APPEAR,
    FEED_RULES,
    SEVERITIES,
    SEVERITY_BADGES,
    SPC_RULES,
    alert_line,
    cycle_month,
    subgroup_name,
)
from radar.models import queries

FEED_PROBLEMS = {"feed_late": "No file", "feed_rejected": "File rejected"}

ctx = context()
st.title("Strategic threat assessment")

alerts = queries.alerts(engine(), ctx.la_code)
if alerts.is_empty() and queries.submissions(engine(), ctx.la_code).is_empty():
    show_no_data()
    st.stop()

month = cycle_month(alerts)
if month:
    st.caption(f"{ctx.config.partnership.name} · as judged by the monthly cycle up to {periods.label(month)}")
open_alerts = alerts.filter(pl.col("status") == "open")


def bullet_list(rows: pl.DataFrame, empty: str) -> None:
    if rows.is_empty():
        st.caption(empty)
    else:
        st.markdown("\n".join(alert_line(ctx, alert) for alert in rows.iter_rows(named=True)))


if open_alerts.is_empty():
    st.success("No open alerts.", icon=":material/check_circle:")
    st.caption(ALERTS_APPEAR)
else:
    by_subgroup = (
        open_alerts.group_by("subgroup").agg(
            *(pl.col("severity").eq(s).sum().alias(SEVERITY_BADGES[s][0]) for s in SEVERITIES),
            Total=pl.len(),
        )
        .sort("Total", "subgroup", descending=[True, False])
    )
    columns = st.columns(1 + len(SEVERITIES))
    columns[0].metric("Open alerts", open_alerts.height)
    for column, severity in zip(columns[1:], SEVERITIES):
        label = SEVERITY_BADGES[severity][0]
        column.metric(label, by_subgroup[label].sum())

    st.subheader("Open alerts by subgroup")
    chairs = {s: chair.chair for s, chair in ctx.config.subgroups.items()}
    st.dataframe(
        pl.DataFrame({
            "Subgroup": [subgroup_name(ctx, s) for s in by_subgroup["subgroup"]],
            "Chair": [chairs.get(s, "") for s in by_subgroup["subgroup"]],
        }).hstack(by_subgroup.drop("subgroup")),
        hide_index=True,
    )

    st.subheader("Getting worse")
    bullet_list(open_alerts.filter(pl.col("rule").is_in(SPC_RULES)),
                "No indicator shows an open concern on its SPC chart.")

    st.subheader(f"New in {periods.label(month)}")
    bullet_list(open_alerts.filter(pl.col("first_period") == month), "No alert was first raised this month.")

st.subheader("Agencies late with their data")
late = alerts.filter(pl.col("rule").is_in(FEED_RULES), pl.col("status") != "resolved")
if late.is_empty():
    st.caption("No agency's file is missing or rejected. The Feed status page shows files that arrived late.")
else:
    st.dataframe(
        pl.DataFrame({
            "Agency": [agency_name(ctx, feed) for feed in late["feed"]],
            "Feed": [ctx.catalogue.feed_by_id[feed].name for feed in late["feed"]],
            "Problem": late["rule"].replace_strict(FEED_PROBLEMS),
            "Since": [periods.label(p) for p in late["first_period"]],
            "Contact": [ctx.config.agencies[ctx.catalogue.feed_by_id[feed].agency].contact for feed in late["feed"]],
        }),
        hide_index=True,
    )
    st.caption("Alerts on these feeds' indicators are held back until the data arrives.")

st.subheader("Improvements")
improvements = queries.positive_signals(engine(), ctx.la_code).sort("period", descending=True)
if improvements.is_empty():
    st.caption("No improvement has been signalled.")
else:
    st.markdown("\n".join(
        f"- {row['message']} *({subgroup_name(ctx, row['subgroup'])})*" for row in improvements.iter_rows(named=True)
    ))
