"""Radar as a service on one machine (`radar serve`): the inbox watcher and Radar's deployments on a Prefect runner.

Under `radar serve` the inbox is taken in batches in this process
(flows/inbox.py): each complete file is moved into a private processing
folder, checked again, and ingested with the files that came with it in one
`ingest-files` flow run, so a burst of files is a few flow runs, not a
process per file.  Where the flows run on a Prefect worker instead (`radar
watch`, deploy/), the watcher only announces complete files as events
(flows/events.py) and Prefect's triggers start `ingest-feed` for each one.
Either way, once accepted files stop coming for `service.cycle_after_s` (a
proactive trigger, one per partnership: a burst of files gives one cycle),
`monthly-cycle`, whose deployment concurrency limit of one queues a cycle
behind a running one rather than running two; `deliver-alerts` follows every
completed cycle.  Schedules (cron, in the partnership's time zone) run the
cycle, the chasing of late feeds and alert delivery retries even when nothing
arrives.  The quarterly Board pack's deployment (flows/board_pack.py) is
served with these.  deploy/prefect.yaml declares the same deployments for a Prefect
worker.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from prefect import flow
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType, FlowRunFilterTags
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy, State, StateType
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.events import DeploymentEventTrigger
from prefect.runner import Runner

from radar.core.config import PartnershipConfig
from radar.core.periods import label, of_date, shift
from radar.flows.cycle import monthly_cycle
from radar.flows.events import ACCEPTED, ARRIVED, PARTNERSHIP, RESOURCES, announce_arrival, announce_watching
from radar.flows.files import is_regular, sha256_of
from radar.flows.inbox import InboxBatcher, open_for_writing_elsewhere
from radar.flows.ingest import feed_files, ingest_feed
from radar.flows.notify import deliver
from radar.flows.processes import SERVE_PID
from radar.flows.pull import pull_feeds
from radar.flows.runtime import context, engine
from radar.flows.signals import current_feed_status
from radar.models import outbox
from radar.models.audit import utcnow
from radar.validation.filenames import FileNameError, parse_file_name

RUNS_AT_ONCE = 4  # flow runs this machine runs together (each is a process); a cycle is limited to one anyway
REMIND_DAYS_BEFORE = 3  # a feed not yet received is reminded of this many days before its due day
POLL_S = 0.5
BATCH_END_S = 20  # how long a stopping radar serve waits for the inbox batch under way
# What every Radar deployment has.  `_sync`: building one is synchronous wherever it is called; Prefect otherwise
# hands back a coroutine whenever an event loop happens to be running in the thread (a test harness, a browser driver).
DEPLOYMENT_OPTIONS = {"entrypoint_type": EntrypointType.MODULE_PATH, "tags": ["radar"], "_sync": True}
LEFT_RUNNING = [StateType.RUNNING, StateType.PENDING, StateType.CANCELLING]


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


def deployments(config: PartnershipConfig) -> list[RunnerDeployment]:
    """The flows' deployments with their schedules and triggers; `radar serve` adds the Board pack's
    (radar.cli.served_deployments), and deploy/prefect.yaml declares them all."""
    service, tz, common = config.service, config.service.timezone, DEPLOYMENT_OPTIONS

    return [
        ingest_feed.to_deployment(name="ingest-feed", triggers=[DeploymentEventTrigger(
            expect={ARRIVED}, match={"prefect.resource.id": RESOURCES},
            parameters={"path": "{{ event.payload.path }}"})], **common),
        monthly_cycle.to_deployment(
            name="monthly-cycle", schedules=[CronSchedule(cron=service.cycle_cron, timezone=tz)],
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
            triggers=[DeploymentEventTrigger(
                # One window per partnership; without `for_each` Prefect would also fire on empty windows.
                posture="Proactive", after={ACCEPTED}, expect={ACCEPTED}, threshold=1, for_each={PARTNERSHIP},
                within=timedelta(seconds=service.cycle_after_s), match={"prefect.resource.id": RESOURCES},
                parameters={"period": "{{ event.payload.cycle_period }}", "settle": True})], **common),
        deliver_alerts.to_deployment(
            name="deliver-alerts", schedules=[CronSchedule(cron="*/30 * * * *", timezone=tz)],
            triggers=[DeploymentEventTrigger(
                expect={"prefect.flow-run.Completed"}, match={"prefect.resource.id": "prefect.flow-run.*"},
                match_related={"prefect.resource.role": "flow", "prefect.resource.name": "monthly-cycle"})],
            **common),
        chase_late_feeds.to_deployment(
            name="chase-late-feeds", schedules=[CronSchedule(cron=service.chase_cron, timezone=tz)], **common),
        pull_feeds.to_deployment(
            name="pull-feeds", schedules=[CronSchedule(cron=service.pull_cron, timezone=tz)], **common),
    ]


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
        tags=FlowRunFilterTags(all_=DEPLOYMENT_OPTIONS["tags"])))
    for run in left:
        await client.set_flow_run_state(run.id, State(type=StateType.CRASHED, message=(
            "radar serve stopped while this ran (killed, or the machine stopped); the inbox and the next cycle "
            "pick its work up again")), force=True)
    return [run.name for run in left]


async def _serve(to_serve: list[RunnerDeployment], on_ready: Callable[[list[str]], None], own_server: bool) -> None:
    ctx = context()
    crashed = []
    if own_server:
        async with get_client() as client:
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
    watcher.start()
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
        # A batch under way ends first if it can (what it has not ended goes back to the inbox at the next start).
        await asyncio.to_thread(watcher.join, BATCH_END_S)
