"""`radar serve` end to end (one server for the session, stopped at the end): a corrected file dropped into
the inbox updates the indicators and opens its alert with nobody running a command; meanwhile `radar ingest`
attaches to the served Prefect server instead of starting its own."""

from __future__ import annotations

import json

import httpx
import pytest

from bench import serve as service

EFFECT_TIMEOUT_S = 240  # the benchmark's figure is about a minute on a loaded 2-core machine


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("served")
    env = service.service_env(home)
    with service.served(home, env) as (process, api):
        feeds = service.store_with_a_year(home, env)
        yield home, env, feeds, process, api
    assert not (home / "prefect" / "served-api-url").exists()  # stopped: other commands no longer attach


def test_served_server_is_recorded_and_used_by_other_commands(served):
    home, env, feeds, process, api = served
    assert (home / "prefect" / "served-api-url").read_text().strip() == api
    assert f"inbox {home / 'inbox'}, Prefect UI {api.removesuffix('/api')}" in (home / "serve.out").read_text()
    result = service.radar("ingest", "--json", str(feeds / "yos_monthly__2019-04.csv"), env=env)
    assert json.loads(result.stdout)[0]["status"] == "duplicate"
    runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}).json()
    assert any(r["parameters"].get("paths") == [str(feeds / "yos_monthly__2019-04.csv")] for r in runs)


def test_a_corrected_file_in_the_inbox_updates_indicators_and_alerts_by_itself(served):
    home, env, feeds, process, _ = served
    assert not service.effect_visible(env)
    service.corrected(feeds / service.FEED_FILE, home / "inbox" / service.FEED_FILE)
    service.wait_for(lambda: service.effect_visible(env), EFFECT_TIMEOUT_S, "the corrected file's effect")
    assert not (home / "inbox" / service.FEED_FILE).exists()  # taken from the inbox, archived
    assert process.poll() is None
