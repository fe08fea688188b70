"""Alerts: what the monthly cycle has asked each subgroup to look at, and what has improved.

Alerts are grouped under the subgroup that owns them, with its chair, so a
chair can take their list to the meeting.  Active alerts (open, and
acknowledged ones that someone is handling) show by default, resolved ones
are a filter away, and silenced ones are listed apart with why and until
when.  Each card shows the alert's short id, which `radar alerts ack` takes.  Raising and
resolving alerts is the cycle's job (pipelines.alerts: the rules and
the lifecycle); acknowledging and silencing are `radar alerts`
commands, and a chair can also acknowledge or silence an alert of their
subgroup here (radar.dashboard.actions), recorded under their address.
"""

from datetime import date, timedelta

import polars as pl
import streamlit as st

from radar.core import periods
from radar.core.alert_vocabulary import ACTIVE, ALERT_STATUSES, SEVERITIES
from radar.dashboard.actions import acknowledge_alert, silence_alert
from radar.dashboard.auth import require
from radar.dashboard.common import LIVE_SECONDS, context, pseudonymised_columns, read
from radar.dashboard.signals import (
    ALERTS_APPEAR,
    SEVERITY_BADGES,
    STATUS_WORDS,
    show_alert,
    silenced_table,
    subgroup_name,
)
from radar.models import alerts as alert_store

person = require("alerts")
ctx = context()
st.title("Alerts")

LISTED = [status for status in ALERT_STATUSES if status != "silenced"]  # silenced ones have their own table

left, right = st.columns(2)
statuses = left.multiselect(
    "Status", LISTED, default=list(ACTIVE), format_func=STATUS_WORDS.get, key="status"
)
severities = right.multiselect(
    "Severity", list(SEVERITIES), default=list(SEVERITIES), format_func=lambda s: SEVERITY_BADGES[s][0],
    key="severity",
)

def acknowledge_form(alert: dict) -> None:
    """Acknowledge an open alert with what is being done; offered only to whoever may act on its subgroup."""
    with st.expander(f"Acknowledge {alert['ref']}"), st.form(f"acknowledge-{alert['ref']}", border=False):
        note = st.text_input("What is being done about it (recorded with your name)", key=f"note-{alert['ref']}")
        if st.form_submit_button("Acknowledge"):
            if not note.strip():
                st.error("Say what is being done: the Board reads it beside the alert.")
            else:
                acknowledge_alert(person, alert, note)
                st.rerun()


def silence_form(alert: dict) -> None:
    """Silence an alert until a later day, with why (e.g. a known cause already in hand); same people as above."""
    ref = alert["ref"]
    with st.expander(f"Silence {ref}"), st.form(f"silence-{ref}", border=False):
        reason = st.text_input("Why it needs no attention until then (recorded with your name)", key=f"why-{ref}")
        tomorrow = date.today() + timedelta(days=1)
        until = st.date_input("Silent until (inclusive)", value=date.today() + timedelta(days=30), min_value=tomorrow,
                              format="DD/MM/YYYY", key=f"until-{ref}")
        if st.form_submit_button("Silence"):
            try:
                silence_alert(person, alert, reason, until)
            except ValueError as refusal:  # no reason, or the lifecycle's own refusal: nothing was saved
                st.error(f"Nothing was saved: {refusal}.")
            else:
                st.rerun()


@st.fragment(run_every=LIVE_SECONDS)
def listing() -> None:
    """The alerts and improvements, re-read every LIVE_SECONDS (cached on the store version), so a new
    cycle shows without a reload."""
    every_alert = read(alert_store.alerts, ctx.la_code)
    shown = every_alert.filter(pl.col("status").is_in(statuses), pl.col("severity").is_in(severities))
    if shown.is_empty():
        st.info("No active alerts" if sorted(statuses) == sorted(ACTIVE) else "No alerts match these filters",
                icon=":material/notifications_off:")
        st.caption(ALERTS_APPEAR)

    withheld = pseudonymised_columns(ctx.catalogue)
    order = [s.id for s in ctx.catalogue.subgroups]
    for subgroup in sorted(shown["subgroup"].unique(), key=lambda s: order.index(s) if s in order else len(order)):
        alerts = shown.filter(pl.col("subgroup") == subgroup)
        st.subheader(f"{subgroup_name(ctx, subgroup)} ({alerts.height})")
        chair = ctx.config.subgroups.get(subgroup)
        if chair:
            st.markdown(f"Chair: {chair.chair} · [{chair.email}](mailto:{chair.email})")  # a pale caption link is unreadable
        for alert in alerts.iter_rows(named=True):
            show_alert(ctx, alert, withheld)
            if person.may_act_on_subgroup(subgroup):
                if alert["status"] == "open":
                    acknowledge_form(alert)
                if alert["status"] in ACTIVE:
                    silence_form(alert)

    silenced = silenced_table(ctx, every_alert.filter(pl.col("severity").is_in(severities)))
    if not silenced.is_empty():
        st.header("Silenced")
        st.dataframe(silenced, hide_index=True)
        st.caption("Silenced alerts are not listed above until the silence ends (set one under an alert, or with "
                   "`radar alerts silence`).")

    st.header("Improvements")
    improvements = read(alert_store.positive_signals, ctx.la_code).sort("period", "subgroup", descending=[True, False])
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


listing()
