"""`radar serve`'s inbox: each complete file taken once, whole, and ingested in batches; none left behind.

A file is taken when it has stopped changing (the same size and
modification time for `stable_s`, and not modified in the last `QUIET_S`
seconds), no other process holds it open for writing (a read lease is
refused while one does, on Linux), and it is still the same after it has
been moved into the inbox's private processing folder (`.processing`, one
rename on the same disk): its size, modification time and hash are checked
again there, and a file that changed meanwhile goes back to the inbox for
the next look.  So a file renamed into the inbox while still being written
is never ingested half.

The files taken together are ingested as one batch, in this process: one
`ingest-files` flow run for up to `BATCH_SIZE` files, each with its own
submission, result and report, instead of a flow run (and a process) per
file, which made a burst of files lock Prefect's own SQLite database.  A
file that arrives while a batch runs is taken by the next one.

Nothing is stranded: whatever a batch leaves in the processing folder (a
fault, an unreachable Prefect server) goes back to the inbox, taken again
after a back-off; a file in the inbox that was already tried is taken again
by the sweep once it is `SWEEP_AFTER_S` old; and files a killed `radar serve`
left in the processing folder go back to the inbox when it starts again.
Ingest is keyed by the file's hash, so taking a file twice stores it once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from radar.flows.files import sha256_of
from radar.flows.runtime import processing_folder

BATCH_SIZE = 50  # files in one flow run
QUIET_S = 2.0  # a file modified this recently may still be being written
SWEEP_AFTER_S = 180.0  # a file still in the inbox this long after it was last tried is taken again
SWEEP_EVERY_S = 30.0
BACKOFF_S = (2.0, 5.0, 15.0, 30.0, 60.0)  # after a batch that failed as a whole (Prefect busy: 503, a fault)
POLL_S = 0.5

log = logging.getLogger("radar.inbox")
Signature = tuple[int, int]  # size, modification time (ns)


def _signature(st: os.stat_result) -> Signature:
    return st.st_size, st.st_mtime_ns


def open_for_writing_elsewhere(path: Path) -> bool:
    """True when some process has `path` open for writing: the kernel refuses a read lease then (Linux).
    False when it cannot tell (a file owned by another user, a filesystem without leases)."""
    if not hasattr(fcntl, "F_SETLEASE"):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False  # gone or not a file: ingest reports it
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as error:
        return error.errno in (errno.EAGAIN, errno.EBUSY)
    else:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


def _put_back(path: Path, inbox: Path) -> bool:
    """Move a file from the processing folder back to the inbox, unless a file of that name is there again
    (a newer delivery: it then waits for the next look in the processing folder)."""
    target = inbox / path.name
    try:
        os.link(path, target, follow_symlinks=False)
    except FileExistsError:
        return False
    except FileNotFoundError:
        return True  # handled meanwhile
    except OSError:  # a filesystem without hard links
        if target.exists():
            return False
        os.replace(path, target)
        return True
    path.unlink(missing_ok=True)
    return True


class InboxBatcher:
    """Take complete files from the inbox into the processing folder and ingest them in batches.

    `ingest(paths)` ingests one batch (by default one `ingest-files` flow
    run); `clock` is wall time, compared with the files' modification times.
    """

    def __init__(self, inbox: Path, stable_s: float, ingest: Callable[[list[Path]], object] | None = None,
                 batch_size: int = BATCH_SIZE, quiet_s: float = QUIET_S, sweep_after_s: float = SWEEP_AFTER_S,
                 clock: Callable[[], float] = time.time):
        self.inbox, self.processing = inbox, processing_folder(inbox)
        self.stable_s, self.batch_size, self.quiet_s, self.sweep_after_s = stable_s, batch_size, quiet_s, sweep_after_s
        self.ingest = ingest or ingest_batch
        self.clock = clock
        self.changed: dict[str, tuple[Signature, float]] = {}  # name -> (signature, when it was last seen to change)
        self.tried: dict[str, tuple[Signature, float]] = {}  # name -> (signature, when) of a file put back after a try
        self.failures = 0
        self.paused_until = 0.0
        self.in_batch = False

    def recover(self) -> list[str]:
        """At start: the files a stopped (killed) `radar serve` left in the processing folder go back to the inbox."""
        self.processing.mkdir(mode=0o700, parents=True, exist_ok=True)
        back = []
        for path in sorted(self.processing.iterdir()):
            if _put_back(path, self.inbox):
                back.append(path.name)
        return back

    def ready(self, now: float) -> list[Path]:
        """The inbox's entries that are complete and due: stable, quiet, and new or changed since their last
        try (or tried `sweep_after_s` ago).  Hidden entries (an upload being staged, the processing folder)
        are left alone; anything else, a link or a misnamed file included, is taken and reported by ingest."""
        present: dict[str, Path] = {}
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.inbox):
                if not entry.name.startswith(".") and (entry.is_symlink() or not entry.is_dir()):
                    present[entry.name] = Path(entry.path)
        for table in (self.changed, self.tried):
            for name in set(table) - set(present):
                del table[name]
        due = []
        for name, path in sorted(present.items()):
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            signature = _signature(st)
            previous = self.changed.get(name)
            if previous is None or previous[0] != signature:
                self.changed[name] = (signature, now)
                continue
            if now - previous[1] < self.stable_s or 0 <= now - st.st_mtime < self.quiet_s:  # (a time ahead: size)
                continue
            tried = self.tried.get(name)
            if tried is not None and tried[0] == signature and now - tried[1] < self.sweep_after_s:
                continue
            due.append(path)
        return due

    def take(self, path: Path) -> Path | None:
        """Move one complete file into the processing folder and check it is still the same there; the path to
        ingest, or None when it is left for the next look (still being written, changed, gone, or a file of
        that name is still being processed).  A link or anything but a regular file is not moved: ingest
        reports it from where it is."""
        try:
            before = path.lstat()
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(before.st_mode):
            return path
        target = self.processing / path.name
        if os.path.lexists(target) or open_for_writing_elsewhere(path):
            return None
        try:
            self.processing.mkdir(mode=0o700, exist_ok=True)
            file_hash = sha256_of(path)
            os.rename(path, target)
        except FileNotFoundError:
            return None
        try:
            after = target.lstat()
            same = (_signature(after) == _signature(before) and after.st_ino == before.st_ino
                    and not open_for_writing_elsewhere(target) and sha256_of(target) == file_hash)
        except FileNotFoundError:
            return None
        if not same:
            log.info("%s changed while it was taken: left for the next look", path.name)
            _put_back(target, self.inbox)
            self.changed.pop(path.name, None)
            return None
        return target

    def busy(self) -> bool:
        """A batch is under way, or the inbox holds a file no batch has tried yet (a burst still coming in, a
        file still being written): the cycle the files bring waits for them (flows/service.py).  Called from
        another thread: the names are copied whole (one C call) before they are compared."""
        return self.in_batch or bool(set(self.changed) - set(self.tried))

    def step(self) -> list[Path]:
        """One look: take what is ready (up to `batch_size`) and ingest it as one batch; returns what was
        taken.  Whatever the batch leaves in the processing folder goes back to the inbox."""
        now = self.clock()
        if now < self.paused_until:
            return []
        taken = []
        self.in_batch = True
        try:
            for path in self.ready(now):
                kept = self.take(path)
                if kept is not None:
                    taken.append(kept)
                    if len(taken) == self.batch_size:
                        break
            if taken:
                self._ingest(taken)
        finally:
            self.in_batch = False
        return taken

    def _ingest(self, taken: list[Path]) -> None:
        failed = False
        try:
            self.ingest(taken)
        except Exception as fault:  # noqa: BLE001 - a batch that could not run (Prefect's server busy or gone): later, whole
            failed = True
            log.warning("a batch of %d file(s) could not be ingested (%s); trying again", len(taken),
                        type(fault).__name__)
        self._after(taken, failed)

    def _after(self, taken: list[Path], failed: bool) -> None:
        now = self.clock()
        if failed:
            self.paused_until = now + BACKOFF_S[min(self.failures, len(BACKOFF_S) - 1)]
            self.failures += 1
        else:
            self.failures = 0
        for path in taken:
            if path.parent != self.processing or not os.path.lexists(path):
                continue  # handled: ingest removed it
            with contextlib.suppress(OSError):
                signature = _signature(path.lstat())
                if _put_back(path, self.inbox) and not failed:  # a fault with this file: again at the sweep
                    self.tried[path.name] = (signature, now)

    def sweep(self) -> None:
        """Files in the processing folder that no batch holds (one that could not go back before) return."""
        with contextlib.suppress(FileNotFoundError):
            for path in self.processing.iterdir():
                _put_back(path, self.inbox)

    def run(self, stop: threading.Event, started: threading.Event | None = None,
            on_start: Callable[[], None] | None = None) -> None:
        """Look every `POLL_S` until `stop` (a batch is finished first), sweeping every `SWEEP_EVERY_S`."""
        recovered = self.recover()
        if recovered:
            log.warning("%d file(s) a stopped radar serve was processing are back in the inbox", len(recovered))
        if on_start is not None:
            on_start()
        if started is not None:
            started.set()
        swept = time.monotonic()
        while not stop.is_set():
            try:
                self.step()
                if time.monotonic() - swept >= SWEEP_EVERY_S:
                    self.sweep()
                    swept = time.monotonic()
            except Exception as fault:  # noqa: BLE001 - the watcher never dies of one bad look (a full disk, a lost folder)
                log.error("inbox look failed (%s); trying again", type(fault).__name__)
                stop.wait(5)
            stop.wait(POLL_S)


def ingest_batch(paths: list[Path]) -> list[dict]:
    """One `ingest-files` flow run for the batch, in this process (flows/ingest.py): each file's own result,
    submission and report; an accepted file announced, which brings the cycle."""
    from radar.flows.ingest import ingest_files

    return ingest_files(paths=[str(p) for p in paths])
