"""The register's part of the monthly cycle: alerts on linked indicators arrive on risks as evidence.

Called at the end of the monthly cycle, once alerts are reconciled.  The
pure step (pipelines.register) decides which alerts are news for which risk
and what re-score they suggest; this task stores both in one transaction.
A proposal never changes a score: the owner decides (`radar risks decide`).
"""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from radar.core.alert_vocabulary import ACTIVE
from radar.flows.runtime import context, engine, retry_on_io
from radar.models import register as store
from radar.pipelines.register import new_evidence, propose_rescores


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def attach_register_evidence(today: date) -> dict[str, int]:
    ctx = context()
    if ctx.config.risk_register is None:
        return {"evidence": 0, "proposals": 0}
    with engine().begin() as conn:
        store.ensure_seeded(conn, ctx.config, today)
        matrix = store.load_matrix(ctx.config)
        risks = store.read_risks(conn, ctx.la_code)
        alerts = store.indicator_alerts(conn, ctx.la_code)
        links = {r["risk_id"]: r["linked_indicators"] for r in risks if r["status"] != "closed"}
        evidence = new_evidence(links, alerts, store.attached_evidence(conn, ctx.la_code))
        active = {risk_id: sum(a["status"] in ACTIVE and a["indicator"] in indicators
                               for a in alerts) for risk_id, indicators in links.items()}
        return store.attach_evidence(conn, ctx.la_code, evidence, propose_rescores(risks, evidence, active, matrix))
