"""What people and the ingest flow do to submissions: record a rejected file, audit a file handed in from the
dashboard, withdraw one taken in by mistake."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from radar.models import audit as audit_trail
from radar.models import submissions as submission_store
from radar.validation.feeds import ValidatedFile


def rejection_summary(result: ValidatedFile, report: Path) -> str:
    """The submission's one-line message: how many problems of which rules, and where the data lead's report is."""
    counts = ", ".join(f"{rule}: {n}" for rule, n in sorted(result.problem_counts.items()))
    total = sum(result.problem_counts.values())
    return (f"rejected with {total} problem{'s' if total != 1 else ''} ({counts}); the report for the data lead "
            f"is {report} (also on the dashboard's Rejected files page)")


def record_rejection(engine: Engine, la_code: str, by: str, *, file_name: str, file_hash: str, feed_id: str | None,
                     period: str | None, received_at: datetime, result: ValidatedFile, quarantined: Path | None,
                     report: Path) -> tuple[int, list[dict], str]:
    """Record a rejected file (dropped in the inbox or sent from the upload page) with its problems, its
    quarantined copy and its report, so the Rejected files page lists it and the retention purge deletes it.
    Returns the submission's id, its problems as stored and its message."""
    errors = [dataclasses.asdict(p) for p in result.problems]
    message = rejection_summary(result, report)
    with engine.begin() as conn:
        submission_id = submission_store.record_submission(
            conn, la_code=la_code, actor=by, feed_id=result.feed_id or feed_id, period=result.period or period,
            file_name=file_name, file_hash=file_hash, status="rejected", received_at=received_at,
            row_count=result.row_count, error_count=sum(result.problem_counts.values()), message=message,
            errors_json=json.dumps(errors), archive_path=str(quarantined) if quarantined else None,
            report_path=str(report),
        )
    return submission_id, errors, message


def record_upload(engine: Engine, la_code: str, by: str, file_name: str, detail: dict[str, Any]) -> None:
    """Audit a file handed to the inbox from the upload page, before the ingest flow records its outcome."""
    with engine.begin() as conn:
        audit_trail.audit(conn, la_code, by, "dashboard_upload", file_name, detail)


def withdraw_submission(engine: Engine, la_code: str, submission_id: int, *, reason: str, by: str) -> dict:
    """Take an accepted file out of use (it stays in the history); the version it replaced, if any, is back in
    force.  Returns the change (feed, period, restored); submissions.WithdrawError says why it cannot be withdrawn.
    The next monthly cycle recomputes without it."""
    with engine.begin() as conn:
        return submission_store.withdraw_submission(conn, la_code, submission_id, reason, by)
