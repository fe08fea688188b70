"""deploy/: the files cannot be run here (no Docker engine), so check they parse and agree with the code
(prefect.yaml is generated from flows/deployments.py, which `radar serve` also runs).

The Prefect deployments must name real flows with parameters those flows take,
their schedules and triggers must be ones Prefect accepts, and the compose file
must wire the store, the shared RADAR_HOME and the key the way the docs say.
"""

import ast
from datetime import timedelta

import pytest
import yaml
from feedfiles import PROJECT_ROOT
from pydantic import TypeAdapter

DEPLOY = PROJECT_ROOT / "deploy"


@pytest.fixture(scope="module")
def prefect_yaml() -> dict:
    return yaml.safe_load((DEPLOY / "prefect.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def flow_signature(entrypoint: str) -> tuple[list[str], list[str]]:
    """(all parameters, parameters without a default) of the @flow function an entrypoint names.

    Read from the source with `ast`, so the check does not depend on importing the flows.
    """
    file_name, function = entrypoint.split(":")
    tree = ast.parse((PROJECT_ROOT / file_name).read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    decorators = [d.func.id if isinstance(d, ast.Call) else d.id for d in node.decorator_list]
    assert "flow" in decorators, f"{entrypoint} is not a Prefect flow"
    names = [a.arg for a in node.args.args]
    required = names[: len(names) - len(node.args.defaults)]
    return names, required


def test_deployments_are_radars_flows(prefect_yaml):
    entrypoints = {d["name"]: d["entrypoint"] for d in prefect_yaml["deployments"]}
    assert entrypoints == {
        "ingest-files": "flows/ingest.py:ingest_files",
        "ingest-feed": "flows/ingest.py:ingest_feed",
        "monthly-cycle": "flows/cycle.py:monthly_cycle",
        "deliver-alerts": "flows/service.py:deliver_alerts",
        "chase-late-feeds": "flows/service.py:chase_late_feeds",
        "pull-feeds": "flows/pull.py:pull_feeds",
        "board-pack": "flows/board_pack.py:board_pack",
    }


def test_parameters_exist_and_unattended_runs_get_every_required_one(prefect_yaml):
    for deployment in prefect_yaml["deployments"]:
        names, required = flow_signature(deployment["entrypoint"])
        given = set(deployment.get("parameters", {}))
        for trigger in deployment.get("triggers", []):  # a trigger supplies what its run needs, from the event
            given_by_trigger = given | set(trigger.get("parameters", {}))
            assert given_by_trigger <= set(names), deployment["name"]
            assert set(required) <= given_by_trigger, f"{deployment['name']}'s trigger leaves out a parameter"
        assert given <= set(names), deployment["name"]
        if deployment.get("schedules"):  # nobody is there to supply them
            assert set(required) <= given, f"{deployment['name']} runs unattended without {set(required) - given}"


def test_schedules_are_every_15_minutes_monthly_after_the_last_due_day_and_quarterly(prefect_yaml):
    from prefect.client.schemas.schedules import CronSchedule

    schedules = {d["name"]: d.get("schedules", []) for d in prefect_yaml["deployments"]}
    assert [timedelta(seconds=s["interval"]) for s in schedules["ingest-files"]] == [timedelta(minutes=15)]
    (cycle,) = schedules["monthly-cycle"]
    CronSchedule(cron=cycle["cron"], timezone=cycle["timezone"])  # raises on a cron Prefect rejects
    assert cycle["cron"].split()[2:] == ["21", "*", "*"]  # bromley.toml's latest due day is the 20th
    (pack,) = schedules["board-pack"]
    CronSchedule(cron=pack["cron"], timezone=pack["timezone"])
    day, months = pack["cron"].split()[2:4]
    assert int(day) > 21 and months == "1,4,7,10"  # quarterly, after the cycle for the quarter's last month


def test_prefect_yaml_is_generated_from_the_one_declaration_byte_for_byte():
    """deploy/prefect.yaml is what `python -m radar.flows.deployments` writes from the default partnership."""
    from radar.core.config import DEFAULT_CONFIG, load_config
    from radar.flows.deployments import prefect_yaml

    assert prefect_yaml(load_config(DEFAULT_CONFIG)) == (DEPLOY / "prefect.yaml").read_text(encoding="utf-8"), (
        "deploy/prefect.yaml differs from flows/deployments.py: regenerate it with "
        "`.venv/bin/python -m radar.flows.deployments > deploy/prefect.yaml`")


def test_schedules_triggers_and_limits_are_those_radar_serve_runs(prefect_yaml):
    """`radar serve` (radar.cli.served_deployments) runs deploy/prefect.yaml's automation, but the worker's
    safety-net sweep and the cycle's trigger on accepted files, which it does in its own process."""
    from prefect.events import DeploymentTriggerTypes

    from radar.cli import served_deployments
    from radar.core.config import get_context

    served = {d.name: d for d in served_deployments(get_context().config)}
    declared = {d["name"]: d for d in prefect_yaml["deployments"] if d["name"] in served}
    assert set(declared) == {d["name"] for d in prefect_yaml["deployments"]} - {"ingest-files"} == set(served)
    for name, deployment in served.items():
        yaml_triggers = [TypeAdapter(DeploymentTriggerTypes).validate_python(t) for t in declared[name].get("triggers", [])
                         if t["expect"] != ["radar.feed.accepted"]]
        fields = ("posture", "match", "match_related", "after", "expect", "for_each", "threshold", "within", "parameters")
        assert [{f: getattr(t, f) for f in fields} for t in yaml_triggers] == \
               [{f: getattr(t, f) for f in fields} for t in deployment.triggers], name
        assert [(s["cron"], s["timezone"]) for s in declared[name].get("schedules", [])] == \
               [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules], name
    assert [t["expect"] for t in declared["monthly-cycle"]["triggers"]] == [["radar.feed.accepted"]]
    assert declared["monthly-cycle"]["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
    assert served["monthly-cycle"].concurrency_options.collision_strategy == "ENQUEUE"
    assert served["monthly-cycle"].concurrency_limit == 1


def test_deployments_run_on_the_pool_the_worker_serves(prefect_yaml, compose):
    pools = {d["work_pool"]["name"] for d in prefect_yaml["deployments"]}
    assert pools == {"radar"}
    assert compose["services"]["worker"]["command"][3:5] == ["--pool", "radar"]
    assert "set-concurrency-limit radar 1" in compose["services"]["register"]["command"][2]


def test_a_run_whose_heartbeats_stop_is_crashed_after_four_missed_beats_and_compose_registers_it_once(compose):
    """deploy/automations.yaml is an automation Prefect accepts; the workers beat often enough for it."""
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    (spec,) = yaml.safe_load((DEPLOY / "automations.yaml").read_text(encoding="utf-8"))["automations"]
    automation = AutomationCore.model_validate(spec)
    trigger, (action,) = automation.trigger, automation.actions
    assert isinstance(trigger, EventTrigger) and trigger.posture == Posture.Proactive
    assert trigger.after == {"prefect.flow-run.heartbeat"} and "prefect.flow-run.Completed" in trigger.expect
    assert isinstance(action, ChangeFlowRunState) and action.state.value == "CRASHED"
    beat = int(compose["services"]["worker"]["environment"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"])
    assert trigger.within.total_seconds() == 4 * beat  # a beat late under load is no crash
    register = compose["services"]["register"]["command"][2]
    assert f"automation inspect {automation.name} " in register and "--from-file deploy/automations.yaml" in register


def test_inbox_parameter_is_the_workers_radar_home(prefect_yaml, compose):
    worker = compose["services"]["worker"]
    ingest = next(d for d in prefect_yaml["deployments"] if d["name"] == "ingest-files")
    assert ingest["parameters"]["paths"] == [worker["environment"]["RADAR_HOME"] + "/inbox"]
    assert "radar-home:/srv/radar" in worker["volumes"]


def test_compose_wires_postgres_prefect_worker_and_dashboard(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "register", "worker", "watcher", "dashboard"}
    assert services["watcher"]["command"] == ["radar", "watch"]
    assert "radar-home:/srv/radar" in services["watcher"]["volumes"]
    assert services["postgres"]["image"] == "postgres:15"
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    for name in ("register", "worker", "dashboard"):
        env = services[name]["environment"]
        assert "@postgres:5432/radar" in env["RADAR_DATABASE_URL"], name
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api", name
    # `radar dashboard`, not bare streamlit: it writes the sign-in settings (into RADAR_HOME, with the uploads)
    assert services["dashboard"]["command"][:2] == ["radar", "dashboard"]
    assert "radar-home:/srv/radar" in services["dashboard"]["volumes"]
    assert {"RADAR_OIDC_METADATA_URL", "RADAR_OIDC_CLIENT_ID", "RADAR_OIDC_CLIENT_SECRET", "RADAR_COOKIE_SECRET",
            "RADAR_DASHBOARD_URL"} <= services["dashboard"]["environment"].keys()
    assert set(compose["volumes"]) == {"postgres-data", "prefect-data", "radar-home"}


def test_only_the_worker_holds_the_pseudonym_key(compose):
    holders = [name for name, s in compose["services"].items() if "RADAR_PSEUDONYM_KEY" in s.get("environment", {})]
    assert holders == ["worker"]


def test_image_is_slim_python_installed_with_pip_and_not_root():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert [line for line in dockerfile.splitlines() if line.startswith("FROM ")] == ["FROM python:3.11-slim"]
    assert "RUN pip install ." in dockerfile
    assert [line for line in dockerfile.splitlines() if line.startswith("USER ")] == ["USER radar"]
