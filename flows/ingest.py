"""Ingest flows: a delivered file becomes a stored submission, whole or not at all.

For each file: hash what was delivered; if it is the version already in force
it is a duplicate (recorded, nothing else changes); otherwise validate it. A
rejected file goes to quarantine beside a report its data lead can act on; an
accepted one is pseudonymised, archived under its hash and stored with its
rows in one transaction, replacing (not adding to) an earlier version.

Each file is one task. It is retried only when the disk or the database
fails (a bad file is an answer, not an error), which is safe because every
write is atomic and keyed by the file's hash.  Any other fault while checking
or storing one file (a bug in Radar, a parser's surprise) rejects that file
like any other, with a reference the operator finds in the log
(`reject_fault`): it is recorded, quarantined and out of the inbox, and the
other files go on.  A fault's text never leaves Radar's log: database and
parser errors can quote a cell (a child's reference), so the log keeps the
traceback's frames and the errors' types only, and a fault that does escape
the task names only its type (`withheld`).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import traceback
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from sqlalchemy.exc import OperationalError

from radar.actions.submissions import record_rejection
from radar.flows.events import announce_accepted
from radar.flows.files import (
    NAME_BYTES,
    REPORT_SUFFIX,
    archive_copy,
    archive_path,
    archived_rows,
    is_hard_linked,
    is_regular,
    owner_only,
    purge_quarantine,
    quarantine_copy,
    received_time,
    safe_name,
    sha256_of,
)
from radar.flows.runtime import context, engine, processing_folder, retry_on_io
from radar.flows.secrets import PseudonymKeyError, store_key
from radar.models import submissions as submission_store
from radar.validation.feeds import Limits, ValidatedFile, validate_file
from radar.validation.filenames import FileNameError, parse_file_name
from radar.validation.inert import visible_controls
from radar.validation.problems import Problem
from radar.validation.pseudonymise import pseudonymise, pseudonymised_columns
from radar.validation.report import write_report

ACTOR = "ingest"
TAKEN = "already taken from the inbox by another ingest run, which reports it"
MB = 1024 * 1024


class IngestFault(Exception):
    """A fault in Radar while handling a file, named by type only (its text could quote a cell)."""


class IngestIOFault(OSError):
    """The same for a fault of the disk or the database: an OSError, so the task's retry policy still applies."""


@dataclass(frozen=True)
class Delivery:
    path: Path
    file_hash: str
    received_at: datetime
    feed_id: str | None
    period: str | None

    @property
    def name(self) -> str:
        """The file's name as Radar records and shows it (a bidirectional control written out, never obeyed)."""
        return visible_controls(self.path.name)


@dataclass
class IngestResult:
    file: str
    feed: str | None
    period: str | None
    status: str  # accepted | replaced | duplicate | rejected | skipped (another run took it from the inbox)
    errors: list[dict] = field(default_factory=list)
    submission_id: int | None = None
    message: str = ""

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def feed_files(paths: list[Path]) -> list[Path]:
    """Expand folders into everything delivered in them (sorted, so runs are repeatable).

    Every entry but a sub-folder and a hidden file (an upload still being
    written) is taken, whatever its name or kind: a misnamed file, a `.xls`
    or a link is rejected with a report and moved out of the inbox, never
    ignored and left there forever.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            found += sorted(p for p in path.iterdir()
                            if not p.name.startswith(".") and (p.is_symlink() or not p.is_dir()))
        else:
            found.append(path)
    return found


def in_inbox(path: Path) -> bool:
    """In the inbox, or in the folder `radar serve` moves a file it takes to (flows/inbox.py): removed once handled."""
    inbox = context().settings.inbox.resolve()
    return path.parent.resolve() in (inbox, processing_folder(inbox))


def consume(path: Path) -> None:
    """Remove a handled file from the inbox once its submission is recorded (the archive keeps it); files
    elsewhere are the sender's.  Another run that handled the same file may have removed it already."""
    if in_inbox(path):
        path.unlink(missing_ok=True)


def receive(path: Path) -> Delivery:
    """Hash the file and read its feed and period from its name (None when the name is wrong)."""
    try:
        feed_id, period = parse_file_name(path.name, context().catalogue)
    except FileNameError:
        feed_id = period = None
    return Delivery(path, sha256_of(path), received_time(path), feed_id, period)


def current_hash(delivery: Delivery) -> str | None:
    if delivery.feed_id is None:
        return None
    with engine().connect() as conn:
        current = submission_store.current_submission(conn, context().la_code, delivery.feed_id, delivery.period)
    return current["file_hash"] if current else None


def limits(today: date | None = None) -> Limits:
    """The partnership's limits on what Radar reads, with the months a file name may carry up to `today`."""
    return Limits.for_partnership(context().config.storage, today or datetime.now(UTC).date())


def check(delivery: Delivery) -> ValidatedFile:
    return validate_file(delivery.path, context().catalogue, limits())


def record_duplicate(delivery: Delivery, rejection: dict | None = None) -> IngestResult:
    """Record a re-delivery that changes nothing: of the version in force, or of an earlier `rejection`."""
    with engine().begin() as conn:
        result = _duplicate(conn, delivery, rejection)
    consume(delivery.path)
    return result


def _duplicate(conn, delivery: Delivery, rejection: dict | None = None) -> IngestResult:
    message = ("identical to the version already stored: nothing changed" if rejection is None else
               f"identical to the file already rejected (submission {rejection['id']}): nothing changed; "
               f"its report is {rejection['report_path']}")
    submission_id = submission_store.record_submission(
        conn, la_code=context().la_code, actor=ACTOR, feed_id=delivery.feed_id, period=delivery.period,
        file_name=delivery.name, file_hash=delivery.file_hash, status="duplicate",
        received_at=delivery.received_at, message=message,
        report_path=rejection["report_path"] if rejection else None,
    )
    return IngestResult(delivery.name, delivery.feed_id, delivery.period, "duplicate",
                        submission_id=submission_id, message=message)


def reject(delivery: Delivery, result: ValidatedFile) -> IngestResult:
    """Quarantine a copy of the file beside its report, record why, then take it out of the inbox.

    No data row is written.  The inbox copy is removed only after the
    rejection is recorded, so during a database outage nothing is moved and
    the next run finds the file again.

    A re-delivery of the very bytes already rejected under this name is
    recorded as a duplicate of that rejection, so a file is listed once.
    """
    ctx = context()
    with engine().connect() as conn:
        earlier = submission_store.rejection_of(conn, ctx.la_code, delivery.name, delivery.file_hash)
    if earlier is not None:
        return record_duplicate(delivery, earlier)
    quarantined = quarantine_copy(ctx.settings.quarantine, delivery.path, delivery.file_hash)
    _, report_md = write_report(result, delivery.name, ctx.settings.quarantine, stem=quarantined.name)
    outcome = _record_rejection(delivery, result, str(quarantined), report_md)
    consume(delivery.path)  # only once the rejection is recorded: in a database outage the file stays where it is
    return outcome


def reject_not_a_file(path: Path) -> IngestResult:
    """A link, folder or device in the drop folder: never read or copied; reported, and the entry removed."""
    return _reject_unread(path, "not_a_file", (
        "This is a link (shortcut), folder or device, not a file: Radar does not follow links or read them. "
        "Put the return itself in the drop folder."))


def reject_hard_link(path: Path) -> IngestResult:
    """A file with another name on the disk (a hard link, perhaps to the pseudonym key or the store): never read or
    copied; reported, and the inbox's name removed (the file keeps its other names)."""
    return _reject_unread(path, "hard_link", (
        "This file also has another name on the disk (a hard link), so it could be another of the computer's "
        "files: Radar does not read it. Copy the return itself into the drop folder."))


def _reject_unread(path: Path, rule: str, message: str) -> IngestResult:
    ctx = context()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    prefix = f"{stamp}__{rule.replace('_', '-')}__"
    stem = prefix + safe_name(path.name, NAME_BYTES - len(prefix) - len(REPORT_SUFFIX))
    result = ValidatedFile(None, None, None, [Problem(None, None, None, rule, message)], {rule: 1}, 0)
    delivery = Delivery(path, "", datetime.now(UTC), None, None)
    _, report_md = write_report(result, delivery.name, ctx.settings.quarantine, stem=stem)
    outcome = _record_rejection(delivery, result, None, report_md)
    if in_inbox(path):
        path.unlink()  # removes the link (or this name) itself, never what it points to
    return outcome


def reject_fault(path: Path, fault: Exception, delivery: Delivery | None = None) -> IngestResult:
    """Reject the one file whose checking or storing raised `fault`, with a reference to the log.

    The log gets the traceback's frames and the errors' types under the
    reference, never their text (it could quote a cell).  The file is
    quarantined when it can be read as one file with one name (else only
    the report is kept), the rejection recorded, and the inbox's copy removed.
    """
    reference = "ERR-" + secrets.token_hex(4).upper()
    _logger().error("%s: rejected because of an internal problem, reference %s (details withheld from the message "
                    "and the data lead: they could quote a cell)\n%s", visible_controls(path.name), reference,
                    frames_only(fault))
    if delivery is None:
        delivery = Delivery(path, "", datetime.now(UTC), None, None)
    problem = Problem(None, None, None, "internal_problem", (
        f"Radar could not check this file because of an internal problem (reference {reference}); nothing from it "
        "was stored. Send it again later; if it is refused again, tell the Radar operator the reference."))
    result = ValidatedFile(delivery.feed_id, delivery.period, None, [problem], {"internal_problem": 1}, 0)
    ctx = context()
    quarantined = None
    if delivery.file_hash:
        try:
            quarantined = quarantine_copy(ctx.settings.quarantine, path, delivery.file_hash)
        except FileNotFoundError:
            raise
        except OSError:
            quarantined = None  # unreadable, or it has another name now: the report alone is kept
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    prefix = f"{stamp}__{reference}__"
    stem = quarantined.name if quarantined else \
        prefix + safe_name(path.name, NAME_BYTES - len(prefix) - len(REPORT_SUFFIX))
    _, report_md = write_report(result, delivery.name, ctx.settings.quarantine, stem=stem)
    outcome = _record_rejection(delivery, result, str(quarantined) if quarantined else None, report_md)
    consume(path)
    return outcome


def frames_only(fault: BaseException) -> str:
    """A traceback of `fault` (and what caused it) with every frame but no error's text: file, line, function and
    the error types, which is what finding the fault needs, and nothing a cell could be quoted in."""
    lines, seen = [], set()
    while fault is not None and id(fault) not in seen:
        seen.add(id(fault))
        lines.append(f"{type(fault).__module__}.{type(fault).__qualname__} (text withheld)")
        lines += [f"  {frame.filename}:{frame.lineno} in {frame.name}"
                  for frame in traceback.extract_tb(fault.__traceback__)]
        fault = fault.__cause__ or fault.__context__
        if fault is not None:
            lines.append("caused by / raised while handling:")
    return "\n".join(lines)


def _logger():
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("radar.ingest")


def _record_rejection(delivery: Delivery, result: ValidatedFile, quarantined: str | None,
                      report_md: Path) -> IngestResult:
    ctx = context()
    submission_id, errors, message = record_rejection(
        engine(), ctx.la_code, ACTOR, file_name=delivery.name, file_hash=delivery.file_hash,
        feed_id=delivery.feed_id, period=delivery.period, received_at=delivery.received_at, result=result,
        quarantined=Path(quarantined) if quarantined else None, report=report_md)
    return IngestResult(delivery.name, result.feed_id or delivery.feed_id, result.period or delivery.period,
                        "rejected", errors=errors, submission_id=submission_id, message=message)


def pseudonymised_feeds() -> list[str]:
    return [feed.id for feed in context().catalogue.feeds if pseudonymised_columns(feed)]


def accept(delivery: Delivery, result: ValidatedFile) -> IngestResult:
    """Store an accepted file in one transaction, holding the feed-and-month lock (`submissions.lock_feed_month`).

    Under the lock the version in force is read again: if another run stored
    these very bytes meanwhile, this delivery is a duplicate, never a second
    version.
    """
    ctx = context()
    feed = ctx.catalogue.feed_by_id[result.feed_id]
    with engine().begin() as conn:
        submission_store.lock_feed_month(conn, ctx.la_code, feed.id, result.period)
        current = submission_store.current_submission(conn, ctx.la_code, feed.id, result.period)
        if current is not None and current["file_hash"] == delivery.file_hash:
            outcome = _duplicate(conn, delivery)
        else:
            outcome = _store(conn, delivery, result, feed)
    consume(delivery.path)
    return outcome


def _store(conn, delivery: Delivery, result: ValidatedFile, feed) -> IngestResult:
    """Pseudonymise with the store's own key, archive under the hash and insert the rows (the caller's transaction).

    The rows go batch by batch (a large CSV is read again in batches, see
    `ValidatedFile.batches`): each is pseudonymised, appended to the archive
    copy and inserted before the next is read, so a 150 MB file is never
    whole in memory.  The archive copy appears only once every batch is in.
    """
    ctx = context()
    hidden = pseudonymised_columns(feed)
    key = store_key(conn, ctx.config.pseudonymisation.key_env, ctx.settings.secrets, pseudonymised_feeds()) \
        if hidden else None
    batches = (pseudonymise(batch, hidden, key) if hidden else batch for batch in result.batches())
    if feed.kind == "records":
        archived = archive_path(ctx.settings.archive, feed.id, result.period, delivery.file_hash, ".csv")
        with archived_rows(archived) as keep:
            status, submission_id = _accept_rows(conn, delivery, result, feed, archived, map(keep, batches))
    else:
        archived = archive_copy(ctx.settings.archive, feed.id, result.period, delivery.file_hash, delivery.path)
        status, submission_id = _accept_rows(conn, delivery, result, feed, archived, batches)
    return IngestResult(delivery.name, feed.id, result.period, status, submission_id=submission_id,
                        message=f"{result.row_count} rows stored")


def _accept_rows(conn, delivery: Delivery, result: ValidatedFile, feed, archived: Path, batches) -> tuple[str, int]:
    ctx = context()
    return submission_store.accept_submission(
        conn, la_code=ctx.la_code, actor=ACTOR, feed_id=feed.id, kind=feed.kind, period=result.period,
        file_name=delivery.name, file_hash=delivery.file_hash, archive_path=str(archived),
        rows=batches, received_at=delivery.received_at, row_count=result.row_count,
    )


def prepare() -> None:
    """Before any file: a store that holds pseudonyms must have its own key, and Radar's files are owner-only."""
    ctx = context()
    with engine().begin() as conn:
        if (submission_store.key_fingerprint(conn) is not None
                or submission_store.holds_pseudonyms(conn, pseudonymised_feeds())):
            store_key(conn, ctx.config.pseudonymisation.key_env, ctx.settings.secrets, pseudonymised_feeds())
    owner_only(ctx.settings.home, ctx.settings.database_url)


# Faults that leave the file where it is for the next run: the store or the disk failing (retried, and a later
# run or the sweep finds the file again), a wrong key (which stops the run) and another run taking the file.
LEAVE_IN_PLACE = (OperationalError, PseudonymKeyError, FileNotFoundError)


def ingest_path(path: Path) -> IngestResult:
    """The steps for one file: not a file, duplicate, accepted or rejected (or skipped: another run took it).

    Any other fault while checking or storing this file rejects it with a
    reference (`reject_fault`), so no file is left in the inbox for ever;
    a file Radar may not read (permissions) is rejected the same way.
    """
    delivery = None
    try:
        if is_hard_linked(path):
            return reject_hard_link(path)
        if not is_regular(path):
            return reject_not_a_file(path)
        delivery = receive(path)
        if delivery.feed_id is not None and current_hash(delivery) == delivery.file_hash:
            return record_duplicate(delivery)
        result = check(delivery)
        return accept(delivery, result) if result.ok else reject(delivery, result)
    except FileNotFoundError:
        if not in_inbox(path):
            raise
        return IngestResult(visible_controls(path.name), None, None, "skipped", message=TAKEN)  # two runs, one inbox
    except LEAVE_IN_PLACE:
        raise
    except OSError as fault:
        if not isinstance(fault, PermissionError):
            raise  # the disk: retried, and the file stays for the next run
        return reject_fault(path, fault, delivery)
    except Exception as fault:  # noqa: BLE001 - any fault while checking one file is that file's rejection
        return reject_fault(path, fault, delivery)


def withheld(fault: Exception) -> Exception:
    """The fault to let out of the task: its type only (an I/O one stays retryable); a key problem as it is."""
    if isinstance(fault, PseudonymKeyError):
        return fault
    text = f"{type(fault).__name__} while ingesting a file (details withheld: they could quote a cell)"
    return IngestIOFault(text) if isinstance(fault, OSError | OperationalError) else IngestFault(text)


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def ingest_one(path: Path) -> IngestResult:
    """The steps for one file, shared by both flows (safe to retry: every write is atomic and keyed)."""
    try:
        return ingest_path(path)
    except Exception as fault:  # noqa: BLE001 - re-raised with its text withheld (it could quote a cell)
        raise withheld(fault) from None


def announce_stored(result: IngestResult) -> None:
    """Announce a stored file, which is what brings the monthly cycle (flows/events.py), however the file came:
    the inbox, `radar ingest` by hand or the safety-net sweep.  With no `radar serve` or worker listening, the
    event is kept by Prefect and nothing follows."""
    if result.status in ("accepted", "replaced"):
        announce_accepted(result.file, result.feed, result.period)


@flow(name="ingest-feed")
def ingest_feed(path: Path) -> dict:
    """Ingest one delivered file (the event-driven path: a file arrived)."""
    prepare()
    result = ingest_one(Path(path))
    announce_stored(result)
    return result.to_json()


@flow(name="ingest-files")
def ingest_files(paths: list[Path], on_result=None) -> list[dict]:
    """Ingest many files (or folders) in one flow run; one bad file never stops the others."""
    logger = get_run_logger()
    prepare()
    results = []
    for path in feed_files([Path(p) for p in paths]):
        try:
            result = ingest_one(path)
        except PseudonymKeyError:
            raise  # the key is wrong for every file: stop, with the message that says how to fix it
        except Exception as fault:  # noqa: BLE001 - a fault in Radar, not in the file: report it and carry on with the others
            # Only the fault's type is logged: its text or traceback could quote a cell of the file.
            logger.error("%s: could not be processed (%s)", visible_controls(path.name), type(fault).__name__)
            result = IngestResult(visible_controls(path.name), None, None, "rejected", errors=[{
                "row": None, "column": None, "value": None, "rule": "internal_error",
                "message": "Radar could not process this file because of an internal fault; nothing was stored. "
                           "Please send it again later; the operator has the details in the flow log."}])
        logger.info("%s: %s %s", result.file, result.status, result.message)
        announce_stored(result)
        results.append(result.to_json())
        if on_result:
            on_result(result)
    ctx = context()
    purge_quarantine(ctx.settings.quarantine, ctx.config.storage.quarantine_retention_days)
    return results
