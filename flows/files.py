"""File handling for deliveries: hashing, immutable archive, quarantine and its retention.

Every write goes to a temporary file in the destination folder and is then
renamed into place (`os.replace` is atomic on one filesystem), so a crash never
leaves a half-written archive copy or report.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import polars as pl


def sha256_of(path: Path) -> str:
    """Hash the delivered bytes in 1 MiB chunks (a large file never sits in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def received_time(path: Path) -> datetime:
    """When the file was delivered: its modification time in the drop folder (never in the future)."""
    mtime = min(path.stat().st_mtime, time.time())
    return datetime.fromtimestamp(mtime, timezone.utc)


def _atomic_write(destination: Path, write) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".tmp-")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, destination)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return destination


def archive_copy(archive_root: Path, feed_id: str, period: str, file_hash: str, source: Path,
                 pseudonymised: pl.DataFrame | None) -> Path:
    """Keep an immutable copy under the hash of what was delivered.

    Record feeds with a child reference are archived as their pseudonymised
    rows, so no raw identifier is kept; other files are kept byte for byte.
    An existing copy is never overwritten (same hash, same content).
    """
    suffix = ".csv" if pseudonymised is not None else source.suffix.lower()
    destination = archive_root / feed_id / period / f"{file_hash}{suffix}"
    if destination.exists():
        return destination
    if pseudonymised is not None:
        return _atomic_write(destination, lambda tmp: pseudonymised.write_csv(tmp))
    return _atomic_write(destination, lambda tmp: shutil.copyfile(source, tmp))


def quarantine_copy(quarantine_root: Path, source: Path, file_hash: str, move: bool) -> Path:
    """Put a rejected file aside for its data lead (moved out of the inbox, copied from elsewhere)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    destination = quarantine_root / f"{stamp}__{file_hash[:12]}__{source.name}"
    _atomic_write(destination, lambda tmp: shutil.copyfile(source, tmp))
    if move:
        source.unlink()
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
