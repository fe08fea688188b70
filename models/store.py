"""Writes to the store, and the reads the monthly cycle needs.

Each function takes an open SQLAlchemy connection so the caller decides the
transaction: a whole file is stored (submission, rows, audit) in one
transaction or not at all, and indicator values are replaced in one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, delete, func, insert, select, update

from models.bulk import insert_frame
from models.tables import (
    RECORD_TABLES,
    AuditEvent,
    IndicatorValue,
    Observation,
    Submission,
    utcnow,
)

SUBMISSION = Submission.__table__
OBSERVATION = Observation.__table__
INDICATOR_VALUE = IndicatorValue.__table__
AUDIT = AuditEvent.__table__
VALUE_COLUMNS = ("value", "numerator", "denominator", "note")


def audit(conn: Connection, la_code: str, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
    conn.execute(
        insert(AUDIT).values(
            la_code=la_code, actor=actor, action=action, subject=subject, detail=json.dumps(detail, default=str)
        )
    )


def current_submission(conn: Connection, la_code: str, feed_id: str, period: str) -> dict | None:
    row = conn.execute(
        select(SUBMISSION).where(
            SUBMISSION.c.la_code == la_code,
            SUBMISSION.c.feed_id == feed_id,
            SUBMISSION.c.period == period,
            SUBMISSION.c.is_current,
        )
    ).mappings().first()
    return dict(row) if row else None


def record_submission(conn: Connection, *, la_code: str, actor: str, **fields: Any) -> int:
    """Record a submission that changes no data (rejected or duplicate) with its reasons."""
    submission_id = conn.execute(insert(SUBMISSION).values(la_code=la_code, **fields)).inserted_primary_key[0]
    audit(conn, la_code, actor, f"submission_{fields['status']}", fields["file_name"],
          {"submission_id": submission_id, "feed": fields.get("feed_id"), "period": fields.get("period"),
           "message": fields.get("message", "")})
    return submission_id


def accept_submission(
    conn: Connection,
    *,
    la_code: str,
    actor: str,
    feed_id: str,
    kind: str,
    period: str,
    file_name: str,
    file_hash: str,
    archive_path: str,
    rows: pl.DataFrame,
    received_at: datetime | None = None,
) -> tuple[str, int]:
    """Store an accepted file and make it the version in force for its feed and period.

    A different earlier version stays in the history (its rows are kept) but
    stops being current, so nothing is counted twice.  Returns the status
    (`accepted`, or `replaced` when it superseded an earlier version) and id.
    """
    previous = current_submission(conn, la_code, feed_id, period)
    status = "replaced" if previous else "accepted"
    if previous:
        conn.execute(update(SUBMISSION).where(SUBMISSION.c.id == previous["id"]).values(is_current=False))
    submission_id = conn.execute(
        insert(SUBMISSION).values(
            la_code=la_code, feed_id=feed_id, period=period, file_name=file_name, file_hash=file_hash,
            status=status, is_current=True, received_at=received_at or utcnow(), row_count=rows.height,
            archive_path=archive_path, replaces_id=previous["id"] if previous else None,
            message=f"replaces submission {previous['id']} ({previous['file_name']})" if previous else "",
        )
    ).inserted_primary_key[0]
    provenance = rows.with_columns(
        submission_id=pl.lit(submission_id), la_code=pl.lit(la_code), period=pl.lit(period)
    )
    if kind == "aggregate":
        insert_frame(conn, OBSERVATION, provenance.with_columns(feed_id=pl.lit(feed_id)))
    else:
        insert_frame(conn, RECORD_TABLES[feed_id].__table__, provenance)
    audit(conn, la_code, actor, f"submission_{status}", file_name,
          {"submission_id": submission_id, "feed": feed_id, "period": period, "rows": rows.height,
           "replaces": previous["id"] if previous else None})
    return status, submission_id


def current_observations(conn: Connection, la_code: str) -> pl.DataFrame:
    """Rows of the aggregate returns in force (one version per feed and month)."""
    query = (
        select(OBSERVATION.c.period, OBSERVATION.c.indicator, OBSERVATION.c.breakdown, OBSERVATION.c.value)
        .join(SUBMISSION, SUBMISSION.c.id == OBSERVATION.c.submission_id)
        .where(SUBMISSION.c.is_current, SUBMISSION.c.la_code == la_code)
    )
    return pl.read_database(query, conn, schema_overrides={"value": pl.Float64})


def current_records(conn: Connection, la_code: str, feed_id: str) -> pl.DataFrame:
    """Rows of a record-level feed in force."""
    table = RECORD_TABLES[feed_id].__table__
    query = (
        select(table)
        .join(SUBMISSION, SUBMISSION.c.id == table.c.submission_id)
        .where(SUBMISSION.c.is_current, SUBMISSION.c.la_code == la_code)
    )
    return pl.read_database(query, conn, infer_schema_length=None)


def current_periods(conn: Connection, la_code: str) -> dict[str, list[str]]:
    """The months each feed has a version in force for."""
    rows = conn.execute(
        select(SUBMISSION.c.feed_id, SUBMISSION.c.period)
        .where(SUBMISSION.c.is_current, SUBMISSION.c.la_code == la_code)
        .order_by(SUBMISSION.c.feed_id, SUBMISSION.c.period)
    ).all()
    periods: dict[str, list[str]] = {}
    for feed_id, period in rows:
        periods.setdefault(feed_id, []).append(period)
    return periods


def save_indicator_values(conn: Connection, la_code: str, values: pl.DataFrame, up_to: str) -> dict[str, int]:
    """Make the stored values for months up to `up_to` equal `values`, changing only what differs.

    Unchanged rows are left alone (a second identical cycle writes nothing);
    changed rows are updated, new ones inserted, and values that can no longer
    be computed (a replaced file dropped them) are deleted.
    """
    values = values.filter(pl.col("period") <= up_to)
    stored = pl.read_database(
        select(INDICATOR_VALUE.c.id, INDICATOR_VALUE.c.period, INDICATOR_VALUE.c.indicator,
               INDICATOR_VALUE.c.breakdown, *[INDICATOR_VALUE.c[c] for c in VALUE_COLUMNS])
        .where(INDICATOR_VALUE.c.la_code == la_code, INDICATOR_VALUE.c.period <= up_to),
        conn,
        schema_overrides={"id": pl.Int64, "period": pl.String, "indicator": pl.String, "breakdown": pl.String,
                          "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64, "note": pl.String},
    )
    keys = ["period", "indicator", "breakdown"]
    new = values.join(stored, on=keys, how="anti")
    gone = stored.join(values, on=keys, how="anti")
    changed = values.join(stored, on=keys, how="inner", suffix="_old").filter(
        pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in VALUE_COLUMNS)
    )
    now = utcnow()
    if not gone.is_empty():
        conn.execute(delete(INDICATOR_VALUE).where(INDICATOR_VALUE.c.id.in_(gone["id"].to_list())))
    for row in changed.select("id", *VALUE_COLUMNS).iter_rows(named=True):
        conn.execute(update(INDICATOR_VALUE).where(INDICATOR_VALUE.c.id == row.pop("id")).values(**row, computed_at=now))
    insert_frame(
        conn,
        INDICATOR_VALUE,
        new.select(*keys, *VALUE_COLUMNS).with_columns(la_code=pl.lit(la_code), computed_at=pl.lit(now)),
    )
    counts = {"inserted": new.height, "updated": changed.height, "deleted": gone.height}
    if any(counts.values()):
        audit(conn, la_code, "monthly_cycle", "indicator_values_saved", f"up to {up_to}", counts)
    return counts


def latest_period(conn: Connection, la_code: str) -> str | None:
    return conn.execute(
        select(func.max(SUBMISSION.c.period)).where(and_(SUBMISSION.c.la_code == la_code, SUBMISSION.c.is_current))
    ).scalar()
