"""The audit trail: what changed in the store, by whom and why; and the clock every table stamps rows with.

Every write audits in its own transaction, so the newest audit event's id is
the store's version (`store_version`), and a completed monthly cycle is an
audit event too (`record_cycle`, `latest_cycle`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Text, func, insert, select
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuditEvent(SQLModel, table=True):
    """An append-only trail of what changed in the store, by whom and why."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    la_code: str = Field(max_length=9)
    actor: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(max_length=64)
    subject: str = Field(sa_column=Column(Text, nullable=False))  # e.g. every benchmark file imported
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))


AUDIT = AuditEvent.__table__
CYCLE_COMPLETED = "cycle_completed"


def audit(conn: Connection, la_code: str, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
    conn.execute(
        insert(AUDIT).values(
            la_code=la_code, actor=actor, action=action, subject=subject, detail=json.dumps(detail, default=str)
        )
    )


def store_version(conn: Connection) -> int:
    """A number that grows whenever anything in the store changes (the newest audit event's id).

    Every write (a file, a cycle, an alert action, a benchmark import) is
    audited in its own transaction, so a reader can cache results under this
    number and ask the store again only when it moves.
    """
    return conn.execute(select(func.max(AUDIT.c.id))).scalar() or 0


def latest_cycle(conn: Connection, la_code: str) -> str | None:
    """The latest month a monthly cycle has completed for, from the audit trail (None before the first)."""
    return conn.execute(select(func.max(AUDIT.c.subject)).where(
        AUDIT.c.la_code == la_code, AUDIT.c.action == CYCLE_COMPLETED)).scalar()


def record_cycle(conn: Connection, la_code: str, period: str, counts: dict[str, int]) -> None:
    audit(conn, la_code, "monthly_cycle", CYCLE_COMPLETED, period, counts)

