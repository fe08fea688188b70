"""What people do to alerts: acknowledge one, or silence it for a while with a reason.

The rules of the lifecycle are pure (pipelines.alert_lifecycle); this module
loads the alerts, applies the action and saves it with its audit row in one
transaction.  An alert is named by its short id (`spc-k3f9qa2b`, what
`radar alerts` shows) or its full key.
"""

from __future__ import annotations

from datetime import date

from radar.flows.runtime import context, engine
from radar.models import store
from radar.pipelines.alerts.lifecycle import STATE_SCHEMA, acknowledge, silence


def _apply(action, actor: str, alert_id: str, *args) -> dict:
    la_code = context().la_code
    with engine().begin() as conn:
        state, transition = action(store.read_alerts(conn, la_code, STATE_SCHEMA), alert_id, *args)
        store.save_alerts(conn, la_code, state, transition, actor)
    return state.filter(state["key"] == transition["key"][0]).to_dicts()[0]


def acknowledge_alert(alert_id: str, by: str, note: str) -> dict:
    return _apply(acknowledge, by, alert_id, by, note)


def silence_alert(alert_id: str, reason: str, until: date, by: str) -> dict:
    """Silence until `until`, which must be after today (the day the command runs)."""
    return _apply(silence, by, alert_id, reason, until, date.today())
