"""Issue 20's ingest cases (items 3, 4 and 8): bounded memory, every failure a rejection, hard links and bidi controls.

Each file is delivered to the inbox and handled by `ingest_path`, the function the flow's task runs, as in
test_hostile_ingest.py; the workbook checks also run through `validate_file`, which the upload page calls.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile

import pytest
import xlsxwriter

from radar.flows import files, ingest
from radar.flows.ingest import ingest_path
from radar.validation import reading
from radar.validation.feeds import Limits, validate_file
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
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
TOO_LONG = "cell text longer than Excel's 32,767-character limit"


@pytest.fixture
def home(home, monkeypatch):
    monkeypatch.setenv("RADAR_PSEUDONYM_KEY", "test-key-not-secret")
    return home



def quarantined(home):
    return sorted(p for p in (home / "quarantine").iterdir() if ".report." not in p.name)


# --- 3. a cell's text is capped at Excel's limit, checked streamed before the reader ---------------------

def workbook_with_strings(path, *strings: bytes):
    """A police_monthly workbook whose shared strings part is replaced: the header's four strings, then `strings`
    (each the inside of an `<si>`, written as given)."""
    plain = path.with_suffix(".plain")
    book = xlsxwriter.Workbook(plain)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, AGGREGATE_HEADER)
    sheet.write_string(1, 0, "placeholder")
    book.close()
    items = b"".join(b"<si><t>%s</t></si>" % h.encode() for h in AGGREGATE_HEADER) + b"".join(strings)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            target.writestr(part, source.read(part) if part.filename != "xl/sharedStrings.xml" else (
                b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main" count="5" uniqueCount="5">' + items + b"</sst>"))
    plain.unlink()
    return path


@pytest.fixture
def no_reader(monkeypatch):
    """Fail the test if the workbook is ever handed to fastexcel (the reader that would make the text whole)."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("the workbook was read")

    monkeypatch.setattr(reading.fastexcel, "read_excel", refuse)


@pytest.mark.parametrize("text", [
    b"<si><t>" + b"A" * 32_768 + b"</t></si>",  # one character over
    b"<si>" + (b"<r><t>" + b"A" * 20_000 + b"</t></r>") * 2 + b"</si>",  # two runs that join into one cell
    b"<si>" + (b"<t>" + b"A" * 20_000 + b"</t><c/>") * 2 + b"</si>",  # runs split by a stray tag
    b"<si><t>" + b"&amp;" * 32_768 + b"</t></si>",  # entities count as the characters they stand for
    b"<si><t>" + b"A" * 3_000_000 + b"</t></si>",  # far over: refused without parsing
    b"<si><t>" + b"A" * 40_000,  # never closed
])
def test_a_shared_string_over_excels_limit_is_refused_unread(tmp_path, catalogue, no_reader, text):
    path = workbook_with_strings(tmp_path / f"police_monthly__{PERIOD}.xlsx", text)
    result = validate_file(path, catalogue, Limits(150 * reading.MB))
    assert result.problem_counts == {"cell_too_long": 1}
    assert TOO_LONG in result.problems[0].message


def test_an_inline_string_over_the_limit_is_refused_unread(tmp_path, catalogue, no_reader):
    path = tmp_path / f"police_monthly__{PERIOD}.xlsx"
    book = xlsxwriter.Workbook(path)
    book.add_worksheet().write_row(0, 0, AGGREGATE_HEADER)
    book.close()
    with zipfile.ZipFile(path) as source:
        parts = {p.filename: source.read(p) for p in source.infolist()}
    cell = b'<c r="A2" t="inlineStr"><is><t>' + b"B" * 40_000 + b"</t></is></c>"
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</row>", b'</row><row r="2">' + cell + b"</row>", 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    assert validate_file(path, catalogue, Limits(150 * reading.MB)).problem_counts == {"cell_too_long": 1}


def test_a_shared_string_of_exactly_excels_limit_is_read(tmp_path, catalogue):
    path = workbook_with_strings(tmp_path / f"police_monthly__{PERIOD}.xlsx",
                                 b"<si><t>" + "é".encode() * 32_767 + b"</t></si>")
    result = validate_file(path, catalogue, Limits(150 * reading.MB))
    assert "cell_too_long" not in result.problem_counts and result.problem_counts  # read, then judged as a return


def test_declared_string_counts_beyond_the_cell_limit_are_refused_unread(tmp_path, catalogue, no_reader):
    path = workbook_with_strings(tmp_path / f"police_monthly__{PERIOD}.xlsx")
    with zipfile.ZipFile(path) as source:
        parts = {p.filename: source.read(p) for p in source.infolist()}
    parts["xl/sharedStrings.xml"] = parts["xl/sharedStrings.xml"].replace(b'uniqueCount="5"',
                                                                          b'uniqueCount="2000000000"')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    assert validate_file(path, catalogue, Limits(150 * reading.MB)).problem_counts == {"file_too_large": 1}


def test_a_huge_shared_string_through_ingest_is_rejected_and_quarantined(home, store_url, no_reader):
    path = workbook_with_strings(home / "inbox" / f"police_monthly__{PERIOD}.xlsx",
                                 b"<si><t>" + b"A" * 5_000_000 + b"</t></si>")
    assert path.stat().st_size < 100_000
    result = ingest_path(path)
    assert result.status == "rejected" and TOO_LONG in result.errors[0]["message"]
    assert not path.exists() and len(quarantined(home)) == 1 and submissions(store_url)[-1]["status"] == "rejected"


def test_a_csv_cell_over_excels_limit_is_refused(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[0]["breakdown"] = "x" * 40_000
    path = write_csv(tmp_path / f"police_monthly__{PERIOD}.csv", AGGREGATE_HEADER, rows)
    result = validate_file(path, catalogue, Limits(150 * reading.MB))
    assert result.problem_counts == {"cell_too_long": 1} and TOO_LONG in result.problems[0].message


# --- 4. digits are 0-9, and any fault rejects the one file ----------------------------------------------------

@pytest.mark.parametrize("value", ["٣٠٠", "３００", "۳۰۰", "३००"])
def test_digits_of_another_script_are_a_per_row_rejection(home, store_url, catalogue, value):
    indicator = catalogue.sent_indicators("police_monthly")[0].id
    path = write_aggregate(home / "inbox", "police_monthly", PERIOD, catalogue, {(indicator, ""): value})
    result = ingest_path(path)
    assert result.status == "rejected" and [e["rule"] for e in result.errors] == ["not_whole_number"]
    assert "whole number written with the digits 0-9" in result.errors[0]["message"]
    assert result.errors[0]["row"] is not None
    assert not path.exists() and len(quarantined(home)) == 1 and submissions(store_url)[-1]["status"] == "rejected"


def test_a_date_in_another_scripts_digits_is_not_a_date(home, store_url):
    rows = record_rows("lado_referrals", PERIOD, 2)
    date_column = next(k for k, v in rows[0].items() if v == f"{PERIOD}-01")
    rows[0][date_column] = "٢٠٢٠-٠٣-٠١"
    result = ingest_path(write_records(home / "inbox", "lado_referrals", PERIOD, rows))
    assert result.status == "rejected" and [e["rule"] for e in result.errors] == ["not_a_date"]


def test_an_unexpected_fault_rejects_that_file_with_a_reference(home, store_url, catalogue, monkeypatch, caplog):
    secret = "LCS-SECRET-0042"
    broken = write_aggregate(home / "inbox", "police_monthly", PERIOD, catalogue)
    fine = write_aggregate(home / "inbox", "csc_monthly", PERIOD, catalogue)
    check = ingest.check

    def faulty(delivery):
        if delivery.path == broken:
            raise ValueError(f"strict integer parsing failed for 1 value(s): [{secret!r}]")
        return check(delivery)

    monkeypatch.setattr(ingest, "check", faulty)
    with caplog.at_level(logging.ERROR):
        results = [ingest_path(broken), ingest_path(fine)]
    assert [r.status for r in results] == ["rejected", "accepted"]
    error = results[0].errors[0]
    assert error["rule"] == "internal_problem"
    assert error["message"].startswith("Radar could not check this file because of an internal problem (reference ERR-")
    reference = error["message"].split("(reference ")[1].split(")")[0]
    assert reference in caplog.text and "faulty" in caplog.text and "ValueError" in caplog.text
    assert secret not in caplog.text + json.dumps(results[0].to_json()) + json.dumps(submissions(store_url),
                                                                                     default=str)
    assert list((home / "inbox").iterdir()) == []
    assert [s["status"] for s in submissions(store_url)] == ["rejected", "accepted"]
    assert len(quarantined(home)) == 1 and reference.replace("-", "\\-") in open(submissions(store_url)[0]["report_path"]).read()


def test_a_fault_while_storing_also_rejects_the_file(home, store_url, catalogue, monkeypatch):
    path = write_aggregate(home / "inbox", "police_monthly", PERIOD, catalogue)
    monkeypatch.setattr(ingest, "_store", lambda *args: 1 / 0)
    result = ingest_path(path)
    assert result.status == "rejected" and result.errors[0]["rule"] == "internal_problem"
    assert not path.exists() and submissions(store_url)[-1]["status"] == "rejected"


def test_a_file_radar_may_not_read_is_rejected_not_left(home, store_url, catalogue):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = write_aggregate(home / "inbox", "police_monthly", PERIOD, catalogue)
    path.chmod(0)
    result = ingest_path(path)
    assert result.status == "rejected" and result.errors[0]["rule"] == "internal_problem" and not path.exists()


# --- 8. hard links and bidirectional controls --------------------------------------------------------------

def test_a_hard_link_to_the_key_is_never_read_or_copied(home, store_url):
    key = home / "secrets" / "pseudonym.key"
    key.parent.mkdir()
    key.write_text("the-pseudonym-key-itself\n")
    link = home / "inbox" / f"police_monthly__{PERIOD}.csv"
    os.link(key, link)
    result = ingest_path(link)
    assert result.status == "rejected" and [e["rule"] for e in result.errors] == ["hard_link"]
    assert not link.exists() and key.read_text() == "the-pseudonym-key-itself\n"
    assert quarantined(home) == []
    assert all(b"pseudonym-key" not in p.read_bytes() for p in (home / "quarantine").iterdir())
    row = submissions(store_url)[-1]
    assert row["status"] == "rejected" and row["archive_path"] is None and row["file_hash"] == ""


def test_a_hard_linked_file_is_never_opened(tmp_path):
    key = tmp_path / "key"
    key.write_text("secret")
    os.link(key, tmp_path / "other")
    with pytest.raises(OSError):
        files.sha256_of(tmp_path / "other")
    assert not files.is_regular(tmp_path / "other")


@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202c", "\u202d", RLO, "\u2066", "\u2067", "\u2068",
                                     "\u2069"])
def test_a_bidi_control_in_any_text_is_a_per_row_rejection(home, store_url, control):
    rows = record_rows("lado_referrals", PERIOD, 3)
    rows[1]["setting_ref"] = f"school{control}loohcs"
    path = write_records(home / "inbox", "lado_referrals", PERIOD, rows)
    result = ingest_path(path)
    assert result.status == "rejected" and [e["rule"] for e in result.errors] == ["bidi_control"]
    assert result.errors[0]["row"] == 3 and result.errors[0]["value"] is None
    assert not path.exists()


def test_a_bidi_control_in_an_aggregate_breakdown_or_a_large_csv(home, store_url, catalogue, monkeypatch):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[0]["indicator"] = RLO + rows[0]["indicator"]
    path = write_csv(home / "inbox" / f"police_monthly__{PERIOD}.csv", AGGREGATE_HEADER, rows)
    assert "bidi_control" in ingest_path(path).to_json()["errors"][0]["rule"]
    monkeypatch.setattr(ingest, "limits", lambda: Limits(150 * reading.MB, stream_bytes=1))  # the batched path
    rows = record_rows("lado_referrals", PERIOD, 3)
    rows[2]["setting_ref"] = "\u2067ref"
    result = ingest_path(write_records(home / "inbox", "lado_referrals", PERIOD, rows))
    assert [e["rule"] for e in result.errors] == ["bidi_control"]


def test_a_file_name_with_a_bidi_control_is_refused_and_never_shown_raw(home, store_url, catalogue):
    source = write_aggregate(home, "police_monthly", PERIOD, catalogue)
    path = source.rename(home / "inbox" / f"police_monthly__{PERIOD}{RLO}vsc.csv")
    result = ingest_path(path)
    assert result.status == "rejected" and result.errors[0]["rule"] == "file_name"
    assert "right-to-left" in result.errors[0]["message"]
    assert not path.exists()
    row = submissions(store_url)[-1]
    kept = [p.name for p in (home / "quarantine").iterdir()] + [row["file_name"], result.file]
    texts = [p.read_text(encoding="utf-8-sig") for p in (home / "quarantine").glob("*.report.*")]
    assert all(RLO not in text for text in kept + texts)
    assert "<U+202E>" in row["file_name"]


def test_an_aggregate_return_of_millions_of_rows_is_refused_before_its_rows_are_checked(tmp_path, catalogue):
    path = tmp_path / f"police_monthly__{PERIOD}.csv"
    indicator = catalogue.sent_indicators("police_monthly")[0].id
    path.write_text(",".join(AGGREGATE_HEADER) + "\n" + f"{PERIOD},{indicator},,1\n" * 200_000)
    result = validate_file(path, catalogue, Limits(150 * reading.MB))
    assert result.problem_counts == {"file_too_large": 1} and "200,000 rows" in result.problems[0].message
