"""The command line as a package (radar/cli/): every command answers `--help` both as `radar …` and as
`python -m radar.cli …`, and a command that only reads the store imports neither Prefect nor the flows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import typer

from radar.cli import app

RADAR = str(Path(sys.executable).with_name("radar"))  # the [project.scripts] entry point, radar.cli:app


def _commands(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of a click group: ("alerts",), ("alerts", "ack"), ..."""
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if hasattr(command, "commands"):
            found.extend(_commands(command, (*prefix, name)))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_command_list_is_whole():
    names = {c[0] for c in COMMANDS}
    assert {"catalog", "synth", "docs", "ingest", "cycle", "indicators", "submissions", "alerts", "benchmarks",
            "spc", "risks", "impact", "sta", "report", "notify", "outbox", "serve", "watch", "dashboard",
            "demo"} <= names
    assert {("alerts", "ack"), ("risks", "decide"), ("impact", "update"), ("submissions", "withdraw"),
            ("spc", "rebase"), ("benchmarks", "import")} <= set(COMMANDS)


@pytest.mark.parametrize("way", [[RADAR], [sys.executable, "-m", "radar.cli"]], ids=["radar", "python -m radar.cli"])
def test_every_command_answers_help_both_ways(way, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADAR_", "PREFECT_"))}
    env |= {"RADAR_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    for command in COMMANDS:
        result = subprocess.run([*way, *command, "--help"], check=False, env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, (command, result.stdout + result.stderr)
        assert f"Usage: radar {' '.join(command)}" in " ".join(result.stdout.split()), (command, result.stdout)


PROBE = """
import json, sys
from radar.cli import app
try:
    app(args=sys.argv[1:], prog_name="radar")
except SystemExit as end:
    code = end.code
heavy = HEAVY | ({"rich"} if "--json" in sys.argv else set())  # rich draws the tables JSON does without
loaded = sorted(m for m in sys.modules
                if m.split(".")[0] in heavy or m.startswith(("radar.flows", "radar.dashboard")))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""

# What a read-only command must not import: Prefect and the flows, and what only drawing, rendering, validating
# files or migrating needs.
READ_HEAVY = {"prefect", "streamlit", "altair", "vl_convert", "jinja2", "typst", "pandera", "alembic"}


def probe(heavy: set[str]) -> str:
    return PROBE.replace("HEAVY", f"set({sorted(heavy)!r})")


READ_ONLY = [
    ["alerts", "--json"], ["alerts", "--status", "all"], ["sta", "--period", "2020-03", "--json"],
    ["risks", "list", "--json"], ["risks", "show", "R01", "--json"], ["impact", "list", "--json"],
    ["indicators", "--json"], ["submissions", "--json"], ["outbox", "--json"], ["catalog", "--json"],
]


@pytest.fixture
def small_store(register_store):
    """A store with its register seeded and one Impact Log entry added, as a person would."""
    from radar.actions.register import add_impact_entry
    from radar.core.config import get_context
    from radar.models.engine import get_engine

    ctx = get_context()
    add_impact_entry(get_engine(register_store), ctx, subgroup="pci", challenge="Why so many re-referrals?",
                     action="Audit of 20 cases", owner="Head of MASH", on=date(2020, 3, 2), status="open",
                     evidence="", by="test")
    return register_store


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_command_imports_no_prefect_and_no_flows(small_store, command):
    result = subprocess.run([sys.executable, "-c", probe(READ_HEAVY), *command], check=False, capture_output=True,
                            text=True, timeout=120, env=os.environ | {"COLUMNS": "200"})
    outcome = json.loads(result.stderr.strip().splitlines()[-1])
    assert outcome["code"] in (0, None), result.stderr
    assert outcome["loaded"] == [], outcome["loaded"]
    if "--json" in command:
        assert json.loads(result.stdout) is not None


# The store modules each read-only command may load (radar.models.X): the entities it reads and what every read
# shares (the engine, frames, the audit trail), never the tables of all (radar.models.tables).
SHARED = {"engine", "bulk", "audit"}
REGISTER_READ = SHARED | {"register", "alerts"}
STORE_MODULES = {
    "alerts": SHARED | {"alerts"}, "risks": REGISTER_READ, "impact": REGISTER_READ,
    "indicators": SHARED | {"indicators", "charts"}, "submissions": SHARED | {"submissions"},
    "outbox": SHARED | {"outbox", "alerts"}, "catalog": set(),
    "sta": REGISTER_READ | {"submissions", "indicators", "charts", "benchmarks", "threat_sources"},
}
STORE_PROBE = """
import json, sys
from radar.cli import app
try:
    app(args=sys.argv[1:], prog_name="radar")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("radar.models.")
                        or m in ("sqlalchemy.ext.asyncio", "sqlalchemy.dialects.postgresql"))), file=sys.stderr)
"""


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_command_loads_only_the_store_modules_it_reads(small_store, command):
    """A command pays for the tables it reads (each SQLModel table builds a pydantic model as it is imported), and
    on SQLite not for SQLAlchemy's PostgreSQL dialect, nor its asyncio extension (which polars' database reader
    imports)."""
    result = subprocess.run([sys.executable, "-c", STORE_PROBE, *command], check=False, capture_output=True,
                            text=True, timeout=120, env=os.environ | {"COLUMNS": "200"})
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert {m.removeprefix("radar.models.") for m in loaded if m.startswith("radar.")} <= STORE_MODULES[command[0]]
    assert "sqlalchemy.ext.asyncio" not in loaded
    if small_store.startswith("sqlite"):
        assert "sqlalchemy.dialects.postgresql" not in loaded


def test_radar_help_answers_on_typer_alone(tmp_path):
    """`radar --help` loads no store, config or rich help: it answered in less time than Python took to import
    polars and SQLAlchemy (bench/cli.py's cli_help_vs_floor)."""
    heavy = READ_HEAVY | {"rich", "pydantic", "yaml", "polars", "sqlalchemy", "sqlmodel"}
    result = subprocess.run([sys.executable, "-c", probe(heavy), "--help"], check=False, capture_output=True,
                            text=True, timeout=120, env=os.environ | {"RADAR_HOME": str(tmp_path)})
    outcome = json.loads(result.stderr.strip().splitlines()[-1])
    assert outcome["code"] in (0, None), result.stderr
    assert "Usage: radar [OPTIONS] COMMAND" in result.stdout
    assert outcome["loaded"] == [], outcome["loaded"]


def test_the_actions_floor_imports_neither_prefect_nor_streamlit():
    """The command line, the dashboard and the flows all call it: it must not bring either with it."""
    probe = ("import sys, radar.actions.alerts, radar.actions.board_pack, radar.actions.charts, "
             "radar.actions.register, radar.actions.submissions; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'streamlit'}))")
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]"


def test_neither_the_dashboard_nor_the_command_line_writes_the_store():
    """Their changes are the actions floor's: no transaction and no insert, update or delete of their own."""
    import re

    from feedfiles import PROJECT_ROOT

    write = re.compile(r"(?<![\w.])(insert|update|delete)\(|\.begin\(")
    found = [f"{path.relative_to(PROJECT_ROOT)}:{n}: {line.strip()}"
             for folder in ("dashboard", "radar/cli") for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if write.search(line)]
    assert found == []
