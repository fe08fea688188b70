"""Shared fixtures: a fresh store on SQLite and, when a server is configured, on PostgreSQL.

CI sets RADAR_TEST_DATABASE_URL to the local PostgreSQL; every test that asks
for `store_url` then runs twice, once per database, each time on a brand-new
database so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from radar.models.engine import normalise_url

# Before anything imports Prefect (it reads its settings then): the test server sends no telemetry, as
# `radar` commands' do not (radar.cli); CI has no internet to send it to.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
PG_URL = os.environ.get("RADAR_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="RADAR_TEST_DATABASE_URL not set"))]


def _fresh_postgres_database():
    server = make_url(normalise_url(PG_URL))
    name = f"radar_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """A URL for an empty database (the schema is created by whoever opens it first)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'radar.db'}"
        return
    admin, name, url = _fresh_postgres_database()
    yield url
    from radar.models.engine import dispose_engines

    dispose_engines()  # release pooled connections before dropping the database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def prefect():
    """One temporary Prefect server for every test that runs flows in-process (it takes ~12 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def run_apart():
    """`asyncio.run`, in a thread of its own: the browser tests' session fixture (Playwright's sync API) leaves
    an event loop running in the main thread for the rest of the session, and there asyncio.run refuses to start."""
    def run(coroutine):
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, coroutine).result()
    return run


@pytest.fixture(scope="session")
def catalogue():
    from radar.core.catalogue import load_catalogue

    return load_catalogue()


@pytest.fixture
def radar_store(tmp_path, store_url, monkeypatch):
    """What a command reads: RADAR_HOME in a fresh folder and RADAR_DATABASE_URL on a fresh store (its URL)."""
    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    return store_url


@pytest.fixture
def register_store(radar_store):
    """radar_store with the partnership's risk register and Impact Log loaded from its files, as the monthly
    cycle's first step loads them (reads never do)."""
    from datetime import date

    from radar.actions.register import seed_register
    from radar.core.config import get_context
    from radar.models.engine import get_engine

    seed_register(get_engine(radar_store), get_context(), date.today())
    return radar_store


@pytest.fixture
def home(radar_store, tmp_path):
    """RADAR_HOME with its inbox, on a fresh store: where deliveries land (the folder itself)."""
    inbox = tmp_path / "home" / "inbox"
    inbox.mkdir(parents=True)
    return inbox.parent
