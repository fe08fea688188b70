"""`radar serve` restarting after it was killed: the runs of Radar's deployments it left running are marked
crashed (flows.service.crash_left_runs), so Prefect stops showing them as running and a cycle's no longer holds
monthly-cycle's concurrency slot; other runs are left as they are.  On the session's Prefect test server."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State, StateType

from radar.flows.service import DEPLOYMENT_OPTIONS, crash_left_runs


@flow(name="radar-serve-restart-probe")
def probe() -> None:
    """Never run: only its runs' states matter here."""


async def _runs_then_crash() -> tuple[list[str], dict[str, StateType]]:
    radar = DEPLOYMENT_OPTIONS["tags"]
    made = {  # name: (tags, state)
        "left-running": (radar, StateType.RUNNING),
        "left-pending": (radar, StateType.PENDING),
        "finished": (radar, StateType.COMPLETED),
        "queued": (radar, StateType.SCHEDULED),
        "a-commands-own": ([], StateType.RUNNING),
    }
    async with get_client() as client:
        ids = {name: (await client.create_flow_run(probe, name=name, tags=tags, state=State(type=state))).id
               for name, (tags, state) in made.items()}
        crashed = await crash_left_runs(client)
        states = {name: (await client.read_flow_run(run_id)).state.type for name, run_id in ids.items()}
    return crashed, states


def test_runs_a_killed_radar_serve_left_running_are_marked_crashed_and_nothing_else(prefect):
    # In a thread of its own: earlier tests in the session (a browser driver) may leave this thread's loop running.
    with ThreadPoolExecutor(1) as thread:
        crashed, states = thread.submit(asyncio.run, _runs_then_crash()).result()
    assert sorted(name for name in crashed if name in states) == ["left-pending", "left-running"]
    assert states == {
        "left-running": StateType.CRASHED, "left-pending": StateType.CRASHED, "finished": StateType.COMPLETED,
        "queued": StateType.SCHEDULED, "a-commands-own": StateType.RUNNING,
    }
