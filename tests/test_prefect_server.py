"""The Prefect server a `radar` command starts is gone when the command ends, even after `kill -9`; one that
cannot start is reported with its cause as soon as its process gives up, not after a timeout."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from radar.flows import server
from radar.flows.server import ServerStartError, prefect_server

# A command that starts a server, prints its process id, then either returns or waits to be killed.
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from radar.flows.server import prefect_server
    with prefect_server(Path(sys.argv[1])) as url:
        import httpx
        assert httpx.get(url + "/health").status_code == 200
        import psutil
        print(next(c.pid for c in psutil.Process().children()), flush=True)
        if sys.argv[2] == "wait":
            time.sleep(600)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie has exited; only its parent has not reaped it yet
        return fh.read().split()[2] != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    return False


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is a Linux feature")
def test_the_server_stops_when_the_command_is_killed(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "prefect"), "wait"],
                              stdout=subprocess.PIPE, text=True, env=_env())
    server_pid = int(holder.stdout.readline())
    assert _alive(server_pid)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert _gone_within(server_pid, 10), "the Prefect server outlived the command that started it"


def test_the_server_stops_when_the_command_ends(tmp_path):
    done = subprocess.run([sys.executable, "-c", HOLDER, str(tmp_path / "prefect"), "return"],
                          capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _gone_within(int(done.stdout), 5)
    assert (tmp_path / "prefect" / "server.log").exists()


def test_a_configured_server_is_used_and_nothing_is_started(tmp_path):
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        with prefect_server(tmp_path / "prefect") as url:
            assert url == "http://127.0.0.1:4200/api"
    assert not (tmp_path / "prefect").exists()


def test_a_slow_start_is_announced_then_given_up_with_its_log(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "SLOW_NOTICE_S", 0)
    notices = []
    with temporary_settings({PREFECT_API_URL: None}):
        with pytest.raises(ServerStartError, match=r"did not start within 0 seconds; its log is .*server\.log"):
            with prefect_server(tmp_path / "prefect", timeout=0.01, on_slow=notices.append):
                pass
    assert len(notices) == 1 and "still starting" in notices[0] and "server.log" in notices[0]


def test_a_server_that_fails_to_start_is_reported_with_its_cause_when_it_exits(tmp_path, monkeypatch):
    """A database Prefect cannot open: the message comes from the exit, not the (here very long) time limit."""
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{tmp_path}/missing/prefect.db")
    with temporary_settings({PREFECT_API_URL: None}), pytest.raises(ServerStartError) as raised:
        with prefect_server(tmp_path / "prefect", timeout=3600):
            pass
    assert "stopped while starting" in str(raised.value) and "unable to open database file" in str(raised.value)
    assert str(tmp_path / "prefect" / "server.log") in str(raised.value)


def test_a_port_in_use_or_a_folder_that_cannot_be_written_is_reported_before_anything_starts(tmp_path):
    with temporary_settings({PREFECT_API_URL: None}), socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerStartError, match=rf"Port {port} on 127.0.0.1 is already in use"):
            with prefect_server(tmp_path / "prefect", serving=True, port=port):
                pass
        assert not (tmp_path / "prefect").exists()
        (tmp_path / "a-file").write_text("not a folder")
        with pytest.raises(ServerStartError, match=r"a-file/prefect cannot be written"):
            with prefect_server(tmp_path / "a-file" / "prefect"):
                pass


def test_a_port_left_in_time_wait_by_a_killed_server_is_free_for_the_next_one():
    """The killed server's side of a connection stays in TIME-WAIT for a minute or more: the check binds as
    uvicorn does (SO_REUSEADDR), so a restart is not refused; a port being listened on still is."""
    from radar.flows.processes import port_free

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server closes first: its side goes to TIME-WAIT
    time.sleep(0.2)
    client.close()
    listener.close()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # what the check did before
    assert port_free(port) == port
    assert server._free_port(port) == port
    with socket.create_server(("127.0.0.1", port)):
        assert port_free(port) is None
