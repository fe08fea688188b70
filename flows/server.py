"""The Prefect server a `radar` command runs its flows against, and the guarantee that it goes away.

Prefect starts a throw-away ("ephemeral") server by itself when no API URL is
set, but it is an ordinary child process: when the command that started it is
killed (`kill -9`, a crash, a closed terminal) it keeps running with no
parent, holding a port and Prefect's database.  So Radar starts that server
itself, with the same command Prefect would use, and asks the kernel to stop
it when Radar dies (Linux `PR_SET_PDEATHSIG`); a normal exit stops it too.
When a server is already configured (`PREFECT_API_URL`, a deployment, the
test harness) Radar uses it and starts nothing.  `radar serve` records its
server's address in Prefect's folder under RADAR_HOME (`SERVED_URL`) while it
runs, and every other command attaches to that server while it answers, so a
one-file ingest does not wait for a server of its own to start.

A server that cannot start is reported as soon as its process exits (a bad
database URL, an unwritable folder: some 15 seconds, the time its imports
take), with the error its log ends with and the log's path; a port already
in use is reported before anything starts.  A start that neither answers
nor fails is said to be slow after `SLOW_NOTICE_S` and given up only after
`STARTUP_TIMEOUT_S`, so a healthy but slow first start on a busy machine is
not mistaken for a failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import prefect
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from radar.flows.processes import port_free, start_child, stop_child

SERVED_URL = "served-api-url"  # in Prefect's folder: the address of the server `radar serve` runs
# The first start creates Prefect's database: about 15 s on a laptop, over 70 s on a 2-core machine at a load
# average of 20 (60 s, the limit before, cut such starts short).  A failing start exits well before this and is
# reported then; the limit is for one that hangs, which the operator is told about after SLOW_NOTICE_S.
STARTUP_TIMEOUT_S = 180
SLOW_NOTICE_S = 30
ERROR_LINE = re.compile(r"^[\w.]*(Error|Exception)\b.*|.*\[Errno \d+\].*")  # "sqlalchemy.exc.OperationalError: ..."


class ServerStartError(RuntimeError):
    """Prefect's server did not answer in time; the message says where its log is."""


def _free_port(port: int = 0) -> int:
    """`port` if nothing listens on it (0: any free one); checked before the server starts, because a server
    that cannot bind fails only after its imports, and another server answering there would be taken for it.
    Checked as uvicorn binds (`SO_REUSEADDR`): the connections of a server killed a moment ago, in TIME-WAIT,
    refused a restart for minutes although uvicorn could bind (flows/processes.py)."""
    free = port_free(port)
    if free is None:
        raise ServerStartError(f"Port {port} on 127.0.0.1 is already in use (another radar serve or Prefect "
                               "server?); choose another with --prefect-port.")
    return free


def _healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    return False


def _flush_prefect_workers() -> None:
    """Send Prefect's queued logs and events before its server stops: left for exit, they were retried
    against a server that had gone, for minutes, before the command could end.

    From a thread of its own: where an event loop runs in the caller's thread (a test beside a browser
    driver), `drain_all` hands back a coroutine instead of waiting, and nothing was sent."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with ThreadPoolExecutor(1) as thread:
        for worker in (APILogWorker, EventsWorker):
            thread.submit(worker.drain_all, 10).result()


def configured_server() -> str | None:
    """The Prefect server `PREFECT_API_URL` (or the active profile) names, if any: Radar then uses it as it is
    and starts none of its own."""
    return get_current_settings().api.url


def served_url(prefect_home: Path) -> str | None:
    """The address `radar serve` recorded, when its server still answers (a killed one leaves a stale file)."""
    try:
        url = (prefect_home / SERVED_URL).read_text().strip()
    except OSError:  # none recorded, or no folder to record it in (reported when a server is started there)
        return None
    return url if url and _healthy(url) else None


def _record(prefect_home: Path, url: str) -> None:
    """Write the address atomically, so a command starting meanwhile reads all of it or none."""
    staging = prefect_home / f".{SERVED_URL}.{os.getpid()}"
    staging.write_text(url)
    staging.replace(prefect_home / SERVED_URL)


def _forget(prefect_home: Path, url: str) -> None:
    """Remove the record, unless another `radar serve` has replaced it with its own."""
    with contextlib.suppress(FileNotFoundError):
        if (prefect_home / SERVED_URL).read_text().strip() == url:
            (prefect_home / SERVED_URL).unlink()


def _cause(log: Path, start: int) -> str:
    """The error this start's part of the log ends with (the last exception or errno line), or ''."""
    with open(log, "rb") as lines:
        lines.seek(start)
        found = [line.strip() for line in lines.read().decode(errors="replace").splitlines()
                 if ERROR_LINE.match(line.strip())]
    return f": {found[-1]}" if found else ""


def _to_stderr(notice: str) -> None:
    print(notice, file=sys.stderr, flush=True)  # stdout is the command's output (JSON, a table)


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path, log_start: int, timeout: float,
                        on_slow: Callable[[str], None]) -> None:
    start = time.monotonic()
    slow = start + SLOW_NOTICE_S
    while time.monotonic() < start + timeout:
        if process.poll() is not None:
            raise ServerStartError(f"Prefect's server stopped while starting (exit code {process.returncode})"
                                   f"{_cause(log, log_start)}. Its log is {log}.")
        if _healthy(url):
            return
        if time.monotonic() >= slow:
            on_slow(f"Prefect's server is still starting after {SLOW_NOTICE_S} seconds (a busy machine?); waiting "
                    f"up to {timeout:.0f} seconds in all. Its log is {log}.")
            slow = float("inf")
        time.sleep(0.25)
    raise ServerStartError(f"Prefect's server did not start within {timeout:.0f} seconds; its log is {log}. "
                           "Check that RADAR_HOME is on a writable disk with free space.")


@contextlib.contextmanager
def prefect_server(prefect_home: Path, timeout: float = STARTUP_TIMEOUT_S, serving: bool = False,
                   port: int | None = None, on_slow: Callable[[str], None] = _to_stderr) -> Iterator[str]:
    """Yield the API URL of a running Prefect server: the configured one, the one `radar serve` runs, or
    one started for this command.

    `serving` is `radar serve`'s own start: with Prefect's UI, and its address
    recorded for the other commands until it stops.  `on_slow` is told once
    when a start is taking longer than `SLOW_NOTICE_S`.
    """
    configured = configured_server()
    if configured:
        yield configured
        return
    attached = None if serving else served_url(prefect_home)
    if attached:
        with temporary_settings({PREFECT_API_URL: attached}):
            yield attached
        return
    port = _free_port(port or 0)
    url = f"http://127.0.0.1:{port}/api"
    log = prefect_home / "server.log"
    try:
        prefect_home.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_file = open(log, "ab")  # noqa: SIM115 - the server's stdout for as long as it runs; closed in finally
    except OSError as error:
        raise ServerStartError(f"Prefect's folder {prefect_home} cannot be written ({error.strerror}); set "
                               "RADAR_HOME to a folder Radar may write to.") from None
    with log_file:
        log_start = log_file.tell()
        process = start_child(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "error", "--lifespan", "on"],
            env={**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_UI_ENABLED": "1" if serving else "0",
                 "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
            stdout=log_file, stderr=log_file,
        )
    try:
        _wait_until_healthy(url, process, log, log_start, timeout, on_slow)
        if serving:
            _record(prefect_home, url)
        with temporary_settings({PREFECT_API_URL: url}):
            yield url
    finally:
        if serving:
            _forget(prefect_home, url)
        _flush_prefect_workers()
        stop_child(process)
