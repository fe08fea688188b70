"""The Prefect server a `radar` command runs its flows against, and the guarantee that it goes away.

Prefect starts a throw-away ("ephemeral") server by itself when no API URL is
set, but it is an ordinary child process: when the command that started it is
killed (`kill -9`, a crash, a closed terminal) it keeps running with no
parent, holding a port and Prefect's database.  So Radar starts that server
itself, with the same command Prefect would use, and asks the kernel to stop
it when Radar dies (Linux `PR_SET_PDEATHSIG`); a normal exit stops it too.
When a server is already configured (`PREFECT_API_URL`, a deployment, the
test harness) Radar uses it and starts nothing.

A server that cannot start is reported within `STARTUP_TIMEOUT_S` with the
path of its log, instead of a Prefect error minutes later.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import prefect
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

STARTUP_TIMEOUT_S = 60  # the first start creates Prefect's database (about 15 s on a laptop)
PR_SET_PDEATHSIG = 1


class ServerStartError(RuntimeError):
    """Prefect's server did not answer in time; the message says where its log is."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGTERM when its parent dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"Prefect's server stopped while starting (exit code {process.returncode}); "
                                   f"its log is {log}.")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.25)
    raise ServerStartError(f"Prefect's server did not start within {timeout:.0f} seconds; its log is {log}. "
                           "Check that RADAR_HOME is on a writable disk with free space.")


@contextlib.contextmanager
def prefect_server(prefect_home: Path, timeout: float = STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Yield the API URL of a running Prefect server: the configured one, or one started for this command."""
    configured = get_current_settings().api.url
    if configured:
        yield configured
        return
    prefect_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log = prefect_home / "server.log"
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "error", "--lifespan", "on"],
            env={**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_UI_ENABLED": "0",
                 "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
            stdout=log_file, stderr=log_file, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    try:
        _wait_until_healthy(url, process, log, timeout)
        with temporary_settings({PREFECT_API_URL: url}):
            yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
