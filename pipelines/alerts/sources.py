"""`source_unreachable`: a feed's pull source (flows/pull.py) has failed several pulls in a row.

An agency that publishes its returns at a source does not send them any
other way, so a source Radar cannot read is as serious as a late file and
goes to the same subgroup; the alert says how many pulls failed, never the
error's text (which can carry a host name or a user name).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue
from radar.pipelines import messages
from radar.pipelines.alerts.rule import FEED_SUBGROUP, Reads, Rule, candidate_frame

SOURCE_UNREACHABLE = Rule(
    "source_unreachable",
    "Radar could not read the source of {source} from {agency} in the last {failures} pulls ({month}): "
    "check its address and credentials.",
    "medium", "a feed's pull source has failed several pulls in a row (after retries with back-off)",
    Reads(inputs=("unreachable",)), subgroup=FEED_SUBGROUP,
)


def source_unreachable(unreachable: Mapping[str, int], catalogue: Catalogue, period: str,
                       settings: AlertSettings) -> pl.DataFrame:
    """One alert per feed whose source is unreachable (feed id -> failed pulls in a row), scoped to the feed."""
    agencies = {a.id: a.name for a in catalogue.agencies}
    rows = []
    for feed_id, failures in sorted(unreachable.items()):
        feed = catalogue.feed_by_id[feed_id]
        rows.append(SOURCE_UNREACHABLE.candidate(
            indicator=None, breakdown=None, feed=feed_id, scope=feed_id, period=period, settings=settings,
            evidence={"feed_id": feed_id, "failed_pulls": failures},
            source=messages.feed_title(feed.name), agency=agencies[feed.agency], failures=failures,
            month=periods.label(period),
        ))
    return candidate_frame(rows)
