"""Radar's Prefect deployments, declared once: `radar serve` builds its runner's deployments from this list, and
deploy/prefect.yaml, which Prefect workers register, is generated from it (tests/test_deploy.py checks that
regenerating gives the committed file byte for byte):

    .venv/bin/python -m radar.flows.deployments > deploy/prefect.yaml

Each deployment is written in prefect.yaml's own shape (names, entrypoints, schedules, triggers,
parameters), so the generated file reads as the declaration does; the schedules come from the partnership
file's `[service]` (deploy/prefect.yaml from the default partnership's, or the one `RADAR_CONFIG` names).
"""

from __future__ import annotations

import importlib
from datetime import timedelta

import yaml

from radar.core.config import PartnershipConfig, Settings, load_config
from radar.flows.events import ACCEPTED, ARRIVED, PARTNERSHIP, RESOURCES

TAG = "radar"  # every deployment's runs carry it: `radar serve` tells its own runs by it (flows/service.py)
WORKER_HOME = "/srv/radar"  # RADAR_HOME in deploy/'s containers (compose.yaml, Dockerfile)
PREFECT_VERSION = "3.4.0"
FEED_EVENTS = {"prefect.resource.id": RESOURCES}

HEADER = """\
# Radar's Prefect deployments, GENERATED from flows/deployments.py (the one declaration, which `radar serve`
# also runs): do not edit; change the declaration and regenerate from the repository root with
#
#   .venv/bin/python -m radar.flows.deployments > deploy/prefect.yaml
#
# (tests/test_deploy.py fails when this file and the declaration differ).  Register them from the repository
# root (the compose `register` service does this on every start):
#
#   prefect --no-prompt deploy --all --prefect-file deploy/prefect.yaml
#
# All of them run on the `radar` process work pool.  The pool's concurrency limit of 1 makes flow runs
# take turns on a single-worker install; with more workers, the store lock (one writer per feed and month)
# and monthly-cycle's deployment concurrency limit of 1 still keep two cycles from running at once.
# The `radar watch` service (compose) announces files arriving in the inbox as `radar.feed.arrived`.
# Flow runs execute the image's copy of the code (deploy/Dockerfile puts it in /app), so the relative
# entrypoints below and the population file named in the partnership config resolve.
"""


def declared(config: PartnershipConfig) -> list[dict]:
    """Every deployment, in prefect.yaml's shape; `worker_only` ones are not served by `radar serve`."""
    service, tz = config.service, config.service.timezone
    return [
        {"name": "ingest-feed", "entrypoint": "flows/ingest.py:ingest_feed",
         "description": "Ingest one file as soon as it is complete in the inbox (event radar.feed.arrived, one per "
                        "file, so a burst of 50 files gives 50 runs, each file once); also on demand for a file "
                        "held elsewhere: prefect deployment run ingest-feed/ingest-feed --param "
                        f"path={WORKER_HOME}/<file>",
         "tags": [TAG, "ingest"],
         "triggers": [{"type": "event", "enabled": True, "match": FEED_EVENTS, "expect": [ARRIVED],
                       "parameters": {"path": "{{ event.payload.path }}"}}]},
        {"name": "ingest-files", "entrypoint": "flows/ingest.py:ingest_files", "worker_only": True,
         "description": "Safety net: ingest whatever is still waiting in RADAR_HOME/inbox every 15 minutes (a file "
                        "whose event was missed while the server was down). radar serve sweeps its inbox itself.",
         "tags": [TAG, "ingest"], "parameters": {"paths": [f"{WORKER_HOME}/inbox"]},
         "schedules": [{"interval": 900, "timezone": tz}]},
        {"name": "monthly-cycle", "entrypoint": "flows/cycle.py:monthly_cycle",
         "description": "Recompute every indicator, chart and alert: once the month's files are due, and "
                        f"{service.cycle_after_s} seconds after the last of a burst of accepted files "
                        "(radar.feed.accepted), once the burst's ingests still queued or running have ended, for "
                        "the latest month with files. Never two at once: a further run waits for the running one.",
         "tags": [TAG, "cycle"], "concurrency_limit": {"limit": 1, "collision_strategy": "ENQUEUE"},
         "schedules": [{"cron": service.cycle_cron, "timezone": tz}],
         # One window per partnership; without `for_each` Prefect would also fire on empty windows.  `radar serve`
         # debounces accepted files in its own process instead (flows/service.py CycleDebounce), without it.
         "triggers": [{"type": "event", "enabled": True, "posture": "Proactive", "match": FEED_EVENTS,
                       "after": [ACCEPTED], "expect": [ACCEPTED], "for_each": [PARTNERSHIP], "threshold": 1,
                       "within": service.cycle_after_s,
                       "parameters": {"period": "{{ event.payload.cycle_period }}", "settle": True}}]},
        {"name": "deliver-alerts", "entrypoint": "flows/service.py:deliver_alerts",
         "description": "Send the messages a cycle queued, and retry failed ones when their time comes.",
         "tags": [TAG, "alerts"], "schedules": [{"cron": "*/30 * * * *", "timezone": tz}],
         "triggers": [{"type": "event", "enabled": True, "match": {"prefect.resource.id": "prefect.flow-run.*"},
                       "match_related": {"prefect.resource.role": "flow", "prefect.resource.name": "monthly-cycle"},
                       "expect": ["prefect.flow-run.Completed"]}]},
        {"name": "chase-late-feeds", "entrypoint": "flows/service.py:chase_late_feeds",
         "description": "Remind agencies' data leads of returns due within three days, missing or rejected.",
         "tags": [TAG, "feeds"], "schedules": [{"cron": service.chase_cron, "timezone": tz}]},
        {"name": "pull-feeds", "entrypoint": "flows/pull.py:pull_feeds",
         "description": "Fetch new files from the feeds' sources ([sources] in the partnership file) into the inbox.",
         "tags": [TAG, "feeds"], "schedules": [{"cron": service.pull_cron, "timezone": tz}]},
        {"name": "board-pack", "entrypoint": "flows/board_pack.py:board_pack",
         "description": "The quarterly Board pack (PDF) for the latest month the cycle has computed, written to "
                        "RADAR_HOME/board-packs/board-pack-<YYYY-MM>.pdf the day after the cycle for a quarter's "
                        "last month; also on demand: prefect deployment run board-pack/board-pack --param "
                        "period=2024-03",
         "tags": [TAG, "board"], "schedules": [{"cron": service.board_pack_cron, "timezone": tz}]},
    ]


def _flow(entrypoint: str):
    """The flow an entrypoint names (`flows/ingest.py:ingest_feed` is `radar.flows.ingest.ingest_feed`)."""
    file_name, function = entrypoint.split(":")
    return getattr(importlib.import_module("radar." + file_name.removesuffix(".py").replace("/", ".")), function)


def _schedule(spec: dict):
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    if "cron" in spec:
        return CronSchedule(cron=spec["cron"], timezone=spec["timezone"])
    return IntervalSchedule(interval=timedelta(seconds=spec["interval"]), timezone=spec["timezone"])


def runner_deployments(config: PartnershipConfig, not_triggered_by: frozenset[str] = frozenset()) -> list:
    """The deployments `radar serve` runs: every one but the worker-only, without the triggers that expect an
    event in `not_triggered_by` (the ones radar serve does itself)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.deployments.runner import EntrypointType
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    trigger_type = TypeAdapter(DeploymentTriggerTypes)
    built = []
    for spec in declared(config):
        if spec.get("worker_only"):
            continue
        triggers = [t for t in spec.get("triggers", []) if not_triggered_by.isdisjoint(t["expect"])]
        limit = spec.get("concurrency_limit")
        built.append(_flow(spec["entrypoint"]).to_deployment(
            name=spec["name"], description=spec["description"], tags=spec["tags"],
            parameters=spec.get("parameters"), schedules=[_schedule(s) for s in spec.get("schedules", [])],
            triggers=[trigger_type.validate_python(t) for t in triggers],
            concurrency_limit=ConcurrencyLimitConfig(**limit) if limit else None,
            # `_sync`: built synchronously wherever it is called; Prefect otherwise hands back a coroutine
            # whenever an event loop happens to be running in the thread (a test harness, a browser driver).
            entrypoint_type=EntrypointType.MODULE_PATH, _sync=True))
    return built


def prefect_yaml(config: PartnershipConfig) -> str:
    """deploy/prefect.yaml's text: every deployment on the `radar` work pool, run from the image's /app."""
    deployments = [{k: v for k, v in spec.items() if k != "worker_only"}
                   | {"work_pool": {"name": "radar", "work_queue_name": "default"}} for spec in declared(config)]
    document = {"name": "radar", "prefect-version": PREFECT_VERSION,
                "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": "/app"}}],
                "deployments": deployments}
    text = yaml.dump(document, Dumper=_Readable, sort_keys=False, width=110, allow_unicode=True)
    return HEADER + text.replace("\n  - name: ", "\n\n  - name: ").replace("\ndeployments:", "\n\ndeployments:")


class _Readable(yaml.SafeDumper):
    """prefect.yaml as a person would write it: lists indented under their key, a list of words on one line
    (`tags: [radar, cycle]`), and a mapping used twice (the feed events' match) written out twice, not aliased."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data) -> bool:
        return True

    def represent_list(self, data):
        words = all(isinstance(item, str | int) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=words)


_Readable.add_representer(list, _Readable.represent_list)


if __name__ == "__main__":
    print(prefect_yaml(load_config(Settings.from_env().config_path)), end="")
