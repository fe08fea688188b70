"""Radar's Prefect events: what the inbox watcher and the ingest flow announce, and what the deployments
of `radar serve` and deploy/prefect.yaml are triggered by.

A file's resource is `radar.feed.<feed>.<period>` (`radar.feed.unrecognised`
when its name is not a feed's), so the event feed in Prefect's UI reads as a
delivery log and a trigger can match one feed or all of them.  Payloads carry
paths, hashes and months, never a cell of a file.
"""

from __future__ import annotations

from pathlib import Path

from prefect.events import emit_event

from radar.flows.runtime import context, engine
from radar.models import submissions as submission_store

WATCHING = "radar.inbox.watching"  # the inbox watcher started
ARRIVED = "radar.feed.arrived"  # a complete file is in the inbox: ingest-feed runs for it
ACCEPTED = "radar.feed.accepted"  # a file was stored: monthly-cycle runs once the files stop coming
RESOURCES = "radar.feed.*"
# Every event names its partnership, so one trigger per partnership (`for_each`) debounces all its feeds together.
PARTNERSHIP = "radar.partnership"


def resource(feed_id: str | None, period: str | None, file_name: str) -> dict[str, str]:
    return {"prefect.resource.id": f"radar.feed.{feed_id}.{period}" if feed_id and period else "radar.feed.unrecognised",
            "prefect.resource.name": file_name, PARTNERSHIP: context().la_code}


def announce_watching(inbox: Path) -> None:
    emit_event(WATCHING, resource={"prefect.resource.id": "radar.inbox", "prefect.resource.name": str(inbox),
                                   PARTNERSHIP: context().la_code})


def announce_arrival(path: Path, file_hash: str, feed_id: str | None, period: str | None) -> None:
    emit_event(ARRIVED, resource=resource(feed_id, period, path.name),
               payload={"path": str(path), "hash": file_hash})


def announce_accepted(file_name: str, feed_id: str, period: str) -> None:
    """Say a file was stored, with the month the next cycle should run for (`submissions.month_to_cycle`), not the
    file's own: the debounced trigger runs the cycle with the last event's payload, and a burst may end with
    an older month's file."""
    with engine().connect() as conn:
        cycle_period = submission_store.month_to_cycle(conn, context().la_code, period)
    emit_event(ACCEPTED, resource=resource(feed_id, period, file_name),
               payload={"period": period, "cycle_period": cycle_period})
