"""deploy/'s stack without containers, driven end to end, and the reliability drills of issue 10 on it.

One module-scoped stack, as deploy/README.md ("Running the stack without
containers") tells an operator to start it: PostgreSQL on loopback (one
database for Radar's store, one for Prefect's own), `prefect server start`, a
`process` work pool, the deployments of deploy/prefect.yaml (its two
container paths set to this machine's), two `prefect worker start` and
`radar watch`, each an ordinary process; mail goes to a local SMTP server that
keeps what it receives.  The store is seeded with a year of synthetic feeds
(2019-04 to 2020-03) and its cycle, through the same server.

The drills stop a flow run at a known point without any hook in Radar's code:
the test holds a PostgreSQL table lock the run's transaction needs (the audit
table, written last in an ingest's transaction; the cycle mark, written last
in the cycle's signals transaction), waits until the run's query is seen
waiting for it, then `kill -9`s the worker running it and the flow-run process
it started (as when their machine or container dies).  Prefect first shows the
run as still running; its heartbeats have stopped, and deploy/automations.yaml
marks it crashed four missed beats later (the cycle drill waits for that; the
ingest drill marks it crashed at once, as an operator may).  A worker is
started again; the file the dead ingest left in the inbox is taken by the
safety net (`ingest-files`, run at once instead of at its next quarter hour),
the dead cycle is retried (`prefect flow-run retry`), and the store, the
alerts and the mail must come out as if nothing had happened.

Skipped when RADAR_TEST_DATABASE_URL is not set or no PostgreSQL answers there.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from email import message_from_bytes
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bench.serve import INDICATOR, PERIOD, corrected
from radar.models.engine import normalise_url

PG_URL = os.environ.get("RADAR_TEST_DATABASE_URL")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's commands: prefect, radar
FEED_FILE = f"yos_monthly__{PERIOD}.csv"
SPC_ALERT = f"spc_outside_limits|{INDICATOR}||E09000006"  # Bromley's
KEY_HEADER = "X-Radar-Message-Key"
START_TIMEOUT_S = 180
RUN_TIMEOUT_S = 240  # a flow run starts a Python process: seconds, or tens of seconds on a loaded 2-core machine
HEARTBEAT_S = "30"
BURST = 50
WORKER_LIMIT = 4  # flow runs at once per worker, as deploy/ sets: each is a Python process of ~300 MB
# Written by the cycle's signals stage, in one transaction that ends with the cycle mark (flows/signals.py).
SIGNAL_TABLES = ("spc_point", "spc_segment", "series_status", "positive_signal", "alert", "cycle_mark",
                 "cycle_mark_frame")


def _reachable(url: str | None) -> bool:
    if not url:
        return False
    try:
        engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except SQLAlchemyError:
        return False


pytestmark = pytest.mark.skipif(not _reachable(PG_URL), reason="no PostgreSQL server at RADAR_TEST_DATABASE_URL")


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.5):
    """Poll `check` until it returns something truthy, which is returned; else fail saying what did not happen.

    A Prefect API call that times out counts as "not yet": while a burst's flow-run processes start, the
    server can be too busy to answer one call in time (seen once on this 2-core machine), which says
    nothing about the runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except httpx.TimeoutException:
            found = None
        if found:
            return found
        time.sleep(every)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} seconds")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def databases(*roles: str) -> Iterator[dict[str, str]]:
    """A fresh database per role on the test server (`CREATE DATABASE`), dropped at the end: role -> URL."""
    server = make_url(normalise_url(PG_URL))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    names = {role: f"radar_stack_{role}_{uuid.uuid4().hex[:8]}" for role in roles}
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield {role: server.set(database=name).render_as_string(hide_password=False) for role, name in names.items()}
    finally:
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Mailbox:
    """A local SMTP server (aiosmtpd) keeping every message it receives: what Radar really sent."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        received = self.received = []

        class Keep:
            async def handle_DATA(self, server, session, envelope):
                key = message_from_bytes(envelope.original_content or envelope.content)[KEY_HEADER]
                received.extend((key, to) for to in envelope.rcpt_tos)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Keep(), hostname="127.0.0.1", port=self.port)

    def deliveries(self) -> collections.Counter:
        """How many times each message (its key) reached each recipient."""
        return collections.Counter(list(self.received))

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class Stack:
    """The running stack: its environment, Prefect's API, the store, and the processes the test started."""

    def __init__(self, root: Path, env: dict, store_url: str, mailbox: Mailbox):
        self.root, self.env, self.mailbox = root, env, mailbox
        self.api = env["PREFECT_API_URL"]
        self.home = Path(env["RADAR_HOME"])
        self.inbox = self.home / "inbox"
        self.store = create_engine(normalise_url(store_url))
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_workers = 0

    # --- commands, as the operator types them ------------------------------------------------------------
    def run(self, *command: str, timeout: float = 300) -> str:
        """A command from the repository root with the stack's environment; its output (failing loudly)."""
        result = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=PROJECT_ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout, check=False)
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def start(self, name: str, *command: str) -> subprocess.Popen:
        """A long-running command in the background (its own session), its output in `root/<name>.log`."""
        with open(self.root / f"{name}.log", "ab") as log:
            process = subprocess.Popen([str(BIN / command[0]), *command[1:]], cwd=PROJECT_ROOT, env=self.env,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def start_worker(self, wait: bool = True) -> str:
        """`prefect worker start` on the radar pool (by default, once Prefect lists it online); returns its name."""
        self.started_workers += 1
        name = f"worker-{self.started_workers}"
        self.start(name, "prefect", "worker", "start", "--pool", "radar", "--type", "process", "--name", name,
                   "--limit", str(WORKER_LIMIT))
        if wait:
            wait_for(lambda: name in self.online_workers(), START_TIMEOUT_S, f"{name} online")
        return name

    def online_workers(self) -> set[str]:
        return {w["name"] for w in self.post("/work_pools/radar/workers/filter", {}) if w["status"] == "ONLINE"}

    def kill_9(self, name: str) -> None:
        """`kill -9` a process and every process it started (a worker's flow runs run in their own sessions,
        so the process group would miss them)."""
        process = self.processes.pop(name)
        tree = [psutil.Process(process.pid)]
        with contextlib.suppress(psutil.NoSuchProcess):
            tree += tree[0].children(recursive=True)
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        psutil.wait_procs(tree, timeout=30)
        process.wait()

    def worker_running(self, flow_run: dict) -> str:
        """The name of the worker whose flow-run process is this run's."""
        pid = int(str(flow_run["infrastructure_pid"]).rsplit(":", 1)[-1])
        for name, process in self.processes.items():
            if name.startswith("worker-") and pid in {p.pid for p in psutil.Process(process.pid).children(True)}:
                return name
        raise AssertionError(f"no worker of this test runs flow run {flow_run['id']}")

    def stop_all(self) -> None:
        """Ctrl+C to each process, then SIGKILL to whatever it left running."""
        for name in list(self.processes):
            process = self.processes.pop(name)
            with contextlib.suppress(psutil.NoSuchProcess):
                tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
                process.send_signal(signal.SIGINT)
                _, alive = psutil.wait_procs(tree, timeout=20)
                for proc in alive:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        proc.kill()
            process.wait()

    # --- Prefect's API ------------------------------------------------------------------------------------
    def post(self, path: str, body: dict):
        response = httpx.post(f"{self.api}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def get(self, path: str):
        response = httpx.get(f"{self.api}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def deployment_id(self, name: str) -> str:
        return self.get(f"/deployments/name/{name}/{name}")["id"]  # each flow is named as its deployment

    def flow_runs(self, deployment: str, since: datetime | None = None) -> list[dict]:
        """The flow runs of a deployment (created after `since`), oldest first."""
        runs = self.post("/flow_runs/filter", {"limit": 200, "sort": "EXPECTED_START_TIME_ASC", "deployments": {
            "id": {"any_": [self.deployment_id(deployment)]}}})
        return [r for r in runs if since is None or datetime.fromisoformat(r["created"]) > since]

    def finished(self, deployment: str, since: datetime, count: int = 1) -> list[dict] | None:
        """`count` runs of the deployment since then, all completed (fails at once on a failed one)."""
        runs = self.flow_runs(deployment, since)
        failed = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
        assert not failed, f"{deployment} run {failed[0]['id']} {failed[0]['state_type']}: {failed[0]['state']}"
        done = [r for r in runs if r["state_type"] == "COMPLETED"]
        return done if len(done) >= count else None

    def cycled_and_delivered(self, since: datetime) -> bool:
        """A cycle created after `since` completed, and then the delivery its completion triggers."""
        cycles = self.finished("monthly-cycle", since)
        return bool(cycles) and bool(self.finished(
            "deliver-alerts", max(datetime.fromisoformat(c["end_time"]) for c in cycles)))

    def crash(self, flow_run: dict) -> None:
        """What the operator does for a run whose worker died: mark it crashed (Prefect's UI: Change state)."""
        self.post(f"/flow_runs/{flow_run['id']}/set_state", {
            "state": {"type": "CRASHED", "message": "its worker was killed"}, "force": True})

    def state(self, flow_run: dict) -> str:
        return self.get(f"/flow_runs/{flow_run['id']}")["state_type"]

    # --- the store ----------------------------------------------------------------------------------------
    def sql(self, query: str, **params) -> list[tuple]:
        with self.store.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query), params)]

    def one(self, query: str, **params):
        (row,) = self.sql(query, **params)
        return row[0] if len(row) == 1 else row

    @contextlib.contextmanager
    def holding(self, table: str) -> Iterator[None]:
        """Hold an EXCLUSIVE lock on a store table (reads go on, writes wait) until the block ends."""
        with self.store.connect() as conn, conn.begin() as transaction:
            conn.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
            yield
            transaction.rollback()

    def waiting_on(self, table: str) -> bool:
        """A statement of another session is waiting for a lock, writing `table`."""
        return bool(self.sql("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND "
                             "wait_event_type = 'Lock' AND query ILIKE :table", table=f"%{table}%"))

    def indicator(self) -> float | None:
        rows = self.sql("SELECT value FROM indicator_value WHERE indicator = :i AND period = :p AND breakdown = ''",
                        i=INDICATOR, p=PERIOD)
        return rows[0][0] if rows else None

    def alert_status(self) -> str | None:
        rows = self.sql("SELECT status FROM alert WHERE key = :k", k=SPC_ALERT)
        return rows[0][0] if rows else None

    def snapshot(self, tables: tuple[str, ...] = SIGNAL_TABLES) -> dict[str, list]:
        """What a cycle's signals stage writes, row for row, without the row ids (whatever columns the tables
        have: the chart tables change as the cycle is made cheaper, the guarantee does not)."""
        found = {}
        for table in tables:
            columns = [c for (c,) in self.sql("SELECT column_name FROM information_schema.columns WHERE "
                                              "table_name = :t AND column_name <> 'id' ORDER BY ordinal_position",
                                              t=table)]
            if columns:
                listed = ", ".join(columns)
                found[table] = self.sql(f"SELECT {listed} FROM {table} ORDER BY {listed}")
        return found

    def mail_is_consistent(self) -> None:
        """Every message the outbox holds was sent once and received once; nothing else arrived."""
        outbox = self.sql("SELECT key, status, recipients FROM outbox")
        assert outbox and {status for _, status, _ in outbox} == {"sent"}, outbox
        assert self.sql("SELECT key FROM outbox WHERE attempts <> 1") == []
        received = self.mailbox.deliveries()
        assert set(received) == {(key, to) for key, _, recipients in outbox for to in json.loads(recipients)}
        assert [delivery for delivery, n in received.items() if n != 1] == []

    def drop(self, name: str, content: bytes) -> Path:
        """Deliver a file as an upload does: written under a hidden name, then renamed into the inbox."""
        staging = self.inbox / f".{name}"
        staging.write_bytes(content)
        return staging.replace(self.inbox / name)


def site_prefect_yaml(home: Path, target: Path) -> Path:
    """deploy/prefect.yaml with the image's two paths set to this machine's: the source (`/app`) is the
    repository, and RADAR_HOME (`/srv/radar`) is `home`.  Nothing else changes."""
    declared = (PROJECT_ROOT / "deploy" / "prefect.yaml").read_text(encoding="utf-8")
    assert declared.count("directory: /app") == 1 and "/srv/radar/inbox" in declared
    target.write_text(declared.replace("directory: /app", f"directory: {PROJECT_ROOT}")
                      .replace("/srv/radar", str(home)), encoding="utf-8")
    return target


def stack_environment(root: Path, store_url: str, prefect_url: str, smtp_port: int, api_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RADAR_"))}
    prefect_db = make_url(normalise_url(prefect_url)).set(drivername="postgresql+asyncpg")
    return env | {
        "RADAR_HOME": str(root / "home"), "RADAR_DATABASE_URL": store_url, "RADAR_PSEUDONYM_KEY": "c" * 64,
        "RADAR_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "RADAR_MAIL_FROM": "radar@bscp.example.org",
        "PREFECT_HOME": str(root / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{api_port}/api",
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.render_as_string(hide_password=False),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS": "5",
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": HEARTBEAT_S,  # as deploy/compose.yaml sets it
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """The whole stack, started once for the module and stopped at its end, with the store seeded."""
    root = tmp_path_factory.mktemp("stack")
    with databases("store", "prefect") as urls, Mailbox() as mailbox:
        api_port = free_port()
        env = stack_environment(root, urls["store"], urls["prefect"], mailbox.port, api_port)
        stack = Stack(root, env, urls["store"], mailbox)
        try:
            stack.start("server", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(api_port))
            wait_for(lambda: _healthy(stack.api), START_TIMEOUT_S, "Prefect's server answering")
            stack.run("prefect", "work-pool", "create", "radar", "--type", "process")
            seeding = threading.Thread(target=_seed, args=(stack,))  # meanwhile: deployments, workers, watcher
            seeding.start()
            stack.run("prefect", "--no-prompt", "deploy", "--all", "--prefect-file",
                      str(site_prefect_yaml(stack.home, root / "prefect.yaml")))
            stack.run("prefect", "automation", "create", "--from-file", str(PROJECT_ROOT / "deploy" / "automations.yaml"))
            workers = {stack.start_worker(wait=False), stack.start_worker(wait=False)}
            seeding.join()
            wait_for(lambda: workers <= stack.online_workers(), START_TIMEOUT_S, "both workers online")
            assert stack.one("SELECT count(*) FROM audit_event WHERE action = 'cycle_completed'") == 1, "not seeded"
            stack.start("watcher", "radar", "watch")
            wait_for(lambda: _watching(stack), START_TIMEOUT_S, "radar watch announcing itself")
            yield stack
        finally:
            stack.stop_all()
            stack.store.dispose()


def _healthy(api: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    return False


def _watching(stack: Stack) -> bool:
    events = stack.post("/events/filter", {"filter": {"event": {"name": ["radar.inbox.watching"]}}, "limit": 5})
    return bool(events["events"])


def _seed(stack: Stack) -> None:
    """A year of synthetic feeds through `radar ingest` and its cycle through `radar cycle` (on the stack's server)."""
    feeds = stack.root / "feeds"
    stack.run("radar", "synth", "--out", str(feeds), "--start", "2019-04", "--end", PERIOD, "--seed", "1")
    stack.run("radar", "ingest", str(feeds))
    stack.run("radar", "cycle", "--period", PERIOD)


def corrected_return(stack: Stack, value: int) -> bytes:
    """Youth offending's return for the latest month with first-time entrants set to `value` (bytes)."""
    return corrected(stack.root / "feeds" / FEED_FILE, stack.root / f"{FEED_FILE}.{value}", value).read_bytes()


def now() -> datetime:
    return datetime.now().astimezone()


def file_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def stored_rows(stack: Stack, submission_id: int) -> int:
    return stack.one("SELECT (SELECT count(*) FROM observation WHERE submission_id = :s) + "
                     "(SELECT count(*) FROM mash_contact WHERE submission_id = :s) + "
                     "(SELECT count(*) FROM lado_referral WHERE submission_id = :s) + "
                     "(SELECT count(*) FROM missing_episode WHERE submission_id = :s)", s=submission_id)


def test_a_file_in_the_inbox_is_ingested_cycled_alerted_and_mailed(stack):
    """The worker stack end to end: the corrected return raises first-time entrants far above its range, and
    with nobody running a command the indicator changes, the SPC alert opens and its digest is e-mailed."""
    assert stack.indicator() != 60 and stack.alert_status() != "open"
    since, content = now(), corrected_return(stack, 60)
    stack.drop(FEED_FILE, content)
    wait_for(lambda: stack.cycled_and_delivered(since), RUN_TIMEOUT_S * 2, "ingest, cycle and delivery")
    (ingest,) = stack.flow_runs("ingest-feed", since)
    assert ingest["parameters"] == {"path": str(stack.inbox / FEED_FILE)} and ingest["state_type"] == "COMPLETED"
    assert stack.finished("monthly-cycle", since)
    assert stack.indicator() == 60 and stack.alert_status() == "open"
    assert stack.one("SELECT status FROM submission WHERE file_hash = :h", h=file_hash(content)) == "replaced"
    assert not (stack.inbox / FEED_FILE).exists()
    alerted = stack.sql("SELECT key FROM outbox WHERE alerts LIKE :k", k=f"%{SPC_ALERT}%")
    assert len(alerted) == 1 and alerted[0][0] in {key for key, _ in stack.mailbox.deliveries()}
    stack.mail_is_consistent()


def test_kill_9_in_the_middle_of_an_ingest_loses_and_duplicates_nothing(stack):
    """The worker dies while the file's rows are inserted but not committed: nothing of it is stored and the file
    stays in the inbox; the safety net (ingest-files, run now rather than at its next quarter hour) stores it
    once, with every row, and the cycle follows."""
    since, content = now(), corrected_return(stack, 61)
    before = stack.one("SELECT count(*) FROM submission")
    with stack.holding("audit_event"):  # written last in the file's transaction
        stack.drop(FEED_FILE, content)
        wait_for(lambda: stack.waiting_on("audit_event"), RUN_TIMEOUT_S, "the ingest writing its rows")
        (run,) = stack.flow_runs("ingest-feed", since)
        stack.kill_9(stack.worker_running(run))
    wait_for(lambda: not stack.waiting_on("audit_event"), 60, "the killed run's transaction rolled back")
    assert stack.one("SELECT count(*) FROM submission") == before
    assert (stack.inbox / FEED_FILE).read_bytes() == content
    assert stack.state(run) == "RUNNING"  # Prefect cannot tell yet

    stack.start_worker(wait=False)  # the other worker carries on meanwhile
    stack.crash(run)
    recovered = now()
    stack.run("prefect", "deployment", "run", "ingest-files/ingest-files")
    wait_for(lambda: stack.finished("ingest-files", recovered), RUN_TIMEOUT_S, "the safety net's run")
    (submission_id, status, rows) = stack.one(
        "SELECT id, status, row_count FROM submission WHERE file_hash = :h", h=file_hash(content))
    assert status == "replaced" and stored_rows(stack, submission_id) == rows == len(content.splitlines()) - 1
    assert stack.one("SELECT count(*) FROM submission") == before + 1
    assert stack.one("SELECT count(*) FROM audit_event WHERE detail LIKE :s",
                     s=f'%"submission_id": {submission_id},%') == 1
    assert not (stack.inbox / FEED_FILE).exists()
    wait_for(lambda: stack.finished("monthly-cycle", recovered), RUN_TIMEOUT_S * 2, "the cycle after it")
    assert stack.indicator() == 61 and stack.alert_status() == "open"
    stack.mail_is_consistent()


def test_kill_9_in_the_middle_of_a_cycle_leaves_no_half_written_signals(stack):
    """The worker dies in the cycle's signals transaction (indicators already committed): charts and alerts stay
    as the last completed cycle left them; the retried cycle resolves the alert once, sends its notice once, and
    leaves what a full recompute would."""
    before = stack.snapshot()
    since, content = now(), corrected_return(stack, 8)  # back in the usual range: the alert resolves
    with stack.holding("cycle_mark"):  # written last in the signals transaction
        stack.drop(FEED_FILE, content)
        wait_for(lambda: stack.waiting_on("cycle_mark"), RUN_TIMEOUT_S * 2, "the cycle writing its signals")
        (run,) = [r for r in stack.flow_runs("monthly-cycle", since) if r["state_type"] == "RUNNING"]
        stack.kill_9(stack.worker_running(run))
    wait_for(lambda: not stack.waiting_on("cycle_mark"), 60, "the killed run's transaction rolled back")
    assert stack.snapshot() == before
    assert stack.indicator() == 8  # the indicator stage had committed; the rerun must finish the rest

    stack.start_worker(wait=False)  # the other worker carries on meanwhile
    assert stack.state(run) == "RUNNING"  # until its missed heartbeats say otherwise
    wait_for(lambda: stack.state(run) == "CRASHED", 6 * int(HEARTBEAT_S), "the automation marking it crashed")
    assert "No heartbeat" in stack.get(f"/flow_runs/{run['id']}")["state"]["message"]
    stack.run("prefect", "flow-run", "retry", run["id"])  # the same run, with the same parameters, for a worker
    wait_for(lambda: stack.state(run) == "COMPLETED", RUN_TIMEOUT_S, "the retry")
    assert stack.alert_status() == "resolved"
    after = stack.snapshot()
    assert after != before
    assert stack.one("SELECT count(*) FROM alert WHERE key = :k", k=SPC_ALERT) == 1
    assert stack.sql("SELECT kind FROM alert_notice WHERE alert_key = :k ORDER BY id", k=SPC_ALERT)[-1] == ("resolved",)
    stack.mail_is_consistent()
    charts = SIGNAL_TABLES[:5]  # the mark itself is rewritten by every cycle
    stack.run("radar", "cycle", "--period", PERIOD, "--full")  # the same inputs, everything recomputed
    assert stack.snapshot(charts) == {t: rows for t, rows in after.items() if t in charts}


def test_fifty_files_at_once_are_each_processed_once_and_two_workers_never_run_two_cycles_at_once(stack):
    """50 returns re-sent at once (Windows line endings: new bytes, same data) while an operator asks for three
    cycles, with two workers on the pool: 50 ingest runs, one per file, each stored once as the version in force
    with all its rows, the inbox empty; and the cycles (these, the burst's own, the module's) never overlap,
    because monthly-cycle's concurrency limit makes them wait for each other.  One burst for both checks: each
    flow run is a Python process, and the cycles then compete with the ingests as well as with each other."""
    assert len(stack.online_workers() & {n for n in stack.processes if n.startswith("worker-")}) >= 2
    months = ("2019-10", "2019-11", "2019-12", "2020-01", "2020-02")
    sent = sorted((p for p in (stack.root / "feeds").glob("*.csv") if p.stem.split("__")[1] in months),
                  key=lambda p: (p.stem.split("__")[1], p.name))[:BURST]
    assert len(sent) == BURST
    contents = {p.name: p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for p in sent}
    since, cycle = now(), stack.deployment_id("monthly-cycle")
    for name, content in contents.items():
        (stack.inbox / f".{name}").write_bytes(content)
    for name in contents:  # all complete, then all visible together
        (stack.inbox / f".{name}").replace(stack.inbox / name)
    asked = {stack.post(f"/deployments/{cycle}/create_flow_run", {"parameters": {"period": PERIOD}})["id"]
             for _ in range(3)}

    wait_for(lambda: stack.finished("ingest-feed", since, BURST), RUN_TIMEOUT_S * 3, f"{BURST} ingest runs", every=2)
    runs = stack.flow_runs("ingest-feed", since)
    assert sorted(r["parameters"]["path"] for r in runs) == sorted(str(stack.inbox / n) for n in contents)
    for name, content in contents.items():
        (submission_id, status, current, rows) = stack.one(
            "SELECT id, status, is_current, row_count FROM submission WHERE file_hash = :h", h=file_hash(content))
        assert (status, current) == ("replaced", True), name
        assert stored_rows(stack, submission_id) == rows == len(content.splitlines()) - 1, name
    assert stack.sql("SELECT feed_id, period FROM submission WHERE is_current GROUP BY 1, 2 HAVING count(*) > 1") == []
    assert list(stack.inbox.iterdir()) == []

    wait_for(lambda: asked <= {r["id"] for r in stack.finished("monthly-cycle", since, len(asked)) or []},
             RUN_TIMEOUT_S * 2, "the three cycles asked for", every=2)
    spans = sorted((datetime.fromisoformat(r["start_time"]), datetime.fromisoformat(r["end_time"]))
                   for r in stack.flow_runs("monthly-cycle") if r["state_type"] == "COMPLETED")
    assert len(spans) >= 6
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    waited = [s["name"] for r in stack.flow_runs("monthly-cycle", since)
              for s in stack.get(f"/flow_run_states/?flow_run_id={r['id']}")]
    assert "AwaitingConcurrencySlot" in waited  # they did compete for the slot
