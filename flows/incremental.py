"""What a monthly cycle must recompute: only the months whose files changed since the last cycle.

The last cycle leaves a mark in the store (`CycleMark`): the submission in
force for every feed and month it counted, a digest of everything else it
computed with, the XmR chart state, and the indicator values and record rows
it read from all history.  The next cycle compares the submissions in force
now with the mark: a month with a new, replaced or withdrawn file, or newly
inside the cycle's range, is touched; every other month's indicator values
and record rows cannot have changed (a month's values depend only on that
month's files and population), so they are neither read nor written.
A changed digest (settings, catalogue, populations, re-bases), no mark, or
`radar cycle --full` means everything is recomputed.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection

from radar.core.config import Context
from radar.models import charts as chart_store
from radar.models import submissions as submission_store
from radar.pipelines.spc_state import ChartState

CHART_FRAMES = ("chart_series", "chart_tail", "chart_points", "chart_values")  # the mark's frames of the charts
RECORDS = "records:"  # and records:<feed>, the rows of a record feed that the alert rules read


@dataclass(frozen=True)
class Plan:
    """`months` to recompute (None: all), the inputs and digest to mark, and what to move on from.

    `points` are the full XmR points the last cycle stored (`spc_point` and
    `spc_segment` hold their stored columns), `values` the indicator values
    it charted and `records` (feed -> rows) the record rows its alert rules read.
    """

    months: list[str] | None
    inputs: dict[str, int]
    fingerprint: str
    state: ChartState | None = None
    points: pl.DataFrame | None = None
    values: pl.DataFrame | None = None
    records: dict[str, pl.DataFrame] | None = None


def touched_months(previous: dict[str, int], now: dict[str, int]) -> list[str]:
    """The months (of feed|month keys) whose submission in force differs, appeared or disappeared."""
    keys = {k for k in previous.keys() | now.keys() if previous.get(k) != now.get(k)}
    return sorted({k.split("|", 1)[1] for k in keys})


def refreshed(previous: pl.DataFrame, months: list[str], fresh: pl.DataFrame) -> pl.DataFrame:
    """The last cycle's rows of a frame by month, with the recomputed `months` replaced by `fresh`."""
    return pl.concat([previous.filter(~pl.col("period").is_in(months)), fresh.select(previous.columns)])


def fingerprint(ctx: Context, population: pl.DataFrame, rebases: pl.DataFrame) -> str:
    """A digest of everything besides the files that the stored values and charts depend on."""
    digest = hashlib.sha256()
    for part in (ctx.catalogue.model_dump_json(), ctx.config.model_dump_json(), ctx.alerts.model_dump_json(),
                 population.write_csv(), rebases.sort(pl.all()).write_csv()):
        digest.update(part.encode())
    return digest.hexdigest()


def plan_cycle(conn: Connection, ctx: Context, period: str, population: pl.DataFrame, full: bool,
               record_reads: Mapping[str, Iterable[str]] | None = None) -> Plan:
    """What the cycle up to `period` recomputes, from the mark the last cycle left.

    `record_reads`: the record feeds and columns the mark must hold rows of
    (the alert rules' reads, with the month); a mark without them, as after
    a rule came to read another column, is not moved on from.
    """
    inputs = submission_store.current_inputs(conn, ctx.la_code, period)
    digest = fingerprint(ctx, population, chart_store.read_rebases(conn, ctx.la_code))
    mark = None if full else chart_store.read_cycle_mark(conn, ctx.la_code)
    if mark is None or mark["fingerprint"] != digest:
        return Plan(None, inputs, digest)
    frames = {name: _frame(data) for name, data in mark["frames"].items()}
    reads = record_reads or {}
    records = {feed: frames.get(RECORDS + feed) for feed in reads}
    if not {*CHART_FRAMES} <= frames.keys() or any(
            records[feed] is None or set(records[feed].columns) != {*columns, "period"}
            for feed, columns in reads.items()):
        return Plan(None, inputs, digest)
    return Plan(touched_months(mark["inputs"], inputs), inputs, digest,
                ChartState(frames["chart_series"], frames["chart_tail"]), frames["chart_points"],
                frames["chart_values"], records)


def save_mark(conn: Connection, la_code: str, period: str, plan: Plan, state: ChartState,
              points: pl.DataFrame, values: pl.DataFrame, records: dict[str, pl.DataFrame]) -> None:
    """Leave the mark the next cycle plans from (in the transaction that stored the charts)."""
    charts = dict(zip(CHART_FRAMES, (state.series, state.tail, points, values), strict=True))
    frames = charts | {RECORDS + feed: rows for feed, rows in records.items()}
    chart_store.save_cycle_mark(conn, la_code, period=period, fingerprint=plan.fingerprint, inputs=plan.inputs,
                                frames={name: _parquet(frame) for name, frame in frames.items()})


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _frame(data: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(data))
