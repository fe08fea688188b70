"""Two writers at once and a database outage: one version stored, no false errors, nothing moved unrecorded."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from feedfiles import AGGREGATE_HEADER, aggregate_rows, write_aggregate, write_csv
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from radar.core.catalogue import load_catalogue
from radar.flows import ingest
from radar.flows.ingest import ingest_path
from radar.models.engine import get_engine, make_engine, to_wal, upgrade
from radar.models.submissions import Observation, Submission

PERIOD = "2020-03"


def stored(store_url):
    with get_engine(store_url).connect() as conn:
        statuses = sorted(conn.execute(select(Submission.status)).scalars())
        current = conn.execute(select(func.count()).where(Submission.is_current)).scalar()
        rows = conn.execute(select(func.count()).select_from(Observation)).scalar()
    return statuses, current, rows


def at_once(paths):
    """Run the ingest steps for each path in its own thread, released together."""
    return at_once_calls([lambda p=p: ingest_path(p) for p in paths])


def at_once_calls(calls):
    """Run each call in its own thread, released together; any fault fails the test."""
    start, results, faults = threading.Barrier(len(calls)), [], []

    def run(call):
        start.wait()
        try:
            results.append(call())
        except Exception as fault:  # noqa: BLE001 - the test reports any fault, which must not happen
            faults.append(fault)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not faults, faults
    return results


def test_the_same_file_from_two_places_at_once_is_stored_once(home, store_url, tmp_path):
    copies = []
    for place in ("a", "b", "c"):
        (tmp_path / place).mkdir()
        copies.append(write_aggregate(tmp_path / place, "csc_monthly", PERIOD, load_catalogue()))
    results = at_once(copies)
    assert sorted(r.status for r in results) == ["accepted", "duplicate", "duplicate"]
    statuses, current, rows = stored(store_url)
    assert statuses == ["accepted", "duplicate", "duplicate"] and current == 1
    assert rows == len(aggregate_rows(load_catalogue(), "csc_monthly", PERIOD))


def test_two_runs_over_one_inbox_give_no_missing_file_errors(home, store_url):
    path = write_aggregate(home / "inbox", "csc_monthly", PERIOD, load_catalogue())
    results = at_once([path, path])
    assert sorted(r.status for r in results) in (["accepted", "duplicate"], ["accepted", "skipped"])
    assert not path.exists()
    assert stored(store_url)[1] == 1


def test_in_a_database_outage_a_rejected_file_stays_in_the_inbox(home, store_url, monkeypatch):
    bad = write_csv(home / "inbox" / f"police_monthly__{PERIOD}.csv", AGGREGATE_HEADER, [])

    def outage(*args, **kwargs):
        raise OperationalError("INSERT", {}, ConnectionError("the database went away"))

    monkeypatch.setattr(ingest.submission_store, "record_submission", outage)
    with pytest.raises(OperationalError):
        ingest_path(bad)
    assert bad.exists(), "a rejection that could not be recorded must leave the file where it was"
    monkeypatch.undo()
    monkeypatch.setenv("RADAR_HOME", str(home))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    assert ingest_path(bad).status == "rejected" and not bad.exists()
    assert stored(store_url)[0] == ["rejected"]


def test_commands_opening_a_new_store_at_once_all_find_it_ready(store_url):
    """Each command upgrades the schema on start; started together on a new store, none may fail."""
    engines = [make_engine(store_url) for _ in range(3)]
    try:
        at_once_calls([lambda e=e: upgrade(e) for e in engines])
        with engines[0].connect() as conn:
            assert conn.execute(select(func.count()).select_from(Submission)).scalar() == 0
    finally:
        for engine in engines:
            engine.dispose()


class Refusing:
    """A cursor whose database refuses its first `refusals` statements with `error`, as SQLite refuses a switch
    to WAL at once while another connection opens the same new file."""

    def __init__(self, refusals: int, error: str):
        self.refusals, self.error, self.statements = refusals, error, []

    def execute(self, statement: str):
        self.statements.append(statement)
        if len(self.statements) <= self.refusals:
            raise sqlite3.OperationalError(self.error)


def test_a_switch_to_wal_refused_as_locked_is_asked_again_and_any_other_error_raised():
    locked = Refusing(3, "database is locked")
    to_wal(locked, pause_s=0)
    assert locked.statements == ["PRAGMA journal_mode=WAL"] * 4
    broken = Refusing(1, "disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        to_wal(broken, pause_s=0)
    assert len(broken.statements) == 1
