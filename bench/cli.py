"""`cli_read_vs_floor` and `cli_help_vs_floor`: how long a command that only reads the store takes to answer,
against the floor of any Python program that reads it (`python -c "import polars, sqlalchemy"`).

The store is the demo's (`radar demo --no-dashboard`: three years of the sample partnership, ingested, the
DfE benchmarks imported and the cycle run).  Each read-only command is run as a person runs it, through the
installed `radar` entry point, RUNS times; its time is the median of its runs, and `cli_read_vs_floor` is the
median over the commands ÷ the floor's median, measured in the same run, interleaved with the commands so a
busy machine weighs on both alike.  `cli_help_vs_floor` is `radar --help` ÷ the same floor.  The aims are
≤ 2 and ≤ 1.  Each command's own time is printed, to say where the time goes (`python -X importtime -m
radar.cli <command>` says which imports).

`python -m bench.cli [RADAR_HOME [RUNS]]` runs it alone (on that home's store if it has one, else a new demo).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import processes

RADAR = str(Path(sys.executable).with_name("radar"))  # the command installed beside this Python
FLOOR = [sys.executable, "-c", "import polars, sqlalchemy"]
READ_ONLY = [
    ["alerts", "--json"], ["sta", "--period", "2020-03", "--json"], ["risks", "list", "--json"],
    ["risks", "show", "R01", "--json"], ["impact", "list", "--json"], ["indicators", "--json"],
    ["submissions", "--json"], ["outbox", "--json"], ["catalog", "--json"],
]
RUNS = 5


def build_store(home: Path, env: dict) -> None:
    """The demo's store, as a new user makes it (the demo's Prefect server stops when the command ends)."""
    processes.run([RADAR, "demo", "--no-dashboard"], env=env, timeout=3600)


def seconds(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    processes.run(command, env=env, timeout=300)
    return time.perf_counter() - start


def run(home: Path | None = None, runs: int = RUNS) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="radar-bench-cli-") as scratch:
        home = home or Path(scratch)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RADAR_", "PREFECT_"))}
        env |= {"RADAR_HOME": str(home)}
        if not (home / "radar.db").exists():
            build_store(home, env)
        commands = {" ".join(c): [RADAR, *c] for c in READ_ONLY} | {"--help": [RADAR, "--help"], "floor": FLOOR}
        for command in commands.values():  # once each first: the files in the page cache, as for a second use
            seconds(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                times[name].append(seconds(command, env))
    median = {name: statistics.median(runs) for name, runs in times.items()}
    floor = median.pop("floor")
    helped = median.pop("--help")
    for name, value in sorted(median.items(), key=lambda item: -item[1]):
        print(f"  radar {name}: {value:.2f}s ({value / floor:.1f}× the floor)")
    print(f"radar --help {helped:.2f}s; python -c 'import polars, sqlalchemy' {floor:.2f}s")
    read = statistics.median(median.values())
    return {"cli_read_vs_floor": read / floor, "cli_help_vs_floor": helped / floor, "cli_read_s": read,
            "cli_help_s": helped, "cli_floor_s": floor}


if __name__ == "__main__":
    from bench.results import record

    figures = run(Path(sys.argv[1]) if len(sys.argv) > 1 else None, *(int(n) for n in sys.argv[2:3]))
    print(figures)
    record(**figures)
