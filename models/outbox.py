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
from sqlalchemy import Connection, insert, select, update

from radar.models.store import DATA_STATUSES
from radar.models.tables import Alert, AlertNotice, OutboxMessage, Risk, Submission

OUTBOX = OutboxMessage.__table__
NOTICE = AlertNotice.__table__
ALERT = Alert.__table__
SUBMISSION = Submission.__table__
NOTICE_COLUMNS = ("alert_key", "receiver", "kind", "noticed_on")
ALERT_COLUMNS = ("key", "ref", "rule", "indicator", "feed", "scope", "severity", "subgroup", "status", "message",
                 "evidence", "first_period", "last_period", "cleared_period", "raised_on", "escalated_on")


def alerts(conn: Connection, la_code: str) -> list[dict]:
    """Every alert of the partnership, with the columns planning reads."""
    query = select(*(ALERT.c[c] for c in ALERT_COLUMNS)).where(ALERT.c.la_code == la_code)
    return [dict(row._mapping) for row in conn.execute(query)]


def notices(conn: Connection, la_code: str) -> list[dict]:
    """What each receiver was told about each alert, with `status`: whether the message carrying it has left
    the outbox yet (pending, sent, failed) -- a repeat or an escalation counts only from a notice that was sent."""
    query = (select(*(NOTICE.c[c] for c in NOTICE_COLUMNS), OUTBOX.c.status)
             .join(OUTBOX, OUTBOX.c.key == NOTICE.c.message_key).where(NOTICE.c.la_code == la_code))
    return [dict(row._mapping) for row in conn.execute(query)]


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


def risk_owners(conn: Connection, la_code: str) -> dict[str, str]:
    """Risk id (R04) -> its owner's role, for routing risk and action alerts to the owner."""
    table = Risk.__table__
    return dict(conn.execute(select(table.c.risk_id, table.c.owner).where(table.c.la_code == la_code)).all())


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
