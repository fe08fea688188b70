"""The register's part of the monthly cycle: the register is loaded from the partnership's files, and alerts on
linked indicators arrive on risks as evidence.

`seed_register` is the cycle's first step, so the overdue-review rules read
the register; it is the one place a store is seeded (reads never write).
`attach_register_evidence` comes at the end, once alerts are reconciled.  The
step itself is the actions floor's (radar.actions.register.
attach_register_evidence: pipelines.register decides which alerts are news
for which risk and what re-score they suggest, and both are stored in one
transaction); this task adds the retries.  A proposal never changes a
score: the owner decides (`radar risks decide`).
"""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from radar.actions import register
from radar.flows.runtime import context, engine, retry_on_io


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def seed_register(today: date) -> None:
    """Load the partnership's register files into a store that has never had them, dated `today`."""
    register.seed_register(engine(), context(), today)


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def attach_register_evidence() -> dict[str, int]:
    return register.attach_register_evidence(engine(), context())
