"""The inbox watcher announces each complete file once; `pull-feeds` fetches new files from a folder, an HTTP
server and an SFTP server into the inbox, retries a source that does not answer and counts a failing source
until it is reported.  No Prefect server here: the watcher's announcements are collected, and the pull's tasks
run as plain functions (retries without waits)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import http.server
import secrets
import threading
import time
from pathlib import Path

import pytest
from feedfiles import write_aggregate
from prefect.logging import disable_run_logger
from sqlalchemy import select

from radar.core.config import Source, get_context
from radar.flows import events, inbox, pull
from radar.flows.files import sha256_of
from radar.flows.inbox import InboxBatcher, ingest_batch
from radar.flows.ingest import announce_stored, ingest_path
from radar.flows.service import CycleDebounce, InboxWatcher, month_complete
from radar.flows.settle import wait_while
from radar.synth import generate

NAME = "yos_monthly__2020-03.csv"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "inbox").mkdir(parents=True)
    return tmp_path / "home"


def test_watcher_waits_for_a_stable_size_then_announces_once(home):
    heard = []
    watcher = InboxWatcher(home / "inbox", stable_s=2, announce=lambda *event: heard.append(event))
    path = home / "inbox" / NAME
    path.write_text("period,indicator,breakdown,value\n")
    assert watcher.poll(0) == []
    with path.open("a") as f:  # still being copied
        f.write("2020-03,first_time_entrants,,6\n")
    assert watcher.poll(1.5) == [] and watcher.poll(3) == []  # changed at 1.5: not stable for 2 s yet
    assert watcher.poll(3.6) == [path]
    assert heard == [(path, sha256_of(path), "yos_monthly", "2020-03")]
    assert watcher.poll(10) == []  # the same delivery is never announced twice


def test_watcher_announces_a_changed_or_returning_file_again_and_skips_hidden_ones(home):
    heard = []
    watcher = InboxWatcher(home / "inbox", stable_s=1, announce=lambda *event: heard.append(event))
    (home / "inbox" / f".{NAME}.part").write_text("partial")
    odd = home / "inbox" / "notes.txt"
    odd.write_text("not a feed")
    watcher.poll(0)
    watcher.poll(1)
    assert [e[0].name for e in heard] == ["notes.txt"] and heard[0][2:] == (None, None)  # rejected later, with a report
    odd.unlink()
    watcher.poll(2)
    odd.write_text("not a feed, again")
    watcher.poll(3)
    watcher.poll(4)
    assert [e[1] for e in heard] == [heard[0][1], sha256_of(odd)]


@pytest.fixture
def sources(home, monkeypatch):
    """The partnership's context with `sources` replaced by the test's (the pull reads them from there)."""
    ctx = get_context()
    chosen: dict[str, Source] = {}
    monkeypatch.setattr(pull, "context", lambda: dataclasses.replace(
        ctx, config=ctx.config.model_copy(update={"sources": dict(chosen)})))
    for name in ("list_source", "fetch"):  # retried at once: the back-off is Prefect's, not under test here
        monkeypatch.setattr(pull, name, getattr(pull, name).with_options(retry_delay_seconds=0))
    with disable_run_logger():
        yield chosen


def returns(folder: Path, value: int) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / NAME).write_text(f"period,indicator,breakdown,value\n2020-03,first_time_entrants,,{value}\n")
    (folder / ".hidden").write_text("never fetched")
    return folder


def test_folder_source_fetches_each_new_version_once(home, sources, tmp_path):
    drop = returns(tmp_path / "drop", 6)
    sources["yos_monthly"] = Source(url=f"file://{drop}", pattern="yos_monthly__*")
    assert pull.pull_feeds.fn() == {"yos_monthly": [NAME]}
    assert (home / "inbox" / NAME).read_bytes() == (drop / NAME).read_bytes()
    (home / "inbox" / NAME).unlink()  # ingested
    assert pull.pull_feeds.fn() == {"yos_monthly": []}  # same name, same bytes: not fetched again
    returns(drop, 60)  # a corrected file under the same name
    assert pull.pull_feeds.fn() == {"yos_monthly": [NAME]}
    assert "60" in (home / "inbox" / NAME).read_text()
    assert [p.name for p in (home / "inbox").iterdir()] == [NAME]  # nothing half-written left behind


@pytest.fixture
def web_folder(tmp_path):
    """A local HTTP server listing a folder (Python's own), stopped at the end."""
    folder = returns(tmp_path / "web", 6)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_http_source_with_a_password_from_the_environment(home, sources, web_folder, monkeypatch):
    folder, url = web_folder
    monkeypatch.setenv("RADAR_TEST_SOURCE_PASSWORD", "secret")
    sources["yos_monthly"] = Source(url=url, pattern="yos_monthly__*", secret_env={"password": "RADAR_TEST_SOURCE_PASSWORD"})
    assert pull.storage_options(sources["yos_monthly"]) == {"password": "secret"}
    sources["yos_monthly"] = Source(url=url, pattern="yos_monthly__*")
    assert pull.pull_feeds.fn() == {"yos_monthly": [NAME]}
    assert (home / "inbox" / NAME).read_bytes() == (folder / NAME).read_bytes()


def test_a_source_that_keeps_failing_is_counted_then_reported(home, sources, tmp_path):
    sources["yos_monthly"] = Source(url="http://127.0.0.1:9/", pattern="*")  # nothing listens on port 9
    for attempt in range(1, pull.FAILURES_BEFORE_ALERT + 1):
        assert pull.pull_feeds.fn() == {}
        assert pull.read_state("yos_monthly")["failures"] == attempt
        assert pull.unreachable() == ({"yos_monthly": attempt} if attempt >= pull.FAILURES_BEFORE_ALERT else {})
    sources["yos_monthly"] = Source(url=f"file://{returns(tmp_path / 'back', 6)}")
    assert pull.pull_feeds.fn() == {"yos_monthly": [NAME]}
    assert pull.unreachable() == {}  # a pull that works again clears the count


@pytest.fixture
def sftp_folder(tmp_path):
    """An SFTP server (asyncssh, in this process, on its own event loop) serving a folder, with a host key and a
    password made up for the test; the client trusts that key only, from a known_hosts file."""
    asyncssh = pytest.importorskip("asyncssh")
    password = secrets.token_urlsafe(16)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    root = tmp_path / "sftp"
    root.mkdir()
    returns(root / "radar", 6)

    connections = []

    class Server(asyncssh.SSHServer):
        def connection_made(self, connection) -> None:
            connections.append(connection)

        def begin_auth(self, username: str) -> bool:
            return True  # every user must authenticate

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            return username == "bromley" and secrets.compare_digest(given, password)

    async def listen():
        return await asyncssh.listen("127.0.0.1", 0, server_host_keys=[host_key], server_factory=Server,
                                     sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=str(root)))

    async def stop():  # the client's connection too: fsspec keeps it open for the next pull
        server.close()
        for connection in connections:
            connection.close()
            await connection.wait_closed()
        await server.wait_closed()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(listen(), loop).result(30)
    port = server.get_port()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    yield root / "radar", f"sftp://127.0.0.1:{port}/radar", str(known_hosts), password
    asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_sftp_source_fetches_a_new_file_once_into_the_same_path_as_a_dropped_file(home, sources, sftp_folder,
                                                                                  monkeypatch):
    folder, url, known_hosts, password = sftp_folder
    monkeypatch.setenv("RADAR_TEST_SFTP_PASSWORD", password)
    sources["yos_monthly"] = Source(url=url, pattern="yos_monthly__*",
                                    options={"username": "bromley", "known_hosts": known_hosts},
                                    secret_env={"password": "RADAR_TEST_SFTP_PASSWORD"})
    assert pull.pull_feeds.fn() == {"yos_monthly": [NAME]}
    delivered = home / "inbox" / NAME
    assert delivered.read_bytes() == (folder / NAME).read_bytes()
    heard = []
    watcher = InboxWatcher(home / "inbox", stable_s=1, announce=lambda *event: heard.append(event))
    watcher.poll(0)
    watcher.poll(1)  # what a dropped file gets: announced once complete, for ingest-feed
    assert heard == [(delivered, sha256_of(folder / NAME), "yos_monthly", "2020-03")]
    delivered.unlink()  # ingested
    assert pull.pull_feeds.fn() == {"yos_monthly": []}  # the same name and bytes: not delivered twice
    assert list((home / "inbox").iterdir()) == []
    monkeypatch.setenv("RADAR_TEST_SFTP_PASSWORD", "not-the-password")
    assert pull.pull_feeds.fn() == {} and pull.read_state("yos_monthly")["failures"] == 1  # refused: counted


@pytest.fixture
def silent_server():
    """An HTTP server that accepts every request and never answers; it counts the requests."""
    requests, release = [], threading.Event()

    class Silent(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            release.wait(60)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    release.set()
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_a_source_that_times_out_is_retried_then_reported(home, sources, silent_server, catalogue):
    from radar.pipelines.alerts.sources import source_unreachable

    url, requests = silent_server
    sources["yos_monthly"] = Source(url=url, pattern="yos_monthly__*", timeout_s=0.5)
    attempts = 1 + pull.list_source.retries
    for pulls in range(1, pull.FAILURES_BEFORE_ALERT + 1):
        assert pull.pull_feeds.fn() == {}
        assert len(requests) == attempts * pulls  # every attempt reached the server: each timed out, was retried
        assert pull.read_state("yos_monthly") | {"seen": {}} == {"seen": {}, "failures": pulls,
                                                                 "error": "TaskRunTimeoutError"}
    found = source_unreachable(pull.unreachable(), catalogue, "2020-03", get_context().alerts)
    assert found["rule"].to_list() == ["source_unreachable"] and found["scope"].to_list() == ["yos_monthly"]


def test_an_unreachable_source_is_an_alert_for_its_feed_in_the_cycle(catalogue):
    from radar.pipelines.alerts.sources import source_unreachable

    settings = get_context().alerts
    found = source_unreachable({"yos_monthly": 3}, catalogue, "2020-03", settings)
    assert found["rule"].to_list() == ["source_unreachable"] and found["scope"].to_list() == ["yos_monthly"]
    assert "last 3 pulls" in found["message"][0] and "Youth" in found["message"][0]
    assert source_unreachable({}, catalogue, "2020-03", settings).is_empty()


def test_chasing_reminds_each_late_feeds_data_lead_once(home, monkeypatch):
    from datetime import date

    from radar.flows.runtime import engine
    from radar.flows.service import chase_late_feeds, reminders
    from radar.models import outbox

    monkeypatch.delenv("RADAR_SMTP_URL", raising=False)
    ctx = get_context()
    messages = reminders(date(2020, 4, 25))  # nothing received: every March return due by the 25th is missing
    police = next(m for m in messages if m["key"].startswith(f"chase:{ctx.la_code}:police_monthly:2020-03:"))
    assert police["to"] == [ctx.config.agencies["police"].contact] and "has not arrived" in police["text"]
    due_day = ctx.config.due_day(ctx.catalogue, "police_monthly")
    early = [m for m in reminders(date(2020, 4, due_day - 3)) if ":police_monthly:" in m["key"]]
    assert [m["text"].split(":")[0] for m in early] == ["A reminder"]  # three days before its due day
    assert reminders(date(2020, 4, 1)) == []  # nothing due yet, nothing late
    with disable_run_logger():
        assert chase_late_feeds.fn(date(2020, 4, 25)) == len(messages)
        assert chase_late_feeds.fn(date(2020, 4, 25)) == 0  # the same reminders are not stored or sent twice
    with engine().connect() as conn:
        assert {m["key"] for m in outbox.messages(conn, ctx.la_code)} == {m["key"] for m in messages}


def test_a_burst_ending_with_an_older_month_still_cycles_the_newest(home, catalogue, monkeypatch):
    """The debounced cycle runs with the last event's month: after files for April then March, that is April."""
    heard = []
    monkeypatch.setattr(events, "emit_event", lambda name, resource, payload: heard.append((name, payload)))
    for period in ("2020-04", "2020-03"):
        result = ingest_path(write_aggregate(home / "inbox", "yos_monthly", period, catalogue))
        assert result.status == "accepted"
        announce_stored(result)
    assert heard == [(events.ACCEPTED, {"period": "2020-04", "cycle_period": "2020-04"}),
                     (events.ACCEPTED, {"period": "2020-03", "cycle_period": "2020-04"})]


def test_a_cycle_brought_by_files_waits_while_ingests_run_but_not_for_ever():
    clock = [0.0]

    def sleep(seconds):
        clock[0] += seconds

    in_flight = iter([3, 2, 2, 0, 5])
    assert wait_while(lambda: next(in_flight), limit_s=60, poll_s=5, sleep=sleep, clock=lambda: clock[0]) == 15
    assert wait_while(lambda: 1, limit_s=60, poll_s=5, sleep=sleep, clock=lambda: clock[0]) == 60  # a stuck run
    assert wait_while(lambda: 0, limit_s=60, poll_s=5, sleep=sleep, clock=lambda: clock[0]) == 0


def test_radar_serve_runs_the_cycle_once_the_month_is_complete_or_quiet_and_not_while_a_burst_comes_in():
    """The file a month was waiting for brings the cycle at once; otherwise after the quiet time since the last
    accepted file; never while the inbox still holds untried files (up to the settle limit); one per round."""
    clock, complete, busy = [0.0], {"2020-03": False}, [False]
    debounce = CycleDebounce(10, lambda month: complete[month], lambda: busy[0], clock=lambda: clock[0])
    assert debounce.due() is None  # nothing accepted
    debounce.note("2020-03")
    clock[0] = 9.0
    assert debounce.due() is None  # quiet for 9 s of 10, the month not complete
    clock[0] = 10.0
    assert debounce.due() == "2020-03" and debounce.due() is None  # once
    debounce.note("2020-03")
    complete["2020-03"] = True
    assert debounce.due() == "2020-03"  # the month's last feed: at once, no quiet time
    debounce.note("2020-02")
    debounce.note("2020-03")  # a burst ending with an older month still cycles the newest
    busy[0] = True
    clock[0] = 600.0
    assert debounce.due() is None  # the burst is still being taken
    clock[0] = 10.0 + 600
    assert debounce.due() == "2020-03"  # not for ever (a file stuck half-written in the inbox)


def test_the_debounce_asks_the_store_whether_the_month_is_complete_once_per_accepted_file():
    """Polling through the quiet time reads nothing new: only an accepted file can complete a month."""
    clock, asked = [0.0], []
    debounce = CycleDebounce(10, lambda month: asked.append(month) or False, lambda: False, clock=lambda: clock[0])
    debounce.note("2020-03")
    for clock[0] in (1.0, 2.0, 3.0):
        assert debounce.due() is None
    debounce.note("2020-03")
    assert debounce.due() is None
    assert asked == ["2020-03", "2020-03"]


def test_a_month_is_complete_once_every_feed_expected_for_it_is_stored(home, catalogue):
    period = "2020-03"
    expected = sorted(feed.id for feed in catalogue.feeds if feed.expects(period))
    generate(home / "feeds", catalogue, start=period, end=period, seed=1)
    files = {path.name.split("__")[0]: path for path in (home / "feeds").iterdir()}
    assert sorted(files) == expected
    for feed_id in expected[:-1]:
        assert ingest_path(files[feed_id]).status == "accepted"
    assert not month_complete(period) and not month_complete("2020-02")  # a cycle for February runs March's
    assert ingest_path(files[expected[-1]]).status == "accepted"
    assert month_complete(period) and month_complete("2020-02")


# radar serve's inbox (flows/inbox.py): taken whole, in batches, and never stranded.

def _batcher(home, clock=time.time, **options) -> tuple[InboxBatcher, list[list[str]]]:
    """A batcher whose batches are recorded (names) and consumed, as ingest would."""
    batches = []

    def ingest(paths):
        batches.append([p.name for p in paths])
        for path in paths:
            path.unlink()

    return InboxBatcher(home / "inbox", stable_s=0, ingest=ingest, quiet_s=0.3, clock=clock, **options), batches


def _looks(batcher: InboxBatcher, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        batcher.step()
        time.sleep(0.1)


def test_a_file_renamed_into_the_inbox_while_still_being_written_is_taken_only_whole(home):
    """The red team's case: half a file renamed in, its writer still going (and pausing longer than the
    watcher's stable time).  The writer's open handle keeps it out; once closed, all of it is taken."""
    batcher, batches = _batcher(home)
    staging = home / f".{NAME}.part"
    writer = staging.open("w")
    writer.write("period,indicator,breakdown,value\n")
    writer.flush()
    staging.rename(home / "inbox" / NAME)
    _looks(batcher, 1.2)  # stable and quiet for longer than both limits, but open for writing
    assert batches == [] and (home / "inbox" / NAME).exists()
    writer.write("2020-03,first_time_entrants,,6\n")
    writer.close()
    content = (home / "inbox" / NAME).read_text()
    taken = []
    batcher.ingest = lambda paths: taken.extend((p.name, p.parent.name, p.read_text()) for p in paths)
    _looks(batcher, 1.2)
    assert taken[:1] == [(NAME, ".processing", content)]


def test_a_file_that_changes_while_it_is_taken_goes_back_for_the_next_look(home, monkeypatch):
    from radar.flows import inbox as inbox_module

    batcher, batches = _batcher(home)
    path = home / "inbox" / NAME
    path.write_text("period,indicator,breakdown,value\n")
    calls = []
    real = inbox_module.sha256_of

    def hash_then_append(p):  # a writer appends between the hash before the move and the one after
        calls.append(p)
        if len(calls) == 1:
            with open(p, "a") as f:
                f.write("2020-03,first_time_entrants,,6\n")
        return real(p)

    monkeypatch.setattr(inbox_module, "sha256_of", hash_then_append)
    time.sleep(0.4)
    batcher.step()
    batcher.step()
    assert batches == [] and path.exists() and not list((home / "inbox" / ".processing").iterdir())
    monkeypatch.setattr(inbox_module, "sha256_of", real)
    time.sleep(0.4)
    _looks(batcher, 0.5)
    assert batches == [[NAME]]


def test_files_a_batch_leaves_are_taken_again_after_a_back_off_or_by_the_sweep(home):
    """A batch that fails whole (Prefect's server answering 503) is retried after a back-off; a file one batch
    could not handle goes back to the inbox and is taken again by the sweep; files a killed radar serve left in
    the processing folder go back to the inbox at start."""
    now = [time.time() + 10]
    batcher, _batches = _batcher(home, clock=lambda: now[0], sweep_after_s=180)
    (home / "inbox" / NAME).write_text("a")
    (home / "inbox" / "notes.txt").write_text("b")
    calls = []

    def busy(paths):
        calls.append([p.name for p in paths])
        raise RuntimeError("503 Service Unavailable")

    batcher.ingest = busy
    batcher.step()  # first sight
    assert batcher.step() and calls == [["notes.txt", NAME]]
    assert sorted(p.name for p in (home / "inbox").iterdir()) == [".processing", "notes.txt", NAME]
    assert batcher.step() == []  # backing off
    now[0] += inbox.BACKOFF_S[0]

    def leave_one(paths):  # handles notes.txt, not the other (a fault with that file)
        calls.append([p.name for p in paths])
        next(p for p in paths if p.name == "notes.txt").unlink()

    batcher.ingest = leave_one
    assert len(batcher.step()) == 2 and (home / "inbox" / NAME).exists()
    now[0] += 60
    assert batcher.step() == []  # tried a minute ago: not yet
    now[0] += 180
    assert [p.name for p in batcher.step()] == [NAME]  # swept
    leftover = home / "inbox" / ".processing" / "csc_monthly__2020-03.csv"
    leftover.write_text("left by a killed radar serve")
    assert InboxBatcher(home / "inbox", stable_s=0).recover() == [leftover.name]
    assert (home / "inbox" / leftover.name).read_text() == "left by a killed radar serve"


def test_a_burst_is_ingested_in_batches_each_file_once_with_its_own_result(home, catalogue, prefect, monkeypatch):
    """30 files at once, batches of 12: three `ingest-files` flow runs; every file stored once with its own
    result; a file dropped while the first batch runs is taken by the next one."""
    monkeypatch.setattr(events, "emit_event", lambda *a, **k: None)
    periods = [f"{2018 + m // 12}-{m % 12 + 1:02d}" for m in range(30)]
    for period in periods:
        write_aggregate(home / "inbox", "yos_monthly", period, catalogue)
    late = f"police_monthly__{periods[-1]}.csv"
    batches, results = [], []

    def ingest(paths):
        if not batches:
            write_aggregate(home / "inbox", "police_monthly", periods[-1], catalogue)
        batches.append([p.name for p in paths])
        results.extend(ingest_batch(paths))

    batcher = InboxBatcher(home / "inbox", stable_s=0, ingest=ingest, batch_size=12, quiet_s=0)
    for _ in range(8):
        batcher.step()
    assert [len(b) for b in batches] == [12, 12, 7] and late in batches[2]  # seen complete after the first
    assert late not in batches[0]
    assert sorted(r["file"] for r in results) == sorted([f"yos_monthly__{p}.csv" for p in periods] + [late])
    assert {r["status"] for r in results} == {"accepted"} and len({r["submission_id"] for r in results}) == 31
    assert [p.name for p in (home / "inbox").iterdir()] == [".processing"]
    assert list((home / "inbox" / ".processing").iterdir()) == []
    from radar.flows.runtime import engine
    from radar.models.submissions import Submission

    with engine().connect() as conn:
        stored = conn.execute(select(Submission.file_name)).scalars().all()
    assert sorted(stored) == sorted(r["file"] for r in results)  # each once


@pytest.fixture
def one_cycle_limit(prefect, run_apart):
    """The one-cycle limit `radar serve` makes on its server, on the session's server for one test."""
    from prefect.client.orchestration import get_client

    from radar.flows.cycle import ONE_CYCLE
    from radar.flows.service import ensure_one_cycle_limit

    async def limit(make: bool):
        async with get_client() as client:
            if not make:
                return await client.delete_global_concurrency_limit_by_name(ONE_CYCLE)
            await ensure_one_cycle_limit(client)
            await ensure_one_cycle_limit(client)  # a restarted radar serve finds it made
            return await client.read_global_concurrency_limit_by_name(ONE_CYCLE)

    assert run_apart(limit(make=True)).limit == 1
    yield ONE_CYCLE
    run_apart(limit(make=False))


def test_a_cycle_waits_while_another_holds_the_one_cycle_slot_radar_serve_makes(home, one_cycle_limit):
    """`radar serve` runs the cycle files bring in its own process, outside monthly-cycle's deployment
    concurrency limit, and a `radar cycle` typed meanwhile attaches to its server: every cycle run against a
    server with radar serve's global concurrency limit of one takes it."""
    import contextvars
    from datetime import date

    from prefect.concurrency.sync import concurrency

    from radar.flows.cycle import monthly_cycle

    counts = []
    cycle = threading.Thread(target=contextvars.copy_context().run,
                             args=(lambda: counts.append(monthly_cycle("2020-03", today=date(2020, 4, 25))),))
    with concurrency(one_cycle_limit):  # a scheduled cycle under way
        cycle.start()
        cycle.join(4)
        assert cycle.is_alive() and counts == []
    cycle.join(120)
    assert not cycle.is_alive() and "messages" in counts[0]


def test_a_cycle_asks_for_the_slot_only_where_its_server_has_it(prefect, monkeypatch, request):
    """Elsewhere (a command with a server of its own, a worker) no limit was made: asking for it logged a
    warning per cycle."""
    from radar.flows import cycle

    asked = []
    monkeypatch.setattr(cycle, "concurrency", lambda name, **_: asked.append(name) or contextlib.nullcontext())
    with cycle.cycle_slot():
        assert asked == []
    request.getfixturevalue("one_cycle_limit")
    with cycle.cycle_slot():
        assert asked == [cycle.ONE_CYCLE]
