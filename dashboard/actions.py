"""What a signed-in person can change from the dashboard, each checked against their role and audited.

The writes are the store's own (radar.models.store), the ones the `radar`
command makes, with the lifecycle rules of pipelines.alert_lifecycle: the
dashboard never goes round them.  Every write carries the signed-in address
as its actor, so the audit trail says who did it from where.
"""

from __future__ import annotations

from typing import Any

from radar.dashboard.auth import Person
from radar.dashboard.common import changed, context, engine
from radar.models import store
from radar.pipelines.alert_lifecycle import STATE_SCHEMA, acknowledge


class NotAllowed(PermissionError):
    """The person's role does not include this action (the page should not have offered it)."""


def acknowledge_alert(person: Person, alert: dict, note: str) -> None:
    """Say someone is handling an alert: the chair any, a subgroup chair only their subgroup's."""
    if not person.may_act_on_subgroup(alert["subgroup"]):
        raise NotAllowed(f"{person.role_name()} may not acknowledge {alert['subgroup']} alerts")
    la_code = context().la_code
    with engine().begin() as conn:
        state, transition = acknowledge(store.read_alerts(conn, la_code, STATE_SCHEMA), alert["key"],
                                        person.email, note.strip())
        store.save_alerts(conn, la_code, state, transition, person.email)
    changed()


def rebase_limits(person: Person, indicator: str, breakdown: str, period: str, reason: str) -> bool:
    """Record that a chart's limits start again from `period` (the next cycle applies it); False if already so."""
    if not person.may_rebase():
        raise NotAllowed(f"{person.role_name()} may not re-base a chart")
    with engine().begin() as conn:
        recorded = store.record_rebase(conn, context().la_code, indicator=indicator, breakdown=breakdown,
                                       period=period, reason=reason.strip(), by=person.email)
    changed()
    return recorded


def record_upload(person: Person, file_name: str, detail: dict[str, Any]) -> None:
    """Audit a file handed to the inbox from the upload page, before the ingest flow records its outcome."""
    with engine().begin() as conn:
        store.audit(conn, context().la_code, person.email, "dashboard_upload", file_name, detail)
    changed()
