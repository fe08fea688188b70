"""`radar serve` restarting after it was killed: the runs of Radar's deployments it left running are marked
crashed (flows.service.crash_left_runs), so Prefect stops showing them as running and a cycle's no longer holds
monthly-cycle's concurrency slot; other runs are left as they are.  On the session's Prefect test server."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State, StateType

from bench import serve as service
from radar.flows.deployments import TAG
from radar.flows.processes import dashboard_health, port_free
from radar.flows.service import crash_left_runs


@flow(name="radar-serve-restart-probe")
def probe() -> None:
    """Never run: only its runs' states matter here."""


async def _runs_then_crash() -> tuple[list[str], dict[str, StateType]]:
    radar = [TAG]
    made = {  # name: (tags, state)
        "left-running": (radar, StateType.RUNNING),
        "left-pending": (radar, StateType.PENDING),
        "finished": (radar, StateType.COMPLETED),
        "queued": (radar, StateType.SCHEDULED),
        "a-commands-own": ([], StateType.RUNNING),
    }
    async with get_client() as client:
        ids = {name: (await client.create_flow_run(probe, name=name, tags=tags, state=State(type=state))).id
               for name, (tags, state) in made.items()}
        crashed = await crash_left_runs(client)
        states = {name: (await client.read_flow_run(run_id)).state.type for name, run_id in ids.items()}
    return crashed, states


def test_runs_a_killed_radar_serve_left_running_are_marked_crashed_and_nothing_else(prefect, run_apart):
    crashed, states = run_apart(_runs_then_crash())
    assert sorted(name for name in crashed if name in states) == ["left-pending", "left-running"]
    assert states == {
        "left-running": StateType.CRASHED, "left-pending": StateType.CRASHED, "finished": StateType.COMPLETED,
        "queued": StateType.SCHEDULED, "a-commands-own": StateType.RUNNING,
    }


# Real processes: `radar serve` and `radar dashboard` killed with -9 and -TERM leave no child and start again at
# once on the same ports (issue 20).  Slow (each radar serve start is Prefect's server's), so few.

KILLED_CHILDREN_GONE_S = 15
RESTART_ACCEPTED_S = 5
READY_S = 240


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _all_gone(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """The processes still running (not zombies) after up to `seconds`."""
    _, alive = psutil.wait_procs(processes, timeout=seconds)
    return [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _start(args: list[str], env: dict, out: Path) -> subprocess.Popen:
    with open(out, "w") as log:
        return subprocess.Popen([service.RADAR, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=2).status_code == 200
    return False


def _wait(check, seconds: float, what: str, process: subprocess.Popen, out: Path) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert process.poll() is None, f"{what}: the command stopped: {out.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what} within {seconds} s: {out.read_text()[-3000:]}"
        time.sleep(0.5)


def _kill(process: subprocess.Popen, sig: int) -> float:
    """Send `sig`, wait for the command and for every process it started; the time it took."""
    children = _descendants(process.pid)
    assert children, "nothing was started"
    start = time.monotonic()
    process.send_signal(sig)
    process.wait(60)
    left = _all_gone(children, KILLED_CHILDREN_GONE_S)
    assert not left, f"left running after {signal.Signals(sig).name}: {[p.cmdline() for p in left]}"
    return time.monotonic() - start


@pytest.fixture
def cleanup():
    """Whatever a test started is stopped however it ends (its process group, then anything left of it)."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            children = _descendants(process.pid) if process.poll() is None else []
            os.killpg(process.pid, signal.SIGKILL)
            for child in children:
                child.kill()
        process.wait(30)


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is a Linux feature")
def test_radar_serve_killed_leaves_no_child_and_starts_again_at_once_on_the_same_ports(tmp_path, cleanup):
    """kill -9, then kill -TERM: Prefect's server, the dashboard and any flow run go with radar serve (a
    throw-away Prefect server the inbox thread once started of its own is not there at all), and a new radar
    serve on the same ports is accepted at once (no "Port already in use" for minutes) and answers."""
    home = tmp_path / "home"
    env = service.service_env(home)
    prefect_port, dashboard_port = port_free(0), port_free(0)
    args = ["serve", "--prefect-port", str(prefect_port), "--dashboard-port", str(dashboard_port)]
    health = f"http://127.0.0.1:{prefect_port}/api/health"
    for sig in (signal.SIGKILL, signal.SIGTERM):
        out = tmp_path / f"serve-before-{sig}.out"
        cleanup.append(process := _start(args, env, out))
        _wait(lambda: "Radar is serving" in out.read_text(), READY_S, "radar serve ready", process, out)  # noqa: B023
        assert _answers(health) and _answers(dashboard_health(dashboard_port))
        servers = [p for p in _descendants(process.pid) if "uvicorn" in " ".join(p.cmdline())]
        assert len(servers) == 1, [p.cmdline() for p in servers]  # its own only: no throw-away one
        took = _kill(process, sig)
        assert took < KILLED_CHILDREN_GONE_S
        deadline = time.monotonic() + RESTART_ACCEPTED_S
        while port_free(prefect_port) is None or port_free(dashboard_port) is None:
            assert time.monotonic() < deadline, "a port is still refused after the kill"
            time.sleep(0.2)
    again = tmp_path / "serve-after.out"
    cleanup.append(process := _start(args, env, again))
    _wait(lambda: "Radar is serving" in again.read_text(), READY_S, "radar serve ready again", process, again)
    assert _answers(health) and _answers(dashboard_health(dashboard_port))
    assert "already in use" not in again.read_text()
    _kill(process, signal.SIGINT)


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is a Linux feature")
def test_radar_dashboard_killed_leaves_no_streamlit_and_starts_again_at_once(tmp_path, cleanup):
    env = service.service_env(tmp_path / "home") | {"RADAR_DEV_MODE": "1"}
    port = port_free(0)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        out = tmp_path / f"dashboard-{sig}.out"
        start = time.monotonic()
        cleanup.append(process := _start(["dashboard", "--port", str(port)], env, out))
        _wait(lambda: _answers(dashboard_health(port)), READY_S, "the dashboard", process, out)
        assert sig == signal.SIGTERM or time.monotonic() - start < 60  # the restart is not refused
        _kill(process, sig)
        assert port_free(port) is not None  # free at once for the next start
    assert "is not available" not in out.read_text()
    assert not library_lines(out.read_text()), out.read_text()


def library_lines(output: str) -> list[str]:
    """What a library printed to the person running Radar: a warning, or a log record of its own (a line led by
    a timestamp, as Streamlit's "2026-12-06 13:42:10.678 Uvicorn server started on localhost:8501")."""
    return [line for line in output.splitlines()
            if "Warning" in line or "warning:" in line.lower() or re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", line)]


def test_radar_serve_stops_with_a_message_when_its_dashboard_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([service.RADAR, "serve", "--prefect-port", "0", "--dashboard-port", str(port)],
                              env=service.service_env(tmp_path / "home"), capture_output=True, text=True,
                              timeout=120, check=False)
    assert done.returncode == 1 and f"Port {port} is already in use" in done.stdout + done.stderr
    assert "Radar is serving" not in done.stdout
    assert not (tmp_path / "home" / "prefect" / "server.log").exists()  # stopped before starting anything


# Prefect's runner starts a flow run's process itself (multiprocessing's spawn, or `python -m prefect.engine`):
# the run asks for the parent-death signal when it imports radar.flows, as here.
SPAWNER = """
import multiprocessing, os, sys, time
from pathlib import Path

def flow_run(ready):
    import radar.flows  # what a flow run's process imports first
    Path(ready).write_text(str(os.getpid()))
    time.sleep(600)

if __name__ == "__main__":
    os.environ["RADAR_SERVE_PID"] = str(os.getpid())  # as radar serve sets it for its runner
    multiprocessing.get_context("spawn").Process(target=flow_run, args=(sys.argv[1],)).start()
    time.sleep(600)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is a Linux feature")
def test_a_flow_run_process_of_radar_serve_stops_when_radar_serve_is_killed(tmp_path):
    (tmp_path / "spawner.py").write_text(SPAWNER)
    ready = tmp_path / "ready"
    parent = subprocess.Popen([sys.executable, str(tmp_path / "spawner.py"), str(ready)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() or not ready.read_text():
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.2)
        run = psutil.Process(int(ready.read_text()))
        parent.kill()
        parent.wait()
        assert not _all_gone([run], 10), "the flow run's process outlived radar serve"
    finally:
        with contextlib.suppress(ProcessLookupError):
            parent.kill()
