"""The words an alert is judged in, defined once: its statuses, the active ones and the order of severities.

The lifecycle (radar.pipelines.alerts.lifecycle) moves alerts between these
statuses; the store, notification, the threat assessment, the register, the
command line and the dashboard all read them from here, so "active" means the
same on every screen and in every e-mail.  The ground floor, so anything of
Radar's may import it.
"""

from __future__ import annotations

from typing import Literal, get_args

Severity = Literal["high", "medium", "low"]  # most severe first: the order every list and count follows
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

AlertStatus = Literal["open", "acknowledged", "resolved", "silenced"]
ALERT_STATUSES: tuple[AlertStatus, ...] = get_args(AlertStatus)
# Active: someone must act, or is acting.  Acknowledging an alert says someone is handling it, not that it
# went away, so an acknowledged alert stays active until the cycle resolves it.
ACTIVE: tuple[AlertStatus, ...] = ("open", "acknowledged")


def severity_rank(severity: str | None) -> int:
    """How severe, as a number that grows with severity (low 0, medium 1, high 2); -1 for no or an unknown severity.

    Compare two severities with it (an escalation is a higher rank than
    before); sort most severe first with `-severity_rank(s)`.
    """
    return len(SEVERITIES) - 1 - SEVERITIES.index(severity) if severity in SEVERITIES else -1
