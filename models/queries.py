"""Read-only queries the dashboard makes of the store, as polars frames.

Every query is filtered by the partnership's `la_code`, because one store may
serve several partnerships.  The functions only select: statuses and
statistics are computed in `pipelines/`, formatting happens in `dashboard/`.
Each result has a fixed schema so an empty store gives empty, typed frames
that the pages can test with `is_empty()`.
"""

from __future__ import annotations

import json

import polars as pl
from sqlalchemy import Engine, func, select

from radar.core.alert_vocabulary import ACTIVE, SEVERITIES
from radar.models.store import polars_schema
from radar.models.tables import (
    Alert,
    AlertNotice,
    AuditEvent,
    Benchmark,
    EarlyWarning,
    IndicatorValue,
    OutboxMessage,
    PositiveSignal,
    SeriesStatus,
    SpcPoint,
    SpcSegment,
    Submission,
)

SUBMISSION = Submission.__table__
INDICATOR_VALUE = IndicatorValue.__table__

SUBMISSION_SCHEMA = {
    "id": pl.Int64, "feed_id": pl.String, "period": pl.String, "file_name": pl.String,
    "status": pl.String, "is_current": pl.Boolean, "received_at": pl.Datetime("us", "UTC"),
    "row_count": pl.Int64, "error_count": pl.Int64, "message": pl.String,
}
REJECTED_SCHEMA = {
    "id": pl.Int64, "file_name": pl.String, "feed_id": pl.String, "period": pl.String,
    "received_at": pl.Datetime("us", "UTC"), "error_count": pl.Int64, "message": pl.String,
    "report_path": pl.String,
}
SERIES_SCHEMA = {
    "period": pl.String, "value": pl.Float64, "numerator": pl.Float64,
    "denominator": pl.Float64, "note": pl.String,
}
PROBLEM_SCHEMA = {"row": pl.Int64, "column": pl.String, "value": pl.String, "rule": pl.String, "message": pl.String}


def _read(engine: Engine, query, schema: dict) -> pl.DataFrame:
    with engine.connect() as connection:
        return pl.read_database(query, connection, schema_overrides=schema).select(list(schema))


def store_version(engine: Engine) -> int:
    """A number that grows whenever anything in the store changes (the newest audit event's id).

    Every write (a file, a cycle, an alert action, a benchmark import) is
    audited in its own transaction, so a reader can cache results under this
    number and ask the store again only when it moves.
    """
    with engine.connect() as connection:
        return connection.execute(select(func.max(AuditEvent.__table__.c.id))).scalar() or 0


def submissions(engine: Engine, la_code: str, period: str | None = None) -> pl.DataFrame:
    """Every file received (for the month `period`, or all), in order of arrival (all statuses, current or not)."""
    query = (
        select(*(SUBMISSION.c[name] for name in SUBMISSION_SCHEMA))
        .where(SUBMISSION.c.la_code == la_code, *([] if period is None else [SUBMISSION.c.period == period]))
        .order_by(SUBMISSION.c.received_at, SUBMISSION.c.id)
    )
    return _read(engine, query, SUBMISSION_SCHEMA)


def first_period(engine: Engine, la_code: str) -> str | None:
    """The earliest month any file was received for (None before the first)."""
    with engine.connect() as connection:
        return connection.execute(select(func.min(SUBMISSION.c.period)).where(SUBMISSION.c.la_code == la_code)).scalar()


def rejected_submissions(engine: Engine, la_code: str) -> pl.DataFrame:
    """Rejected files, newest first; `error_count` is the number of problems found."""
    query = (
        select(*(SUBMISSION.c[name] for name in REJECTED_SCHEMA))
        .where(SUBMISSION.c.la_code == la_code, SUBMISSION.c.status == "rejected")
        .order_by(SUBMISSION.c.received_at.desc(), SUBMISSION.c.id.desc())
    )
    return _read(engine, query, REJECTED_SCHEMA)


def submission_problems(engine: Engine, la_code: str, submission_id: int) -> pl.DataFrame:
    """The problems stored with one submission: row, column, value, rule, message.

    Values are read as text whatever type the validator recorded, so a table
    of problems always has the same columns.
    """
    with engine.connect() as connection:
        stored = connection.execute(
            select(SUBMISSION.c.errors_json).where(SUBMISSION.c.id == submission_id, SUBMISSION.c.la_code == la_code)
        ).scalar()
    return pl.DataFrame([_problem(p) for p in json.loads(stored or "[]")], schema=PROBLEM_SCHEMA)


def _problem(stored: dict) -> dict:
    text = {key: None if stored.get(key) is None else str(stored[key]) for key in ("column", "value", "rule", "message")}
    row = stored.get("row")
    return {"row": None if row is None else int(row)} | text


def indicators_with_values(engine: Engine, la_code: str) -> set[str]:
    """The indicators that have at least one stored value row."""
    query = select(INDICATOR_VALUE.c.indicator).where(INDICATOR_VALUE.c.la_code == la_code).distinct()
    with engine.connect() as connection:
        return set(connection.execute(query).scalars())


def indicator_breakdowns(engine: Engine, la_code: str, indicator: str) -> list[str]:
    """The breakdowns stored for an indicator, sorted ("" = the total comes first)."""
    query = (
        select(INDICATOR_VALUE.c.breakdown)
        .where(INDICATOR_VALUE.c.la_code == la_code, INDICATOR_VALUE.c.indicator == indicator)
        .distinct()
        .order_by(INDICATOR_VALUE.c.breakdown)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def indicator_series(engine: Engine, la_code: str, indicator: str, breakdown: str = "") -> pl.DataFrame:
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
    return _read(engine, query, SERIES_SCHEMA)


VALUES_SCHEMA = {"period": pl.String, "indicator": pl.String, "breakdown": pl.String} | SERIES_SCHEMA


def indicator_values(engine: Engine, la_code: str, indicator: str | None = None,
                     months: list[str] | None = None) -> pl.DataFrame:
    """Every stored indicator value (or one indicator's, or some months'), ordered by indicator, breakdown and month."""
    query = select(*(INDICATOR_VALUE.c[name] for name in VALUES_SCHEMA)).where(INDICATOR_VALUE.c.la_code == la_code)
    if indicator:
        query = query.where(INDICATOR_VALUE.c.indicator == indicator)
    if months is not None:
        query = query.where(INDICATOR_VALUE.c.period.in_(months))
    query = query.order_by(INDICATOR_VALUE.c.indicator, INDICATOR_VALUE.c.breakdown, INDICATOR_VALUE.c.period)
    return _read(engine, query, VALUES_SCHEMA)


ALERT_SCHEMA = {
    "key": pl.String, "ref": pl.String, "raised_on": pl.Date,
    "rule": pl.String, "indicator": pl.String, "breakdown": pl.String, "feed": pl.String,
    "scope": pl.String, "last_period": pl.String, "first_period": pl.String, "cleared_period": pl.String,
    "severity": pl.String, "subgroup": pl.String, "status": pl.String, "message": pl.String, "evidence": pl.String,
    "acknowledged_by": pl.String, "ack_note": pl.String, "silenced_reason": pl.String, "silenced_until": pl.Date,
    "escalated_on": pl.Date,
}
ALERT_STATUS_GROUPS = {"active": ACTIVE}  # active: someone must act, or is acting


def alerts(engine: Engine, la_code: str, status: str | None = None) -> pl.DataFrame:
    """Alerts (of one status, `active` = open or acknowledged, or all), most severe first, then by subgroup and rule."""
    table = Alert.__table__
    query = select(*(table.c[name] for name in ALERT_SCHEMA)).where(table.c.la_code == la_code)
    if status:
        query = query.where(table.c.status.in_(ALERT_STATUS_GROUPS.get(status, (status,))))
    frame = _read(engine, query, ALERT_SCHEMA)
    most_severe_first = pl.col("severity").replace_strict(SEVERITIES, range(len(SEVERITIES)), default=len(SEVERITIES))
    return frame.sort(most_severe_first, "subgroup", "rule", "key")


def positive_signals(engine: Engine, la_code: str) -> pl.DataFrame:
    table = PositiveSignal.__table__
    schema = {"rule": pl.String, "indicator": pl.String, "breakdown": pl.String, "period": pl.String,
              "subgroup": pl.String, "message": pl.String}
    return _read(engine, select(*(table.c[c] for c in schema)).where(table.c.la_code == la_code), schema)


SPC_SCHEMA = {
    "period": pl.String, "value": pl.Float64, "mean": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
    "signal": pl.String, "direction": pl.String, "assessment": pl.String, "label": pl.String,
}


def spc_points(engine: Engine, la_code: str, indicator: str, breakdown: str = "") -> pl.DataFrame:
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
    return _read(engine, query, SPC_SCHEMA)


def series_status(engine: Engine, la_code: str, indicator: str, breakdown: str = "") -> dict | None:
    table = SeriesStatus.__table__
    query = select(table).where(table.c.la_code == la_code, table.c.indicator == indicator, table.c.breakdown == breakdown)
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def early_warning(engine: Engine, la_code: str, indicator: str, breakdown: str = "") -> dict | None:
    """One series' early-warning row (what the detector flagged last, and what it can detect), if it has one."""
    table = EarlyWarning.__table__
    query = select(*(c for c in table.columns if c.name != "state")).where(
        table.c.la_code == la_code, table.c.indicator == indicator, table.c.breakdown == breakdown)
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def benchmarks(engine: Engine) -> pl.DataFrame:
    """Every published figure loaded (England, regions, every local authority)."""
    table = Benchmark.__table__
    schema = {c: t for c, t in polars_schema(table).items() if c not in ("id", "source_file", "imported_at")}
    return _read(engine, select(*(table.c[c] for c in schema)), schema)


NOTICE_SCHEMA = {"alert_key": pl.String, "receiver": pl.String, "kind": pl.String, "noticed_on": pl.Date,
                 "status": pl.String}


def alert_notices(engine: Engine, la_code: str) -> pl.DataFrame:
    """Who was told about each alert, what (new, repeat, resolved, escalation), on which day, and whether the
    message has left the outbox (its status)."""
    notice, box = AlertNotice.__table__, OutboxMessage.__table__
    query = (select(notice.c.alert_key, notice.c.receiver, notice.c.kind, notice.c.noticed_on, box.c.status)
             .join(box, box.c.key == notice.c.message_key).where(notice.c.la_code == la_code)
             .order_by(notice.c.noticed_on, notice.c.receiver))
    return _read(engine, query, NOTICE_SCHEMA)
