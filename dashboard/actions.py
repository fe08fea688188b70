"""What a signed-in person can change from the dashboard, each checked against their role and audited.

The writes are the store's own (radar.models.store), the ones the `radar`
command makes, with the lifecycle rules of pipelines.alert_lifecycle: the
dashboard never goes round them.  Every write carries the signed-in address
as its actor, so the audit trail says who did it from where.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from radar.core.register import ImpactEntrySpec
from radar.dashboard.auth import Person
from radar.dashboard.common import changed, context, engine
from radar.dashboard.register import day
from radar.models import register, store
from radar.pipelines.alerts.lifecycle import STATE_SCHEMA, acknowledge, silence
from radar.pipelines.register import impact_problems, score_problems


class NotAllowed(PermissionError):
    """The person's role does not include this action (the page should not have offered it)."""


def _refuse_if(problems: list[str]) -> None:
    """Refuse, naming every problem at once, before anything is written (the CLI's words and rules)."""
    if problems:
        raise register.RegisterRefusal("Nothing was saved: " + "; ".join(problems) + ".")


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


def silence_alert(person: Person, alert: dict, reason: str, until: date) -> None:
    """Mute an alert until a day after today, with a reason the Board reads: the chair any, a subgroup chair
    only their subgroup's (the lifecycle's rules refuse a resolved, already silenced or past-dated one)."""
    if not person.may_act_on_subgroup(alert["subgroup"]):
        raise NotAllowed(f"{person.role_name()} may not silence {alert['subgroup']} alerts")
    la_code = context().la_code
    with engine().begin() as conn:
        state, transition = silence(store.read_alerts(conn, la_code, STATE_SCHEMA), alert["key"], reason.strip(),
                                    until, date.today())
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


def decide_proposal(person: Person, risk: dict, proposal: int, decision: str, reason: str,
                    change: tuple[int, int] | None = None) -> dict:
    """Accept, change or reject a proposed re-score of a risk the person answers for (`radar risks decide`).

    `risk` is the risk as the page showed it: if anyone edited it since
    (its version moved on), the decision is refused, never applied to a
    score the person has not seen.
    """
    if not person.may_act_on_subgroup(risk["subgroup"]):
        raise NotAllowed(f"{person.role_name()} may not decide on {risk['subgroup']} risks")
    ctx = context()
    matrix = register.load_matrix(ctx.config)
    _refuse_if([] if reason.strip() else ["say why you decided so"])
    _refuse_if(score_problems(matrix, {"changed": change}) if change else [])
    with engine().begin() as conn:
        _unchanged_since_shown(conn, ctx.la_code, risk, "decision")
        result = register.decide_proposal(conn, ctx.la_code, risk["id"], proposal, decision=decision, by=person.email,
                                          reason=reason.strip(), matrix=matrix, today=date.today(), change=change)
    changed()
    return result


def review_risk(person: Person, risk: dict, reason: str, score: tuple[int, int] | None = None) -> str:
    """Review a risk the person answers for: keep its score, or give it a new one (`radar risks review`,
    `radar risks score`); either way the next review follows the band's cadence.

    `risk` is the risk as the page showed it: if anyone edited it since, the
    review is refused, never applied to a score the person has not seen.
    Returns what was recorded, in words.
    """
    if not person.may_act_on_subgroup(risk["subgroup"]):
        raise NotAllowed(f"{person.role_name()} may not review {risk['subgroup']} risks")
    ctx = context()
    matrix = register.load_matrix(ctx.config)
    _refuse_if([] if reason.strip() else ["say what the review found"])
    _refuse_if(score_problems(matrix, {"new": score}) if score else [])
    with engine().begin() as conn:
        _unchanged_since_shown(conn, ctx.la_code, risk, "review")
        if score is None:
            next_review = register.review_risk(conn, ctx.la_code, risk["id"], by=person.email, note=reason.strip(),
                                               matrix=matrix, today=date.today())
            said = f"reviewed, score kept; next review {day(next_review)}"
        else:
            register.rescore_risk(conn, ctx.la_code, risk["id"], likelihood=score[0], impact=score[1],
                                  by=person.email, reason=reason.strip(), version=risk["version"], matrix=matrix,
                                  today=date.today())
            said = f"now {score[0]} × {score[1]} = {score[0] * score[1]}"
    changed()
    return said


def _unchanged_since_shown(conn, la_code: str, risk: dict, what: str) -> None:
    """Refuse `what` when the risk's version moved on since the page showed it (someone else edited it)."""
    now = register.risk_row(conn, la_code, risk["id"])["version"]
    if now != risk["version"]:
        raise register.RegisterRefusal(
            f"risk {risk['id']} has changed since you read it (you had version {risk['version']}, it is now "
            f"version {now}); look at it again and redo your {what}")


def add_impact_entry(person: Person, *, subgroup: str, challenge: str, action: str, owner: str, on: date,
                     status: str, evidence: str) -> str:
    """Add an Impact Log entry for a subgroup the person chairs (the chair: any), as `radar impact add` does."""
    if not person.may_act_on_subgroup(subgroup):
        raise NotAllowed(f"{person.role_name()} may not add {subgroup} Impact Log entries")
    ctx = context()
    with engine().begin() as conn:
        fields = {"id": register.next_impact_id(conn, ctx.la_code), "date": on, "subgroup": subgroup,
                  "challenge": challenge.strip(), "action": action.strip(), "owner": owner.strip(), "status": status,
                  "evidence": evidence.strip()}
        _refuse_if([f"the {name} is needed" for name in ("challenge", "action", "owner") if not fields[name]])
        try:
            entry = ImpactEntrySpec(**fields)
        except ValidationError as error:
            _refuse_if([f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()])
        _refuse_if(impact_problems(entry, set(ctx.config.subgroups)))
        register.insert_impact(conn, ctx.la_code, entry, by=person.email)
    changed()
    return entry.id


def update_impact_entry(person: Person, entry: dict, changes: dict[str, str]) -> None:
    """Update an entry as the page showed it (its version), as `radar impact update` does; a stale one is refused."""
    if not person.may_act_on_subgroup(entry["subgroup"]):
        raise NotAllowed(f"{person.role_name()} may not update {entry['subgroup']} Impact Log entries")
    changes = {k: v.strip() for k, v in changes.items() if v.strip() != (entry[k] or "")}
    _refuse_if([] if changes else ["nothing was changed"])
    with engine().begin() as conn:
        register.update_impact(conn, context().la_code, entry["id"], changes, by=person.email,
                               version=entry["version"])
    changed()
