"""What a signed-in person can change from the dashboard: who may (their role), then the actions floor's own
action (radar.actions), the one the `radar` command takes, with the signed-in address as its actor.

Nothing here writes: each function checks the person's role, calls
radar.actions with the dashboard's engine and context, and tells the page's
reads that the store changed.  The refusals (a missing reason, a score off
the matrix, an edit of something changed since it was shown) are the
actions floor's, in the same words as on the command line.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from radar.actions import alerts, charts, register, submissions
from radar.actions.refusal import refuse_if
from radar.dashboard.auth import Person
from radar.dashboard.common import changed, context, engine
from radar.dashboard.register import day
from radar.validation.feeds import ValidatedFile


class NotAllowed(PermissionError):
    """The person's role does not include this action (the page should not have offered it)."""


def _may_act_on(person: Person, subgroup: str, what: str) -> None:
    if not person.may_act_on_subgroup(subgroup):
        raise NotAllowed(f"{person.role_name()} may not {what}")


def acknowledge_alert(person: Person, alert: dict, note: str) -> None:
    """Say someone is handling an alert: the chair any, a subgroup chair only their subgroup's."""
    _may_act_on(person, alert["subgroup"], f"acknowledge {alert['subgroup']} alerts")
    alerts.acknowledge_alert(engine(), context().la_code, alert["key"], by=person.email, note=note)
    changed()


def silence_alert(person: Person, alert: dict, reason: str, until: date) -> None:
    """Mute an alert until a day after today, with a reason the Board reads: the chair any, a subgroup chair
    only their subgroup's (the lifecycle's rules refuse a resolved, already silenced or past-dated one)."""
    _may_act_on(person, alert["subgroup"], f"silence {alert['subgroup']} alerts")
    alerts.silence_alert(engine(), context().la_code, alert["key"], reason=reason, until=until, by=person.email)
    changed()


def rebase_limits(person: Person, indicator: str, breakdown: str, period: str, reason: str) -> bool:
    """Record that a chart's limits start again from `period` (the next cycle applies it); False if already so."""
    if not person.may_rebase():
        raise NotAllowed(f"{person.role_name()} may not re-base a chart")
    recorded = charts.rebase_limits(engine(), context(), indicator=indicator, breakdown=breakdown, period=period,
                                    reason=reason, by=person.email)
    changed()
    return recorded


def record_rejected_upload(person: Person, file_name: str, file_hash: str, received_at: datetime,
                           result: ValidatedFile, quarantined: Path, report: Path) -> None:
    """Record an upload the checks rejected, as the ingest flow records a dropped file, under the sender."""
    submissions.record_rejection(engine(), context().la_code, person.email, file_name=file_name, file_hash=file_hash,
                                 feed_id=result.feed_id, period=result.period, received_at=received_at,
                                 result=result, quarantined=quarantined, report=report)
    changed()


def record_upload(person: Person, file_name: str, detail: dict[str, Any]) -> None:
    """Audit a file handed to the inbox from the upload page, before the ingest flow records its outcome."""
    submissions.record_upload(engine(), context().la_code, person.email, file_name, detail)
    changed()


def decide_proposal(person: Person, risk: dict, proposal: int, decision: str, reason: str,
                    change: tuple[int, int] | None = None) -> dict:
    """Accept, change or reject a proposed re-score of a risk the person answers for (`radar risks decide`).

    `risk` is the risk as the page showed it: if anyone edited it since
    (its version moved on), the decision is refused, never applied to a
    score the person has not seen.
    """
    _may_act_on(person, risk["subgroup"], f"decide on {risk['subgroup']} risks")
    result = register.decide_proposal(engine(), context(), risk["id"], proposal, decision=decision, by=person.email,
                                      reason=reason, today=date.today(), change=change, version=risk["version"])
    changed()
    return result


def review_risk(person: Person, risk: dict, reason: str, score: tuple[int, int] | None = None) -> str:
    """Review a risk the person answers for: keep its score, or give it a new one (`radar risks review`,
    `radar risks score`); either way the next review follows the band's cadence.

    `risk` is the risk as the page showed it: if anyone edited it since, the
    review is refused, never applied to a score the person has not seen.
    Returns what was recorded, in words.
    """
    _may_act_on(person, risk["subgroup"], f"review {risk['subgroup']} risks")
    if score is None:
        next_review = register.review_risk(engine(), context(), risk["id"], by=person.email, note=reason,
                                           today=date.today(), version=risk["version"])
        said = f"reviewed, score kept; next review {day(next_review)}"
    else:
        register.rescore_risk(engine(), context(), risk["id"], likelihood=score[0], impact=score[1], by=person.email,
                              reason=reason, version=risk["version"], today=date.today())
        said = f"now {score[0]} × {score[1]} = {score[0] * score[1]}"
    changed()
    return said


def add_risk(person: Person, *, title: str, subgroup: str, owner: str, likelihood: int, impact: int, appetite: str,
             priority: str, cause: str = "", event: str = "", consequence: str = "") -> str:
    """Add a risk for a subgroup the person chairs (the chair: any), as `radar risks add` does; returns its id."""
    _may_act_on(person, subgroup, f"add {subgroup} risks")
    added = register.add_risk(engine(), context(), title=title, subgroup=subgroup, owner=owner, likelihood=likelihood,
                              impact=impact, appetite=appetite, priority=priority, cause=cause, event=event,
                              consequence=consequence, by=person.email, today=date.today())
    changed()
    return added


def add_impact_entry(person: Person, *, subgroup: str, challenge: str, action: str, owner: str, on: date,
                     status: str, evidence: str) -> str:
    """Add an Impact Log entry for a subgroup the person chairs (the chair: any), as `radar impact add` does."""
    _may_act_on(person, subgroup, f"add {subgroup} Impact Log entries")
    added = register.add_impact_entry(engine(), context(), subgroup=subgroup, challenge=challenge, action=action,
                                      owner=owner, on=on, status=status, evidence=evidence, by=person.email)
    changed()
    return added


def update_impact_entry(person: Person, entry: dict, changes: dict[str, str]) -> None:
    """Update an entry as the page showed it (its version), as `radar impact update` does; a stale one is refused."""
    _may_act_on(person, entry["subgroup"], f"update {entry['subgroup']} Impact Log entries")
    changes = {k: v for k, v in changes.items() if v.strip() != (entry[k] or "")}  # only what the form changed
    refuse_if([] if changes else ["nothing was changed"])
    register.update_impact_entry(engine(), context(), entry["id"], changes, by=person.email,
                                 version=entry["version"])
    changed()


def add_risk_action(person: Person, risk: dict, *, description: str, owner: str, due: date) -> int:
    """Add an action to a risk the person answers for, as `radar risks action add` does; returns its number.
    `risk` is the risk as the page showed it: one changed since is refused."""
    _may_act_on(person, risk["subgroup"], f"add actions to {risk['subgroup']} risks")
    number = register.add_risk_action(engine(), context(), risk["id"], description=description, owner=owner, due=due,
                                      by=person.email, today=date.today(), version=risk["version"])
    changed()
    return number


def update_risk_action(person: Person, risk: dict, action: dict, *, description: str, owner: str, due: date) -> None:
    """Change what the form changed of an open action (`radar risks action update`); nothing changed is refused."""
    _may_act_on(person, risk["subgroup"], f"update actions on {risk['subgroup']} risks")
    given = {"description": description.strip(), "owner": owner.strip(), "due": due}
    changes = {k: v for k, v in given.items() if v != action[k]}
    register.update_risk_action(engine(), context(), risk["id"], action["id"], by=person.email, today=date.today(),
                                version=risk["version"], **changes)
    changed()


def close_risk_action(person: Person, risk: dict, action: dict, *, note: str, dropped: bool) -> None:
    """Close an open action, done or dropped, with what was done or why (`radar risks action close`)."""
    _may_act_on(person, risk["subgroup"], f"close actions on {risk['subgroup']} risks")
    register.close_risk_action(engine(), context(), risk["id"], action["id"], note=note, by=person.email,
                               today=date.today(), dropped=dropped, version=risk["version"])
    changed()


def link_impact_entry(person: Person, entry: dict, *, risk_id: str | None = None, alert: str | None = None) -> str:
    """Link an Impact Log entry of the person's subgroup (the chair: any) to a risk or an alert, as
    `radar impact link` does; returns what it was linked to, in words."""
    _may_act_on(person, entry["subgroup"], f"link {entry['subgroup']} Impact Log entries")
    said = register.link_impact_entry(engine(), context(), entry["id"], by=person.email, risk_id=risk_id,
                                      alert=alert)
    changed()
    return said
