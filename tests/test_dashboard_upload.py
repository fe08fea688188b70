"""The upload page under hostile names and faults: nothing escapes, nothing is left behind, everything is audited.

Each case is the red team's (issue 20): the multipart file name is whatever
the browser sends, so a name with folders, a drive, a NUL or 300 characters
must be refused before anything is written; a file the checks cannot read (a
full-width `３００` in a cell) or any fault while checking it must become a
rejection or a plain error with an id, never a traceback; and whatever
happens, the private staging folder is gone, the only copy kept is in
quarantine (or the inbox, when accepted), and the attempt is in the audit
trail under the signed-in address.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from feedfiles import aggregate_rows, catalogue_once, write_aggregate
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from test_dashboard import LA, every_text
from test_dashboard_access import CSC_LEAD, audit_events, make_home, upload, visit

from radar.core.config import get_context
from radar.models.engine import get_engine
from radar.models.submissions import Submission

FEED = "csc_monthly__2025-04.csv"
SECRET = "CHILD-REF-7731"  # what a fault's text could quote; it must reach neither the page nor the log


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A RADAR_HOME two folders down, so a name climbing out of it lands in the test's own folder, watched too."""
    (tmp_path / "deep" / "home").mkdir(parents=True)
    home = make_home(tmp_path / "deep" / "home", monkeypatch)
    return tmp_path, home


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def page_text(app: AppTest) -> str:
    """Everything on the page, errors and any exception included."""
    return "\n".join([every_text(app), *(e.value for e in app.error), *(str(e.value) for e in app.exception)])


def sent(tmp_path_factory, value: str | None = None) -> Path:
    """A complete April return for CSC; `value` replaces the first row's figure."""
    catalogue = catalogue_once()
    first = aggregate_rows(catalogue, "csc_monthly", "2025-04")[0]
    changed = {(first["indicator"], first["breakdown"]): value} if value is not None else None
    return write_aggregate(tmp_path_factory.mktemp("sent"), "csc_monthly", "2025-04", catalogue, overrides=changed)


def nothing_staged(home: Path) -> bool:
    return not [p for p in home.rglob(".upload-*")]


def new_files_outside_quarantine(before: set[Path], root: Path, home: Path) -> list[Path]:
    """The files that appeared anywhere under `root` outside RADAR_HOME/quarantine (the store's own files aside)."""
    return [p for p in files_under(root) - before
            if not p.is_relative_to(home / "quarantine") and not p.name.startswith("radar.db")]


def the_upload_event() -> dict:
    [event] = audit_events("dashboard_upload")
    assert event["actor"] == CSC_LEAD
    return {**event, "detail": json.loads(event["detail"])}


OUTSIDE = "outside"  # stands for an absolute path into the test's folder, outside RADAR_HOME


@pytest.mark.parametrize("name", [
    f"../../{FEED}", f"..\\..\\{FEED}", OUTSIDE, "a" * 300 + f"/{FEED}", "C:" + FEED, "csc_monthly\x00__2025-04.csv",
    "csc_monthly\x1b[31m__2025-04.csv", "c" * 300 + "__2025-04.csv",
], ids=["traversal", "backslashes", "absolute", "long-folder", "drive", "nul", "escape", "long-name"])
def test_a_name_that_is_not_a_plain_file_name_is_refused_before_anything_is_written(place, tmp_path_factory, name):
    root, home = place
    if name == OUTSIDE:
        (root / "elsewhere").mkdir()
        name = str(root / "elsewhere" / FEED)
    before = files_under(root)
    app = upload(visit(CSC_LEAD), sent(tmp_path_factory), name=name)
    text = page_text(app)
    assert "not accepted" in app.error[0].value and "nothing from it has been kept" in app.error[0].value
    assert "| File name does not follow the pattern | 1 |" in text
    assert "Rename the file" in text and "csc_monthly__2024-03.csv" in text
    assert "Traceback" not in text and "Errno" not in text
    assert not new_files_outside_quarantine(before, root, home) and not (home / "quarantine").exists()
    assert nothing_staged(home)
    event = the_upload_event()
    assert event["detail"]["outcome"] == "refused_name"
    assert "\x00" not in event["subject"] and "\x1b" not in event["subject"] and len(event["subject"]) <= 255


def test_a_value_the_checks_cannot_read_is_a_rejection_kept_only_in_quarantine(place, tmp_path_factory):
    """Full-width digits raised inside validation (a traceback quoting the cell, the staged copy left behind)."""
    root, home = place
    before = files_under(root)
    app = upload(visit(CSC_LEAD), sent(tmp_path_factory, value="３００"))
    text = page_text(app)
    assert "not accepted" in app.error[0].value and "nothing from it has been kept" not in text
    assert "quarantine" in app.error[0].value and "30 days" in app.error[0].value
    assert "Traceback" not in text and "conversion" not in text
    assert not new_files_outside_quarantine(before, root, home) and nothing_staged(home)
    quarantined = [p for p in (home / "quarantine").iterdir() if p.name.endswith(FEED)]
    assert len(quarantined) == 1 and quarantined[0].stat().st_mode & 0o077 == 0
    assert (home / "quarantine" / f"{quarantined[0].name}.report.md").exists()
    with get_engine(get_context().settings.database_url).connect() as conn:
        table = Submission.__table__
        [row] = conn.execute(select(table).where(table.c.file_name == FEED, table.c.la_code == LA)).mappings()
    assert (row["status"], row["archive_path"]) == ("rejected", str(quarantined[0]))
    assert the_upload_event()["detail"]["outcome"] == "rejected"


def fault(*args, **kwargs):
    raise RuntimeError(f"could not convert {SECRET} in row 7")


def test_any_fault_while_checking_is_a_rejection_with_an_error_id_and_no_traceback(place, tmp_path_factory,
                                                                                  monkeypatch, caplog):
    root, home = place
    monkeypatch.setattr("radar.validation.feeds.validate_file", fault)
    before = files_under(root)
    with caplog.at_level(logging.ERROR):
        app = upload(visit(CSC_LEAD), sent(tmp_path_factory))
    text = page_text(app)
    event = the_upload_event()
    error_id = event["detail"]["error_id"]
    assert error_id and error_id in text and SECRET not in text and "Traceback" not in text
    assert "quarantine" in app.error[0].value and "nothing from it has been kept" not in text
    assert error_id in caplog.text and "RuntimeError" in caplog.text and SECRET not in caplog.text
    assert event["detail"]["outcome"] == "rejected"
    assert not new_files_outside_quarantine(before, root, home) and nothing_staged(home)
    assert [p for p in (home / "quarantine").iterdir() if p.name.endswith(FEED)]


def test_a_fault_after_the_checks_shows_an_error_id_and_leaves_nothing_staged(place, tmp_path_factory, monkeypatch,
                                                                            caplog):
    """The store failing while a rejection is recorded: a plain message, the id in the log, the attempt audited."""
    _, home = place
    monkeypatch.setattr("radar.models.submissions.record_submission", fault)
    with caplog.at_level(logging.ERROR):
        app = upload(visit(CSC_LEAD), sent(tmp_path_factory, value="many"))
    text = page_text(app)
    event = the_upload_event()
    error_id = event["detail"]["error_id"]
    assert event["detail"]["outcome"] == "error"
    assert error_id in app.error[0].value and "not accepted" in app.error[0].value
    assert SECRET not in text and "Traceback" not in text and "nothing from it has been kept" not in text
    assert error_id in caplog.text and SECRET not in caplog.text
    assert nothing_staged(home)
    assert not (home / "inbox").exists() or not any((home / "inbox").iterdir())
