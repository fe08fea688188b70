"""The register's part of the monthly cycle: alerts on linked indicators arrive on risks as evidence.

Called at the end of the monthly cycle, once alerts are reconciled.  The
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

from radar.actions.register import attach_register_evidence as attach
from radar.flows.runtime import context, engine, retry_on_io


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def attach_register_evidence(today: date) -> dict[str, int]:
    return attach(engine(), context(), today)
