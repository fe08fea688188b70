"""The life of an alert, from raised to resolved, as pure functions over frames.

A rule's candidates say what fires this month; an alert is what a subgroup
chair works with over months: it opens once, can be acknowledged (someone is
on it) or silenced for a while (known and accepted, with a reason and an end
date), resolves when its cause stops firing and reopens under the same key
if it fires again.  Every status change also yields an audit row
(key, from_status, to_status, reason), so the store can keep an append-only
trail of who decided what and when.

    (new) -> open -> acknowledged -> resolved -> open ...
             open / acknowledged -> silenced -> (after silenced_until) open or resolved

`reconcile` applies one cycle's candidates; `acknowledge` and `silence` are the
human actions, which find an alert by its short id (`ref`, what people type)
or its full key.  An alert's first_period is the month its cause began (the
candidate's `since`), so "new" on the dashboard means new, and raised_on the
day a cycle first raised it.  Running `reconcile` twice with the same inputs changes nothing
the second time.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

import polars as pl

from radar.core.alert_vocabulary import ACTIVE
from radar.pipelines.alerts.inhibition import is_held
from radar.pipelines.alerts.rule import alert_ref

STATE_SCHEMA = {
    "key": pl.String, "ref": pl.String, "rule": pl.String, "indicator": pl.String, "breakdown": pl.String, "feed": pl.String,
    "scope": pl.String, "severity": pl.String, "subgroup": pl.String, "status": pl.String,
    "message": pl.String, "evidence": pl.String, "first_period": pl.String, "last_period": pl.String,
    "cleared_period": pl.String, "raised_on": pl.Date, "acknowledged_by": pl.String, "ack_note": pl.String,
    "silenced_reason": pl.String, "silenced_until": pl.Date,
}
TRANSITION_SCHEMA = {"key": pl.String, "from_status": pl.String, "to_status": pl.String, "reason": pl.String}
REFRESHED = ("message", "evidence", "severity", "subgroup")  # what a still-firing alert takes from its new candidate


def empty_state() -> pl.DataFrame:
    return pl.DataFrame(schema=STATE_SCHEMA)


def reconcile(
    existing: pl.DataFrame,
    candidates: pl.DataFrame,
    period: str,
    today: date,
    held: Collection[str] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply one cycle's candidates to the alerts: (new state of every alert, transition rows).

    - a new candidate opens an alert, with first_period the month its cause
      began (the candidate's `since`) and raised_on `today`;
    - an open or acknowledged alert that still fires keeps its status and
      takes the new message, evidence and last_period (no transition row);
    - one that no longer fires is resolved (cleared_period = `period`),
      unless its data comes from a feed in `held` (missing or rejected this
      month, see inhibition.py): no data is not a recovery;
    - a resolved alert that fires again reopens, with its old
      acknowledgement cleared (first_period and raised_on keep when it was
      first raised: the audit trail has each reopening);
    - a silenced alert stays silenced (its text kept current) while
      `silenced_until` >= `today`; after that the silence is lifted and the
      rules above apply.
    """
    keys = candidates["key"].to_list()
    if len(keys) != len(set(keys)):
        raise ValueError("candidate alerts must have unique keys; a rule raised the same key twice")
    firing = {row["key"]: row for row in candidates.to_dicts()}
    alerts = {row["key"]: row for row in existing.to_dicts()}
    state, transitions = [], []
    for key in sorted(alerts.keys() | firing.keys()):
        alert, candidate = alerts.get(key), firing.get(key)
        if alert is None:
            state.append(_raised(candidate, period, today))
            transitions.append((key, None, "open", f"raised for {period}"))
            continue
        new, why = _next(alert, candidate, period, today, held)
        state.append(new)
        if new["status"] != alert["status"]:
            transitions.append((key, alert["status"], new["status"], why))
    return _state(state), _transitions(transitions)


def _raised(candidate: dict, period: str, today: date) -> dict:
    alert = {column: candidate.get(column) for column in STATE_SCHEMA}
    return alert | {"ref": alert_ref(candidate["key"]), "status": "open", "first_period": candidate["since"] or period,
                    "last_period": period, "raised_on": today}


def _next(alert: dict, candidate: dict | None, period: str, today: date, held: Collection[str]) -> tuple[dict, str]:
    """An existing alert after this cycle, and the reason for its change of status (if it changes)."""
    why = []
    if alert["status"] == "silenced":
        if alert["silenced_until"] >= today:
            return (_refreshed(alert, candidate, period) if candidate else alert), ""
        why.append(f"silence ended on {alert['silenced_until'].isoformat()}")
        alert = alert | {"status": "open", "silenced_reason": None, "silenced_until": None}
    if candidate is not None:
        if alert["status"] == "resolved":
            alert = alert | {"status": "open", "cleared_period": None, "acknowledged_by": None, "ack_note": None}
            why.append(f"fires again in {period}")
        return _refreshed(alert, candidate, period), "; ".join(why)
    if alert["status"] in ACTIVE and not is_held(alert, held):
        alert = alert | {"status": "resolved", "cleared_period": period}
        why.append(f"no longer fires in {period}")
    return alert, "; ".join(why)


def _refreshed(alert: dict, candidate: dict, period: str) -> dict:
    return alert | {column: candidate[column] for column in REFRESHED} | {"last_period": period}


def acknowledge(state: pl.DataFrame, alert_id: str, by: str, note: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Record that `by` is dealing with an open alert: (new state, transition row).

    Only an open alert can be acknowledged: a resolved one needs no action, a
    silenced one has already been accepted, and an acknowledged one already
    has an owner.
    """
    if not by.strip():
        raise ValueError("an acknowledgement needs the name of who is dealing with the alert")
    alert = _find(state, alert_id)
    key = alert["key"]
    if alert["status"] != "open":
        raise ValueError(f"alert {alert['ref']} is {alert['status']}; only an open alert can be acknowledged")
    reason = f"acknowledged by {by}" + (f": {note}" if note else "")
    return _replace(state, alert | {"status": "acknowledged", "acknowledged_by": by, "ack_note": note}), _transitions(
        [(key, "open", "acknowledged", reason)]
    )


def silence(
    state: pl.DataFrame, alert_id: str, reason: str, until: date, today: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mute an open or acknowledged alert until `until` (inclusive), for a stated reason: (new state, transition row).

    A resolved alert needs no silence, and a silenced one is already muted.
    The silence must end after `today`: one ending today or earlier would be
    lifted by the next cycle, muting nothing while looking as if it had.
    """
    if not reason.strip():
        raise ValueError("silencing an alert needs a reason the Board can read")
    if until <= today:
        raise ValueError(f"a silence must end after today ({today.isoformat()}); "
                         f"{until.isoformat()} is not in the future")
    alert = _find(state, alert_id)
    key = alert["key"]
    if alert["status"] == "resolved":
        raise ValueError(f"alert {alert['ref']} is resolved and needs no silence")
    if alert["status"] == "silenced":
        raise ValueError(f"alert {alert['ref']} is already silenced until {alert['silenced_until'].isoformat()}")
    silenced = alert | {"status": "silenced", "silenced_reason": reason, "silenced_until": until}
    return _replace(state, silenced), _transitions(
        [(key, alert["status"], "silenced", f"silenced until {until.isoformat()}: {reason}")]
    )


def _find(state: pl.DataFrame, alert_id: str) -> dict:
    """The alert whose short id (`ref`) or full key is `alert_id`."""
    rows = state.filter((pl.col("ref") == alert_id) | (pl.col("key") == alert_id)).to_dicts()
    if not rows:
        raise ValueError(f"no alert with id {alert_id}; `radar alerts --status all` lists every alert's id")
    return rows[0]


def _replace(state: pl.DataFrame, alert: dict) -> pl.DataFrame:
    return _state([alert if row["key"] == alert["key"] else row for row in state.to_dicts()])


def _state(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=STATE_SCHEMA)


def _transitions(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=TRANSITION_SCHEMA, orient="row")
