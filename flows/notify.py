"""Notifications: plan this cycle's messages into the outbox, then send what is due.

Planning (pipelines.notify) and storing (models.outbox.enqueue) happen in one
transaction, so an alert's announcement is recorded exactly when its message
is.  Sending goes through apprise, one message at a time, each attempt
committed before and after (at-least-once; see models/outbox.py).  Secrets
come from the environment or Prefect Secret blocks: the mail server is
RADAR_SMTP_URL and the sender RADAR_MAIL_FROM; a further channel's apprise URL
is named by `url_env` or `secret_block` in the partnership file.  Without a
mail server, e-mails stay pending in the outbox and the result says so.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, datetime

import apprise
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from radar.core import periods
from radar.flows.runtime import context, engine
from radar.models import alerts as alert_store
from radar.models import outbox
from radar.models import register as register_store
from radar.models import submissions as submission_store
from radar.models.audit import utcnow
from radar.pipelines import notify
from radar.pipelines.alerts.inhibition import held_feeds_alerted

NOT_CONFIGURED = "not sent: no mail server (set RADAR_SMTP_URL and RADAR_MAIL_FROM)"


def channel_url(channel: str, message: dict) -> str | None:
    """The apprise URL for a message's channel, or None when its secret is not available here."""
    if channel == "email":
        smtp, sender = os.environ.get("RADAR_SMTP_URL"), os.environ.get("RADAR_MAIL_FROM")
        return notify.email_url(smtp, sender, message["to"], message["key"]) if smtp and sender else None
    _, source, name = channel.split(":", 2)
    if source == "env":
        return os.environ.get(name)
    from prefect.blocks.system import Secret

    return Secret.load(name).get()


def send(url: str, message: dict) -> str | None:
    """Send one message through apprise; None on success, else the reason it failed."""
    sender = apprise.Apprise()
    if not sender.add(url):
        return "the channel's URL is not one apprise understands"
    email = url.startswith("mailto")
    with apprise.LogCapture(level=apprise.logging.WARNING) as log:
        subject = re.sub(r"[\r\n]+", " ", message["subject"])  # a line break would start a header of its own
        ok = sender.notify(title=subject, body=message["body_html"] if email else message["body_text"],
                           body_format=apprise.NotifyFormat.HTML if email else apprise.NotifyFormat.TEXT)
    return None if ok else (log.getvalue().strip().splitlines() or ["delivery failed"])[-1][:500]


def deliver(la_code: str, now: datetime, sender: Callable[[str, dict], str | None] = send) -> list[dict]:
    """Try every due message once; each keeps its outcome in the outbox (status, attempts, last error)."""
    eng, tried = engine(), []
    with eng.connect() as conn:
        due = outbox.due(conn, la_code, now)
    for message in due:
        refused = notify.refused_recipients(message["to"]) if message["channel"] == "email" else None
        url = None if refused else channel_url(message["channel"], message)
        if url is None and refused is None:
            continue  # stays pending, untouched: nothing to send it with here
        with eng.begin() as conn:
            if not outbox.claim(conn, message, notify.next_attempt(message["attempts"] + 1, now)):
                continue
        reason = refused or sender(url, message)
        with eng.begin() as conn:
            if reason is None:
                outbox.mark_sent(conn, message["id"], now)
            else:
                outbox.mark_failed(conn, message["id"], reason)
        tried.append(message["key"])
    return tried


@task(cache_policy=NO_CACHE)
def send_notifications(period: str, as_of: date | None = None, dry_run: bool = False,
                       now: datetime | None = None) -> list[dict]:
    """Route and render this cycle's messages, store them, then send what is due (new and retried).

    `as_of` is the day the messages are judged on (default: the period's as-of date, as the cycle's).

    Returns every message planned now or tried now: key, to, channel,
    subject, alerts, kind, status (`dry-run` for a dry run: nothing stored,
    nothing sent) and, when nothing could be sent, a `note` saying why.
    """
    ctx, eng = context(), engine()
    # The day messages are judged on (repeats, escalations, the notices' dates) is the period's as-of date, as
    # the cycle's: for a month long past (the demo's March 2020) the end of the month after it, never the real
    # calendar.  `now` (when an attempt is made, when a message left) stays real time: it is an audit timestamp.
    today, now = as_of or periods.as_of(period, date.today()), now or utcnow()
    withheld = frozenset(c.name for f in ctx.catalogue.feeds for c in f.columns if c.pseudonymise)
    with eng.begin() as conn:
        planning = notify.Context(ctx.config, ctx.catalogue, period, today, withheld,
                                  submission_store.feed_files(conn, ctx.la_code, period))
        alerts = alert_store.planning_alerts(conn, ctx.la_code)
        messages, escalated = notify.plan(alerts, outbox.notices(conn, ctx.la_code).to_dicts(),
                                          register_store.risk_owners(conn, ctx.la_code),
                                          held_feeds_alerted(alerts, period), planning)
        if dry_run:
            return [_row(m, "dry-run") for m in messages]
        outbox.enqueue(conn, ctx.la_code, period, messages, escalated, today, now)
    tried = deliver(ctx.la_code, now)
    with eng.connect() as conn:
        rows = outbox.messages(conn, ctx.la_code, keys=[m["key"] for m in messages] + tried)
    mail_ready = bool(os.environ.get("RADAR_SMTP_URL") and os.environ.get("RADAR_MAIL_FROM"))
    return [_row(r, r["status"]) | ({} if mail_ready or r["channel"] != "email" else {"note": NOT_CONFIGURED})
            for r in rows]


def _row(message: dict, status: str) -> dict:
    return {"key": message["key"], "to": message["to"], "channel": message["channel"],
            "subject": message["subject"], "alerts": message["alerts"], "kind": message["kind"], "status": status}


@flow(name="notify")
def notify_flow(period: str, as_of: date | None = None, dry_run: bool = False) -> list[dict]:
    """`radar notify`: the notification step of the monthly cycle on its own."""
    return send_notifications(period, as_of, dry_run)
