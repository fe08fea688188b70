"""Delivery file handling: hashing, immutable archive, quarantine retention, the pseudonym key."""

import hashlib
import os
import stat
import time

import polars as pl

from radar.flows.files import (
    archive_copy,
    purge_quarantine,
    quarantine_copy,
    received_time,
    sha256_of,
)
from radar.flows.secrets import pseudonym_key


def test_hash_is_of_the_delivered_bytes(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n" * 200_000)  # more than one read chunk
    assert sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_archive_is_keyed_by_hash_and_never_overwritten(tmp_path):
    source = tmp_path / "csc_monthly__2020-01.csv"
    source.write_text("period,indicator,breakdown,value\n")
    first = archive_copy(tmp_path / "archive", "csc_monthly", "2020-01", "ab" * 32, source, None)
    assert first == tmp_path / "archive" / "csc_monthly" / "2020-01" / f"{'ab' * 32}.csv"
    source.write_text("changed")
    assert archive_copy(tmp_path / "archive", "csc_monthly", "2020-01", "ab" * 32, source, None) == first
    assert first.read_text() == "period,indicator,breakdown,value\n"
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temporary file left behind


def test_record_feeds_are_archived_pseudonymised(tmp_path):
    source = tmp_path / "mash_contacts__2020-01.xlsx"
    source.write_bytes(b"raw workbook with LCS0000001")
    rows = pl.DataFrame({"contact_id": ["C1"], "child_ref": ["9f86d081884c7d65"]})
    path = archive_copy(tmp_path / "archive", "mash_contacts", "2020-01", "cd" * 32, source, rows)
    assert path.suffix == ".csv"
    assert "LCS0000001" not in path.read_text() and "9f86d081884c7d65" in path.read_text()


def test_quarantine_moves_from_the_inbox_and_purges_after_retention(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    delivered = inbox / "police_monthly__2020-03.csv"
    delivered.write_text("a;b\n")
    kept = quarantine_copy(tmp_path / "quarantine", delivered, "ef" * 32, move=True)
    assert not delivered.exists() and kept.read_text() == "a;b\n"
    old = time.time() - 31 * 86_400
    os.utime(kept, (old, old))
    fresh = quarantine_copy(tmp_path / "quarantine", kept, "ef" * 32, move=False)
    assert purge_quarantine(tmp_path / "quarantine", retention_days=30) == [kept]
    assert fresh.exists() and not kept.exists()


def test_received_time_is_the_files_modification_time_never_the_future(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("x")
    os.utime(path, (1_586_000_000, 1_586_000_000))
    assert received_time(path).timestamp() == 1_586_000_000
    future = time.time() + 86_400
    os.utime(path, (future, future))
    assert received_time(path).timestamp() <= time.time()


def test_pseudonym_key_from_environment_or_generated_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_RADAR_KEY", "from-env")
    assert pseudonym_key("TEST_RADAR_KEY", tmp_path / "secrets") == b"from-env"
    assert not (tmp_path / "secrets").exists()
    monkeypatch.delenv("TEST_RADAR_KEY")
    generated = pseudonym_key("TEST_RADAR_KEY", tmp_path / "secrets")
    assert len(generated) == 64 and pseudonym_key("TEST_RADAR_KEY", tmp_path / "secrets") == generated
    assert stat.S_IMODE((tmp_path / "secrets" / "pseudonym.key").stat().st_mode) == 0o600
