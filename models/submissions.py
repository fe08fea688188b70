"""Submissions: every delivered file and what Radar decided about it, with the rows it brought.

An aggregate return's rows are `observation`s; a record-level feed's rows go
to its own table (`RECORD_TABLES`), whose `child_ref` columns hold the keyed
pseudonym computed at ingest, never the agency's reference (`pseudonym_key`
keeps the key's fingerprint, never the key).  A file is stored with its rows
and its audit event in the caller's transaction, whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Column, Connection, Index, Text, func, insert, select, text, update
from sqlmodel import Field, SQLModel

from radar.models.audit import audit, latest_cycle, utcnow
from radar.models.bulk import insert_frame, polars_schema, read_frame


class Submission(SQLModel, table=True):
    """One delivered file and what Radar decided about it."""

    __tablename__ = "submission"
    # and uq_submission_current (radar.models.tables): at most one version of a feed and period is in force
    __table_args__ = (Index("ix_submission_feed_period", "la_code", "feed_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    feed_id: str | None = Field(default=None, max_length=64)  # None when the file name was unreadable
    period: str | None = Field(default=None, max_length=7)  # YYYY-MM
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    file_hash: str = Field(max_length=64, index=True)  # sha256 of the bytes delivered
    status: str = Field(max_length=16)  # accepted | replaced | duplicate | rejected
    is_current: bool = Field(default=False)
    received_at: datetime = Field(default_factory=utcnow)
    row_count: int = 0
    error_count: int = 0
    message: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    errors_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    archive_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    report_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    replaces_id: int | None = Field(default=None, foreign_key="submission.id")


class Observation(SQLModel, table=True):
    """One row of an aggregate return, as the agency sent it."""

    __tablename__ = "observation"
    __table_args__ = (Index("ix_observation_lookup", "la_code", "feed_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    la_code: str = Field(max_length=9)
    feed_id: str = Field(max_length=64)
    period: str = Field(max_length=7)
    row_number: int
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)  # "" when the indicator has no breakdown
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class RecordRow(SQLModel):
    """Columns every record-level row shares: partnership, provenance and month."""

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    la_code: str = Field(max_length=9)
    period: str = Field(max_length=7)
    row_number: int


class MashContact(RecordRow, table=True):
    __tablename__ = "mash_contact"

    contact_id: str = Field(max_length=64)
    child_ref: str = Field(max_length=64)  # keyed pseudonym, never the agency's reference
    received_date: date
    source: str = Field(max_length=32)
    outcome: str = Field(max_length=32)


class LadoReferral(RecordRow, table=True):
    __tablename__ = "lado_referral"

    referral_id: str = Field(max_length=64)
    received_date: date
    setting_ref: str = Field(max_length=64)
    setting_type: str = Field(max_length=32)
    allegation_type: str = Field(max_length=32)
    outcome: str = Field(max_length=32)


class MissingEpisode(RecordRow, table=True):
    __tablename__ = "missing_episode"

    episode_id: str = Field(max_length=64)
    child_ref: str = Field(max_length=64)  # keyed pseudonym, never the agency's reference
    start_date: date
    end_date: date | None = None
    looked_after: bool
    rhi_offered: bool
    rhi_completed: bool


# The table that stores each record-level feed's rows.
RECORD_TABLES: dict[str, type[RecordRow]] = {
    "mash_contacts": MashContact,
    "lado_referrals": LadoReferral,
    "missing_episodes": MissingEpisode,
}


class PseudonymKey(SQLModel, table=True):
    """Which key the store's pseudonyms were made with: its fingerprint, never the key.

    A pseudonym links a child across months only while the key stays the same,
    so ingest compares the key it is given with this fingerprint and refuses a
    different one instead of silently starting a second set of pseudonyms.
    """

    __tablename__ = "pseudonym_key"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64)  # HMAC-SHA256(key, a fixed label), hex
    recorded_at: datetime = Field(default_factory=utcnow)


SUBMISSION = Submission.__table__
OBSERVATION = Observation.__table__
DATA_STATUSES = ("accepted", "replaced")  # submissions whose rows are data (the others changed nothing)
WITHDRAWN = "withdrawn"
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
PROBLEM_SCHEMA = {"row": pl.Int64, "column": pl.String, "value": pl.String, "rule": pl.String, "message": pl.String}


def submissions(conn: Connection, la_code: str, period: str | None = None) -> pl.DataFrame:
    """Every file received (for the month `period`, or all), in order of arrival (all statuses, current or not)."""
    query = (
        select(*(SUBMISSION.c[name] for name in SUBMISSION_SCHEMA))
        .where(SUBMISSION.c.la_code == la_code, *([] if period is None else [SUBMISSION.c.period == period]))
        .order_by(SUBMISSION.c.received_at, SUBMISSION.c.id)
    )
    return read_frame(conn, query, SUBMISSION_SCHEMA)


def first_period(conn: Connection, la_code: str) -> str | None:
    """The earliest month any file was received for (None before the first)."""
    return conn.execute(select(func.min(SUBMISSION.c.period)).where(SUBMISSION.c.la_code == la_code)).scalar()


def rejected_submissions(conn: Connection, la_code: str) -> pl.DataFrame:
    """Rejected files, newest first; `error_count` is the number of problems found."""
    query = (
        select(*(SUBMISSION.c[name] for name in REJECTED_SCHEMA))
        .where(SUBMISSION.c.la_code == la_code, SUBMISSION.c.status == "rejected")
        .order_by(SUBMISSION.c.received_at.desc(), SUBMISSION.c.id.desc())
    )
    return read_frame(conn, query, REJECTED_SCHEMA)


def submission_problems(conn: Connection, la_code: str, submission_id: int) -> pl.DataFrame:
    """The problems stored with one submission: row, column, value, rule, message.

    Values are read as text whatever type the validator recorded, so a table
    of problems always has the same columns.
    """
    stored = conn.execute(
        select(SUBMISSION.c.errors_json).where(SUBMISSION.c.id == submission_id, SUBMISSION.c.la_code == la_code)
    ).scalar()
    return pl.DataFrame([_problem(p) for p in json.loads(stored or "[]")], schema=PROBLEM_SCHEMA)


def _problem(stored: dict) -> dict:
    text = {key: None if stored.get(key) is None else str(stored[key]) for key in ("column", "value", "rule", "message")}
    row = stored.get("row")
    return {"row": None if row is None else int(row)} | text


def feed_files(conn: Connection, la_code: str, period: str) -> dict[str, dict]:
    """Each feed's files for `period` as they stand now: feed -> {"in_force": a current accepted or replacing
    file exists, "errors": the latest rejected file's stored problems (empty when none was rejected)}."""
    query = (select(SUBMISSION.c.feed_id, SUBMISSION.c.status, SUBMISSION.c.is_current, SUBMISSION.c.errors_json)
             .where(SUBMISSION.c.la_code == la_code, SUBMISSION.c.period == period)
             .order_by(SUBMISSION.c.received_at, SUBMISSION.c.id))
    files: dict[str, dict] = {}
    for row in conn.execute(query):
        feed = files.setdefault(row.feed_id, {"in_force": False, "errors": []})
        if row.status in DATA_STATUSES and row.is_current:
            feed["in_force"] = True
        elif row.status == "rejected":
            feed["errors"] = json.loads(row.errors_json or "[]")
    return files


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

