"""Inhibition: while an agency's file for the month is late or rejected, alerts computed from its data are held back.

A chart missing its latest month says nothing about that month, so an
alert on that feed's data would be a guess, and its silence would be no
recovery either (Alertmanager calls this inhibition).  One predicate,
`is_held`, decides it for all three who must agree:

- the cycle does not raise a held candidate (`hold_back`);
- the lifecycle keeps a held alert as it was instead of resolving it for
  want of data (lifecycle.reconcile);
- notification does not send a held alert (pipelines/notify.py): the feed
  alert says what waits.

Alerts about the feed's delivery itself (late, rejected, a source Radar
cannot read) are what the hold is about, so they are never held.  Which
feeds are held is read from the month's feed status by the cycle
(`held_feeds`), and back from the feed alerts that cycle stored by
notification (`held_feeds_alerted`): the same feeds, as both follow
feeds.HOLDING_STATUSES.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import polars as pl

from radar.pipelines.alerts.feeds import FEED_RULE_IDS, HOLDING_STATUSES
from radar.pipelines.alerts.sources import SOURCE_UNREACHABLE

DELIVERY_RULE_IDS = (*FEED_RULE_IDS, SOURCE_UNREACHABLE.id)  # alerts about the feed itself: never held


def held_feeds(status: pl.DataFrame, period: str) -> list[str]:
    """Feeds whose file for `period` is missing or was rejected (`status`: pipelines.feed_status.feed_status)."""
    return sorted(status.filter(pl.col("period") == period, pl.col("status").is_in(HOLDING_STATUSES))["feed_id"])


def held_feeds_alerted(alerts: Iterable[Mapping], period: str) -> set[str]:
    """The feeds the cycle for `period` held, read back from the alerts it stored: an unresolved feed alert
    (late or rejected) that fired in `period`."""
    return {a["feed"] for a in alerts
            if a["rule"] in FEED_RULE_IDS and a["status"] != "resolved" and a["last_period"] == period}


def is_held(alert: Mapping, held: Collection[str]) -> bool:
    """Whether an alert (or candidate) rests on a held feed's data: the one test of inhibition."""
    return alert["feed"] in held and alert["rule"] not in DELIVERY_RULE_IDS


def hold_back(candidates: pl.DataFrame, held: Collection[str]) -> pl.DataFrame:
    """The candidates that are not held (a cycle's handful, tested one by one with `is_held`).

    Pass the same `held` to `lifecycle.reconcile`, so alerts already open on
    those feeds are kept as they are instead of being resolved for want of data.
    """
    kept = [not is_held(row, held) for row in candidates.select("feed", "rule").iter_rows(named=True)]
    return candidates.filter(pl.Series(kept, dtype=pl.Boolean))
