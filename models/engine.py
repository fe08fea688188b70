"""Engine creation and schema upgrade.

SQLite is the embedded default (WAL journal so the dashboard can read while a
flow writes; foreign keys enforced on every connection).  Any SQLAlchemy URL
works through RADAR_DATABASE_URL; a plain `postgresql://` URL is given the
psycopg 3 driver.  The schema is always brought to the latest Alembic revision
on start, so a deployment never runs against a stale store.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import sqlite3
import threading
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x52414441  # "RADA": the advisory lock id of schema upgrades
BUSY_TIMEOUT_S = 30


def normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")  # first: switching a new file to WAL waits too
    to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def to_wal(cursor: sqlite3.Cursor, pause_s: float = 0.05) -> None:
    """Switch the database to write-ahead logging (kept in the file: it is done once per store).

    On a new file, while other connections open it too (three commands started
    together on a new store), SQLite can refuse the switch at once, without
    waiting its busy timeout: one such start in seven failed with "database is
    locked" on a loaded machine.  So a refused switch is asked again, for as
    long as the busy timeout; any other error is raised as it is.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(pause_s)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on a file beside an SQLite database, held until the caller's transaction has committed."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_head_lock = threading.Lock()


def head_revision() -> str | None:
    """The latest migration, worked out once per process (`_head_revision`); the lock because CPython 3.11's
    `ast.parse` is not safe in two threads at once (an inbox thread and a flow once met in it)."""
    with _head_lock:
        return _head_revision()


@cache
def _head_revision() -> str | None:
    """The latest migration: the revision no other migration revises (None if the history has branches).

    Read from the migration files' `revision` and `down_revision` lines, without
    Alembic: importing it and loading its scripts took a tenth of a second
    of every command, to find a store that was already up to date.
    """
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            name = target.id if isinstance(target, ast.Name) else None
            if name == "revision":
                revisions.add(ast.literal_eval(node.value))
            elif name == "down_revision" and (down := ast.literal_eval(node.value)):
                revised.update(down if isinstance(down, tuple) else [down])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _current(engine: Engine) -> bool:
    """Whether the store is already at the latest migration (the common case: every command checks)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return stored == [head_revision()]


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent, and safe when several processes start at once).

    One process at a time upgrades; the others wait, then find the schema
    current (two commands started together on a new store would otherwise
    both create the tables, and one would fail).  PostgreSQL: an advisory lock
    released with the transaction's commit.  SQLite: a lock on a file beside
    the database, released only after the commit.  A store already current
    is only read (`_current`).
    """
    if _current(engine):
        return
    from alembic import command

    with _sqlite_file_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str) -> Engine:
    """One upgraded engine per database URL for the life of the process (threads share it)."""
    with _engines_lock:
        if url not in _engines:
            engine = make_engine(url)
            upgrade(engine)
            _engines[url] = engine
        return _engines[url]


def dispose_engines() -> None:
    """Close every engine's pooled connections and forget it (tests drop their databases after this)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
