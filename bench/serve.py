"""`radar serve` on SQLite: from a corrected file dropped in the inbox to its effect in `radar indicators --json`
and `radar alerts --json` (`arrival_to_alert_s`), one small file through `radar ingest` while the server
runs (`cli_ingest_one_s`: the month before's return, corrected, so it replaces the stored one; the cycle it
brings is waited for before the arrival is timed), and a burst (`serve_burst_vs_ingest`): three years of a
partnership's synthetic feeds (479 files) dropped at once into a served inbox until every one is recorded,
divided by `radar ingest` of the same folder into a fresh store, in the same run.

The store holds a year of synthetic feeds (2019-04 to 2020-03, cycle run).
The corrected file is youth offending's return for the latest month with
first-time entrants raised from its usual single figures to 60, which puts
that month outside the chart's usual range: the indicator changes and a
`spc_outside_limits` alert opens.  The stages (watcher, ingest, debounce,
cycle) are read back from Prefect's events and flow runs and printed, to say
where the time goes.  Every `radar` command and `radar serve` runs in a
process group of its own, ended whole however the part ends (bench/processes.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx

from bench import processes

PERIOD = "2020-03"
FEED_FILE = f"yos_monthly__{PERIOD}.csv"
INDICATOR, RAISED_TO = "first_time_entrants", 60
RADAR = str(Path(sys.executable).with_name("radar"))  # the command installed beside this Python
READY_TIMEOUT_S = 180
EFFECT_TIMEOUT_S = 300
BURST = ("2017-04", "2020-03")  # three years: 479 files
BURST_TIMEOUT_S = 3600


def radar(*args: str, env: dict) -> subprocess.CompletedProcess:
    return processes.run([RADAR, *args], env=env, timeout=600)


def corrected(original: Path, target: Path, value: int = RAISED_TO) -> Path:
    """The original return with first-time entrants for its month set to `value`, written whole (hidden name,
    then renamed, as an upload would) so the watcher never sees a partial copy."""
    period = original.stem.split("__")[1]
    lines = [f"{period},{INDICATOR},,{value}" if line.startswith(f"{period},{INDICATOR},,") else line
             for line in original.read_text().splitlines()]
    if lines == original.read_text().splitlines():
        raise ValueError(f"{original.name} already reports {value} first-time entrants: nothing would change")
    staging = target.with_name(f".{target.name}")
    staging.write_text("\n".join(lines) + "\n")
    staging.replace(target)
    return target


def effect_visible(env: dict, value: int = RAISED_TO) -> bool:
    """The corrected value is in `radar indicators --json` and its alert in `radar alerts --json`."""
    values = json.loads(radar("indicators", "--json", env=env).stdout)
    if not any(r["indicator"] == INDICATOR and r["period"] == PERIOD and r["value"] == value for r in values):
        return False
    alerts = json.loads(radar("alerts", "--json", env=env).stdout)
    return any(a["indicator"] == INDICATOR and a["rule"] == "spc_outside_limits" and a["period"] == PERIOD
               for a in alerts)


def wait_for(check, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(1)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} seconds")


def service_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | {"RADAR_HOME": str(home), "RADAR_PSEUDONYM_KEY": env.get("RADAR_PSEUDONYM_KEY", "b" * 64),
                  "PREFECT_HOME": str(home / "prefect")}


@contextlib.contextmanager
def served(home: Path, env: dict) -> Iterator[tuple[subprocess.Popen, str]]:
    """`radar serve` in its own process group, stopped however the block ends: Ctrl+C to it alone (it stops
    its server and runs itself, as for an operator), then whatever is left of the group ended (its Prefect
    server, its runs' processes), even when `radar serve` itself stopped or hung."""
    with open(home / "serve.out", "w") as out, open(home / "serve.err", "w") as err:
        process = subprocess.Popen([RADAR, "serve", "--prefect-port", "0", "--no-dashboard"], env=env, stdout=out,
                                   stderr=err, start_new_session=True)
    try:
        wait_for(lambda: "Radar is serving" in (home / "serve.out").read_text() or process.poll() is not None,
                 READY_TIMEOUT_S, "radar serve's ready line")
        if process.poll() is not None:
            raise RuntimeError(f"radar serve stopped: {(home / 'serve.err').read_text()[-2000:]}")
        yield process, (home / "prefect" / "served-api-url").read_text().strip()
    except Exception:
        print(f"radar serve's log, its end:\n{(home / 'serve.err').read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        processes.end_group(process)


def store_with_a_year(home: Path, env: dict) -> Path:
    """A year of synthetic feeds ingested and the cycle run (through the served server)."""
    feeds = home / "feeds"
    radar("synth", "--out", str(feeds), "--start", "2019-04", "--end", PERIOD, "--seed", "1", env=env)
    radar("ingest", str(feeds), env=env)
    radar("cycle", "--period", PERIOD, env=env)
    return feeds


def stages(api: str, since: datetime, seen: float) -> dict[str, float]:
    """Where the time went, from Prefect's own records: event times and flow-run start and end times (`seen`:
    when the effect was seen, wall time)."""
    def when(text: str) -> float:
        return datetime.fromisoformat(text).timestamp()

    events = httpx.post(f"{api}/events/filter", json={"limit": 50, "filter": {
        "event": {"prefix": ["radar.feed."]}, "occurred": {"since": since.isoformat()}}}).json()["events"]
    runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 50, "flow_runs": {
        "start_time": {"after_": since.isoformat()}}}).json()
    first = {e["event"]: when(e["occurred"]) for e in sorted(events, key=lambda e: e["occurred"], reverse=True)}
    by_flow: dict[str, dict[str, float]] = {}
    for run in sorted(runs, key=lambda r: r["created"], reverse=True):  # each flow's first finished run wins
        if run.get("end_time"):
            name = httpx.get(f"{api}/flows/{run['flow_id']}").json()["name"]
            by_flow[name] = {k: when(run[k]) for k in ("created", "start_time", "end_time")}
    # radar serve ingests the inbox in batches, and runs the cycle the files bring, in its own process
    # (flows/inbox.py, flows/service.py): no trigger or process start before either run.
    ingest, cycle = by_flow["ingest-files"], by_flow["monthly-cycle"]
    return {
        "watcher (stable size, taken, hash checked)": ingest["created"] - since.timestamp(),
        "ingest run waiting to start": ingest["start_time"] - ingest["created"],
        "ingest run": ingest["end_time"] - ingest["start_time"],
        "accepted event to the cycle's run (debounce)": cycle["created"] - first["radar.feed.accepted"],
        "cycle run waiting to start": cycle["start_time"] - cycle["created"],
        "cycle run": cycle["end_time"] - cycle["start_time"],
        "cycle's end to the effect seen (radar indicators and alerts --json, polled)": seen - cycle["end_time"],
    }


def cycles_settled(api: str, since: datetime) -> bool:
    """A `monthly-cycle` run due after `since` (a triggered run is due when it is made) has ended and none is
    waiting or running (the stored year and the corrected file each bring one, queued behind each other), so
    the arrival is timed on a quiet service."""
    flows = httpx.post(f"{api}/flows/filter", json={"flows": {"name": {"any_": ["monthly-cycle"]}}}).json()
    cycles = {"flows": {"id": {"any_": [f["id"] for f in flows]}}}
    ended = httpx.post(f"{api}/flow_runs/filter", json=cycles | {"flow_runs": {
        "expected_start_time": {"after_": since.isoformat()}, "state": {"type": {"any_": ["COMPLETED"]}}}}).json()
    waiting = httpx.post(f"{api}/flow_runs/filter", json=cycles | {"flow_runs": {  # not the 21st's, to come
        "state": {"type": {"any_": ["SCHEDULED", "PENDING", "RUNNING"]}},
        "expected_start_time": {"before_": datetime.now().astimezone().isoformat()}}}).json()
    return bool(ended) and not waiting


def recorded(env: dict) -> int:
    return len(json.loads(radar("submissions", "--json", env=env).stdout))


def staged(files: list[Path], inbox: Path) -> list[Path]:
    """Copies of `files` beside the inbox (same disk), to be renamed in at once."""
    staging = inbox.with_name("staging")
    staging.mkdir()
    for path in files:
        (staging / path.name).write_bytes(path.read_bytes())
    return sorted(staging.iterdir())


def inbox_empty(inbox: Path) -> bool:
    """Every file taken and handled (stored, or rejected with its report): nothing left in the inbox or in its
    processing folder (flows/inbox.py)."""
    return not [p for p in inbox.iterdir() if p.name != ".processing"] and not any((inbox / ".processing").iterdir())


def burst() -> dict[str, float]:
    """`serve_burst_vs_ingest`: the served inbox's time for a burst ÷ `radar ingest` of the same folder."""
    with tempfile.TemporaryDirectory(prefix="radar-bench-burst-") as tmp:
        root = Path(tmp)
        feeds, alone, home = root / "feeds", root / "ingest", root / "serve"
        home.mkdir()
        radar("synth", "--out", str(feeds), "--start", BURST[0], "--end", BURST[1], "--seed", "1",
              env=service_env(alone))
        files = sorted(feeds.iterdir())
        start = time.monotonic()
        radar("ingest", str(feeds), env=service_env(alone))
        ingest_s = time.monotonic() - start
        print(f"radar ingest of {len(files)} files: {ingest_s:.1f}s", flush=True)
        env = service_env(home)
        with served(home, env):
            copies = staged(files, home / "inbox")
            start = time.monotonic()
            for path in copies:
                path.replace(home / "inbox" / path.name)
            wait_for(lambda: inbox_empty(home / "inbox"), BURST_TIMEOUT_S, "the burst's ingest")
            served_s = time.monotonic() - start
            stored = recorded(env)
        expected = recorded(service_env(alone))
        if stored != expected:
            raise RuntimeError(f"radar serve recorded {stored} files of the burst, radar ingest {expected}")
    print(f"radar serve: a burst of {len(files)} files recorded in {served_s:.1f}s ({served_s / ingest_s:.2f} x "
          f"radar ingest of the same folder)")
    return {"serve_burst_vs_ingest": served_s / ingest_s}


def run() -> dict[str, float]:
    return arrival() | burst()


def arrival() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="radar-bench-serve-") as tmp:
        home = Path(tmp)
        env = service_env(home)
        with served(home, env) as (_, api):
            feeds = store_with_a_year(home, env)
            one = corrected(feeds / "yos_monthly__2020-02.csv", home / "yos_monthly__2020-02.csv", value=7)
            start = time.monotonic()
            outcome = json.loads(radar("ingest", "--json", str(one), env=env).stdout)
            cli_ingest_one, ingested = time.monotonic() - start, datetime.now().astimezone()
            if outcome[0]["status"] != "replaced":
                raise RuntimeError(f"the corrected file was {outcome[0]['status']}, not replaced: nothing measured")
            wait_for(lambda: cycles_settled(api, ingested), EFFECT_TIMEOUT_S, "the cycles before the arrival")
            since = datetime.now().astimezone()
            corrected(feeds / FEED_FILE, home / "inbox" / FEED_FILE)
            arrival_to_alert = wait_for(lambda: effect_visible(env), EFFECT_TIMEOUT_S, "the corrected file's effect")
            where = stages(api, since, since.timestamp() + arrival_to_alert)
    print(f"radar serve: corrected file to indicators and alerts {arrival_to_alert:.1f}s; "
          f"one-file radar ingest {cli_ingest_one:.1f}s")
    for stage, seconds in where.items():
        print(f"  {stage}: {seconds:.1f}s")
    return {"arrival_to_alert_s": arrival_to_alert, "cli_ingest_one_s": cli_ingest_one}


if __name__ == "__main__":
    from bench.results import record

    record(**run())
