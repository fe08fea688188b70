"""File handling for deliveries: hashing, immutable archive, quarantine and its retention.

Every write goes to a temporary file in the destination folder and is then
renamed into place (`os.replace` is atomic on one filesystem), so a crash never
leaves a half-written archive copy or report.  A delivery is only ever opened
as a regular file without following links (`O_NOFOLLOW`) and with one name
only (`st_nlink` 1): a link dropped in the inbox to /proc/self/environ, or a
hard link to the key, must never be read or copied.
Radar's folders are owner-only (0700, files 0600): they hold the store, the
key and raw files in quarantine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy.engine import make_url

from radar.validation.inert import has_bidi_control, neutralised

NAME_BYTES = 255  # the longest file name most filesystems allow
REPORT_SUFFIX = ".report.csv"  # the longest suffix added to a quarantined name


class NotARegularFile(OSError):
    """The delivery is a link, a folder, a device or a pipe: Radar does not read it."""


class HardLinked(NotARegularFile):
    """The delivery has another name on the disk (a hard link, perhaps to the key): Radar does not read it."""


def open_regular(path: Path):
    """Open a delivered file for reading, refusing links, hard links and anything but a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        if os.path.islink(path):
            raise NotARegularFile(f"{path.name} is a link") from None
        raise
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        os.close(fd)
        raise NotARegularFile(f"{path.name} is not a regular file")
    if status.st_nlink > 1:
        os.close(fd)
        raise HardLinked(f"{path.name} has {status.st_nlink} names")
    return os.fdopen(fd, "rb")


def is_regular(path: Path) -> bool:
    """A regular file with one name, not a link to one (the link itself is what is looked at) nor a hard link."""
    status = os.lstat(path)
    return stat.S_ISREG(status.st_mode) and status.st_nlink == 1


def is_hard_linked(path: Path) -> bool:
    """Whether the entry is one of several names of one file: a hard link in the inbox to the pseudonym key or
    the store reads as an ordinary file, and removing the inbox name leaves the other."""
    return os.lstat(path).st_nlink > 1


def owner_only(home: Path, database_url: str) -> None:
    """Make Radar's folders 0700 and an SQLite store under them 0600 (nobody else may read them)."""
    for folder in (home, home / "archive", home / "quarantine", home / "secrets"):
        if folder.is_dir():
            os.chmod(folder, 0o700)
    url = make_url(database_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        for path in (Path(url.database), Path(url.database + "-wal"), Path(url.database + "-shm")):
            if path.exists():
                os.chmod(path, 0o600)


def safe_name(name: str, max_bytes: int) -> str:
    """`name` without path separators, control characters or bidirectional controls (which would show the rest of
    a listing reversed), cut (keeping its extension) to `max_bytes` of UTF-8."""
    name = "".join("_" if ch in "/\\" or ord(ch) < 32 or ord(ch) == 127 or has_bidi_control(ch) else ch
                   for ch in name) or "_"
    if len(name.encode()) <= max_bytes:
        return name
    stem, dot, ext = name.rpartition(".")
    ext = (dot + ext) if dot and len(ext.encode()) <= 16 else ""
    stem = name[: len(name) - len(ext)]
    return stem.encode()[: max_bytes - len(ext.encode())].decode("utf-8", errors="ignore") + ext


def sha256_of(path: Path) -> str:
    """Hash the delivered bytes in 1 MiB chunks (a large file never sits in memory)."""
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def received_time(path: Path) -> datetime:
    """When the file was delivered: its modification time in the drop folder (never in the future)."""
    mtime = min(path.stat().st_mtime, time.time())
    return datetime.fromtimestamp(mtime, UTC)


def atomic_write(destination: Path, write) -> Path:
    """Call `write` on a temporary file beside `destination`, then rename it into place: readers see the old
    file or the whole new one, never half of it."""
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".tmp-")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, destination)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return destination


def _copy_regular(source: Path, destination: Path) -> None:
    with open_regular(source) as fh, open(destination, "wb") as out:
        shutil.copyfileobj(fh, out)


def archive_path(archive_root: Path, feed_id: str, period: str, file_hash: str, suffix: str) -> Path:
    """Where the immutable copy of a delivery is kept: under the hash of what was delivered."""
    return archive_root / feed_id / period / f"{file_hash}{suffix}"


def archive_copy(archive_root: Path, feed_id: str, period: str, file_hash: str, source: Path) -> Path:
    """Keep an aggregate return byte for byte under its hash (never overwritten: same hash, same content).

    An accepted aggregate return holds only the month, known indicator and
    breakdown ids and whole numbers, none of which can start a formula.
    """
    destination = archive_path(archive_root, feed_id, period, file_hash, source.suffix.lower())
    if destination.exists():
        return destination
    return atomic_write(destination, lambda tmp: _copy_regular(source, tmp))


@contextmanager
def archived_rows(destination: Path) -> Iterator[Callable[[pl.DataFrame], pl.DataFrame]]:
    """Archive a record feed's validated rows as they go by, batch by batch, as one CSV at `destination`.

    Yields `keep(batch)`, which appends the batch (its `row_number` left out)
    and returns it unchanged, so the rows are archived as they are stored and
    never all held at once.  The rows are pseudonymised where they name a
    child, so no raw identifier is kept, and every text cell is neutralised:
    free text such as `=HYPERLINK(...)` must not run when someone opens the
    archive in a spreadsheet.  The file appears (renamed into place) only when
    the block ends without error; an existing copy is never overwritten.
    """
    if destination.exists():
        yield lambda batch: batch
        return
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=destination.parent, prefix=".tmp-", delete=False) as out:
        tmp = Path(out.name)
        try:
            def keep(batch: pl.DataFrame) -> pl.DataFrame:
                rows = batch.drop("row_number")
                rows.with_columns(neutralised(name) for name, dtype in rows.schema.items() if dtype == pl.String) \
                    .write_csv(out, include_header=out.tell() == 0)
                return batch

            yield keep
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    os.replace(tmp, destination)


def quarantine_copy(quarantine_root: Path, source: Path, file_hash: str) -> Path:
    """Put a copy of a rejected file aside for its data lead (the caller removes an inbox original once the
    rejection is recorded).

    The name keeps the time and hash in front (unique per delivery) and is cut
    to leave room for the report's suffix, so a 240-character name still fits.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    prefix = f"{stamp}__{file_hash[:12]}__"
    name = prefix + safe_name(source.name, NAME_BYTES - len(prefix) - len(REPORT_SUFFIX))
    destination = quarantine_root / name
    atomic_write(destination, lambda tmp: _copy_regular(source, tmp))
    return destination


def purge_quarantine(quarantine_root: Path, retention_days: int, now: float | None = None) -> list[Path]:
    """Delete quarantined files (the only place raw identifiers may sit) after the retention period."""
    if not quarantine_root.exists():
        return []
    cutoff = (now or time.time()) - retention_days * 86_400
    purged = [p for p in quarantine_root.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    for path in purged:
        path.unlink()
    return purged
