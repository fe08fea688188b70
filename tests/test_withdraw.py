"""Withdrawing a submission: out of use, kept in the history, the earlier version back in force, audited."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from radar.cli import app
from radar.models import submissions as submission_store
from radar.models.audit import AuditEvent
from radar.models.engine import get_engine
from radar.models.submissions import Submission

LA = "E09000006"


def accept(url, file_hash, value, period="2020-01"):
    rows = pl.DataFrame({"row_number": [2], "indicator": ["swa_completed"], "breakdown": [""], "value": [value]})
    with get_engine(url).begin() as conn:
        return submission_store.accept_submission(
            conn, la_code=LA, actor="test", feed_id="csc_monthly", kind="aggregate", period=period,
            file_name=f"csc_monthly__{period}.csv", file_hash=file_hash, archive_path="x", rows=rows)[1]


def current_values(url):
    with get_engine(url).connect() as conn:
        return submission_store.current_observations(conn, LA)["value"].to_list()


def test_withdrawing_a_correction_puts_the_earlier_version_back(radar_store):
    first = accept(radar_store, "a" * 64, 300)
    second = accept(radar_store, "b" * 64, 310)
    result = CliRunner().invoke(app, ["submissions", "withdraw", str(second), "--reason", "sent for the wrong month",
                                      "--by", "PCI chair"])
    assert result.exit_code == 0, result.output
    assert f"submission {first} is in force again" in result.output
    assert current_values(radar_store) == [300]
    with get_engine(radar_store).connect() as conn:
        statuses = conn.execute(select(Submission.id, Submission.status, Submission.is_current)
                                .order_by(Submission.id)).all()
        audit = conn.execute(select(AuditEvent.actor).where(AuditEvent.action == "submission_withdrawn")).all()
    assert statuses == [(first, "accepted", True), (second, "withdrawn", False)]
    assert audit == [("PCI chair",)]


def test_withdrawing_the_only_version_leaves_the_month_without_data(radar_store):
    only = accept(radar_store, "a" * 64, 300)
    with get_engine(radar_store).begin() as conn:
        change = submission_store.withdraw_submission(conn, LA, only, "wrong authority's data", "analyst")
    assert change["restored"] is None and current_values(radar_store) == []


@pytest.mark.parametrize(("which", "reason", "says"), [
    (999, "r", "There is no submission 999"),
    ("withdrawn", "r", "is withdrawn"),
    ("accepted", " ", "needs a reason"),
])
def test_what_cannot_be_withdrawn_is_refused_and_nothing_changes(radar_store, which, reason, says):
    only = accept(radar_store, "a" * 64, 300)
    if which == "withdrawn":
        with get_engine(radar_store).begin() as conn:
            submission_store.withdraw_submission(conn, LA, only, "first time", "analyst")
    target = only if isinstance(which, str) else which
    before = current_values(radar_store)
    result = CliRunner().invoke(app, ["submissions", "withdraw", str(target), "--reason", reason, "--by", "analyst"])
    assert result.exit_code == 2 and says in result.output
    assert current_values(radar_store) == before


def test_the_submissions_listing_still_works(radar_store):
    accept(radar_store, "a" * 64, 300)
    result = CliRunner().invoke(app, ["submissions", "--json"])
    assert result.exit_code == 0 and '"status": "accepted"' in result.output
