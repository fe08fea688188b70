"""What people do to submissions: audit a file handed in from the dashboard, withdraw one taken in by mistake."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from radar.models import store


def record_upload(engine: Engine, la_code: str, by: str, file_name: str, detail: dict[str, Any]) -> None:
    """Audit a file handed to the inbox from the upload page, before the ingest flow records its outcome."""
    with engine.begin() as conn:
        store.audit(conn, la_code, by, "dashboard_upload", file_name, detail)


def withdraw_submission(engine: Engine, la_code: str, submission_id: int, *, reason: str, by: str) -> dict:
    """Take an accepted file out of use (it stays in the history); the version it replaced, if any, is back in
    force.  Returns the change (feed, period, restored); store.WithdrawError says why it cannot be withdrawn.
    The next monthly cycle recomputes without it."""
    with engine.begin() as conn:
        return store.withdraw_submission(conn, la_code, submission_id, reason, by)
