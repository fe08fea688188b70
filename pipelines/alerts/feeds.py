"""`feed_late` and `feed_rejected`: an agency's file for the month is missing, or its only file was rejected.

While one is, alerts computed from that feed's data are held back
(pipelines/alerts/inhibition.py), because a chart missing its latest month
says nothing about that month; the feed alert names what is held.
"""

from __future__ import annotations

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue
from radar.pipelines import messages
from radar.pipelines.alerts.rule import FEED_SUBGROUP, Reads, Rule, candidate_frame

HOLDING_STATUSES = ("missing", "rejected")  # feed statuses (pipelines.feed_status) that raise a feed alert and hold
FEED_READS = Reads(inputs=("feed_status",))
FEED_RULES = {
    "missing": Rule(
        "feed_late",
        "No file has arrived for {month} from {agency} ({source}, due {due}), so alerts on {held} are held back.",
        "medium", "the month's file from an agency has not arrived by its due day; alerts on that feed's "
        "indicators are held back meanwhile and the feed alert lists them",
        FEED_READS, subgroup=FEED_SUBGROUP,
    ),
    "rejected": Rule(
        "feed_rejected",
        "The only file for {month} from {agency} ({source}) was rejected, "
        "so alerts on {held} are held back until a corrected file arrives.",
        "medium", "the month's only file from an agency was rejected; its indicators' alerts are held back",
        FEED_READS, subgroup=FEED_SUBGROUP,
    ),
}
FEED_RULE_IDS = tuple(rule.id for rule in FEED_RULES.values())


def feed_alerts(status: pl.DataFrame, catalogue: Catalogue, period: str, settings: AlertSettings) -> pl.DataFrame:
    """`feed_late` for a file missing at `period`, `feed_rejected` for one whose only submission was rejected.

    `status` is `pipelines.feed_status.feed_status` output.  A file that
    arrived late is not alerted here: its data is in, and the feed-status page
    already shows it was late.  Scope is the feed, subgroup always PCI.
    """
    agencies = {a.id: a.name for a in catalogue.agencies}
    rows = []
    to_alert = status.filter(pl.col("period") == period, pl.col("status").is_in(HOLDING_STATUSES))
    for row in to_alert.iter_rows(named=True):
        feed = catalogue.feed_by_id[row["feed_id"]]
        rule = FEED_RULES[row["status"]]
        held = catalogue.indicators_of(feed.id)
        rows.append(rule.candidate(
            indicator=None, breakdown=None, feed=feed.id, scope=feed.id, period=period, settings=settings,
            evidence={
                "feed_id": feed.id, "period": period, "due_date": row["due_date"], "status": row["status"],
                "held_back": [i.id for i in held],
            },
            month=periods.label(period), agency=agencies[feed.agency], source=messages.feed_title(feed.name),
            due=periods.day_label(row["due_date"]), held=messages.indicator_list([i.name for i in held]),
        ))
    return candidate_frame(rows)

