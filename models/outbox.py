"""The outbox: every message Radar means to send, and what became of it.

Delivery is **at-least-once**.  `enqueue` stores a planned message, its
notices and any escalation in one transaction, keyed by the message key, so
planning twice stores it once.  `claim` then counts an attempt and pushes
the next one back (the back-off doubles as a lease: a second run started
meanwhile does not pick the message up) and commits *before* sending;
`mark_sent` / `mark_failed` commit after.  A crash between the send and
`mark_sent` leaves the message pending, so it is sent again after the
back-off with the same X-Radar-Message-Key header for the recipient to
de-duplicate.  We chose this over at-most-once because a lost safeguarding
alert costs more than a duplicate.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import polars as pl
from sqlalchemy import Column, Connection, Index, Text, insert, select, update
from sqlmodel import Field, SQLModel

from radar.models.alerts import ALERT, NOTICE
from radar.models.bulk import read_frame


class OutboxMessage(SQLModel, table=True):
    """One message to one receiver over one channel, from rendering to delivery (flows/notify.py).

    The key is derived from what the message says (partnership, month,
    receiver, channel, kind, alerts), so planning it twice inserts it once;
    it also travels in the X-Radar-Message-Key header for the recipient to
    de-duplicate the rare resend after a crash.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("uq_outbox_key", "key", unique=True),
        Index("ix_outbox_due", "la_code", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    key: str = Field(max_length=64)
    period: str = Field(max_length=7)
    receiver: str = Field(sa_column=Column(Text, nullable=False))
    channel: str = Field(sa_column=Column(Text, nullable=False))  # email | apprise:env:NAME | apprise:block:NAME
    recipients: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of addresses
    kind: str = Field(max_length=16)  # digest | repeat | resolved | escalation | reminder
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    alerts: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of alert keys
    status: str = Field(max_length=16)  # pending | sent | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: datetime
    created_on: date  # the planning day ("today", or --as-of)
    sent_at: datetime | None = None


OUTBOX = OutboxMessage.__table__
NOTICE_SCHEMA = {"alert_key": pl.String, "receiver": pl.String, "kind": pl.String, "noticed_on": pl.Date,
                 "status": pl.String}


def notices(conn: Connection, la_code: str) -> pl.DataFrame:
    """Who was told about each alert, what (new, repeat, resolved, escalation), on which day, and whether the
    message carrying it has left the outbox (its `status`: pending, sent, failed) -- planning counts a repeat or
    an escalation only from a notice that was sent; the dashboard shows them all."""
    query = (select(NOTICE.c.alert_key, NOTICE.c.receiver, NOTICE.c.kind, NOTICE.c.noticed_on, OUTBOX.c.status)
             .join(OUTBOX, OUTBOX.c.key == NOTICE.c.message_key).where(NOTICE.c.la_code == la_code)
             .order_by(NOTICE.c.noticed_on, NOTICE.c.receiver))
    return read_frame(conn, query, NOTICE_SCHEMA)


def enqueue(conn: Connection, la_code: str, period: str, messages: list[dict], escalated: list[str],
            today: date, now: datetime) -> int:
    """Store planned messages (pending, due now) with their notices, and mark escalated alerts; returns
    how many messages were new.  A message whose key is already stored is left as it is."""
    known = set(conn.execute(select(OUTBOX.c.key).where(OUTBOX.c.key.in_([m["key"] for m in messages]))).scalars())
    new = [m for m in messages if m["key"] not in known]
    for m in new:
        conn.execute(insert(OUTBOX).values(
            la_code=la_code, key=m["key"], period=period, receiver=m["receiver"], channel=m["channel"],
            recipients=json.dumps(m["to"]), kind=m["kind"], subject=m["subject"], body_text=m["text"],
            body_html=m["html"], alerts=json.dumps(m["alerts"]), status="pending", attempts=0,
            next_attempt_at=now, created_on=today))
        if m["items"]:  # a reminder about a feed is about no alert (and an empty list would insert one blank row)
            conn.execute(insert(NOTICE), [{"la_code": la_code, "alert_key": key, "message_key": m["key"],
                                           "receiver": m["receiver"], "kind": item, "noticed_on": today}
                                          for key, item in m["items"].items()])
    if escalated:
        conn.execute(update(ALERT).where(ALERT.c.la_code == la_code, ALERT.c.key.in_(escalated),
                                         ALERT.c.escalated_on.is_(None)).values(escalated_on=today))
    return len(new)


def due(conn: Connection, la_code: str, now: datetime) -> list[dict]:
    """Messages not yet sent whose next attempt is due, oldest first."""
    query = (select(OUTBOX).where(OUTBOX.c.la_code == la_code, OUTBOX.c.status != "sent",
                                  OUTBOX.c.next_attempt_at <= now).order_by(OUTBOX.c.id))
    return [dict(row._mapping) | {"to": json.loads(row.recipients)} for row in conn.execute(query)]


def claim(conn: Connection, message: dict, retry_at: datetime) -> bool:
    """Count an attempt and set the next one, if nobody else claimed the message since it was read."""
    result = conn.execute(update(OUTBOX).where(OUTBOX.c.id == message["id"], OUTBOX.c.status != "sent",
                                               OUTBOX.c.attempts == message["attempts"])
                          .values(attempts=message["attempts"] + 1, next_attempt_at=retry_at))
    return result.rowcount == 1


def mark_sent(conn: Connection, message_id: int, now: datetime) -> None:
    conn.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(status="sent", sent_at=now, last_error=None))


def mark_failed(conn: Connection, message_id: int, reason: str) -> None:
    conn.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(status="failed", last_error=reason))


OUTBOX_SCHEMA = {
    "id": pl.Int64, "key": pl.String, "period": pl.String, "receiver": pl.String, "channel": pl.String, "recipients": pl.String,
    "kind": pl.String, "subject": pl.String, "alerts": pl.String, "status": pl.String, "attempts": pl.Int64,
    "last_error": pl.String, "next_attempt_at": pl.Datetime, "created_on": pl.Date, "sent_at": pl.Datetime,
}


def messages(conn: Connection, la_code: str, status: str | None = None, keys: list[str] | None = None) -> list[dict]:
    """Stored messages (of one status, or with these keys), oldest first, as `radar outbox --json` prints them."""
    query = select(*(OUTBOX.c[c] for c in OUTBOX_SCHEMA)).where(OUTBOX.c.la_code == la_code).order_by(OUTBOX.c.id)
    if status:
        query = query.where(OUTBOX.c.status == status)
    if keys is not None:
        query = query.where(OUTBOX.c.key.in_(keys))
    return [{k: v for k, v in row._mapping.items() if k != "recipients"}
            | {"to": json.loads(row.recipients), "alerts": json.loads(row.alerts)} for row in conn.execute(query)]


def message(conn: Connection, la_code: str, ident: str) -> dict | None:
    """One stored message with its text, by its id (as `radar outbox` lists it) or its key; None if there is none."""
    which = OUTBOX.c.id == int(ident) if ident.isdigit() else OUTBOX.c.key == ident
    columns = [*(OUTBOX.c[c] for c in OUTBOX_SCHEMA), OUTBOX.c.body_text]
    row = conn.execute(select(*columns).where(OUTBOX.c.la_code == la_code, which)).first()
    if row is None:
        return None
    return ({k: v for k, v in row._mapping.items() if k != "recipients"}
            | {"to": json.loads(row.recipients), "alerts": json.loads(row.alerts)})

