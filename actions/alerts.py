"""What people do to alerts: acknowledge one, or silence it for a while with a reason.

The rules of the lifecycle are pure (pipelines.alerts.lifecycle); here the
alerts are loaded, the action applied and saved with its audit row in one
transaction.  An alert is named by its short id (`spc-k3f9qa2b`, what
`radar alerts` shows) or its full key; a refusal of the lifecycle (an
unknown id, a resolved alert, a silence with no reason or not in the
future) is its ValueError, raised before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine

from radar.models import alerts as alert_store
from radar.pipelines.alerts.lifecycle import STATE_SCHEMA, acknowledge, silence


def _apply(engine: Engine, la_code: str, actor: str, action: Callable, alert_id: str, *args) -> dict:
    with engine.begin() as conn:
        state, transition = action(alert_store.read_alerts(conn, la_code, STATE_SCHEMA), alert_id, *args)
        alert_store.save_alerts(conn, la_code, state, transition, actor)
    return state.filter(state["key"] == transition["key"][0]).to_dicts()[0]


def acknowledge_alert(engine: Engine, la_code: str, alert_id: str, *, by: str, note: str) -> dict:
    """Someone (`by`) is dealing with the alert; returns the alert as now stored."""
    return _apply(engine, la_code, by, acknowledge, alert_id, by, note.strip())


def silence_alert(engine: Engine, la_code: str, alert_id: str, *, reason: str, until: date, by: str,
                  today: date | None = None) -> dict:
    """Mute the alert until `until` (inclusive), which must be after `today` (default: the day it runs)."""
    return _apply(engine, la_code, by, silence, alert_id, reason.strip(), until, today or date.today())
