"""Alerts: what the monthly cycle has asked each subgroup to look at, and what has improved.

Alerts are grouped under the subgroup that owns them, with its chair, so a
chair can take their list to the meeting.  Open alerts show by default;
acknowledged, silenced and resolved ones are a filter away.  Raising and
resolving alerts is the cycle's job (pipelines.alert_rules and
pipelines.alert_lifecycle); acknowledging and silencing are `radar alerts`
commands.  This page only lays them out.
"""

import polars as pl
import streamlit as st

from radar.core import periods
from radar.dashboard.common import context, engine, pseudonymised_columns
from radar.dashboard.signals import (
    ALERT_STATUSES,
    ALERTS_APPEAR,
    SEVERITIES,
    SEVERITY_BADGES,
    show_alert,
    subgroup_name,
)
from radar.models import queries

ctx = context()
st.title("Alerts")

left, right = st.columns(2)
statuses = left.multiselect(
    "Status", list(ALERT_STATUSES), default=["open"], format_func=ALERT_STATUSES.get, key="status"
)
severities = right.multiselect(
    "Severity", list(SEVERITIES), default=list(SEVERITIES), format_func=lambda s: SEVERITY_BADGES[s][0],
    key="severity",
)

shown = queries.alerts(engine(), ctx.la_code).filter(
    pl.col("status").is_in(statuses), pl.col("severity").is_in(severities)
)
if shown.is_empty():
    st.info("No open alerts" if statuses == ["open"] else "No alerts match these filters",
            icon=":material/notifications_off:")
    st.caption(ALERTS_APPEAR)

withheld = pseudonymised_columns(ctx.catalogue)
order = [s.id for s in ctx.catalogue.subgroups]
for subgroup in sorted(shown["subgroup"].unique(), key=lambda s: order.index(s) if s in order else len(order)):
    alerts = shown.filter(pl.col("subgroup") == subgroup)
    st.subheader(f"{subgroup_name(ctx, subgroup)} ({alerts.height})")
    chair = ctx.config.subgroups.get(subgroup)
    if chair:
        st.caption(f"Chair: {chair.chair} · {chair.email}")
    for alert in alerts.iter_rows(named=True):
        show_alert(ctx, alert, withheld)

st.header("Improvements")
improvements = queries.positive_signals(engine(), ctx.la_code).sort("period", "subgroup", descending=[True, False])
if improvements.is_empty():
    st.caption("No improvement has been signalled: the cycle lists here any indicator "
               "that changes for the better beyond its usual variation.")
else:
    st.dataframe(
        pl.DataFrame({
            "Month": [periods.label(p) for p in improvements["period"]],
            "Subgroup": [subgroup_name(ctx, s) for s in improvements["subgroup"]],
            "Improvement": improvements["message"],
        }),
        hide_index=True,
    )
