"""Let a burst of files settle before the cycle they bring.

The monthly cycle's trigger waits for a quiet time after the last accepted
file (`service.cycle_after_s`), but the files of one burst can be stored
minutes apart (batch after batch under `radar serve`, each ingest in a
process of its own on a worker), and every gap longer than the quiet time
would bring a cycle of its own.  So a cycle brought
by files first waits while ingest runs are still queued or running, up to
`SETTLE_LIMIT_S`: then one cycle takes the whole burst, and the cycles queued
behind it find nothing left to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

INGEST_FLOWS = ["ingest-feed", "ingest-files"]
SETTLE_LIMIT_S = 600  # a run that has not ended after this long is stuck (a dead worker), not a burst
POLL_S = 5


def ingests_in_flight() -> int:
    """Ingest runs that were due in the last `SETTLE_LIMIT_S` and have not ended (later scheduled sweeps and
    runs left behind by a dead worker long ago do not count)."""
    due = datetime.now(UTC)
    runs = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING])),
        expected_start_time=FlowRunFilterExpectedStartTime(
            after_=due - timedelta(seconds=SETTLE_LIMIT_S), before_=due))
    with get_client(sync_client=True) as client:
        return len(client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=INGEST_FLOWS)),
                                         flow_run_filter=runs))


def wait_while(in_flight: Callable[[], int], limit_s: float = SETTLE_LIMIT_S, poll_s: float = POLL_S,
               sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> float:
    """Wait until `in_flight()` is 0 or `limit_s` has passed; returns the seconds waited."""
    start = clock()
    while in_flight() and clock() - start < limit_s:
        sleep(poll_s)
    return clock() - start
