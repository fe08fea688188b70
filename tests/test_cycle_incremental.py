"""The incremental monthly cycle gives exactly what a full recompute gives, on SQLite and PostgreSQL.

Two years of synthetic feeds go through ingest; the cycle runs month by month
while files arrive, are corrected and withdrawn.  After each incremental
cycle `radar cycle --full` runs for the same month and every computed table
must be unchanged, row for row.
"""

from __future__ import annotations

import shutil
from datetime import date

import polars as pl
import pytest
from sqlalchemy import text

from radar.core.catalogue import load_catalogue
from radar.flows.incremental import touched_months
from radar.synth import generate

TODAY = date(2026, 11, 25)
TABLES = {  # table: its key columns (ids and timestamps differ between runs and are not compared)
    "indicator_value": ["period", "indicator", "breakdown"],
    "spc_point": ["indicator", "breakdown", "period"],
    "spc_segment": ["indicator", "breakdown", "segment"],
    "series_status": ["indicator", "breakdown"],
    "alert": ["key"],
    "positive_signal": ["key"],
}
UNCOMPARED = {"id", "computed_at", "updated_at"}


def test_touched_months_are_those_whose_file_in_force_changed():
    before = {"mash|2020-01": 1, "csc|2020-01": 2, "csc|2020-02": 3, "police|2019-12": 4}
    after = {"mash|2020-01": 1, "csc|2020-01": 5, "police|2019-12": 4, "mash|2020-03": 6}
    assert touched_months(before, after) == ["2020-01", "2020-02", "2020-03"]  # replaced, withdrawn, new
    assert touched_months(before, before) == []


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("feeds")
    generate(out, load_catalogue(), start="2018-04", end="2020-03", seed=11, with_bad_files=True)
    return out


def month_files(feeds, *periods):
    return sorted(p for p in feeds.iterdir() if p.is_file() and any(f"__{m}." in p.name for m in periods))


def snapshot(engine) -> dict[str, pl.DataFrame]:
    with engine.connect() as conn:
        frames = {t: pl.read_database(text(f"select * from {t}"), conn, infer_schema_length=None) for t in TABLES}
    return {t: f.drop([c for c in f.columns if c in UNCOMPARED]).sort(TABLES[t]) for t, f in frames.items()}


def kept_rows(engine) -> dict[str, pl.DataFrame]:
    """The mark's frames of rows read from the store (indicator values, records), sorted: the chart state is
    left out, as its running sums may differ from a fresh sum in the last bits."""
    from radar.core.config import get_context
    from radar.models import charts as chart_store

    with engine.connect() as conn:
        frames = chart_store.read_cycle_mark(conn, get_context().la_code)["frames"]
    return {name: pl.read_parquet(data).sort(pl.all()) for name, data in frames.items()
            if name == "chart_values" or name.startswith("records:")}


def assert_same_as_full(engine, period):
    from radar.flows.cycle import monthly_cycle

    incremental, incremental_mark = snapshot(engine), kept_rows(engine)
    monthly_cycle(period, today=TODAY, full=True)
    full, full_mark = snapshot(engine), kept_rows(engine)
    for table in TABLES:
        assert incremental[table].height > 0 or table == "positive_signal", table
        assert incremental[table].equals(full[table]), table
    assert incremental_mark.keys() == full_mark.keys() and len(full_mark) > 1
    for name, rows in full_mark.items():
        assert rows.height > 0 and incremental_mark[name].equals(rows), name


def test_incremental_cycle_equals_full_recompute(tmp_path, store_url, monkeypatch, prefect, feeds):
    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    monkeypatch.setenv("RADAR_PSEUDONYM_KEY", "test-key-not-secret")
    from radar.core.config import get_context
    from radar.flows.cycle import monthly_cycle
    from radar.flows.incremental import plan_cycle
    from radar.flows.ingest import ingest_files
    from radar.models import charts as chart_store
    from radar.models import submissions as submission_store
    from radar.models.engine import get_engine
    from radar.pipelines.alerts import registry as alert_registry
    from radar.validation.population import read_child_population

    ctx = get_context()
    engine = get_engine(store_url)
    history = [f"{y}-{m:02d}" for y, m in [(2018, m) for m in range(4, 13)] + [(2019, m) for m in range(1, 13)]]
    ingest_files(month_files(feeds, *history, "2020-01"))
    monthly_cycle("2020-01", today=TODAY)  # the first cycle: no mark, everything

    def planned(period):
        with engine.connect() as conn:
            return plan_cycle(conn, ctx, period, pl.DataFrame(), False)

    assert planned("2020-01").months is None  # the mark's digest is of the real population: any other is a change
    ingest_files(month_files(feeds, "2020-02"))
    # A corrected older file and a withdrawn one: both months are recomputed, and their series' charts whole.
    name = "education_monthly__2019-06.csv"
    corrected = tmp_path / "corrected" / name
    corrected.parent.mkdir()
    shutil.copy(feeds / name, corrected)
    lines = corrected.read_text().splitlines()
    ehe = next(i for i, line in enumerate(lines) if ",ehe_registered," in line)
    lines[ehe] = "2019-06,ehe_registered,,999"
    corrected.write_text("\n".join(lines) + "\n")
    assert ingest_files([corrected])[0]["status"] == "replaced"
    with engine.begin() as conn:
        withdrawn = submission_store.current_submission(conn, ctx.la_code, "mash_contacts", "2019-09")
        submission_store.withdraw_submission(conn, ctx.la_code, withdrawn["id"], "sent in error", "test")

    with engine.connect() as conn:
        mark = chart_store.read_cycle_mark(conn, ctx.la_code)
        now = submission_store.current_inputs(conn, ctx.la_code, "2020-02")
    assert touched_months(mark["inputs"], now) == ["2019-06", "2019-09", "2020-02"]
    counts = monthly_cycle("2020-02", today=TODAY)
    assert counts["inserted"] > 0 and counts["updated"] > 0 and counts["deleted"] > 0
    assert_same_as_full(engine, "2020-02")

    ingest_files(month_files(feeds, "2020-03"))  # the next month: only it is read
    monthly_cycle("2020-03", today=TODAY)
    assert_same_as_full(engine, "2020-03")
    again = monthly_cycle("2020-03", today=TODAY)  # nothing touched: nothing written
    assert again["inserted"] == again["updated"] == again["deleted"] == 0

    # A mark without the record columns the alert rules read now (a rule changed) is not moved on from.
    population = read_child_population(ctx.config.population_path(), ctx.la_code)
    reads = alert_registry.record_reads()
    wider = {feed: (*columns, "row_number") for feed, columns in reads.items()}
    with engine.connect() as conn:
        assert plan_cycle(conn, ctx, "2020-03", population, False, reads).months == []
        assert plan_cycle(conn, ctx, "2020-03", population, False, wider).months is None
