"""Child processes that never outlive the `radar` command that started them, and ports checked as the
servers themselves bind them.

Every child Radar starts (Prefect's server, the Streamlit dashboard, the
flow runs of `radar serve`'s runner) is asked to die with its parent: the
kernel sends it SIGTERM when the parent dies, even by `kill -9`
(`PR_SET_PDEATHSIG`, Linux).  A parent that dies between the fork and that
request is caught by comparing the parent's id afterwards.  A parent stopped
by SIGTERM or SIGHUP (a service manager, a closed terminal) also stops its
child itself and waits for it, so its port is free when the command has
ended.

A port is checked with `SO_REUSEADDR`, as uvicorn and Streamlit (Tornado)
bind theirs: a server killed a moment ago leaves its connections in
TIME-WAIT for a minute or more, which refused a restart without the option
although the server itself could bind; a port some process listens on is
still refused.
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
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
SERVE_PID = "RADAR_SERVE_PID"  # set by `radar serve` for its runner's flow-run processes (flows/__init__.py)
STOP_WAIT_S = 10
DASHBOARD_START_S = 120  # Streamlit answers within seconds; a loaded 2-core machine is slower


def port_free(port: int, host: str = "127.0.0.1") -> int | None:
    """`port` (0: any free one) when a server could bind it now, else None.  With `SO_REUSEADDR`, as the
    servers bind: a port held only by closed connections (TIME-WAIT) is free, one being listened on is not."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return None
        return sock.getsockname()[1]


def _prctl_deathsig(sig: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, sig)


def die_with_parent_of(parent: int) -> Callable[[], None]:
    """A `preexec_fn`: the child asks for SIGTERM when its parent dies, and stops at once if `parent` died
    before it could ask (it was then already adopted by another process)."""
    def preexec() -> None:
        _prctl_deathsig(signal.SIGTERM)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
    return preexec


def die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGTERM when its parent dies (Linux only)."""
    _prctl_deathsig(signal.SIGTERM)


def die_with_serve() -> None:
    """In a flow-run process `radar serve`'s runner started (it sets `SERVE_PID`): ask for SIGTERM when
    radar serve dies, or stop now if it already has.  Prefect starts these processes itself, so this runs
    when the flow's module is imported, not before exec.  The variable is removed, so a process this one
    starts in turn is left alone."""
    expected = os.environ.pop(SERVE_PID, None)
    if sys.platform != "linux" or not expected or not expected.isdigit():
        return
    if os.getppid() == int(expected):
        _prctl_deathsig(signal.SIGTERM)
        if os.getppid() == int(expected):
            return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(int(expected), 0)
        return  # radar serve runs, but is not this process's parent: not one of its runs
    os.kill(os.getpid(), signal.SIGTERM)  # radar serve died while this process was starting


def start_child(command: list[str], **popen) -> subprocess.Popen:
    """Start `command` so that it dies with this process (see the module's docstring)."""
    preexec = die_with_parent_of(os.getpid()) if sys.platform == "linux" else None
    return subprocess.Popen(command, preexec_fn=preexec, **popen)


def stop_child(process: subprocess.Popen, wait_s: float = STOP_WAIT_S) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `wait_s`; always reaped."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def stop_on_signals(signals=(signal.SIGTERM, signal.SIGHUP)):
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt while the block runs (the main thread only), so the
    `finally` blocks that stop children run: Python's default for SIGTERM ends the process at once."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_child(command: list[str], **popen) -> int:
    """Run `command` in the foreground until it ends; this process's SIGTERM, SIGHUP or Ctrl+C stops it
    first (and `kill -9` of this process stops it through the kernel).  Returns its exit code."""
    process = start_child(command, **popen)
    try:
        with stop_on_signals():
            return process.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        stop_child(process)


def wait_until_answers(url: str, process: subprocess.Popen, timeout: float) -> bool:
    """True once `url` answers 200; False as soon as `process` has exited or after `timeout`."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        time.sleep(0.25)
    return False


def dashboard_health(port: int) -> str:
    """The address that answers 200 once Streamlit serves (its own health check)."""
    return f"http://127.0.0.1:{port}/_stcore/health"


def port_taken_message(port: int, what: str, option: str) -> str:
    return (f"Port {port} is already in use (another radar {what}, or another program?), so the {what} cannot "
            f"start; stop that one or choose another port with {option}.")
