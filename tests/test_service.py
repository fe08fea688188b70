"""The inbox watcher announces each complete file once; `pull-feeds` fetches new files from a folder and an
HTTP server into the inbox and counts a failing source until it is reported.  No Prefect server here: the
watcher's announcements are collected, and the pull's tasks run as plain functions (retries without waits)."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import threading
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger

from radar.core.config import Source, get_context
from radar.flows import pull
from radar.flows.files import sha256_of
from radar.flows.service import InboxWatcher

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


def test_an_unreachable_source_is_an_alert_for_its_feed_in_the_cycle(catalogue):
    from radar.pipelines.alert_sources import source_unreachable

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
