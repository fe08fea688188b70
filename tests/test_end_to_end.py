"""From `radar synth` through the Prefect flows to stored numbers, on SQLite and PostgreSQL.

These are the suite's only Prefect-harness tests; the harness starts once per
session (it costs ~12 s).  Numbers are checked against values recomputed by
hand from the generated files, not against the pipeline's own output.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from radar.core.catalogue import load_catalogue
from radar.models.engine import get_engine
from radar.models.indicators import indicator_values
from radar.models.submissions import MashContact, submissions
from radar.synth import generate

START, END = "2019-04", "2020-03"


@pytest.fixture
def radar_home(tmp_path, store_url, monkeypatch, prefect):
    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    monkeypatch.setenv("RADAR_PSEUDONYM_KEY", "test-key-not-secret")
    return tmp_path / "home"


@pytest.fixture(scope="session")
def feeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("feeds")
    generate(out, load_catalogue(), start=START, end=END, seed=7, with_bad_files=True)
    return out


def by_status(results):
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def mash_by_hand(folder: Path, period: str) -> tuple[int, int, set[str]]:
    with open(folder / f"mash_contacts__{period}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return len(rows), sum(r["outcome"] == "referral_to_csc" for r in rows), {r["child_ref"] for r in rows}


def value_of(frame, indicator, period, breakdown=""):
    row = frame.filter((pl.col("indicator") == indicator) & (pl.col("period") == period) & (pl.col("breakdown") == breakdown))
    return row["value"].item()


def test_feeds_flow_end_to_end(radar_home, feeds, store_url):
    from radar.core.config import get_context
    from radar.flows.cycle import monthly_cycle
    from radar.flows.ingest import ingest_files

    first = ingest_files([feeds])
    assert by_status(first) == {"accepted": len(first) - 5, "rejected": 5}
    rejected = {r["file"]: {e["rule"] for e in r["errors"]} for r in first if r["status"] == "rejected"}
    assert rejected[f"police_monthly__{END}.csv"] == {"delimiter"}
    assert rejected[f"health_monthly__{END}.csv"] == {"period_mismatch"}
    assert {"negative", "missing_indicator"} <= rejected[f"csc_monthly__{END}.xlsx"]

    # The same folder again: every file, accepted or rejected, is a no-op duplicate; nothing is stored or listed twice.
    again = ingest_files([feeds])
    assert by_status(again) == {"duplicate": len(first)}
    assert all("already rejected" in r["message"] for r in again if r["file"] in rejected)

    counts = monthly_cycle(END, today=date(2026, 11, 25))
    assert counts["inserted"] > 1000
    changes = ("inserted", "updated", "deleted", "alert_changes", "alerts_written", "evidence", "proposals", "messages")
    assert all(counts[k] > 0 for k in changes if k not in ("updated", "deleted")), counts
    # The same month again changes nothing: no value, alert, evidence, proposal or message twice.
    assert monthly_cycle(END, today=date(2026, 11, 25)) == counts | dict.fromkeys(changes, 0)

    ctx = get_context()
    engine = get_engine(store_url)
    with engine.connect() as conn:
        values = indicator_values(conn, ctx.la_code)
    contacts, referrals, raw_refs = mash_by_hand(feeds, "2019-10")
    assert value_of(values, "mash_enquiries", "2019-10") == contacts
    assert value_of(values, "mash_conversion", "2019-10") == pytest.approx(100 * referrals / contacts)
    population = 73_165  # ONS mid-2019 children aged 0-17 in Bromley (DfE file)
    cpp = value_of(values, "cpp_open", END)
    assert value_of(values, "cpp_rate", END) == pytest.approx(cpp / population * 10_000)

    # No raw child reference anywhere in the store or the archive.
    with engine.connect() as conn:
        stored_refs = set(conn.execute(select(MashContact.__table__.c.child_ref)).scalars())
    assert stored_refs and not (stored_refs & raw_refs)
    archived = "".join(p.read_text(errors="ignore") for p in (radar_home / "archive" / "mash_contacts").rglob("*.csv"))
    assert not any(ref in archived for ref in raw_refs)

    # The two feeds whose only file was rejected raise feed alerts for the Performance subgroup.
    from radar.models.alerts import alerts

    with engine.connect() as conn:
        open_alerts = alerts(conn, ctx.la_code, "open")
    feed_alerts = open_alerts.filter(pl.col("rule") == "feed_rejected")
    assert sorted(feed_alerts["feed"]) == ["health_monthly", "police_monthly"]
    assert set(feed_alerts["subgroup"]) == {"pci"}
    # Every alert has an id people can type, the day the cycle raised it, and began no later than the month.
    assert all(re.fullmatch(r"[a-z]+-[a-z2-7]{8}", ref) for ref in open_alerts["ref"])
    assert set(open_alerts["raised_on"]) == {date(2026, 11, 25)}
    assert set(feed_alerts["first_period"]) == {END} and max(open_alerts["first_period"]) <= END
    assert not any(ref in message for message in open_alerts["message"] for ref in raw_refs)


def test_corrected_resubmission_replaces(radar_home, feeds, store_url, tmp_path):
    from radar.core.config import get_context
    from radar.flows.cycle import monthly_cycle
    from radar.flows.ingest import ingest_files

    name = "education_monthly__2019-06.csv"
    assert ingest_files([feeds / name])[0]["status"] == "accepted"
    corrected = tmp_path / "corrected" / name
    corrected.parent.mkdir()
    lines = (feeds / name).read_text().splitlines()
    ehe = next(i for i, line in enumerate(lines) if ",ehe_registered," in line)
    lines[ehe] = "2019-06,ehe_registered,,999"
    corrected.write_text("\n".join(lines) + "\n")
    result = ingest_files([corrected])[0]
    assert result["status"] == "replaced"
    monthly_cycle("2019-06", today=date(2026, 11, 25))

    ctx = get_context()
    engine = get_engine(store_url)
    with engine.connect() as conn:
        assert value_of(indicator_values(conn, ctx.la_code, "ehe_registered"), "ehe_registered", "2019-06") == 999
        history = submissions(conn, ctx.la_code).filter(pl.col("period") == "2019-06")
    assert history["status"].to_list() == ["accepted", "replaced"]
    assert history["is_current"].to_list() == [False, True]
    with engine.connect() as conn:  # both versions' rows are kept; only one counts
        assert conn.execute(text("select count(*) from observation where indicator = 'ehe_registered'")).scalar() == 2


def test_cli_ingest_json_and_exit_code(radar_home, feeds):
    from radar.cli import app

    bad = feeds / f"police_monthly__{END}.csv"
    good = feeds / "police_monthly__2019-04.csv"
    result = CliRunner().invoke(app, ["ingest", str(good), str(bad), "--json"])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["file"], r["status"]) for r in rows] == [(good.name, "accepted"), (bad.name, "rejected")]
    assert set(rows[1]) == {"file", "feed", "period", "status", "errors"}
    assert rows[1]["errors"][0]["rule"] == "delimiter"
