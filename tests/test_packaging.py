"""Radar stands alone: a copy of the repository with nothing beside it installs (not editable), carries
its public statistics, keeps its import layers and runs the demo from an empty folder.

A user clones Radar alone, so nothing may reach outside the repository (no sibling folder), depend on the
working directory, or live only in an editable install.  The installed copy is built once per session
with pip (`--no-build-isolation`: nothing is downloaded) and every test runs against it, never against
the working tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from feedfiles import PROJECT_ROOT

NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "build", "*.egg-info", ".radar", ".pytest_cache",
                                     "bench")


def _clean_env(site: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with nothing of ours set: no RADAR_* or PREFECT_* left over from other tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADAR_", "PREFECT_"))}
    return env | {"PYTHONPATH": str(site)} | extra


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Path:
    """`pip install .` of a copy of the repository in a folder of its own; returns the install target."""
    repo = tmp_path_factory.mktemp("alone") / "radar"
    shutil.copytree(PROJECT_ROOT, repo, ignore=NOT_SHIPPED)
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(repo)], check=True, capture_output=True)
    return site


def test_the_installed_package_carries_its_data_and_uses_it(installed):
    shipped = {p.name for p in (PROJECT_ROOT / "data" / "dfe").glob("*.csv")}
    assert shipped and {p.name for p in (installed / "radar" / "data" / "dfe").glob("*.csv")} == shipped
    for needed in ("core/catalogue.yaml", "core/alerts.yaml", "core/benchmarks.yaml", "core/partnerships/bromley.toml",
                   "data/README.md", "models/migrations/env.py", "dashboard/app.py"):
        assert (installed / "radar" / needed).is_file(), needed
    probe = ("import radar.models, radar.core.config as c; cfg = c.get_context().config; "
             "print(radar.models.__file__); print(cfg.population_path()); print(cfg.benchmarks_folder())")
    out = subprocess.run([sys.executable, "-c", probe], env=_clean_env(installed), cwd=installed.parent,
                         capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(line).is_relative_to(installed) for line in out), out
    assert all(Path(line).exists() for line in out), out


def _lint_imports(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), str(PROJECT_ROOT / "pyproject.toml")],
                          env=_clean_env(site), cwd=site, capture_output=True, text=True)


def test_the_import_layers_hold(installed):
    result = _lint_imports(installed)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layer_contract_catches_an_import_that_runs_upwards(installed, tmp_path):
    broken = tmp_path / "site"
    shutil.copytree(installed, broken)
    with open(broken / "radar" / "core" / "periods.py", "a", encoding="utf-8") as fh:
        fh.write("\nimport radar.flows  # a ground-floor module reaching up to the orchestration layer\n")
    result = _lint_imports(broken)
    assert result.returncode != 0 and "radar.core.periods -> radar.flows" in result.stdout


def test_the_demo_runs_from_an_empty_folder_with_nothing_beside_the_clone(installed, tmp_path):
    """`radar demo --no-dashboard` and a benchmark import, as a new user would run them."""
    work = tmp_path / "empty"
    work.mkdir()
    env = _clean_env(installed, RADAR_HOME=str(work / "not-yet" / "home"))

    def radar(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "radar.cli", *args], env=env, cwd=work, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        return result

    assert "Computed indicators up to 2020-03" in radar("demo", "--no-dashboard").stderr
    assert "Benchmarks: 0 new, 0 changed, 0 removed" in radar("benchmarks", "import").stderr
    shown = json.loads(radar("benchmarks", "show", "--la", "E09000006", "--year", "2020", "--json").stdout)
    cin = next(row for row in shown if row["indicator"] == "cin_open")
    assert cin["la_value"] == 2419  # Bromley's children in need at 31 March 2020, as the annual report says
    assert json.loads(radar("indicators", "--json", "--indicator", "cpp_open").stdout)
    assert sorted(p.name for p in work.iterdir()) == ["not-yet"]  # everything Radar wrote is under RADAR_HOME


def test_the_demos_data_path_runs_from_an_installed_copy_in_a_deep_folder(installed, tmp_path, store_url):
    """The installed package, moved under a dozen nested folders, loads the demo's feeds, the shipped benchmarks
    and a cycle into the store, SQLite or PostgreSQL: every path and list of sources it keeps is long.

    (Not much deeper: SQLite opens no database whose path is over 512 characters, Prefect's own included.)"""
    deep = tmp_path.joinpath(*(f"nested-folder-{n:02d}-deep" for n in range(12)))
    site = deep / "site-packages"
    shutil.copytree(installed, site, ignore=shutil.ignore_patterns("__pycache__"))
    home = deep / "radar-home"
    env = _clean_env(site, RADAR_HOME=str(home), RADAR_DATABASE_URL=store_url)
    result = subprocess.run([sys.executable, "-m", "radar.cli", "demo", "--no-dashboard", "--end", "2017-05"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Computed indicators up to 2017-05" in result.stderr
    from sqlalchemy import create_engine, text

    from radar.models.engine import normalise_url

    engine = create_engine(normalise_url(store_url))
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from benchmark")).scalar() > 10_000
        sources = conn.execute(text("select distinct source_file from benchmark")).scalars().all()
        paths = conn.execute(text("select archive_path from submission where status = 'accepted'")).scalars().all()
    engine.dispose()
    assert len(sources) == 1 and len(sources[0]) > 255
    assert paths and all(p.startswith(str(home)) and len(p) > 255 for p in paths)
