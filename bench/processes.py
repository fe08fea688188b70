"""Commands a benchmark starts, each in its own process group, and the whole group ended however the benchmark
ends (done, failed, timed out or interrupted).

A Radar command may start processes of its own (a temporary Prefect server, `radar serve`'s server and
dashboard); ending only the command could leave them running, as a failed serve part once left `radar serve`
and two Prefect servers behind.  `run` is `subprocess.run` with that guarantee; `end_group` is what `run`
and bench/serve.py's `served` call on the way out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time


def end_group(process: subprocess.Popen, grace: float = 10) -> None:
    """Every process left in `process`'s group (started with `start_new_session=True`): SIGTERM, then SIGKILL
    to those still there after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break  # no process is left in the group
        deadline = time.monotonic() + grace
        while process.poll() is None or _group_alive(process.pid):  # poll: the leader, reaped, leaves the group
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    if process.poll() is None:
        process.wait()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


class CommandFailed(subprocess.CalledProcessError):
    """A failed command whose message ends with what it wrote to stderr: a test or benchmark that fails on one
    (in CI, where nothing else of the run is kept) says why the command failed, not only that it did."""

    def __str__(self) -> str:
        return f"{super().__str__()} It wrote to stderr:\n{(self.stderr or '')[-3000:]}"


def run(command: list[str], *, timeout: float, check: bool = True, **options) -> subprocess.CompletedProcess:
    """`subprocess.run(command, capture_output=True, text=True)` in a process group of its own, ended whole when
    the command ends (its output goes through files, not pipes: a process it left behind would hold a pipe open,
    and reading it to its end would wait for that process)."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, start_new_session=True,
                                   **options)
        try:
            process.wait(timeout)
        finally:
            end_group(process, grace=2)  # nothing is left of a command that ended well; the rest of one that did not
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if check and process.returncode:
        raise CommandFailed(process.returncode, command, out, err)
    return subprocess.CompletedProcess(command, process.returncode, out, err)
