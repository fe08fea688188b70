"""Writes to the store, and the reads the monthly cycle needs.

Each function takes an open SQLAlchemy connection so the caller decides the
transaction: a whole file is stored (submission, rows, audit) in one
transaction or not at all, and indicator values are replaced in one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import types as sa_types

from radar.models.bulk import insert_frame, update_frame
from radar.models.tables import (
    RECORD_TABLES,
    Alert,
    AuditEvent,
    CycleMark,
    CycleMarkFrame,
    EarlyWarning,
    IndicatorValue,
    Observation,
    PseudonymKey,
    SpcRebase,
    Submission,
    utcnow,
)

SUBMISSION = Submission.__table__
OBSERVATION = Observation.__table__
INDICATOR_VALUE = IndicatorValue.__table__
AUDIT = AuditEvent.__table__
CYCLE_MARK = CycleMark.__table__
MARK_FRAME = CycleMarkFrame.__table__
VALUE_COLUMNS = ("value", "numerator", "denominator", "note")
DATA_STATUSES = ("accepted", "replaced")  # submissions whose rows are data (the others changed nothing)
WITHDRAWN = "withdrawn"


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


def rejection_of(conn: Connection, la_code: str, file_name: str, file_hash: str) -> dict | None:
    """The earlier rejection of these very bytes under this name, if any (a re-delivery is its duplicate)."""
    row = conn.execute(
        select(SUBMISSION).where(
            SUBMISSION.c.la_code == la_code, SUBMISSION.c.file_name == file_name,
            SUBMISSION.c.file_hash == file_hash, SUBMISSION.c.status == "rejected",
        ).order_by(SUBMISSION.c.id)
    ).mappings().first()
    return dict(row) if row else None


def key_fingerprint(conn: Connection) -> str | None:
    """The fingerprint of the key the store's pseudonyms were made with (None until one was recorded)."""
    table = PseudonymKey.__table__
    return conn.execute(select(table.c.fingerprint).order_by(table.c.id).limit(1)).scalar()


def record_key_fingerprint(conn: Connection, fingerprint: str) -> None:
    conn.execute(insert(PseudonymKey.__table__).values(fingerprint=fingerprint, recorded_at=utcnow()))


def holds_pseudonyms(conn: Connection, feed_ids: list[str]) -> bool:
    """Whether any stored row of these record feeds (the ones with pseudonymised columns) exists."""
    return any(
        conn.execute(select(RECORD_TABLES[feed_id].__table__.c.id).limit(1)).first() is not None
        for feed_id in feed_ids
    )


def lock_feed_month(conn: Connection, la_code: str, feed_id: str, period: str) -> None:
    """Serialise writers of one feed and month until the transaction ends.

    Two ingest runs may hold the same file at once (two operators, a retry and
    a schedule).  Whoever takes this lock first stores it; the other, on
    re-reading the version in force under the lock, finds it identical and
    records a duplicate -- never a spurious second version or a constraint error.
    PostgreSQL: a transaction-scoped advisory lock on the feed and month.
    SQLite: a first statement that writes, which takes the database's write
    lock (SQLite has one writer at a time) and waits for it as BEGIN IMMEDIATE would.
    """
    if conn.dialect.name == "postgresql":
        digest = hashlib.sha256(f"{la_code}|{feed_id}|{period}".encode()).digest()
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                     {"key": int.from_bytes(digest[:8], "big", signed=True)})
    else:
        conn.execute(update(SUBMISSION).where(SUBMISSION.c.id == -1).values(is_current=False))


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
    rows: pl.DataFrame | Iterable[pl.DataFrame],
    received_at: datetime | None = None,
    row_count: int | None = None,
) -> tuple[str, int]:
    """Store an accepted file and make it the version in force for its feed and period.

    A different earlier version stays in the history (its rows are kept) but
    stops being current, so nothing is counted twice.  Returns the status
    (`accepted`, or `replaced` when it superseded an earlier version) and id.
    `rows` may be batches read one after another (a large file), with
    `row_count` their total, which the submission records before they arrive.
    """
    if isinstance(rows, pl.DataFrame):
        rows, row_count = [rows], rows.height
    previous = current_submission(conn, la_code, feed_id, period)
    status = "replaced" if previous else "accepted"
    if previous:
        conn.execute(update(SUBMISSION).where(SUBMISSION.c.id == previous["id"]).values(is_current=False))
    submission_id = conn.execute(
        insert(SUBMISSION).values(
            la_code=la_code, feed_id=feed_id, period=period, file_name=file_name, file_hash=file_hash,
            status=status, is_current=True, received_at=received_at or utcnow(), row_count=row_count,
            archive_path=archive_path, replaces_id=previous["id"] if previous else None,
            message=f"replaces submission {previous['id']} ({previous['file_name']})" if previous else "",
        )
    ).inserted_primary_key[0]
    constants = {"submission_id": pl.lit(submission_id), "la_code": pl.lit(la_code), "period": pl.lit(period)}
    if kind == "aggregate":
        constants["feed_id"] = pl.lit(feed_id)
    table = OBSERVATION if kind == "aggregate" else RECORD_TABLES[feed_id].__table__
    insert_frame(conn, table, (batch.with_columns(**constants) for batch in rows))
    audit(conn, la_code, actor, f"submission_{status}", file_name,
          {"submission_id": submission_id, "feed": feed_id, "period": period, "rows": row_count,
           "replaces": previous["id"] if previous else None})
    return status, submission_id


def _in_months(query, months: list[str] | None):
    """`query` for the given months of its submissions only (None: every month)."""
    return query if months is None else query.where(SUBMISSION.c.period.in_(months))


def current_observations(conn: Connection, la_code: str, months: list[str] | None = None) -> pl.DataFrame:
    """Rows of the aggregate returns in force (one version per feed and month), for `months` (None: all)."""
    query = _in_months(
        select(OBSERVATION.c.period, OBSERVATION.c.indicator, OBSERVATION.c.breakdown, OBSERVATION.c.value)
        .join(SUBMISSION, SUBMISSION.c.id == OBSERVATION.c.submission_id)
        .where(SUBMISSION.c.is_current, SUBMISSION.c.la_code == la_code), months
    )
    return pl.read_database(query, conn, schema_overrides={"value": pl.Float64})


POLARS_TYPES = ((sa_types.String, pl.String), (sa_types.DateTime, pl.Datetime("us", "UTC")),
                (sa_types.Date, pl.Date), (sa_types.Boolean, pl.Boolean), (sa_types.Integer, pl.Int64),
                (sa_types.Float, pl.Float64))


def polars_schema(table: Table) -> dict[str, pl.DataType]:
    """A table's columns as polars types, so even an empty result has the right schema."""
    def polars_type(column):
        kind = column.type.impl_instance if isinstance(column.type, sa_types.TypeDecorator) else column.type
        return next(p for sa, p in POLARS_TYPES if isinstance(kind, sa))

    return {c.name: polars_type(c) for c in table.columns}


def current_records(conn: Connection, la_code: str, feed_id: str, months: list[str] | None = None,
                    columns: Iterable[str] | None = None) -> pl.DataFrame:
    """Rows of a record-level feed in force, for `months` (None: all), with `columns` (None: all)."""
    table = RECORD_TABLES[feed_id].__table__
    selected = list(table.columns) if columns is None else [table.c[c] for c in columns]
    query = _in_months(
        select(*selected)
        .join(SUBMISSION, SUBMISSION.c.id == table.c.submission_id)
        .where(SUBMISSION.c.is_current, SUBMISSION.c.la_code == la_code), months
    )
    schema = polars_schema(table)
    return pl.read_database(query, conn, schema_overrides={c.name: schema[c.name] for c in selected})


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


def sync_rows(conn: Connection, table: Table, rows: pl.DataFrame, keys: list[str], values: list[str],
              scope: list, fixed: dict[str, Any], touch: dict[str, Any] | None = None,
              stored: pl.DataFrame | None = None) -> dict[str, int]:
    """Make the stored rows within `scope` equal `rows`, changing only what differs.

    Unchanged rows are left alone (a second identical run writes nothing);
    changed rows are updated, new ones inserted in bulk, and rows that are no
    longer produced are deleted.  `fixed` columns (e.g. la_code) are set on
    inserts and are part of the scope; `touch` columns (e.g. a timestamp) are
    set on every insert and update but never compared.  A caller that knows
    what is stored (the incremental cycle keeps it) passes it as `stored`
    (keys + values): nothing is read, and rows are addressed by their keys.
    """
    touch = touch or {}
    scope = [*scope, *[table.c[c] == v for c, v in fixed.items()]]
    if stored is None:
        schema = {c: rows.schema[c] for c in keys + values}
        stored = pl.read_database(
            select(table.c.id, *[table.c[c] for c in keys + values]).where(*scope), conn,
            schema_overrides={"id": pl.Int64, **schema},
        )
        match, within = ["id"], []  # an id is its row
    else:
        match, within = keys, scope
    new = rows.join(stored, on=keys, how="anti", nulls_equal=True)
    gone = stored.join(rows, on=keys, how="anti", nulls_equal=True)
    changed = rows.join(stored, on=keys, how="inner", suffix="_old", nulls_equal=True).filter(
        pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in values)
    )
    if not gone.is_empty():
        address = and_(*within, *[table.c[c] == bindparam(f"match_{c}") for c in match])
        conn.execute(delete(table).where(address), gone.select(pl.col(c).alias(f"match_{c}") for c in match).to_dicts())
    update_frame(conn, table, changed.select(*match, *values).with_columns(**_literals(touch)), match, within)
    insert_frame(conn, table, new.select(*keys, *values).with_columns(**_literals(fixed | touch)))
    return {"inserted": new.height, "updated": changed.height, "deleted": gone.height}


def _literals(columns: dict[str, Any]) -> dict[str, pl.Expr]:
    return {c: pl.lit(v) for c, v in columns.items()}


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


def read_alerts(conn: Connection, la_code: str, schema: dict) -> pl.DataFrame:
    """The partnership's alerts in the lifecycle's own columns (`schema`)."""
    table = Alert.__table__
    query = select(*[table.c[c] for c in schema]).where(table.c.la_code == la_code)
    return pl.read_database(query, conn, schema_overrides=schema).select(list(schema))


def save_alerts(conn: Connection, la_code: str, state: pl.DataFrame, transitions: pl.DataFrame, actor: str) -> dict:
    """Store the alerts' new state and audit every change of status."""
    table = Alert.__table__
    values = [c for c in state.columns if c != "key"]
    counts = sync_rows(conn, table, state, keys=["key"], values=values, scope=[], fixed={"la_code": la_code},
                       touch={"updated_at": utcnow()})
    for row in transitions.iter_rows(named=True):
        audit(conn, la_code, actor, "alert_status_changed", row["key"], row)
    return counts


def sync_series(conn: Connection, table: Table, la_code: str, rows: pl.DataFrame, keys: list[str],
                stored: pl.DataFrame | None = None) -> dict:
    """Replace a partnership's rows of a computed table (SPC points, series status, positive signals).

    `stored`: what the table holds for the partnership, when the caller knows (see `sync_rows`).
    """
    values = [c for c in rows.columns if c not in keys]
    return sync_rows(conn, table, rows, keys=keys, values=values, scope=[], fixed={"la_code": la_code},
                     stored=stored)


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
    return pl.read_database(query, conn, schema_overrides={
        "indicator": pl.String, "breakdown": pl.String, "period": pl.String, "reason": pl.String})


def read_early_warning(conn: Connection, la_code: str) -> pl.DataFrame:
    """Each series' early-warning row as the last cycle stored it (its columns but id and la_code)."""
    table = EarlyWarning.__table__
    columns = [c for c in table.columns if c.name not in ("id", "la_code")]
    kinds = {sa_types.Float: pl.Float64, sa_types.Integer: pl.Int64}
    schema = {c.name: next((v for k, v in kinds.items() if isinstance(c.type, k)), pl.String) for c in columns}
    return pl.read_database(select(*columns).where(table.c.la_code == la_code), conn, schema_overrides=schema)


CYCLE_COMPLETED = "cycle_completed"


def latest_cycle(conn: Connection, la_code: str) -> str | None:
    """The latest month a monthly cycle has completed for, from the audit trail (None before the first)."""
    return conn.execute(select(func.max(AUDIT.c.subject)).where(
        AUDIT.c.la_code == la_code, AUDIT.c.action == CYCLE_COMPLETED)).scalar()


def month_to_cycle(conn: Connection, la_code: str, period: str) -> str:
    """The month a cycle brought by files should run for: the latest of `period`, the latest month any file in
    force is for, and the latest month already run (a cycle never goes back; a correction counts from there)."""
    latest_file = conn.execute(select(func.max(SUBMISSION.c.period)).where(
        SUBMISSION.c.is_current, SUBMISSION.c.la_code == la_code)).scalar()
    return max(m for m in (period, latest_file, latest_cycle(conn, la_code)) if m)


def current_inputs(conn: Connection, la_code: str, up_to: str) -> dict[str, int]:
    """feed|month -> the submission in force, for every month up to `up_to`: what a cycle computes from."""
    rows = conn.execute(select(SUBMISSION.c.feed_id, SUBMISSION.c.period, SUBMISSION.c.id).where(
        SUBMISSION.c.is_current, SUBMISSION.c.la_code == la_code, SUBMISSION.c.period <= up_to)).all()
    return {f"{feed_id}|{period}": submission_id for feed_id, period, submission_id in rows}


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


def record_cycle(conn: Connection, la_code: str, period: str, counts: dict[str, int]) -> None:
    audit(conn, la_code, "monthly_cycle", CYCLE_COMPLETED, period, counts)

class WithdrawError(ValueError):
    """A submission that cannot be withdrawn; the message says why."""


def withdraw_submission(conn: Connection, la_code: str, submission_id: int, reason: str, by: str) -> dict:
    """Take an accepted file out of use, keeping it and its rows in the history.

    For a file that should never have been counted (wrong month, wrong area,
    data that broke the cycle).  If it had replaced an earlier version, that
    version is in force again; otherwise the month has no file in force and
    shows as missing until the agency sends one.  Returns what changed.
    """
    if not reason.strip() or not by.strip():
        raise WithdrawError("A withdrawal needs a reason and who decided it: both go on the audit trail.")
    row = conn.execute(select(SUBMISSION).where(SUBMISSION.c.la_code == la_code,
                                                SUBMISSION.c.id == submission_id)).mappings().first()
    if row is None:
        raise WithdrawError(f"There is no submission {submission_id}; `radar submissions` lists them.")
    if row["status"] not in DATA_STATUSES:
        raise WithdrawError(f"Submission {submission_id} ({row['file_name']}) is {row['status']}: only an accepted "
                            "file holds data that can be withdrawn.")
    restored = None
    if row["is_current"] and row["replaces_id"] is not None:
        earlier = conn.execute(select(SUBMISSION.c.id, SUBMISSION.c.status).where(
            SUBMISSION.c.id == row["replaces_id"])).first()
        if earlier is not None and earlier.status in DATA_STATUSES:
            restored = earlier.id
    conn.execute(update(SUBMISSION).where(SUBMISSION.c.id == submission_id).values(
        status=WITHDRAWN, is_current=False, message=f"withdrawn by {by}: {reason}"))
    if restored is not None:
        conn.execute(update(SUBMISSION).where(SUBMISSION.c.id == restored).values(is_current=True))
    change = {"submission_id": submission_id, "feed": row["feed_id"], "period": row["period"], "reason": reason,
              "was_current": row["is_current"], "restored": restored}
    audit(conn, la_code, by, "submission_withdrawn", row["file_name"], change)
    return change
