"""Hostile and careless deliveries through the ingest steps (no Prefect harness), on SQLite and PostgreSQL.

Each test is one case of issue 7: the file is delivered to the inbox and
handled by `ingest_path`, the function the flow's task runs.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from datetime import date

import pytest
from sqlalchemy import select

from radar.flows.ingest import feed_files, ingest_path, limits, prepare
from radar.flows.secrets import PseudonymKeyError
from radar.models.engine import get_engine
from radar.models.submissions import MissingEpisode
from tests.feedfiles import (
    AGGREGATE_HEADER,
    aggregate_rows,
    record_rows,
    submissions,
    write_aggregate,
    write_csv,
    write_records,
)

PERIOD = "2020-03"
CHILD = "LCS-SECRET-0042"


@pytest.fixture
def home(home, monkeypatch):
    """The inbox home of conftest, with a pseudonym key in the environment."""
    monkeypatch.setenv("RADAR_PSEUDONYM_KEY", "test-key-not-secret")
    return home



def episodes_file(inbox, period=PERIOD, n=3, child=CHILD):
    rows = record_rows("missing_episodes", period, n)
    for i, row in enumerate(rows):
        row["child_ref"] = f"{child}-{i}"
    return write_records(inbox, "missing_episodes", period, rows), rows


# --- raw references never leave quarantine ---------------------------------------------

def test_shifted_cells_of_a_child_return_are_never_quoted(home, store_url):
    path, _rows = episodes_file(home / "inbox")
    text = path.read_text().splitlines()
    text[2] = text[2].replace(",", ",,", 1)  # a shifted column: the child's reference lands under start_date
    path.write_text("\r".join(text) + "\r")  # and CR-only line endings
    result = ingest_path(path)
    assert result.status == "rejected"
    stored = json.dumps(submissions(store_url), default=str)
    assert CHILD not in json.dumps(result.to_json()) and CHILD not in stored


def test_misaligned_rows_quote_no_cell(home, store_url):
    path, rows = episodes_file(home / "inbox")
    header = list(rows[0])
    write_csv(path, header, [{h: r[k] for h, k in zip(header, [*header[1:], header[0]])} for r in rows])
    result = ingest_path(path)
    assert result.status == "rejected" and result.errors
    assert CHILD not in json.dumps(result.to_json()) + json.dumps(submissions(store_url), default=str)
    assert all(e["value"] in (None, "(not shown: this return holds child references)") for e in result.errors)


# --- poison in the file name -----------------------------------------------------------

@pytest.mark.parametrize("period", ["0000-05", "1999-12", "2109-01"])
def test_periods_outside_the_window_are_refused(home, store_url, catalogue, period):
    path = write_aggregate(home / "inbox", "police_monthly", period, catalogue)
    result = ingest_path(path)
    assert result.status == "rejected" and "outside the months Radar accepts" in result.errors[0]["message"]
    assert not path.exists()  # moved to quarantine


def test_the_window_runs_from_the_configured_month_to_next_month(home):
    assert limits(date(2024, 12, 15)).window == ("2000-01", "2025-01")


def test_full_width_digits_are_not_a_month(home, store_url, catalogue):
    source = write_aggregate(home, "police_monthly", "2019-05", catalogue)
    path = source.rename(home / "inbox" / "police_monthly__２０１９-05.csv")
    assert ingest_path(path).status == "rejected"


# --- the drop folder -------------------------------------------------------------------

def test_a_link_is_never_followed_or_copied(home, store_url, tmp_path):
    secret = tmp_path / "environ"
    secret.write_text("RADAR_DATABASE_URL=postgresql://u:pw@db/radar\n")
    link = home / "inbox" / "police_monthly__2020-03.csv"
    link.symlink_to(secret)
    assert feed_files([home / "inbox"]) == [link]
    result = ingest_path(link)
    assert result.status == "rejected" and result.errors[0]["rule"] == "not_a_file"
    assert not link.is_symlink() and secret.exists()
    copied = [p.read_bytes() for p in (home / "quarantine").iterdir() if "report" not in p.name]
    assert copied == [] and all(b"pw@db" not in p.read_bytes() for p in (home / "quarantine").iterdir())


@pytest.mark.parametrize("name", ["police_monthly__2020-03.xls", "police_monthly__2020-03.csv ", "police.csv"])
def test_misnamed_files_are_reported_and_moved_out(home, store_url, name):
    path = home / "inbox" / name
    path.write_text("period,indicator,breakdown,value\n")
    assert feed_files([home / "inbox"]) == [path]
    result = ingest_path(path)
    assert result.status == "rejected" and not path.exists()
    report = submissions(store_url)[-1]["report_path"]
    assert "Rename the file" in open(report, encoding="utf-8").read()
    assert "with the same name" not in open(report, encoding="utf-8").read()


def test_a_240_character_name_is_quarantined_with_its_report(home, store_url):
    path = home / "inbox" / ("x" * 236 + ".csv")
    path.write_text("a\n")
    result = ingest_path(path)
    assert result.status == "rejected"
    names = sorted(p.name for p in (home / "quarantine").iterdir())
    assert len(names) == 3 and all(len(n.encode()) <= 255 for n in names)


def test_a_zip_bomb_is_measured_before_it_is_opened(home, store_url):
    path = home / "inbox" / "police_monthly__2020-03.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb, bomb.open("xl/sharedStrings.xml", "w") as part:
        for _ in range(510):  # 510 MB unpacked, more than the 500 MB default (in elements: no long cell text)
            part.write(b"<a/>" * (1 << 18))
    assert path.stat().st_size < 3 * 1024 * 1024
    result = ingest_path(path)
    assert result.errors[0]["rule"] == "file_too_large" and "unpacks to more than" in result.errors[0]["message"]


def test_nul_bytes_and_over_long_text_are_rejected_not_stored(home, store_url):
    rows = record_rows("lado_referrals", PERIOD, 2)
    rows[0]["setting_ref"] = "school\x00x"
    path = write_records(home / "inbox", "lado_referrals", PERIOD, rows)
    result = ingest_path(path)
    assert result.status == "rejected" and [e["rule"] for e in result.errors] == ["control_character"]
    rows[0]["setting_ref"] = "s" * 65
    path = write_records(home / "inbox", "lado_referrals", PERIOD, rows)
    result = ingest_path(path)
    assert result.status == "rejected" and [e["rule"] for e in result.errors] == ["too_long"]


# --- inert text -------------------------------------------------------------------------

def test_the_archive_keeps_no_formula(home, store_url):
    rows = record_rows("lado_referrals", PERIOD, 2)
    rows[0]["setting_ref"] = '=HYPERLINK("http://x","y")'
    rows[1]["setting_ref"] = "@SUM(A1)"
    result = ingest_path(write_records(home / "inbox", "lado_referrals", PERIOD, rows))
    assert result.status == "accepted"
    archived = open(submissions(store_url)[-1]["archive_path"], encoding="utf-8").read()
    assert "'=HYPERLINK" in archived and "'@SUM" in archived and "\n=" not in archived and ",=" not in archived


def test_markdown_in_a_cell_is_escaped_in_the_report(home, store_url, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[0]["value"] = "[click](http://evil.example) ![x](http://evil.example/i.png) <b>"
    result = ingest_path(write_csv(home / "inbox" / f"police_monthly__{PERIOD}.csv", AGGREGATE_HEADER, rows))
    report = open(submissions(store_url)[-1]["report_path"], encoding="utf-8").read()
    assert result.status == "rejected" and "](" not in report and "<b>" not in report and "\\[click\\]" in report


# --- rough edges of issue 6 ---------------------------------------------------------------

def bad_return(folder, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[0]["value"] = "x"
    return write_csv(folder / f"police_monthly__{PERIOD}.csv", AGGREGATE_HEADER, rows)


def test_a_rejection_says_where_its_report_is(home, store_url, catalogue):
    result = ingest_path(bad_return(home / "inbox", catalogue))
    report = submissions(store_url)[-1]["report_path"]
    assert report in result.message and os.path.exists(report)


def test_the_same_rejected_file_again_is_a_duplicate_not_a_second_rejection(home, store_url, catalogue, tmp_path):
    bad = bad_return(tmp_path, catalogue)
    first = ingest_path(bad)
    again = ingest_path(bad)
    assert (first.status, again.status) == ("rejected", "duplicate")
    assert [s["status"] for s in submissions(store_url)] == ["rejected", "duplicate"]
    assert f"submission {first.submission_id}" in again.message


# --- the pseudonym key --------------------------------------------------------------------

def test_key_missing_empty_short_or_changed_is_refused_once_the_store_holds_pseudonyms(home, store_url, monkeypatch):
    monkeypatch.delenv("RADAR_PSEUDONYM_KEY")
    assert ingest_path(episodes_file(home / "inbox")[0]).status == "accepted"  # a new store: a key is created
    key_file = home / "secrets" / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    original = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(PseudonymKeyError, match=r"missing.*Restore the key"):
        prepare()
    assert not key_file.exists()  # never regenerated silently
    for broken in (b"", b"short"):
        key_file.write_bytes(broken)
        with pytest.raises(PseudonymKeyError, match=r"empty|characters long"):
            prepare()
    key_file.write_bytes(b"a-different-key-of-enough-length")
    with pytest.raises(PseudonymKeyError, match="not the one"):
        prepare()
    key_file.write_bytes(original)
    prepare()
    with get_engine(store_url).connect() as conn:
        assert conn.execute(select(MissingEpisode.__table__.c.child_ref)).scalars().first() != f"{CHILD}-0"


def test_store_and_archive_are_owner_only(home, store_url):
    ingest_path(episodes_file(home / "inbox")[0])
    prepare()
    for folder in (home, home / "archive"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    if store_url.startswith("sqlite"):
        assert stat.S_IMODE((home.parent / "radar.db").stat().st_mode) == 0o600
