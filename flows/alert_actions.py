"""What people do to alerts: acknowledge one, or silence it for a while with a reason.

The rules of the lifecycle are pure (pipelines.alert_lifecycle); this module
loads the alerts, applies the action and saves it with its audit row in one
transaction.
"""

from __future__ import annotations

from datetime import date

from radar.flows.runtime import context, engine
from radar.models import store
from radar.pipelines.alert_lifecycle import STATE_SCHEMA, acknowledge, silence


def _apply(action, actor: str, key: str, *args) -> dict:
    la_code = context().la_code
    with engine().begin() as conn:
        state, transition = action(store.read_alerts(conn, la_code, STATE_SCHEMA), key, *args)
        store.save_alerts(conn, la_code, state, transition, actor)
    return state.filter(state["key"] == key).to_dicts()[0]


def acknowledge_alert(key: str, by: str, note: str) -> dict:
    return _apply(acknowledge, by, key, by, note)


def silence_alert(key: str, reason: str, until: date, by: str) -> dict:
    return _apply(silence, by, key, reason, until)
