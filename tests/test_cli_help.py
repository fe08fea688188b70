"""Asking for help writes nothing: `radar <command> --help`, for every command, and importing radar.cli leave an
empty folder empty (RADAR_HOME unset, so the default `.radar` would be made there, or pointing inside it)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer.main

from radar.cli import app


def command_paths(command=None, path=()) -> list[tuple[str, ...]]:
    command = command or typer.main.get_command(app)
    found = [path]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found += command_paths(sub, (*path, name))
    return found


COMMANDS = command_paths()


def written(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("radar_home, commands",
                         [(None, COMMANDS), ("home/radar", [("cycle",), ("serve",), ("demo",)])],
                         ids=["every command, RADAR_HOME unset", "RADAR_HOME inside"])
def test_help_and_importing_write_nothing(tmp_path, radar_home, commands):
    assert len(COMMANDS) > 30 and ("cycle",) in COMMANDS and ("benchmarks", "import") in COMMANDS
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADAR_", "PREFECT_"))}
    env |= {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / ".cache"), "PYTHONDONTWRITEBYTECODE": "1"}
    if radar_home:
        env["RADAR_HOME"] = str(tmp_path / radar_home)

    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)

    runs = [["-m", "radar.cli", *path, "--help"] for path in commands] + [["-c", "import radar.cli"]]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, runs))
    for args, result in zip(runs, results):
        assert result.returncode == 0, (args, result.stderr[-2000:])
        assert args[-1] != "--help" or "Usage" in result.stdout, args
    assert written(tmp_path) == []
