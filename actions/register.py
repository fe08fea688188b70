"""What people and the monthly cycle do to the risk register and the Impact Log.

People add risks, re-score and review them, decide on the re-scores the
cycle proposes, and add and update Impact Log entries; the cycle attaches
alerts on linked indicators to risks as evidence and proposes re-scores
(which never change a score: the owner decides).  Each edit is checked
(pipelines.register's rules, the matrix's levels) and refused whole, naming
every problem, before anything is written (radar.actions.refusal); an edit of
a risk or entry someone else changed since it was shown is refused by the
store (models.register), never merged.

The register is seeded from the partnership's files in one place: the
monthly cycle's first step (`seed_register`).  Reads never write: before
the first cycle a store shows an empty register (`loaded` says why), and an
edit is refused with what to run, since a risk added by hand first would
collide with the file's ids when the cycle loads them.  The matrix and seed
files are parsed once per run, on the partnership context (`ctx.register`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TypeVar, get_args

from pydantic import ValidationError
from sqlalchemy import Connection, Engine

from radar.actions.refusal import refuse_if
from radar.core import periods
from radar.core.alert_vocabulary import ACTIVE
from radar.core.config import Context
from radar.core.register import (
    Category,
    ImpactEntrySpec,
    ImpactStatus,
    Matrix,
    RiskFile,
    RiskSpec,
    load_yaml,
)
from radar.models import alerts as alert_store
from radar.models import register as store
from radar.models.audit import latest_cycle
from radar.pipelines.register import (
    impact_problems,
    new_evidence,
    propose_rescores,
    risk_problems,
    risk_view,
    score_problems,
)

M = TypeVar("M")
IMPACT_FIELDS = ("status", "action", "owner", "evidence")  # what an Impact Log update may change


NOT_LOADED = ("the risk register has not been loaded from the partnership's register files yet: the monthly "
              "cycle loads it (radar cycle --period YYYY-MM, or radar demo)")


def register_matrix(ctx: Context) -> Matrix:
    """The partnership's matrix (parsed once per run), or a refusal when it keeps no register."""
    if ctx.register is None:
        raise store.RegisterRefusal("this partnership's config has no [risk_register] section, so it keeps no risk "
                                    "register")
    return ctx.register.matrix


def seed_register(engine: Engine, ctx: Context, today: date) -> None:
    """Load the partnership's register files into a store that has never had them, in one transaction: the one
    place the register is seeded (the monthly cycle's first step; nothing when the partnership keeps none)."""
    if ctx.register is not None:
        with engine.begin() as conn:
            store.ensure_seeded(conn, ctx.la_code, ctx.register, today)


def loaded(engine: Engine, ctx: Context) -> bool:
    """Whether the register was loaded into this store (an empty register before then is not news)."""
    with engine.connect() as conn:
        return store.is_seeded(conn, ctx.la_code)


@contextlib.contextmanager
def _register(engine: Engine, ctx: Context) -> Iterator[tuple[Connection, Matrix]]:
    """The register in one transaction and its matrix; a refusal rolls it all back, and so does an edit of a
    register not yet loaded (`NOT_LOADED`)."""
    matrix = register_matrix(ctx)
    with engine.begin() as conn:
        if not store.is_seeded(conn, ctx.la_code):
            raise store.RegisterRefusal(NOT_LOADED)
        yield conn, matrix


# Reads, as the command line, the dashboard and the Board pack show them: a connection, never a transaction.

def judged_on(engine: Engine, ctx: Context, today: date) -> date:
    """The day the register and the Impact Log are judged on when no month is named: as of the latest month the
    monthly cycle judged (periods.as_of, as the overview and the Board pack judge it), so a demo of March 2020
    reads as it did then, not six years overdue by today's calendar; today before the first cycle."""
    with engine.connect() as conn:
        month = latest_cycle(conn, ctx.la_code)
    return periods.as_of(month, today) if month else today


def risks(engine: Engine, ctx: Context, today: date) -> tuple[Matrix, list[dict]]:
    """The matrix and every risk as pipelines.register.risk_view makes it (scores, band, appetite, review)."""
    matrix = register_matrix(ctx)
    with engine.connect() as conn:
        rows = store.read_risks(conn, ctx.la_code)
    return matrix, [risk_view(r, matrix, today) for r in rows]


def risk(engine: Engine, ctx: Context, risk_id: str, today: date) -> dict:
    """One risk in full with its history (every change: who, when, what, why); refused if there is none."""
    found = [r for r in risks(engine, ctx, today)[1] if r["id"] == risk_id]
    if not found:
        raise store.RegisterRefusal(f"there is no risk {risk_id} in the register (see radar risks list)")
    return found[0] | {"history": history(engine, ctx.la_code, risk_id)}


def history(engine: Engine, la_code: str, risk_id: str) -> list[dict]:
    with engine.connect() as conn:
        return store.risk_history(conn, la_code, risk_id)


def impact_log(engine: Engine, ctx: Context) -> list[dict]:
    """Every Impact Log entry with its version (what an update must name)."""
    with engine.connect() as conn:
        return store.read_impact(conn, ctx.la_code)


# People's edits.

def _insert_risks(conn: Connection, ctx: Context, matrix: Matrix, specs: list[RiskSpec], by: str,
                  today: date) -> list[str]:
    """Check every risk (pipelines.register's rules) and add them all, or refuse them all naming each problem."""
    refuse_if([f"risk {s.id}: {p}" for s in specs
               for p in risk_problems(s, matrix, set(ctx.config.subgroups), ctx.catalogue.indicator_by_id, today)])
    for spec in specs:
        store.insert_risk(conn, ctx.la_code, spec, matrix, today, by=by)
    return [s.id for s in specs]


def _validated(model: type[M], fields: dict) -> M:
    """`fields` as `model`, or a refusal naming each field that is wrong."""
    try:
        return model(**fields)
    except ValidationError as error:
        refuse_if([f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()])
        raise  # refuse_if has raised already


def add_risks(engine: Engine, ctx: Context, file: Path, *, by: str, today: date) -> list[str]:
    """Add the risks in a YAML file (`risks:` as in the partnership's register file); if any is refused, none is
    added.  Returns their ids."""
    specs = load_yaml(file, RiskFile).risks
    with _register(engine, ctx) as (conn, matrix):
        return _insert_risks(conn, ctx, matrix, specs, by, today)


def add_risk(engine: Engine, ctx: Context, *, title: str, subgroup: str, owner: str, likelihood: int, impact: int,
             appetite: str, by: str, today: date, priority: str = "local_safeguarding_context", cause: str = "",
             event: str = "", consequence: str = "", target: tuple[int, int] | None = None,
             indicators: tuple[str, ...] = ()) -> str:
    """Add one risk from a form, no file: its id is the next R number; its inherent score is the score given
    and its target the same unless `target` says otherwise; `appetite` is the category whose appetite applies
    (strategic or operational).  Returns its id."""
    with _register(engine, ctx) as (conn, matrix):
        refuse_if([f"the {name} is needed" for name, value in (("title", title), ("owner", owner)) if not value.strip()])
        choices = " or ".join(f"{c} ({matrix.appetite[c]} or less)" for c in get_args(Category))
        refuse_if([] if appetite in get_args(Category) else [f"the appetite must be {choices}, not {appetite!r}"])
        score = {"likelihood": likelihood, "impact": impact}
        spec = _validated(RiskSpec, {
            "id": store.next_risk_id(conn, ctx.la_code), "title": title.strip(), "cause": cause.strip(),
            "event": event.strip(), "consequence": consequence.strip(), "category": appetite, "priority": priority,
            "subgroup": subgroup, "owner": owner.strip(), "inherent": score, "current": score,
            "target": dict(zip(("likelihood", "impact"), target)) if target else score, "confidence": "medium",
            "confidence_reason": "", "linked_indicators": list(indicators)})
        return _insert_risks(conn, ctx, matrix, [spec], by, today)[0]


def _version_now(conn: Connection, la_code: str, risk_id: str, version: int | None) -> int:
    """`version` when the person gave the version they saw, else the risk's version now (no check)."""
    return store.risk_row(conn, la_code, risk_id)["version"] if version is None else version


def _action_fields(description: str | None, owner: str | None, due: date | None, today: date) -> dict:
    """The action's fields given, checked: a description and owner that say something, a due date not past."""
    fields = {k: v for k, v in (("description", description), ("owner", owner), ("due", due)) if v is not None}
    fields = {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}
    refuse_if([f"the action's {k} cannot be empty" for k in ("description", "owner") if fields.get(k) == ""])
    refuse_if([] if "due" not in fields or fields["due"] >= today
              else [f"the due date {fields['due']} is in the past (today is {today})"])
    return fields


def add_risk_action(engine: Engine, ctx: Context, risk_id: str, *, description: str, owner: str, due: date, by: str,
                    today: date, version: int | None = None) -> int:
    """Add an open action to a risk (refused if the risk changed since `version`, when given); returns its
    number, which `update_risk_action` and `close_risk_action` name."""
    with _register(engine, ctx) as (conn, _matrix):
        fields = _action_fields(description, owner, due, today)
        return store.add_action(conn, ctx.la_code, risk_id, **fields, by=by,
                                version=_version_now(conn, ctx.la_code, risk_id, version))


def update_risk_action(engine: Engine, ctx: Context, risk_id: str, action_id: int, *, by: str, today: date,
                       description: str | None = None, owner: str | None = None, due: date | None = None,
                       version: int | None = None) -> None:
    """Change an open action's description, owner or due date."""
    with _register(engine, ctx) as (conn, _matrix):
        fields = _action_fields(description, owner, due, today)
        refuse_if([] if fields else ["say what to change: the description, owner or due date"])
        _refuse_if_closed(store.action_row(conn, ctx.la_code, risk_id, action_id))
        store.change_action(conn, ctx.la_code, risk_id, action_id, fields, by=by,
                            version=_version_now(conn, ctx.la_code, risk_id, version))


def close_risk_action(engine: Engine, ctx: Context, risk_id: str, action_id: int, *, note: str, by: str,
                      today: date, dropped: bool = False, version: int | None = None) -> None:
    """Close an open action, done (or dropped), with a note saying what was done or why it was dropped."""
    note = note.strip()
    with _register(engine, ctx) as (conn, _matrix):
        refuse_if([] if note else ["say what was done (or why the action is dropped)"])
        _refuse_if_closed(store.action_row(conn, ctx.la_code, risk_id, action_id))
        store.change_action(conn, ctx.la_code, risk_id, action_id,
                            {"status": "dropped" if dropped else "done", "note": note}, by=by,
                            version=_version_now(conn, ctx.la_code, risk_id, version), what="action_closed")


def _refuse_if_closed(action: dict) -> None:
    refuse_if([] if action["status"] == "open" else
              [f"action {action['id']} is already {action['status']}; add a new action instead"])


def _unchanged_since_shown(conn: Connection, la_code: str, risk_id: str, version: int | None, what: str) -> None:
    """Refuse `what` when the risk's version moved on since `version` was shown (someone else edited it)."""
    if version is None:
        return
    now = store.risk_row(conn, la_code, risk_id)["version"]
    if now != version:
        raise store.RegisterRefusal(
            f"risk {risk_id} has changed since you read it (you had version {version}, it is now version {now}); "
            f"look at it again and redo your {what}")


def rescore_risk(engine: Engine, ctx: Context, risk_id: str, *, likelihood: int, impact: int, by: str, reason: str,
                 version: int, today: date) -> None:
    """Give a risk a new current score, with why, if nobody changed it since `version` (a review too: the next
    review follows the new band's cadence)."""
    reason = reason.strip()
    with _register(engine, ctx) as (conn, matrix):
        refuse_if([] if reason else ["say why the score changes"])
        refuse_if(score_problems(matrix, {"new": (likelihood, impact)}))
        store.rescore_risk(conn, ctx.la_code, risk_id, likelihood=likelihood, impact=impact, by=by, reason=reason,
                           version=version, matrix=matrix, today=today)


def review_risk(engine: Engine, ctx: Context, risk_id: str, *, by: str, note: str, today: date,
                version: int | None = None) -> date:
    """Record a review that keeps the score (refused if the risk changed since `version`, when given); returns the
    next review date, which follows the score band's cadence."""
    note = note.strip()
    with _register(engine, ctx) as (conn, matrix):
        refuse_if([] if note else ["say what the review found"])
        _unchanged_since_shown(conn, ctx.la_code, risk_id, version, "review")
        return store.review_risk(conn, ctx.la_code, risk_id, by=by, note=note, matrix=matrix, today=today)


DECISIONS = ("accepted", "rejected", "changed")


def decide_proposal(engine: Engine, ctx: Context, risk_id: str, proposal: int, *, decision: str, by: str, reason: str,
                    today: date, change: tuple[int, int] | None = None, version: int | None = None) -> dict:
    """Accept, change (to `change`) or reject a proposed re-score; refused if the risk changed since `version`,
    when given, so a decision is never applied to a score its maker has not seen."""
    reason = reason.strip()
    with _register(engine, ctx) as (conn, matrix):
        refuse_if([f"the decision must be one of {', '.join(DECISIONS)}, not {decision!r}"]
                  if decision not in DECISIONS else [])
        refuse_if([] if reason else ["say why you decided so"])
        refuse_if([] if (decision == "changed") == (change is not None)
                  else ["a changed decision, and only that, gives the score it changes to"])
        refuse_if(score_problems(matrix, {"changed": change}) if change else [])
        _unchanged_since_shown(conn, ctx.la_code, risk_id, version, "decision")
        return store.decide_proposal(conn, ctx.la_code, risk_id, proposal, decision=decision, by=by, reason=reason,
                                     matrix=matrix, today=today, change=change)


def add_impact_entry(engine: Engine, ctx: Context, *, subgroup: str, challenge: str, action: str, owner: str,
                     on: date, status: str, evidence: str, by: str) -> str:
    """Add an Impact Log entry (its id is the next IL number); returns the id."""
    with _register(engine, ctx) as (conn, _matrix):
        fields = {"id": store.next_impact_id(conn, ctx.la_code), "date": on, "subgroup": subgroup,
                  "challenge": challenge.strip(), "action": action.strip(), "owner": owner.strip(), "status": status,
                  "evidence": evidence.strip()}
        refuse_if([f"the {name} is needed" for name in ("challenge", "action", "owner") if not fields[name]])
        entry = _validated(ImpactEntrySpec, fields)
        refuse_if(impact_problems(entry, set(ctx.config.subgroups)))
        store.insert_impact(conn, ctx.la_code, entry, by=by)
    return entry.id


def update_impact_entry(engine: Engine, ctx: Context, entry_id: str, changes: dict[str, str], *, by: str,
                        version: int) -> None:
    """Change an entry's status, action, owner or evidence of impact, if nobody changed it since `version`."""
    changes = {k: v.strip() for k, v in changes.items()}
    with _register(engine, ctx) as (conn, _matrix):
        refuse_if([] if changes else ["say what to change: its status, action, owner or evidence"])
        refuse_if([f"an Impact Log entry has no {k!r} to change" for k in changes if k not in IMPACT_FIELDS])
        status = changes.get("status")
        refuse_if([] if status in (None, *get_args(ImpactStatus))
                  else [f"status must be one of {', '.join(get_args(ImpactStatus))}, not {status!r}"])
        store.update_impact(conn, ctx.la_code, entry_id, changes, by=by, version=version)


def link_impact_entry(engine: Engine, ctx: Context, entry_id: str, *, by: str, risk_id: str | None = None,
                      alert: str | None = None) -> str:
    """Tie an Impact Log entry to a register risk or an alert (its ref, as people see it, or its key); returns
    what it was linked to, in words.  An unknown entry, risk or alert, or a link made twice, is refused."""
    with _register(engine, ctx) as (conn, _matrix):
        refuse_if([] if (risk_id is None) != (alert is None) else ["link to exactly one: a risk or an alert"])
        if risk_id is not None:
            store.risk_row(conn, ctx.la_code, risk_id)  # refused when there is no such risk
            kind, target = "risk", risk_id
        else:
            key = alert_store.alert_key(conn, ctx.la_code, alert)
            refuse_if([] if key else [f"there is no alert {alert} (see radar alerts list)"])
            kind, target = "alert", key
        store.link_impact(conn, ctx.la_code, entry_id, kind, target, by=by)
    return f"{kind} {risk_id or alert}"


def impact_links(engine: Engine, ctx: Context) -> dict[str, dict[str, list[str]]]:
    """Each linked Impact Log entry's risks and alerts (keys), by entry id."""
    with engine.connect() as conn:
        return store.impact_links(conn, ctx.la_code)


# The monthly cycle's step.

def attach_register_evidence(engine: Engine, ctx: Context) -> dict[str, int]:
    """Attach alerts on linked indicators to open risks as evidence, with the re-scores they suggest, in one
    transaction (pipelines.register decides both).  Nothing when the partnership keeps no register."""
    if ctx.config.risk_register is None:
        return {"evidence": 0, "proposals": 0}
    with _register(engine, ctx) as (conn, matrix):
        risks = store.read_risks(conn, ctx.la_code)
        alerts = alert_store.indicator_alerts(conn, ctx.la_code)
        links = {r["risk_id"]: r["linked_indicators"] for r in risks if r["status"] != "closed"}
        evidence = new_evidence(links, alerts, store.attached_evidence(conn, ctx.la_code))
        active = {risk_id: sum(a["status"] in ACTIVE and a["indicator"] in indicators
                               for a in alerts) for risk_id, indicators in links.items()}
        return store.attach_evidence(conn, ctx.la_code, evidence, propose_rescores(risks, evidence, active, matrix))
