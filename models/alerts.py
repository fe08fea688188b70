"""Alerts: the signals that need a subgroup's attention with their lifecycle, the improvements shown beside
them (never alerted), and the notices of who was told about each.

Every reader of the `alert` table is here, each selecting the columns its
caller needs: the listing people see (`alerts`), the lifecycle's state
(`read_alerts`), notification planning (`planning_alerts`) and the register's
evidence step (`indicator_alerts`).
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from sqlalchemy import Column, Connection, Index, Text, select
from sqlmodel import Field, SQLModel

from radar.core.alert_vocabulary import ACTIVE, SEVERITIES
from radar.models.audit import audit, utcnow
from radar.models.bulk import read_frame, sync_rows


class Alert(SQLModel, table=True):
    """A signal that needs a subgroup's attention, with its evidence and lifecycle.

    `key` is deterministic (rule, indicator, breakdown, scope), so a re-run
    updates the same alert instead of raising a new one; `ref` is the short,
    shell-safe id derived from it that people type and read (`spc-k3f9qa2b`).
    """

    __tablename__ = "alert"
    __table_args__ = (
        Index("uq_alert_key", "la_code", "key", unique=True),
        Index("uq_alert_ref", "la_code", "ref", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    key: str = Field(max_length=255)
    ref: str = Field(max_length=24)
    rule: str = Field(max_length=40)
    indicator: str | None = Field(default=None, max_length=64)
    breakdown: str | None = Field(default=None, max_length=64)
    feed: str | None = Field(default=None, max_length=64)
    scope: str = Field(max_length=64)
    severity: str = Field(max_length=8)
    subgroup: str = Field(max_length=32)
    status: str = Field(max_length=16)  # open | acknowledged | resolved | silenced
    message: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    first_period: str = Field(max_length=7)  # the month its cause began (the first month of the run)
    last_period: str = Field(max_length=7)
    cleared_period: str | None = Field(default=None, max_length=7)
    raised_on: date | None = None  # the day a cycle first raised it
    acknowledged_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ack_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    silenced_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    silenced_until: date | None = None
    escalated_on: date | None = None  # the day the Independent Chair was told it went unacknowledged
    updated_at: datetime = Field(default_factory=utcnow)


class PositiveSignal(SQLModel, table=True):
    """An improvement (special cause in the good direction): shown, never alerted."""

    __tablename__ = "positive_signal"
    __table_args__ = (Index("uq_positive_signal", "la_code", "key", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    key: str = Field(max_length=255)
    rule: str = Field(max_length=40)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    period: str = Field(max_length=7)
    subgroup: str = Field(max_length=32)
    message: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))


class AlertNotice(SQLModel, table=True):
    """That a receiver was (or is being) told about an alert: what was said and on which day.

    Read back when planning, so an alert is announced once, repeated only
    after the interval and resolved once; and by the dashboard ("who was told").
    """

    __tablename__ = "alert_notice"
    __table_args__ = (
        Index("uq_alert_notice", "message_key", "alert_key", unique=True),
        Index("ix_alert_notice_alert", "la_code", "alert_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    alert_key: str = Field(max_length=255)
    message_key: str = Field(max_length=64)
    receiver: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=16)  # new | repeat | resolved | escalation
    noticed_on: date


ALERT = Alert.__table__
NOTICE = AlertNotice.__table__
ALERT_SCHEMA = {
    "key": pl.String, "ref": pl.String, "raised_on": pl.Date,
    "rule": pl.String, "indicator": pl.String, "breakdown": pl.String, "feed": pl.String,
    "scope": pl.String, "last_period": pl.String, "first_period": pl.String, "cleared_period": pl.String,
    "severity": pl.String, "subgroup": pl.String, "status": pl.String, "message": pl.String, "evidence": pl.String,
    "acknowledged_by": pl.String, "ack_note": pl.String, "silenced_reason": pl.String, "silenced_until": pl.Date,
    "escalated_on": pl.Date,
}
ALERT_STATUS_GROUPS = {"active": ACTIVE}  # active: someone must act, or is acting
PLANNING_COLUMNS = ("key", "ref", "rule", "indicator", "feed", "scope", "severity", "subgroup", "status", "message",
                    "evidence", "first_period", "last_period", "cleared_period", "raised_on", "escalated_on")
EVIDENCE_COLUMNS = ("key", "indicator", "status", "severity", "message", "last_period")


def alerts(conn: Connection, la_code: str, status: str | None = None) -> pl.DataFrame:
    """Alerts (of one status, `active` = open or acknowledged, or all), most severe first, then by subgroup and rule."""
    query = select(*(ALERT.c[name] for name in ALERT_SCHEMA)).where(ALERT.c.la_code == la_code)
    if status:
        query = query.where(ALERT.c.status.in_(ALERT_STATUS_GROUPS.get(status, (status,))))
    frame = read_frame(conn, query, ALERT_SCHEMA)
    most_severe_first = pl.col("severity").replace_strict(SEVERITIES, range(len(SEVERITIES)), default=len(SEVERITIES))
    return frame.sort(most_severe_first, "subgroup", "rule", "key")


def read_alerts(conn: Connection, la_code: str, schema: dict) -> pl.DataFrame:
    """The partnership's alerts in the lifecycle's own columns (`schema`)."""
    return read_frame(conn, select(*[ALERT.c[c] for c in schema]).where(ALERT.c.la_code == la_code), schema)


def _rows(conn: Connection, la_code: str, columns: tuple[str, ...], *where) -> list[dict]:
    query = select(*(ALERT.c[c] for c in columns)).where(ALERT.c.la_code == la_code, *where)
    return [dict(row) for row in conn.execute(query).mappings()]


def planning_alerts(conn: Connection, la_code: str) -> list[dict]:
    """Every alert of the partnership, with the columns notification planning (pipelines.notify.plan) reads."""
    return _rows(conn, la_code, PLANNING_COLUMNS)


def indicator_alerts(conn: Connection, la_code: str) -> list[dict]:
    """Every alert about an indicator, in the columns the evidence step (pipelines.register.new_evidence) reads."""
    return _rows(conn, la_code, EVIDENCE_COLUMNS, ALERT.c.indicator.is_not(None))


def alert_key(conn: Connection, la_code: str, alert: str) -> str | None:
    """The key of the alert whose short ref (as people see it) or key is `alert`, or None when there is none."""
    return conn.execute(select(ALERT.c.key).where(ALERT.c.la_code == la_code,
                                                  (ALERT.c.ref == alert) | (ALERT.c.key == alert))).scalar()


def save_alerts(conn: Connection, la_code: str, state: pl.DataFrame, transitions: pl.DataFrame, actor: str) -> dict:
    """Store the alerts' new state and audit every change of status."""
    values = [c for c in state.columns if c != "key"]
    counts = sync_rows(conn, ALERT, state, keys=["key"], values=values, scope=[], fixed={"la_code": la_code},
                       touch={"updated_at": utcnow()})
    for row in transitions.iter_rows(named=True):
        audit(conn, la_code, actor, "alert_status_changed", row["key"], row)
    return counts


def positive_signals(conn: Connection, la_code: str) -> pl.DataFrame:
    """The improvements the last cycle found (special cause in the good direction)."""
    table = PositiveSignal.__table__
    schema = {"rule": pl.String, "indicator": pl.String, "breakdown": pl.String, "period": pl.String,
              "subgroup": pl.String, "message": pl.String}
    return read_frame(conn, select(*(table.c[c] for c in schema)).where(table.c.la_code == la_code), schema)
