"""PostgreSQL parity: names, addresses, paths, reasons and lists of sources fit whatever their length, as on SQLite.

PostgreSQL enforces a VARCHAR's length where SQLite ignores it, so a store
that worked on SQLite failed on PostgreSQL (the shipped benchmarks' eleven
file names, joined, are longer than 255 characters).  Migration 0009 makes
such columns TEXT; these tests run on both databases.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Text, inspect, select, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from radar.models.audit import AuditEvent
from radar.models.benchmarks import Benchmark
from radar.models.engine import alembic_config, make_engine
from radar.models.register import Risk
from radar.models.submissions import Submission

LA = "E09000006"
LONG = "x" * 1000


def migrate(engine, revision: str, step=command.upgrade) -> None:
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def test_radar_benchmarks_import_loads_the_shipped_statistics(radar_store, prefect):
    """`radar benchmarks import` with no argument: every shipped file, their names kept together on each row."""
    from radar.cli import app
    from radar.models.benchmarks import read_benchmarks as benchmarks
    from radar.models.engine import get_engine

    result = CliRunner().invoke(app, ["benchmarks", "import"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Benchmarks: " in result.output and " new, 0 changed, 0 removed" in result.output
    engine = get_engine(radar_store)
    with engine.connect() as conn:
        assert benchmarks(conn).height > 10_000
        sources = conn.execute(select(Benchmark.source_file).distinct()).scalars().all()
        subject = conn.execute(select(AuditEvent.subject).where(AuditEvent.action == "benchmarks_imported")).scalar()
    assert len(sources) == 1 and len(sources[0]) > 255 and "b1_children_in_need_2013_to_2025.csv" in sources[0]
    assert subject == sources[0]


def test_text_columns_are_text_on_every_database(store_url):
    """Every column that holds text people or files supply has no length on the database itself."""
    engine = make_engine(store_url)
    migrate(engine, "head")
    wanted = {
        "submission": ["file_name", "archive_path", "report_path"], "benchmark": ["source_file", "area_name"],
        "audit_event": ["actor", "subject"], "indicator_value": ["note"], "spc_rebase": ["created_by"],
        "alert": ["acknowledged_by"], "risk": ["title", "priority", "owner", "approver"],
        "risk_action": ["owner"], "risk_assessment": ["by"], "risk_proposal": ["decided_by"],
        "impact_entry": ["owner"], "outbox": ["receiver", "channel"], "alert_notice": ["receiver"],
    }
    inspector = inspect(engine)
    for table, columns in wanted.items():
        types = {c["name"]: c["type"] for c in inspector.get_columns(table)}
        for column in columns:
            assert isinstance(types[column], Text), (table, column, types[column])
    engine.dispose()


def test_an_upgraded_store_keeps_its_rows_and_then_takes_long_values(store_url):
    """Upgrading a store with rows (including rows that refer to the retyped tables) keeps them all; long values
    then fit; going back keeps what still fits."""
    engine = make_engine(store_url)
    migrate(engine, "0008")
    with engine.begin() as conn:
        conn.execute(text(
            "insert into submission (id, la_code, feed_id, period, file_name, file_hash, status, is_current, "
            "received_at, row_count, error_count, message, errors_json, archive_path, report_path) values "
            f"(1, '{LA}', 'csc_monthly', '2020-01', 'csc_monthly__2020-01.csv', :hash, 'accepted', true, "
            "'2020-02-01 09:00:00', 1, 0, '', '[]', '/srv/radar/archive/a.csv', null)"), {"hash": "a" * 64})
        conn.execute(text(
            "insert into observation (submission_id, la_code, feed_id, period, row_number, indicator, breakdown, value)"
            f" values (1, '{LA}', 'csc_monthly', '2020-01', 2, 'cpp_open', '', 294)"))
        conn.execute(text(
            "insert into risk (id, la_code, risk_id, title, cause, event, consequence, category, priority, subgroup, "
            "owner, inherent_likelihood, inherent_impact, current_likelihood, current_impact, target_likelihood, "
            "target_impact, confidence, confidence_reason, status, next_review, version, updated_at) values "
            f"(1, '{LA}', 'R01', 'Neglect', 'c', 'e', 'q', 'strategic', 'P1', 'pci', 'Independent Chair', 3, 4, 3, 4, "
            "2, 3, 'high', 'r', 'open', '2020-06-01', 1, '2020-02-01 09:00:00')"))
        conn.execute(text("insert into risk_action (risk, description, owner, due, status) values "
                          "(1, 'Audit', 'BSCP Business Manager', '2020-05-01', 'open')"))
    migrate(engine, "head")
    with engine.begin() as conn:
        assert conn.execute(select(Submission.file_name, Submission.archive_path, Submission.is_current)).all() == [
            ("csc_monthly__2020-01.csv", "/srv/radar/archive/a.csv", True)]
        assert conn.execute(text("select value from observation where submission_id = 1")).scalar() == 294
        assert conn.execute(select(Risk.title, Risk.owner)).all() == [("Neglect", "Independent Chair")]
        assert conn.execute(text("select owner from risk_action")).scalar() == "BSCP Business Manager"
        # The partial unique index survives: a second version in force of the same feed and month is refused.
        assert conn.execute(text("select count(*) from submission where is_current")).scalar() == 1
        conn.execute(Risk.__table__.update().values(owner=LONG, title=LONG))
        conn.execute(Submission.__table__.update().values(archive_path="/" + "deep/" * 200 + "a.csv"))
    with engine.connect() as conn:
        assert conn.execute(select(Risk.owner)).scalar() == LONG
    with engine.begin() as conn:
        conn.execute(Risk.__table__.update().values(owner="Independent Chair", title="Neglect"))
        conn.execute(Submission.__table__.update().values(archive_path="/srv/radar/archive/a.csv"))
    migrate(engine, "0008", command.downgrade)
    with engine.connect() as conn:
        assert conn.execute(text("select title, owner from risk")).all() == [("Neglect", "Independent Chair")]
        assert conn.execute(text("select count(*) from observation")).scalar() == 1
    engine.dispose()


def test_the_partial_unique_index_still_refuses_two_versions_in_force(store_url):
    engine = make_engine(store_url)
    migrate(engine, "head")
    row = {"la_code": LA, "feed_id": "csc_monthly", "period": "2020-01", "file_name": LONG, "file_hash": "b" * 64,
           "status": "accepted", "is_current": True}
    with engine.begin() as conn:
        conn.execute(Submission.__table__.insert().values(**row))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(Submission.__table__.insert().values(**row))
    engine.dispose()
