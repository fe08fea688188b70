"""Radar as a service on one machine (`radar serve`): the inbox, the cycle the files bring, and Radar's deployments
(flows/deployments.py) on a Prefect runner.

Under `radar serve` the inbox is taken in batches in this process
(flows/inbox.py): each complete file is moved into a private processing
folder, checked again, and ingested with the files that came with it in one
`ingest-files` flow run, so a burst of files is a few flow runs, not a
process per file.  The cycle that accepted files bring (`radar.feed.accepted`,
from the inbox or a `radar ingest` typed meanwhile) also runs in this process,
as a `monthly-cycle` flow run Prefect records like any other: as soon as every
feed expected for its month is stored, or once no file has been accepted for
`service.cycle_after_s`, whichever comes first, and not while a burst is still
being taken (`CycleDebounce`), so a corrected file shows in seconds and a
burst gives one cycle.  Where the flows run on a Prefect worker instead
(`radar watch`, deploy/), the watcher only announces complete files as events
(flows/events.py), Prefect's triggers start `ingest-feed` for each one and,
after the same quiet time, `monthly-cycle`, whose deployment concurrency limit
of one queues a cycle behind a running one.  Every cycle run against the
server `radar serve` uses, however it started, also takes a global concurrency
limit of one (`ensure_one_cycle_limit`).  Either way `deliver-alerts` follows every
completed cycle, and schedules (cron, in the partnership's time zone) run the
cycle, the chasing of late feeds, pulls, alert delivery retries and the
quarterly Board pack even when nothing arrives.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from prefect import flow
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType, FlowRunFilterTags
from prefect.client.schemas.objects import State, StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.exceptions import ObjectNotFound
from prefect.runner import Runner

from radar.core.config import PartnershipConfig
from radar.core.periods import label, of_date, shift
from radar.flows.cycle import ONE_CYCLE, monthly_cycle
from radar.flows.deployments import TAG, runner_deployments
from radar.flows.events import ACCEPTED, PARTNERSHIP, announce_arrival, announce_watching
from radar.flows.files import is_regular, sha256_of
from radar.flows.inbox import InboxBatcher, open_for_writing_elsewhere
from radar.flows.ingest import feed_files
from radar.flows.notify import deliver
from radar.flows.processes import SERVE_PID
from radar.flows.runtime import context, engine
from radar.flows.settle import SETTLE_LIMIT_S
from radar.flows.signals import current_feed_status
from radar.models import outbox, submissions
from radar.models.audit import utcnow
from radar.validation.filenames import FileNameError, parse_file_name

RUNS_AT_ONCE = 4  # flow runs this machine runs together (each is a process); a cycle is limited to one anyway
REMIND_DAYS_BEFORE = 3  # a feed not yet received is reminded of this many days before its due day
POLL_S = 0.5
BATCH_END_S = 20  # how long a stopping radar serve waits for the inbox batch under way
LEFT_RUNNING = [StateType.RUNNING, StateType.PENDING, StateType.CANCELLING]

log = logging.getLogger("radar.serve")


class InboxWatcher:
    """Announce each complete file in the inbox once (`ARRIVED`), by polling its size and modification time
    (`radar watch`, for Prefect workers; `radar serve` takes the inbox itself: flows/inbox.py).

    A file counts as complete once neither has changed for `stable_s` and no
    process holds it open for writing: a copy still being written keeps
    growing, so it is not announced half-way.
    Hidden files (an upload's temporary name) are left alone, as ingest does.
    A file is announced again only when it changes or comes back after being
    taken, so the same delivery never starts two ingests.
    """

    def __init__(self, inbox: Path, stable_s: float, announce: Callable[..., None] = announce_arrival):
        self.inbox, self.stable_s, self.announce = inbox, stable_s, announce
        self.changed: dict[str, tuple[tuple[int, int], float]] = {}  # name -> (size, mtime), when it last changed
        self.announced: dict[str, tuple[int, int]] = {}  # name -> (size, mtime) when announced

    def poll(self, now: float) -> list[Path]:
        present = {p.name: p for p in feed_files([self.inbox])} if self.inbox.is_dir() else {}
        for table in (self.changed, self.announced):
            for name in set(table) - set(present):
                del table[name]
        ready = []
        for name, path in present.items():
            try:
                stat = path.lstat()
            except FileNotFoundError:  # taken by an ingest meanwhile
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            previous = self.changed.get(name)
            if previous is None or previous[0] != signature:
                self.changed[name] = (signature, now)
            elif (now - previous[1] >= self.stable_s and self.announced.get(name) != signature
                  and not open_for_writing_elsewhere(path)):  # renamed in while still being written: not yet
                self.announced[name] = signature
                ready.append(path)
        for path in ready:
            self._announce(path)
        return ready

    def _announce(self, path: Path) -> None:
        try:
            feed_id, period = parse_file_name(path.name, context().catalogue)
        except FileNameError:
            feed_id = period = None  # still ingested: rejected with a report the data lead can act on
        try:
            file_hash = sha256_of(path) if is_regular(path) else ""
        except FileNotFoundError:
            return
        self.announce(path, file_hash, feed_id, period)

    def run(self, stop: threading.Event, started: threading.Event | None = None) -> None:
        """Poll until `stop`; first say so in an event, which also opens Prefect's event connection (seconds on a
        busy machine) before any file waits for it, then set `started`."""
        announce_watching(self.inbox)
        if started is not None:
            started.set()
        while not stop.is_set():
            self.poll(time.monotonic())
            stop.wait(POLL_S)


@flow(name="deliver-alerts")
def deliver_alerts() -> list[str]:
    """Send every message that is due (new after a cycle, or a retry whose time has come)."""
    return deliver(context().la_code, utcnow())


def reminders(today: date) -> list[dict]:
    """Messages to the data leads of agencies whose file for last month is missing or rejected, or due within
    `REMIND_DAYS_BEFORE` days and not received; each keyed by feed, month and status, so it is stored once."""
    ctx = context()
    period = shift(of_date(today), -1)
    with engine().connect() as conn:
        status = current_feed_status(ctx, conn, period, today)
    soon = today + timedelta(days=REMIND_DAYS_BEFORE)
    chase = status.filter(
        (status["period"] == period)
        & (status["status"].is_in(["missing", "rejected"])
           | ((status["status"] == "not_due") & (status["due_date"] <= soon))))
    messages = []
    for row in chase.iter_rows(named=True):
        feed = ctx.catalogue.feed_by_id[row["feed_id"]]
        agency = ctx.config.agencies[feed.agency]
        due = row["due_date"].strftime("%-d %B %Y")
        text = {"missing": f"The {feed.name} return for {label(period)} was due on {due} and has not arrived.",
                "rejected": f"The {feed.name} return for {label(period)} was rejected; the report says what to "
                            f"correct. It was due on {due}.",
                "not_due": f"A reminder: the {feed.name} return for {label(period)} is due on {due}."}[row["status"]]
        messages.append({
            "key": f"chase:{ctx.la_code}:{feed.id}:{period}:{row['status']}"[:64], "receiver": f"agency:{feed.agency}",
            "channel": "email", "to": [agency.contact], "kind": "reminder", "alerts": [], "items": {},
            "subject": f"{ctx.config.partnership.short_name}: {feed.name} for {label(period)}",
            "text": text, "html": f"<p>{text}</p>"})
    return messages


@flow(name="chase-late-feeds")
def chase_late_feeds(today: date | None = None) -> int:
    """Remind data leads before and after the due day; returns how many reminders were new (then sends them)."""
    today = today or date.today()
    messages = reminders(today)
    with engine().begin() as conn:
        new = outbox.enqueue(conn, context().la_code, shift(of_date(today), -1), messages, [], today, utcnow())
    deliver(context().la_code, utcnow())
    return new


def served(config: PartnershipConfig) -> list[RunnerDeployment]:
    """The deployments `radar serve` runs (flows/deployments.py), but `monthly-cycle`'s trigger on accepted files:
    `CycleDebounce` does that in this process."""
    return runner_deployments(config, not_triggered_by=frozenset({ACCEPTED}))


def month_complete(period: str) -> bool:
    """Every feed expected for the month a cycle brought by files for `period` would run for (the latest month
    with files: `submissions.month_to_cycle`) has a file in force."""
    ctx = context()
    with engine().connect() as conn:
        month = submissions.month_to_cycle(conn, ctx.la_code, period)
        stored = {key.split("|")[0] for key in submissions.current_inputs(conn, ctx.la_code, month)
                  if key.endswith(f"|{month}")}
    return {feed.id for feed in ctx.catalogue.feeds if feed.expects(month)} <= stored


class CycleDebounce:
    """`radar serve`'s wait between accepted files and the cycle they bring, in its own process.

    The cycle is due once files have been accepted (`note`) and either every
    feed expected for the month is in (`complete`) or no file has been
    accepted for `quiet_s`, whichever comes first; and not while the inbox is
    still being taken (`busy`: a burst gives one cycle once it is all in, up
    to `SETTLE_LIMIT_S`).  A file accepted while a cycle runs brings another.
    Prefect's proactive trigger (deploy/prefect.yaml, for workers) waits the
    whole quiet time on its server and then a new process starts the cycle:
    10 to 20 seconds for a file the month was only waiting for.
    """

    def __init__(self, quiet_s: float, complete: Callable[[str], bool], busy: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic):
        self.quiet_s, self.complete, self.busy, self.clock = quiet_s, complete, busy, clock
        self.lock = threading.Lock()
        self.wanted: str | None = None  # the latest month accepted files asked a cycle for
        self.first = self.last = 0.0  # when the first and the last file of this round were accepted
        self.notes = 0  # files accepted so far: a month only becomes complete when one is
        self.judged: tuple[int, bool] = (-1, False)  # (notes, complete) when the store was last asked

    def note(self, cycle_period: str) -> None:
        with self.lock:
            if self.wanted is None:
                self.first = self.clock()
            self.wanted, self.last = max(self.wanted or cycle_period, cycle_period), self.clock()
            self.notes += 1

    def due(self) -> str | None:
        """The month to run the cycle for now (and the round starts again), or None to wait."""
        with self.lock:
            wanted, first, last, notes = self.wanted, self.first, self.last, self.notes
        if wanted is None or (self.busy() and self.clock() - first < SETTLE_LIMIT_S):
            return None
        if self.clock() - last < self.quiet_s and not self._complete(wanted, notes):
            return None
        with self.lock:
            if self.last != last:  # a file came meanwhile: look again
                return None
            self.wanted = None
        return wanted

    def _complete(self, month: str, notes: int) -> bool:
        """`complete(month)`, asked of the store once per accepted file, not on every poll of the quiet time."""
        if self.judged[0] != notes:
            self.judged = (notes, self.complete(month))
        return self.judged[1]

    def run(self, stop: threading.Event, cycle: Callable[[str], object]) -> None:
        """Run `cycle(month)` whenever one is due, until `stop`."""
        while not stop.is_set():
            period = self.due()
            if period is not None:
                try:
                    cycle(period)
                except Exception as fault:  # noqa: BLE001 - recorded by Prefect as a failed run; the next files retry
                    log.error("the cycle brought by files failed (%s)", type(fault).__name__)
            stop.wait(POLL_S)


async def note_accepted(la_code: str, note: Callable[[str], None]) -> None:
    """Pass each `radar.feed.accepted` event of this partnership to `note`, however the file came (the inbox, a
    `radar ingest` typed meanwhile), as Prefect's trigger would see it; runs until cancelled."""
    accepted = EventFilter(event=EventNameFilter(name=[ACCEPTED]))  # from a minute back (Prefect's subscriber)
    while True:
        try:
            async with get_events_subscriber(filter=accepted) as events:
                async for event in events:
                    if event.resource.get(PARTNERSHIP) == la_code and event.payload.get("cycle_period"):
                        note(event.payload["cycle_period"])
        except asyncio.CancelledError:
            raise
        except Exception as fault:  # noqa: BLE001 - the server restarting or busy: listen again
            log.warning("lost Prefect's event stream (%s); listening again", type(fault).__name__)
            await asyncio.sleep(POLL_S * 4)


def watch_inbox() -> None:
    """Only the watcher, until Ctrl+C or SIGTERM: for an install whose flows run on a Prefect worker
    (deploy/compose.yaml), where the triggers in deploy/prefect.yaml do the rest."""
    ctx, stop = context(), threading.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stop.set())
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    InboxWatcher(ctx.settings.inbox, ctx.config.service.stable_s).run(stop)


def serve(to_serve: list[RunnerDeployment], on_ready: Callable[[list[str]], None], own_server: bool) -> None:
    """Register the deployments, start the inbox watcher, call `on_ready` with the runs a stopped `radar serve`
    left running (marked crashed, only on a server of its own: `crash_left_runs`), then run flow runs until
    stopped."""
    asyncio.run(_serve(to_serve, on_ready, own_server))


async def crash_left_runs(client: PrefectClient) -> list[str]:
    """Mark crashed the runs of Radar's deployments still running when `radar serve` starts; their names.

    `radar serve` starts its own Prefect server and is its only runner, so
    such a run was started by a `radar serve` that was killed (kill -9, a
    power cut): nothing will finish it, Prefect would show it running for
    ever, and a cycle's would keep monthly-cycle's one concurrency slot.  Its
    work is not lost: an ingest's file is still in the inbox, which the
    watcher announces again, and the next cycle recomputes from the store.
    A `radar` command's own runs carry no tag and are left alone.
    """
    left = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=LEFT_RUNNING)),
        tags=FlowRunFilterTags(all_=[TAG])))
    for run in left:
        await client.set_flow_run_state(run.id, State(type=StateType.CRASHED, message=(
            "radar serve stopped while this ran (killed, or the machine stopped); the inbox and the next cycle "
            "pick its work up again")), force=True)
    return [run.name for run in left]


async def ensure_one_cycle_limit(client: PrefectClient) -> None:
    """Make the global concurrency limit of one that every cycle run against this server takes (`ONE_CYCLE`).

    `radar serve` runs the cycle files bring in its own process, outside
    monthly-cycle's deployment concurrency limit: without this limit such a
    cycle could run beside a scheduled one on the day the month's cycle is due,
    or beside a `radar cycle` typed meanwhile.
    A cycle holds its slot on a lease that it renews: the slot of a cycle
    killed with `radar serve` comes free when the lease lapses (five minutes).
    """
    try:
        await client.read_global_concurrency_limit_by_name(ONE_CYCLE)
    except ObjectNotFound:  # asked first: a second create is refused, but the server logs the refusal as an error
        await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=ONE_CYCLE, limit=1))


async def _serve(to_serve: list[RunnerDeployment], on_ready: Callable[[list[str]], None], own_server: bool) -> None:
    ctx = context()
    crashed = []
    async with get_client() as client:
        await ensure_one_cycle_limit(client)
        if own_server:
            crashed = await crash_left_runs(client)
    runner = Runner(name="radar", limit=RUNS_AT_ONCE, query_seconds=1)
    for deployment in to_serve:
        await runner.aadd_deployment(deployment)
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine()  # opened here, once: not first in the inbox thread while this one loads the flows (both parse code)
    os.environ[SERVE_PID] = str(os.getpid())  # the runner's flow-run processes stop with this one (flows/processes.py)
    stop, started = threading.Event(), threading.Event()
    batcher = InboxBatcher(ctx.settings.inbox, ctx.config.service.stable_s)
    # With this task's context: Prefect's settings (the served server's address) live in a context variable, and
    # a thread without them started a throw-away Prefect server of its own, which outlived a killed radar serve.
    watcher = threading.Thread(target=contextvars.copy_context().run, args=(batcher.run, stop, started),
                               kwargs={"on_start": lambda: announce_watching(ctx.settings.inbox)},
                               name="radar-inbox", daemon=True)
    debounce = CycleDebounce(ctx.config.service.cycle_after_s, month_complete, batcher.busy)
    cycles = threading.Thread(target=contextvars.copy_context().run, name="radar-cycle", daemon=True,
                              args=(debounce.run, stop, lambda period: monthly_cycle(period=period, settle=True)))
    listening = asyncio.ensure_future(note_accepted(ctx.la_code, debounce.note))
    watcher.start()
    cycles.start()
    await asyncio.to_thread(started.wait)
    on_ready(crashed)
    running = asyncio.ensure_future(runner.start())
    for stop_signal in (signal.SIGINT, signal.SIGTERM):  # Ctrl+C or a service manager: stop cleanly
        asyncio.get_running_loop().add_signal_handler(stop_signal, running.cancel)
    try:
        await running
    except asyncio.CancelledError:
        pass
    finally:
        stop.set()
        listening.cancel()
        # A batch under way ends first if it can (what it has not ended goes back to the inbox at the next start),
        # and a cycle under way likewise (one cut short is run again by the next file or the schedule).
        await asyncio.to_thread(watcher.join, BATCH_END_S)
        await asyncio.to_thread(cycles.join, BATCH_END_S)
