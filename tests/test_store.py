"""The store on SQLite and PostgreSQL: migrations, versions of a file, idempotent values."""

from datetime import date

import polars as pl
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from radar.models import charts as chart_store
from radar.models import indicators as indicator_store
from radar.models import submissions as submission_store
from radar.models.audit import AuditEvent
from radar.models.engine import alembic_config, head_revision, make_engine, upgrade
from radar.models.indicators import IndicatorValue
from radar.models.submissions import MashContact, Observation, Submission
from radar.models.tables import metadata

LA = "E09000006"


@pytest.fixture
def engine(store_url):
    engine = make_engine(store_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine):
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() is not None


def test_the_latest_migration_is_read_from_the_files_as_alembic_reads_it(engine):
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head_revision()


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def observations(value):
    return pl.DataFrame({"row_number": [2], "indicator": ["swa_completed"], "breakdown": [""], "value": [value]})


def accept(engine, file_hash, value, period="2020-01"):
    with engine.begin() as conn:
        return submission_store.accept_submission(
            conn, la_code=LA, actor="test", feed_id="csc_monthly", kind="aggregate", period=period,
            file_name=f"csc_monthly__{period}.csv", file_hash=file_hash, archive_path="x", rows=observations(value),
        )


def test_a_corrected_file_replaces_without_double_counting(engine):
    assert accept(engine, "a" * 64, 300)[0] == "accepted"
    status, _new_id = accept(engine, "b" * 64, 310)
    assert status == "replaced"
    with engine.connect() as conn:
        current = submission_store.current_observations(conn, LA)
        all_rows = conn.execute(select(Observation.__table__)).all()
        subs = conn.execute(select(Submission.__table__).order_by(Submission.id)).mappings().all()
        audits = conn.execute(select(AuditEvent.__table__.c.action)).scalars().all()
    assert current["value"].to_list() == [310]  # only the version in force counts
    assert len(all_rows) == 2  # the earlier version stays in the history
    assert [s["is_current"] for s in subs] == [False, True]
    assert subs[1]["replaces_id"] == subs[0]["id"]
    assert audits == ["submission_accepted", "submission_replaced"]


def test_a_failed_store_leaves_nothing_half_written(engine):
    bad_rows = pl.DataFrame({"row_number": [2], "indicator": ["x"], "breakdown": [None], "value": [1]})
    with pytest.raises(Exception), engine.begin() as conn:  # noqa: B017 - the driver's own error, per database
        submission_store.accept_submission(
            conn, la_code=LA, actor="test", feed_id="csc_monthly", kind="aggregate", period="2020-02",
            file_name="csc_monthly__2020-02.csv", file_hash="c" * 64, archive_path="x", rows=bad_rows,
        )
    with engine.connect() as conn:
        assert conn.execute(select(Submission.__table__)).all() == []
        assert conn.execute(select(AuditEvent.__table__)).all() == []


def test_record_rows_round_trip_with_dates(engine):
    rows = pl.DataFrame({
        "row_number": [2, 3], "contact_id": ["C1", "C2"], "child_ref": ["p1", "p2"],
        "received_date": [date(2020, 1, 5), date(2020, 1, 31)], "source": ["police", "health"],
        "outcome": ["referral_to_csc", "early_help"],
    })
    with engine.begin() as conn:
        submission_store.accept_submission(
            conn, la_code=LA, actor="test", feed_id="mash_contacts", kind="records", period="2020-01",
            file_name="mash_contacts__2020-01.csv", file_hash="d" * 64, archive_path="x", rows=rows,
        )
    with engine.connect() as conn:
        back = submission_store.current_records(conn, LA, "mash_contacts")
        assert conn.execute(select(MashContact.__table__.c.la_code)).scalars().all() == [LA, LA]
    assert back.sort("row_number")["received_date"].to_list() == [date(2020, 1, 5), date(2020, 1, 31)]
    assert back["period"].unique().to_list() == ["2020-01"]


def test_sqlite_is_given_dates_as_iso_text_not_one_adapter_call_per_cell(tmp_path, monkeypatch):
    """The text the sqlite3 date adapter wrote, made by polars for the whole batch (the adapter is never called)."""
    import sqlite3

    def per_cell(_value):
        raise AssertionError("a date reached the sqlite3 adapter")

    monkeypatch.setitem(sqlite3.adapters, (date, sqlite3.PrepareProtocol), per_cell)
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    rows = pl.DataFrame({"row_number": [2, 3], "contact_id": ["C1", "C2"], "child_ref": ["p1", "p2"],
                         "received_date": [date(2020, 1, 5), date(2020, 12, 31)], "source": ["police", "health"],
                         "outcome": ["early_help", "early_help"]})
    with engine.begin() as conn:
        submission_store.accept_submission(
            conn, la_code=LA, actor="test", feed_id="mash_contacts", kind="records", period="2020-01",
            file_name="mash_contacts__2020-01.csv", file_hash="d" * 64, archive_path="x", rows=rows,
        )
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT received_date FROM mash_contact ORDER BY row_number").scalars().all()
    assert stored == ["2020-01-05", "2020-12-31"]


def values(v):
    return pl.DataFrame({
        "period": ["2020-01", "2020-02", "2020-03"], "indicator": ["cla_rate"] * 3, "breakdown": [""] * 3,
        "value": [v, 44.0, None], "numerator": [331.0, 330.0, None], "denominator": [75000.0] * 3,
        "note": ["", "", "no cla_open for this month"],
    })


def test_saving_values_twice_changes_nothing(engine):
    with engine.begin() as conn:
        first = indicator_store.save_indicator_values(conn, LA, values(44.1), up_to="2020-03")
    with engine.begin() as conn:
        stamps = conn.execute(select(IndicatorValue.__table__.c.computed_at)).scalars().all()
        second = indicator_store.save_indicator_values(conn, LA, values(44.1), up_to="2020-03")
    with engine.begin() as conn:
        third = indicator_store.save_indicator_values(conn, LA, values(45.0).head(2), up_to="2020-03")
        stored = conn.execute(select(IndicatorValue.__table__.c.period, IndicatorValue.__table__.c.value)
                              .order_by(IndicatorValue.__table__.c.period)).all()
        saves = conn.execute(select(AuditEvent.__table__).where(AuditEvent.action == "indicator_values_saved")).all()
    assert first == {"inserted": 3, "updated": 0, "deleted": 0}
    assert second == {"inserted": 0, "updated": 0, "deleted": 0}
    assert len(stamps) == 3
    assert third == {"inserted": 0, "updated": 1, "deleted": 1}
    assert stored == [("2020-01", 45.0), ("2020-02", 44.0)]
    assert len(saves) == 2  # the no-op save left no trace


def test_values_after_the_cycle_month_are_left_alone(engine):
    with engine.begin() as conn:
        indicator_store.save_indicator_values(conn, LA, values(44.1), up_to="2020-03")
        counts = indicator_store.save_indicator_values(conn, LA, values(50.0).head(1), up_to="2020-01")
    assert counts == {"inserted": 0, "updated": 1, "deleted": 0}


def migrate(engine, revision: str, step=command.upgrade) -> None:
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def test_charts_read_the_same_once_limits_are_kept_per_segment(store_url):
    """Migration 0008 keeps a chart's mean, limits and label once per segment instead of on every point:
    a chart reads the same after it, and again after going back."""
    engine = make_engine(store_url)
    migrate(engine, "0007")
    points = [  # two segments (a re-base from March); the second too short for limits
        ("2020-01", 10.0, 12.0, 6.0, 18.0, None, "ok", 0), ("2020-02", 19.0, 12.0, 6.0, 18.0, "outside_limits", "ok", 0),
        ("2020-03", 30.0, None, None, None, None, "too_short", 1),
    ]
    columns = "period, value, mean, lower, upper, signal, label, segment"
    with engine.begin() as conn:
        conn.execute(text(f"insert into spc_point (la_code, indicator, breakdown, {columns}) values "
                          f"('{LA}', 'cla_rate', '', :p, :v, :m, :lo, :up, :s, :la, :seg)"),
                     [dict(zip(["p", "v", "m", "lo", "up", "s", "la", "seg"], point)) for point in points])
    migrate(engine, "head")
    with engine.connect() as conn:
        chart = chart_store.spc_points(conn, LA, "cla_rate")
    assert chart.select("period", "value", "mean", "lower", "upper", "signal", "label").rows() == [
        p[:7] for p in points]
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from spc_segment")).scalar() == 2
    migrate(engine, "0007", command.downgrade)
    with engine.connect() as conn:
        assert conn.execute(text(f"select {columns} from spc_point order by period")).all() == points
    engine.dispose()
