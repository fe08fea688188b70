"""When each sample file 'arrived': its modification time, as a drop folder would record it.

Radar takes a delivered file's modification time as its arrival time, so the
sample files carry plausible ones: most arrive in the days before their due
day, about one in twelve a few days late, and the bad files on the due day.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from radar.core.periods import shift
from radar.synth.series import rng_for

LATE_SHARE = 1 / 12


def arrival_time(seed: int, feed_id: str, period: str, due_day: int, late: bool | None = None) -> datetime:
    rng = rng_for(seed, "arrival", feed_id, period)
    year, month = map(int, shift(period, 1).split("-"))
    due = datetime.combine(datetime(year, month, due_day).date(), time(9, 0), tzinfo=UTC)
    late = rng.random() < LATE_SHARE if late is None else late
    days = rng.randint(1, 12) if late else -rng.randint(0, due_day - 1)
    return due + timedelta(days=days, minutes=rng.randint(0, 420))


def stamp(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))
