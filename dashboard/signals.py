"""Alerts, SPC icons and their evidence, written for the Independent Chair and subgroup chairs.

The monthly cycle stores codes (`special_cause_concern_high`, `hit_and_miss`,
`spc_outside_limits`, evidence as JSON); these helpers turn them into the
short plain-English badges and tables every page shows the same way.  They
only translate and lay out what the cycle decided; nothing here judges a
series or an alert.
"""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from radar.core import periods
from radar.core.alert_vocabulary import ALERT_STATUSES
from radar.core.config import Context
from radar.dashboard.common import MISSING, WITHHELD, humanise, plain, read
from radar.models import outbox
from radar.pipelines.alerts.feeds import FEED_RULE_IDS
from radar.pipelines.alerts.spc import SPC_RULES as SPC_SIGNALS
from radar.pipelines.notify import recipient

# Making Data Count icons, as badges: (text, Streamlit badge colour).
# Orange is a concern and blue an improvement, as on the SPC chart's points.
VARIATION_BADGES = {
    "common_cause": ("Common cause — no significant change", "gray"),
    "special_cause_concern_high": ("Special cause — concerning high", "orange"),
    "special_cause_concern_low": ("Special cause — concerning low", "orange"),
    "special_cause_improvement_high": ("Special cause — improving high", "blue"),
    "special_cause_improvement_low": ("Special cause — improving low", "blue"),
    "special_cause_neither_high": ("Special cause — unusually high", "gray"),
    "special_cause_neither_low": ("Special cause — unusually low", "gray"),
}
ASSURANCE_BADGES = {
    "consistently_passing": ("Consistently passing the target", "blue"),
    "consistently_failing": ("Consistently failing the target", "orange"),
    "hit_and_miss": ("Hit and miss — the target lies inside the usual range", "gray"),
}
# Severities and statuses are radar.core.alert_vocabulary's (its SEVERITIES give the order they are shown in).
SEVERITY_BADGES = {"high": ("High", "red"), "medium": ("Medium", "orange"), "low": ("Low", "gray")}
STATUS_WORDS = {status: status.capitalize() for status in ALERT_STATUSES}  # "acknowledged" -> "Acknowledged"
SPC_RULES = tuple(rule.id for rule in SPC_SIGNALS.values())
FEED_RULES = FEED_RULE_IDS
ALERTS_APPEAR = (
    "Alerts appear after the monthly cycle (`radar cycle --period YYYY-MM`) has found an unusual month, "
    "trend or shift in an indicator, a missed target, a gap to England and similar areas, "
    "or an agency file that is missing or was rejected."
)
EVIDENCE_LABELS = {
    "value": "Value",
    "mean": "Mean",
    "lower": "Lower process limit",
    "upper": "Upper process limit",
    "signal": "Signal",
    "direction": "Direction",
    "run_start": "Run started",
    "run_length": "Months in the run",
    "target": "Target",
    "target_year": "Target year",
    "la_value": "The authority's value",
    "national": "England",
    "sn_median": "Statistical-neighbour median",
    "year": "DfE year (ending 31 March)",
    "feed_id": "Feed",
    "period": "Month",
    "due_date": "Due",
    "held_back": "Indicators held back",
    "based_on": "Based on (children)",
}


def badge(text: str, colour: str) -> str:
    """Markdown for one coloured badge; square brackets in the text would end the badge early."""
    text = text.replace("[", "(").replace("]", ")")
    return f":{colour}-badge[{text}]"


def series_badges(status: dict) -> str:
    """The variation and assurance icons of a series' latest month as badges ("" when it has neither)."""
    shown = [VARIATION_BADGES.get(status["variation"]), ASSURANCE_BADGES.get(status["assurance"])]
    return " ".join(badge(*b) for b in shown if b)


def label_note(label: str, min_points: int) -> str | None:
    """Why a series' chart has no limits or signals, or None when it is charted in full."""
    notes = {
        "too_short": f"Fewer than {min_points} months of data: no process limits yet, "
                     "so no special cause can be judged. The chart shows the values only.",
        "constant": "Every month has the same value, so the limits sit on the mean and no signal can be raised.",
        "no_data": "No month has a value to chart yet.",
    }
    return notes.get(label)


def cycle_month(alerts: pl.DataFrame) -> str | None:
    """The latest month the monthly cycle has judged.

    An alert still firing carries that month as `last_period`; one it
    resolved carries it as `cleared_period`.
    """
    seen = pl.concat([alerts["last_period"], alerts["cleared_period"]]).drop_nulls()
    return seen.max() if len(seen) else None


def subgroup_name(ctx: Context, subgroup: str) -> str:
    return next((s.name for s in ctx.catalogue.subgroups if s.id == subgroup), humanise(subgroup))


def alert_subject(ctx: Context, alert: dict) -> str:
    """What an alert is about: its indicator (and breakdown), else its feed."""
    indicator = ctx.catalogue.indicator_by_id.get(alert["indicator"] or "")
    if indicator:
        return indicator.name + (f" ({humanise(alert['breakdown']).lower()})" if alert["breakdown"] else "")
    feed = ctx.catalogue.feed_by_id.get(alert["feed"] or "")
    return feed.name if feed else humanise(alert["rule"])


def alert_when(alert: dict) -> str:
    """"Raised Mar 2025", "Raised Jan 2025, still seen Mar 2025" or "… resolved Apr 2025"."""
    when = f"Raised {periods.label(alert['first_period'])}"
    if alert["last_period"] != alert["first_period"]:
        when += f", still seen {periods.label(alert['last_period'])}"
    if alert["status"] == "resolved" and alert["cleared_period"]:
        when += f", resolved {periods.label(alert['cleared_period'])}"
    return when


def handled_by(alert: dict) -> str | None:
    """"Being handled by <name>: <note>" for an acknowledged alert, else None."""
    if alert["status"] != "acknowledged":
        return None
    who = f"Being handled by {plain(alert['acknowledged_by']) or 'an unnamed person'}"
    return f"{who}: {plain(alert['ack_note'])}" if alert["ack_note"] else who


def alert_id(alert: dict) -> str:
    """The alert's short id as code, so a chair can copy it into `radar alerts ack <id>`."""
    return f"`{alert['ref']}`"


def alert_line(ctx: Context, alert: dict) -> str:
    """One alert as a markdown list item: severity badge, message, subgroup, id and who is handling it."""
    severity = badge(*SEVERITY_BADGES.get(alert["severity"], (alert["severity"], "gray")))
    line = f"- {severity} {plain(alert['message'])} *({subgroup_name(ctx, alert['subgroup'])})* · {alert_id(alert)}"
    handling = handled_by(alert)
    return f"{line} · {handling}" if handling else line


def silenced_table(ctx: Context, alerts: pl.DataFrame) -> pl.DataFrame:
    """Silenced alerts, listed apart from the active ones: id, subject, why and until when."""
    silenced = alerts.filter(pl.col("status") == "silenced")
    return pl.DataFrame(
        {
            "Alert id": silenced["ref"],
            "About": [alert_subject(ctx, a) for a in silenced.iter_rows(named=True)],
            "Reason": silenced["silenced_reason"].fill_null(MISSING),
            "Silenced until": [periods.day_label(d) if d else "No end date" for d in silenced["silenced_until"]],
        },
        schema={"Alert id": pl.String, "About": pl.String, "Reason": pl.String, "Silenced until": pl.String},
    )


def evidence_table(evidence: str, withheld: set[str]) -> pl.DataFrame:
    """An alert's evidence (a JSON object) as a two-column table of text, known measures first.

    Keys in `withheld` (columns holding a child's reference) keep their row
    but never their value.  Lists read as comma-separated words.
    """
    def text(value: object) -> str:
        if value is None:
            return MISSING
        if isinstance(value, list):
            return ", ".join(text(v) for v in value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value).replace("_", " ")

    # The measures Radar knows first, in the order a reader takes them in; any other after them.
    order = {key: n for n, key in enumerate(EVIDENCE_LABELS)}
    items = sorted(json.loads(evidence or "{}").items(), key=lambda item: order.get(item[0], len(order)))
    return pl.DataFrame(
        {
            "Measure": [EVIDENCE_LABELS.get(key, humanise(key)) for key, _ in items],
            "Value": [WITHHELD if key in withheld else text(value) for key, value in items],
        },
        schema={"Measure": pl.String, "Value": pl.String},
    )


NOTICE_KINDS = {"new": "first told", "repeat": "reminded", "resolved": "told it was resolved",
                "escalation": "escalated"}
OUTBOX_WORDS = {"pending": "waiting to be sent", "sent": "sent", "failed": "not delivered"}


def receiver_name(ctx: Context, receiver: str) -> str:
    """Who a notice went to, as people name them: "Chair, Performance Challenge and Impact", never "subgroup:pci"."""
    who = recipient(ctx.config, receiver)
    if who is not None:
        return who.name
    kind, _, name = receiver.partition(":")
    if kind == "subgroup":
        return f"the chair of {subgroup_name(ctx, name)}"
    return "the Independent Chair" if receiver == "independent_chair" else humanise(name or kind)


def who_was_told(ctx: Context, alert: dict, notices: pl.DataFrame) -> str | None:
    """"Told: Chair, Performance Challenge and Impact (first told 20 Apr 2020, sent); escalated to the Independent
    Chair on 4 May 2020"."""
    mine = notices.filter(pl.col("alert_key") == alert["key"])
    told = [f"{receiver_name(ctx, r['receiver'])} ({NOTICE_KINDS.get(r['kind'], r['kind'])} "
            f"{periods.day_label(r['noticed_on'])}, {OUTBOX_WORDS.get(r['status'], r['status'])})"
            for r in mine.iter_rows(named=True)]
    escalated = alert.get("escalated_on")
    parts = (["Told: " + "; ".join(told)] if told else []) + (
        [f"escalated to the Independent Chair on {periods.day_label(escalated)}"] if escalated else [])
    return "; ".join(parts) or None


def show_alert(ctx: Context, alert: dict, withheld: set[str]) -> None:
    """One alert as a card: severity, status, subject and month, its message, what was done, its evidence."""
    severity = badge(*SEVERITY_BADGES.get(alert["severity"], (alert["severity"], "gray")))
    status = badge(STATUS_WORDS.get(alert["status"], alert["status"]), "gray")
    with st.container(border=True):
        st.markdown(f"{severity} {status} **{alert_subject(ctx, alert)}** · {alert_when(alert)} · "
                    f"id {alert_id(alert)}")
        st.markdown(plain(alert["message"]))
        handling = handled_by(alert)
        if handling:
            st.caption(handling)
        if alert["status"] == "silenced":
            until = alert["silenced_until"]
            st.caption(f"Silenced until {periods.day_label(until)}: {plain(alert['silenced_reason'])}" if until
                       else f"Silenced: {plain(alert['silenced_reason'])}")
        told = who_was_told(ctx, alert, read(outbox.notices, ctx.la_code))
        if told:
            st.caption(told)
        with st.expander("Evidence"):
            st.table(evidence_table(alert["evidence"], withheld))
