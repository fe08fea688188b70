"""Ingest flows: a delivered file becomes a stored submission, whole or not at all.

For each file: hash what was delivered; if it is the version already in force
it is a duplicate (recorded, nothing else changes); otherwise validate it. A
rejected file goes to quarantine beside a report its data lead can act on; an
accepted one is pseudonymised, archived under its hash and stored with its
rows in one transaction, replacing (not adding to) an earlier version.

Each file is one task. It is retried only when the disk or the database
fails (a bad file is an answer, not an error), which is safe because every
write is atomic and keyed by the file's hash.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from radar.flows.files import (
    archive_copy,
    purge_quarantine,
    quarantine_copy,
    received_time,
    sha256_of,
)
from radar.flows.runtime import context, engine, retry_on_io
from radar.flows.secrets import pseudonym_key
from radar.models import store
from radar.validation.feeds import ValidatedFile, validate_file
from radar.validation.filenames import FileNameError, parse_file_name
from radar.validation.pseudonymise import pseudonymise, pseudonymised_columns
from radar.validation.report import write_report

FEED_SUFFIXES = {".csv", ".xlsx"}
ACTOR = "ingest"


@dataclass(frozen=True)
class Delivery:
    path: Path
    file_hash: str
    received_at: datetime
    feed_id: str | None
    period: str | None


@dataclass
class IngestResult:
    file: str
    feed: str | None
    period: str | None
    status: str  # accepted | replaced | duplicate | rejected
    errors: list[dict] = field(default_factory=list)
    submission_id: int | None = None
    message: str = ""

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def feed_files(paths: list[Path]) -> list[Path]:
    """Expand folders into the feed files they hold (sorted, so runs are repeatable)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FEED_SUFFIXES)
        else:
            found.append(path)
    return found


def in_inbox(path: Path) -> bool:
    return path.parent.resolve() == context().settings.inbox.resolve()


def consume(path: Path) -> None:
    """Remove a handled file from the inbox (the archive keeps it, pseudonymised); files elsewhere are the sender's."""
    if in_inbox(path):
        path.unlink()


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
        current = store.current_submission(conn, context().la_code, delivery.feed_id, delivery.period)
    return current["file_hash"] if current else None


def check(delivery: Delivery) -> ValidatedFile:
    ctx = context()
    return validate_file(delivery.path, ctx.catalogue, ctx.config.storage.max_file_mb * 1024 * 1024)


def record_duplicate(delivery: Delivery) -> IngestResult:
    ctx = context()
    message = "identical to the version already stored: nothing changed"
    with engine().begin() as conn:
        submission_id = store.record_submission(
            conn, la_code=ctx.la_code, actor=ACTOR, feed_id=delivery.feed_id, period=delivery.period,
            file_name=delivery.path.name, file_hash=delivery.file_hash, status="duplicate",
            received_at=delivery.received_at, message=message,
        )
    consume(delivery.path)
    return IngestResult(delivery.path.name, delivery.feed_id, delivery.period, "duplicate",
                        submission_id=submission_id, message=message)


def _summary(result: ValidatedFile) -> str:
    counts = ", ".join(f"{rule}: {n}" for rule, n in sorted(result.problem_counts.items()))
    total = sum(result.problem_counts.values())
    return f"rejected with {total} problem{'s' if total != 1 else ''} ({counts}); see the report"


def reject(delivery: Delivery, result: ValidatedFile) -> IngestResult:
    """Quarantine the file beside its report and record why; no data row is written."""
    ctx = context()
    settings = ctx.settings
    quarantined = quarantine_copy(settings.quarantine, delivery.path, delivery.file_hash,
                                  move=in_inbox(delivery.path))
    _, report_md = write_report(result, delivery.path.name, settings.quarantine)
    errors = [dataclasses.asdict(p) for p in result.problems]
    message = _summary(result)
    with engine().begin() as conn:
        submission_id = store.record_submission(
            conn, la_code=ctx.la_code, actor=ACTOR, feed_id=result.feed_id or delivery.feed_id,
            period=result.period or delivery.period, file_name=delivery.path.name, file_hash=delivery.file_hash,
            status="rejected", received_at=delivery.received_at, row_count=result.row_count,
            error_count=sum(result.problem_counts.values()), message=message, errors_json=json.dumps(errors),
            archive_path=str(quarantined), report_path=str(report_md),
        )
    return IngestResult(delivery.path.name, result.feed_id or delivery.feed_id, result.period or delivery.period,
                        "rejected", errors=errors, submission_id=submission_id, message=message)


def accept(delivery: Delivery, result: ValidatedFile) -> IngestResult:
    """Pseudonymise, archive and store the rows in one transaction."""
    ctx = context()
    feed = ctx.catalogue.feed_by_id[result.feed_id]
    rows = result.frame
    hidden = pseudonymised_columns(feed)
    if hidden:
        key = pseudonym_key(ctx.config.pseudonymisation.key_env, ctx.settings.secrets)
        rows = pseudonymise(rows, hidden, key)
    archived = archive_copy(ctx.settings.archive, feed.id, result.period, delivery.file_hash, delivery.path,
                            rows.drop("row_number") if hidden else None)
    with engine().begin() as conn:
        status, submission_id = store.accept_submission(
            conn, la_code=ctx.la_code, actor=ACTOR, feed_id=feed.id, kind=feed.kind, period=result.period,
            file_name=delivery.path.name, file_hash=delivery.file_hash, archive_path=str(archived),
            rows=rows, received_at=delivery.received_at,
        )
    consume(delivery.path)
    return IngestResult(delivery.path.name, feed.id, result.period, status, submission_id=submission_id,
                        message=f"{rows.height} rows stored")


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def ingest_one(path: Path) -> IngestResult:
    """The steps for one file, shared by both flows (safe to retry: every write is atomic and keyed)."""
    delivery = receive(path)
    if delivery.feed_id is not None and current_hash(delivery) == delivery.file_hash:
        return record_duplicate(delivery)
    result = check(delivery)
    return accept(delivery, result) if result.ok else reject(delivery, result)


@flow(name="ingest-feed")
def ingest_feed(path: Path) -> dict:
    """Ingest one delivered file (the event-driven path: a file arrived)."""
    return ingest_one(Path(path)).to_json()


@flow(name="ingest-files")
def ingest_files(paths: list[Path], on_result=None) -> list[dict]:
    """Ingest many files (or folders) in one flow run; one bad file never stops the others."""
    logger = get_run_logger()
    results = []
    for path in feed_files([Path(p) for p in paths]):
        try:
            result = ingest_one(path)
        except Exception as fault:  # a fault in Radar, not in the file: report it and carry on with the others
            # Only the fault's type is logged: its text or traceback could quote a cell of the file.
            logger.error("%s: could not be processed (%s)", path.name, type(fault).__name__)
            result = IngestResult(path.name, None, None, "rejected", errors=[{
                "row": None, "column": None, "value": None, "rule": "internal_error",
                "message": "Radar could not process this file because of an internal fault; nothing was stored. "
                           "Please send it again later; the operator has the details in the flow log."}])
        logger.info("%s: %s %s", result.file, result.status, result.message)
        results.append(result.to_json())
        if on_result:
            on_result(result)
    ctx = context()
    purge_quarantine(ctx.settings.quarantine, ctx.config.storage.quarantine_retention_days)
    return results
