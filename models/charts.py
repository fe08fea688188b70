"""Charts: each series' XmR chart (points by month, segments with their limits), its latest status, its
early-warning detector, the re-bases people decided, and the mark the monthly cycle moves on from.

The cycle rewrites these tables (`radar.models.bulk.sync_series`) in its own
transaction; people only add re-bases.  Reads are filtered by `la_code`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Column, Connection, Index, LargeBinary, Text, delete, insert, select
from sqlalchemy import types as sa_types
from sqlmodel import Field, SQLModel

from radar.models.audit import audit, utcnow
from radar.models.bulk import read_frame


class SeriesRow(SQLModel):
    """Columns every per-series table shares: its row id, the partnership and the series (indicator, breakdown)."""

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)


class SpcPoint(SeriesRow, table=True):
    """One month of an indicator's XmR chart, as the last cycle computed it; its limits are its segment's."""

    __tablename__ = "spc_point"
    __table_args__ = (Index("uq_spc_point", "la_code", "indicator", "breakdown", "period", unique=True),)

    period: str = Field(max_length=7)
    value: float | None = None
    signal: str | None = Field(default=None, max_length=32)
    direction: str | None = Field(default=None, max_length=8)
    assessment: str | None = Field(default=None, max_length=16)
    segment: int = 0


class SpcSegment(SeriesRow, table=True):
    """The mean, limits and label of one segment of an indicator's XmR chart (from its start or a re-base on).

    They are kept once per segment, not on each of its months: a new month
    moves the mean and limits of the whole latest segment, and stored per
    point that rewrote every month of it each cycle.
    """

    __tablename__ = "spc_segment"
    __table_args__ = (Index("uq_spc_segment", "la_code", "indicator", "breakdown", "segment", unique=True),)

    segment: int = 0
    mean: float | None = None
    lower: float | None = None
    upper: float | None = None
    label: str = Field(default="ok", max_length=16)


class SeriesStatus(SeriesRow, table=True):
    """The latest reading of each indicator series: icons and slow-drift measures."""

    __tablename__ = "series_status"
    __table_args__ = (Index("uq_series_status", "la_code", "indicator", "breakdown", unique=True),)

    latest_period: str | None = Field(default=None, max_length=7)
    latest_value: float | None = None
    variation: str | None = Field(default=None, max_length=40)
    assurance: str | None = Field(default=None, max_length=24)
    label: str = Field(default="ok", max_length=16)
    yoy_change: float | None = None
    rolling_12_total: float | None = None


class EarlyWarning(SeriesRow, table=True):
    """Each series' early-warning detector as the last cycle left it (pipelines/alerts/early_warning.py): the
    month judged, its expected value and EWMA, the model's threshold and what it can detect, and the state
    (model, threshold, EWMA and run, as JSON) the next cycle continues from."""

    __tablename__ = "early_warning"
    __table_args__ = (Index("uq_early_warning", "la_code", "indicator", "breakdown", unique=True),)

    period: str | None = Field(default=None, max_length=7)
    value: float | None = None
    expected: float | None = None
    ewma: float | None = None
    threshold: float | None = None
    flag: str | None = Field(default=None, max_length=16)
    since: str | None = Field(default=None, max_length=7)
    observed_since: float | None = None
    expected_since: float | None = None
    return_years: float | None = None
    min_detectable_change: float | None = None
    promise: str = Field(max_length=16)
    statement: str = Field(sa_column=Column(Text, nullable=False))
    months: int = 0
    state: str = Field(sa_column=Column(Text, nullable=False))


class SpcRebase(SeriesRow, table=True):
    """A recorded decision to re-base an indicator's limits from a month (never automatic)."""

    __tablename__ = "spc_rebase"

    period: str = Field(max_length=7)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class CycleMark(SQLModel, table=True):
    """What the last monthly cycle computed from, so the next one reads only what changed since.

    `inputs` (JSON) maps each feed|month it counted to the submission in force
    then; `fingerprint` digests the settings, catalogue, populations and
    re-bases it computed with (any change means a full recompute).  The frames
    it moves on from are in `CycleMarkFrame`.
    """

    __tablename__ = "cycle_mark"

    la_code: str = Field(primary_key=True, max_length=9)
    period: str = Field(max_length=7)
    fingerprint: str = Field(max_length=64)
    inputs: str = Field(sa_column=Column(Text, nullable=False))


class CycleMarkFrame(SQLModel, table=True):
    """One frame the last cycle kept for the next, as Parquet: the XmR chart state, the full XmR points, the
    indicator values it charted, the record rows the alert rules read.

    A partnership's are a few hundred kilobytes and are only ever read whole,
    so keeping them saves the next cycle reading and recomputing all history.
    """

    __tablename__ = "cycle_mark_frame"

    la_code: str = Field(primary_key=True, max_length=9)
    name: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


CYCLE_MARK = CycleMark.__table__
MARK_FRAME = CycleMarkFrame.__table__
SPC_SCHEMA = {
    "period": pl.String, "value": pl.Float64, "mean": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
    "signal": pl.String, "direction": pl.String, "assessment": pl.String, "label": pl.String,
}


def spc_points(conn: Connection, la_code: str, indicator: str, breakdown: str = "") -> pl.DataFrame:
    """An indicator's XmR chart as the last cycle computed it, oldest month first: each month with its
    segment's mean, limits and label."""
    point, segment = SpcPoint.__table__, SpcSegment.__table__
    query = (
        select(*(point.c[c] if c in point.c else segment.c[c] for c in SPC_SCHEMA))
        .join(segment, (segment.c.la_code == point.c.la_code) & (segment.c.indicator == point.c.indicator)
              & (segment.c.breakdown == point.c.breakdown) & (segment.c.segment == point.c.segment))
        .where(point.c.la_code == la_code, point.c.indicator == indicator, point.c.breakdown == breakdown)
        .order_by(point.c.period)
    )
    return read_frame(conn, query, SPC_SCHEMA)


def series_status(conn: Connection, la_code: str, indicator: str, breakdown: str = "") -> dict | None:
    table = SeriesStatus.__table__
    query = select(table).where(table.c.la_code == la_code, table.c.indicator == indicator, table.c.breakdown == breakdown)
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def early_warning(conn: Connection, la_code: str, indicator: str, breakdown: str = "") -> dict | None:
    """One series' early-warning row (what the detector flagged last, and what it can detect), if it has one."""
    table = EarlyWarning.__table__
    query = select(*(c for c in table.columns if c.name != "state")).where(
        table.c.la_code == la_code, table.c.indicator == indicator, table.c.breakdown == breakdown)
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def read_early_warning(conn: Connection, la_code: str) -> pl.DataFrame:
    """Each series' early-warning row as the last cycle stored it (its columns but id and la_code)."""
    table = EarlyWarning.__table__
    columns = [c for c in table.columns if c.name not in ("id", "la_code")]
    kinds = {sa_types.Float: pl.Float64, sa_types.Integer: pl.Int64}
    schema = {c.name: next((v for k, v in kinds.items() if isinstance(c.type, k)), pl.String) for c in columns}
    return read_frame(conn, select(*columns).where(table.c.la_code == la_code), schema)


def record_rebase(conn: Connection, la_code: str, *, indicator: str, breakdown: str, period: str, reason: str,
                  by: str) -> bool:
    """Record a decision to re-base a chart's limits from `period`; False when it is already recorded.

    The decision is data (who, when, why) rather than a setting, so the
    Board can see why a chart's limits moved; the next cycle applies it.
    """
    table = SpcRebase.__table__
    already = conn.execute(select(table.c.id).where(
        table.c.la_code == la_code, table.c.indicator == indicator, table.c.breakdown == breakdown,
        table.c.period == period,
    )).first()
    if already:
        return False
    conn.execute(insert(table).values(la_code=la_code, indicator=indicator, breakdown=breakdown, period=period,
                                      reason=reason, created_by=by, created_at=utcnow()))
    audit(conn, la_code, by, "spc_rebased", f"{indicator}|{breakdown}|{period}", {"reason": reason})
    return True


def read_rebases(conn: Connection, la_code: str) -> pl.DataFrame:
    table = SpcRebase.__table__
    query = select(table.c.indicator, table.c.breakdown, table.c.period, table.c.reason).where(table.c.la_code == la_code)
    return read_frame(conn, query, dict.fromkeys(("indicator", "breakdown", "period", "reason"), pl.String))


def read_cycle_mark(conn: Connection, la_code: str) -> dict | None:
    """The last cycle's mark (see `CycleMark`) with its `frames` (name -> Parquet bytes), None before the first."""
    row = conn.execute(select(CYCLE_MARK).where(CYCLE_MARK.c.la_code == la_code)).mappings().first()
    if row is None:
        return None
    frames = conn.execute(select(MARK_FRAME.c.name, MARK_FRAME.c.data).where(MARK_FRAME.c.la_code == la_code))
    return dict(row) | {"inputs": json.loads(row["inputs"]), "frames": dict(frames.all())}


def save_cycle_mark(conn: Connection, la_code: str, *, inputs: dict[str, int], frames: dict[str, bytes],
                    **fields: Any) -> None:
    """Replace the partnership's mark and its frames (in the caller's transaction, with what they describe)."""
    conn.execute(delete(MARK_FRAME).where(MARK_FRAME.c.la_code == la_code))
    conn.execute(delete(CYCLE_MARK).where(CYCLE_MARK.c.la_code == la_code))
    conn.execute(insert(CYCLE_MARK).values(la_code=la_code, inputs=json.dumps(inputs, sort_keys=True), **fields))
    conn.execute(insert(MARK_FRAME), [{"la_code": la_code, "name": name, "data": data} for name, data in frames.items()])

