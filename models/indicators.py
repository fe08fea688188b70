"""Indicator values: each indicator's computed monthly value per breakdown, as the monthly cycle stored it.

Every read is filtered by the partnership's `la_code` (one store may serve
several partnerships) and returns a frame with a fixed schema.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Column, Connection, Index, Text, select
from sqlmodel import Field, SQLModel

from radar.models.audit import audit, utcnow
from radar.models.bulk import read_frame, sync_rows


class IndicatorValue(SQLModel, table=True):
    """A computed monthly value of an indicator for one breakdown ("" is the total)."""

    __tablename__ = "indicator_value"
    __table_args__ = (
        Index("uq_indicator_value", "la_code", "indicator", "breakdown", "period", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    period: str = Field(max_length=7)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    value: float | None = None  # None: not computable (say why in note), never a stand-in number
    numerator: float | None = None
    denominator: float | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    computed_at: datetime = Field(default_factory=utcnow)


INDICATOR_VALUE = IndicatorValue.__table__
VALUE_COLUMNS = ("value", "numerator", "denominator", "note")
SERIES_SCHEMA = {
    "period": pl.String, "value": pl.Float64, "numerator": pl.Float64,
    "denominator": pl.Float64, "note": pl.String,
}


def save_indicator_values(conn: Connection, la_code: str, values: pl.DataFrame, up_to: str,
                          months: list[str] | None = None) -> dict[str, int]:
    """Store the computed values for months up to `up_to` (later months are left alone).

    With `months`, `values` are those months' only and no other month is touched.
    """
    table = INDICATOR_VALUE
    scope = [table.c.period <= up_to] + ([] if months is None else [table.c.period.in_(months)])
    counts = sync_rows(
        conn, table, values.filter(pl.col("period") <= up_to),
        keys=["period", "indicator", "breakdown"], values=list(VALUE_COLUMNS), scope=scope,
        fixed={"la_code": la_code}, touch={"computed_at": utcnow()},
    )
    if any(counts.values()):
        audit(conn, la_code, "monthly_cycle", "indicator_values_saved", f"up to {up_to}", counts)
    return counts


def indicators_with_values(conn: Connection, la_code: str) -> set[str]:
    """The indicators that have at least one stored value row."""
    query = select(INDICATOR_VALUE.c.indicator).where(INDICATOR_VALUE.c.la_code == la_code).distinct()
    return set(conn.execute(query).scalars())


def indicator_breakdowns(conn: Connection, la_code: str, indicator: str) -> list[str]:
    """The breakdowns stored for an indicator, sorted ("" = the total comes first)."""
    query = (
        select(INDICATOR_VALUE.c.breakdown)
        .where(INDICATOR_VALUE.c.la_code == la_code, INDICATOR_VALUE.c.indicator == indicator)
        .distinct()
        .order_by(INDICATOR_VALUE.c.breakdown)
    )
    return list(conn.execute(query).scalars())


def indicator_series(conn: Connection, la_code: str, indicator: str, breakdown: str = "") -> pl.DataFrame:
    """An indicator's stored monthly values for one breakdown, oldest first.

    `value` is None where it could not be computed; `note` says why.
    """
    query = (
        select(*(INDICATOR_VALUE.c[name] for name in SERIES_SCHEMA))
        .where(
            INDICATOR_VALUE.c.la_code == la_code,
            INDICATOR_VALUE.c.indicator == indicator,
            INDICATOR_VALUE.c.breakdown == breakdown,
        )
        .order_by(INDICATOR_VALUE.c.period)
    )
    return read_frame(conn, query, SERIES_SCHEMA)


VALUES_SCHEMA = {"period": pl.String, "indicator": pl.String, "breakdown": pl.String} | SERIES_SCHEMA


def indicator_values(conn: Connection, la_code: str, indicator: str | None = None,
                     months: list[str] | None = None) -> pl.DataFrame:
    """Every stored indicator value (or one indicator's, or some months'), ordered by indicator, breakdown and month."""
    query = select(*(INDICATOR_VALUE.c[name] for name in VALUES_SCHEMA)).where(INDICATOR_VALUE.c.la_code == la_code)
    if indicator:
        query = query.where(INDICATOR_VALUE.c.indicator == indicator)
    if months is not None:
        query = query.where(INDICATOR_VALUE.c.period.in_(months))
    query = query.order_by(INDICATOR_VALUE.c.indicator, INDICATOR_VALUE.c.breakdown, INDICATOR_VALUE.c.period)
    return read_frame(conn, query, VALUES_SCHEMA)

