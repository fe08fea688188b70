"""What becomes of a file sent from the upload page, whatever its name or contents.

The browser sends the file's name, and a broken or hostile one can say
anything: `../../x.csv`, an absolute path, a drive, a NUL, 300 characters.
Only a plain file name is taken (no folder, no `..`, no drive, no invisible
character, at most 255 bytes) and it must then follow the file-name contract;
anything else is refused with the pipeline's own report before a byte is
written.  A file with a good name is written into a private staging folder
(0700, made by tempfile directly under RADAR_HOME, so neither the inbox
watcher nor the sweep sees it) and checked there with the pipeline's rules:

- accepted: moved whole into the inbox with one rename; the ingest flow stores it;
- rejected: moved into quarantine beside its report and recorded as a rejected
  submission, as the ingest flow does with a dropped file, so the Rejected
  files page lists it and the same retention purge deletes it.

The staging folder is removed whatever happens.  A fault inside the checks
(a cell they cannot read) rejects the file with an error id; any other fault
becomes a plain message with an id.  A fault's text can quote a cell, so it
goes nowhere: the log gets the id, the fault's type and where it happened.
Every attempt is audited under the signed-in address.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import traceback
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from radar.dashboard.actions import record_rejected_upload, record_upload
from radar.dashboard.auth import Person
from radar.dashboard.common import changed, context
from radar.validation import feeds
from radar.validation.feeds import Limits, ValidatedFile
from radar.validation.filenames import PATTERN, FileNameError, parse_file_name
from radar.validation.problems import Problem
from radar.validation.report import write_report

NAME_BYTES = 255  # the longest file name most filesystems allow
SHOWN_CHARS = 120  # a refused name as the page, its report and the audit trail show it
RENAME = f"Rename the file to {PATTERN} and send it again."
_DRIVE = re.compile(r"^[A-Za-z]:")
log = logging.getLogger(__name__)
# How soon the inbox is read, as the README says it: the service's watcher (radar.flows.service.InboxWatcher)
# looks every half second, takes a file once it has stopped growing, and the cycle follows seconds later.
INBOX_READ = ("which Radar reads as files arrive: the file is stored and the indicators, alerts and this "
              "dashboard are brought up to date within about a minute")


@dataclass(frozen=True)
class Outcome:
    """What the page tells the person: accepted, rejected, refused_name, other_agency or error."""

    status: str
    name: str  # the name as it may be shown and recorded (a refused one made visible and short)
    report: str = ""  # validation.report's Markdown, word for word
    result: ValidatedFile | None = None
    error_id: str | None = None
    kept: Path | None = None  # where the file now is: the inbox (accepted) or quarantine (rejected)


def invisible(ch: str) -> bool:
    """A control, format (bidi, zero-width), surrogate, private or unassigned character, or a line break."""
    category = unicodedata.category(ch)
    return category[0] == "C" or category in ("Zl", "Zp")


def shown_name(name: str) -> str:
    """The name with every invisible character as '?', cut to SHOWN_CHARS: safe to show, log and store."""
    text = "".join("?" if invisible(ch) else ch for ch in name)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def refuse_unplain(name: str) -> None:
    """Raise FileNameError unless `name` is a plain file name: nothing that could point anywhere else."""
    shown = shown_name(name)
    if "/" in name or "\\" in name or ".." in name or _DRIVE.match(name):
        why = (f"The file name '{shown}' includes a folder, a drive or '..': Radar takes a file's own name "
               "only, never where it was on your computer.")
    elif any(invisible(ch) for ch in name):
        why = f"The file name '{shown}' contains invisible or control characters (shown as '?')."
    elif len(name.encode("utf-8")) > NAME_BYTES:
        why = f"The file name '{shown}' is longer than the {NAME_BYTES} characters a file name may have."
    else:
        return
    raise FileNameError(Problem(row=None, column=None, value=None, rule="file_name", message=f"{why} {RENAME}"))


def logged(fault: BaseException, doing: str) -> str:
    """Log a fault under a new error id, by its type and its stack only (its text could quote a cell)."""
    error_id = secrets.token_hex(4)
    stack = "".join(traceback.format_tb(fault.__traceback__))
    log.error("Upload page: %s while %s (error id %s; its text is withheld, it could quote a cell)\n%s",
              type(fault).__name__, doing, error_id, stack)
    return error_id


@contextmanager
def staging_folder(home: Path) -> Iterator[Path]:
    """A private folder (0700, from tempfile) directly under RADAR_HOME, outside the inbox; removed on the way out."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = Path(tempfile.mkdtemp(dir=home, prefix=".upload-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def send(person: Person, name: str, content: bytes | memoryview, agency: str | None) -> Outcome:
    """Judge one upload, put it where it belongs and audit the attempt; never raises."""
    try:
        with staging_folder(context().settings.home) as folder:
            outcome = _judge(person, name, content, agency, folder)
    except Exception as fault:  # noqa: BLE001 - whatever it is, the page shows an error id, never a traceback
        outcome = Outcome("error", shown_name(name), error_id=logged(fault, "handling an upload"))
    _audit(person, outcome)
    return outcome


def _judge(person: Person, name: str, content: bytes | memoryview, agency: str | None, folder: Path) -> Outcome:
    ctx = context()
    limits = Limits.for_partnership(ctx.config.storage, date.today())
    try:
        refuse_unplain(name)
        feed_id, period = parse_file_name(name, ctx.catalogue, limits.window)
    except FileNameError as error:  # judged on the name alone: the contents are never written or read
        result = ValidatedFile(None, None, None, [error.problem], {"file_name": 1}, 0)
        shown = shown_name(name)
        return Outcome("refused_name", shown, _report(result, shown, folder), result)
    if agency and ctx.catalogue.feed_by_id[feed_id].agency != agency:
        return Outcome("other_agency", name)
    staged = folder / Path(name).name  # a plain name the contract accepted: it stays in the folder
    with open(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb") as out:
        out.write(content)
    try:
        result, error_id = feeds.validate_file(staged, ctx.catalogue, limits), None
    except Exception as fault:  # noqa: BLE001 - any fault in the checks is this file's rejection, never a traceback
        error_id = logged(fault, "checking an upload")
        result = _unchecked(feed_id, period, error_id)
    if result.ok:
        inbox = ctx.settings.inbox
        inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(staged, inbox / staged.name)  # one rename: the sweep never sees part of it
        return Outcome("accepted", name, _report(result, name, folder), result, kept=inbox / staged.name)
    quarantined, report = _quarantine(person, staged, result, hashlib.sha256(content).hexdigest())
    return Outcome("rejected", name, report.read_text(encoding="utf-8"), result, error_id, quarantined)


def _unchecked(feed_id: str, period: str, error_id: str) -> ValidatedFile:
    """The rejection of a file the checks could not finish: what to do, and the id the Radar team can look up."""
    problem = Problem(None, None, None, "unreadable", (
        f"Radar could not finish checking this file (error id {error_id}), so it was not accepted. Open it, "
        "check every figure is an ordinary whole number (digits 0 to 9), export it again and send it again; "
        "if it is refused again, give the Radar team the error id."))
    return ValidatedFile(feed_id, period, None, [problem], {"unreadable": 1}, 0)


def _report(result: ValidatedFile, name: str, folder: Path) -> str:
    """The report the ingest flow writes for this result, word for word, written in the staging folder."""
    _, markdown = write_report(result, name, folder, stem="report")  # never named after what was sent
    return markdown.read_text(encoding="utf-8")


def _quarantine(person: Person, staged: Path, result: ValidatedFile, file_hash: str) -> tuple[Path, Path]:
    """Move a rejected upload into quarantine beside its report and record the rejection, as the ingest flow
    does with a dropped file: the Rejected files page lists it and the retention purge deletes it."""
    ctx = context()
    folder, now = ctx.settings.quarantine, datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    quarantined = folder / f"{now:%Y%m%dT%H%M%S}__{file_hash[:12]}__{staged.name}"
    os.replace(staged, quarantined)
    _, report = write_report(result, staged.name, folder, stem=quarantined.name)
    record_rejected_upload(person, staged.name, file_hash, now, result, quarantined, report)
    changed()
    return quarantined, report


def _audit(person: Person, outcome: Outcome) -> None:
    """Audit the attempt under the signed-in address; if even that fails, the log says so under an id."""
    result = outcome.result
    try:
        record_upload(person, outcome.name, {
            "outcome": outcome.status, "accepted": outcome.status == "accepted",
            "feed": result.feed_id if result else None, "period": result.period if result else None,
            "rows": result.row_count if result else None, "problems": result.problem_counts if result else {},
            "error_id": outcome.error_id, "kept": str(outcome.kept) if outcome.kept else None,
        })
    except Exception as fault:  # noqa: BLE001 - the page still says what became of the file
        logged(fault, "auditing an upload")
