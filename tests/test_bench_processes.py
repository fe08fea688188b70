"""A benchmark's commands leave nothing running: what a command started is ended with it, however it ends
(bench/processes.py; a failed serve part once left `radar serve` and two Prefect servers behind)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench import processes

# A command that starts a process of its own (as `radar serve` starts Prefect's server), says its id, and waits.
LEAVES_A_CHILD = [sys.executable, "-c", ("import subprocess, sys, time; "
                  "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
                  "print(child.pid, flush=True); time.sleep(float(sys.argv[1]))")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # reaped by nobody yet, it is a zombie: gone for our purposes
        return stat.read().split()[2] != "Z"


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def test_a_command_that_ends_leaves_nothing_running():
    result = processes.run([*LEAVES_A_CHILD, "0"], timeout=60)
    assert result.returncode == 0
    assert wait_gone(int(result.stdout.split()[0]))


def test_a_command_that_times_out_is_ended_with_what_it_started(tmp_path):
    out = tmp_path / "pid"
    command = ["bash", "-c", f"{subprocess.list2cmdline(LEAVES_A_CHILD)} 300 > {out}"]
    with pytest.raises(subprocess.TimeoutExpired):
        processes.run(command, timeout=5)
    assert wait_gone(int(out.read_text().split()[0]))


def test_a_failed_command_says_so_and_keeps_its_output():
    with pytest.raises(subprocess.CalledProcessError) as failed:
        processes.run([sys.executable, "-c", "import sys; print('why'); sys.exit('because')"], timeout=60)
    assert failed.value.returncode == 1 and failed.value.stdout.strip() == "why"
    assert str(failed.value).endswith("It wrote to stderr:\nbecause\n")  # what CI shows of a failed command
