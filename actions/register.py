"""What people and the monthly cycle do to the risk register and the Impact Log.

People add risks, re-score and review them, decide on the re-scores the
cycle proposes, and add and update Impact Log entries; the cycle attaches
alerts on linked indicators to risks as evidence and proposes re-scores
(which never change a score: the owner decides).  Each edit is checked
(pipelines.register's rules, the matrix's levels) and refused whole, naming
every problem, before anything is written (radar.actions.refusal); an edit of
a risk or entry someone else changed since it was shown is refused by the
store (models.register), never merged.

The register is seeded from the partnership's files the first time it is
opened, read or written (models.register.ensure_seeded).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import get_args

from pydantic import ValidationError
from sqlalchemy import Connection, Engine

from radar.actions.refusal import refuse_if
from radar.core.alert_vocabulary import ACTIVE
from radar.core.config import Context
from radar.core.register import ImpactEntrySpec, ImpactStatus, Matrix, RiskFile, load_yaml
from radar.models import register as store
from radar.pipelines.register import (
    impact_problems,
    new_evidence,
    propose_rescores,
    risk_problems,
    risk_view,
    score_problems,
)

IMPACT_FIELDS = ("status", "action", "owner", "evidence")  # what an Impact Log update may change


@contextlib.contextmanager
def _register(engine: Engine, ctx: Context, today: date) -> Iterator[tuple[Connection, Matrix]]:
    """The register in one transaction (seeded on first use) and its matrix; a refusal rolls it all back."""
    matrix = store.load_matrix(ctx.config)
    with engine.begin() as conn:
        store.ensure_seeded(conn, ctx.config, today)
        yield conn, matrix


# Reads, as the command line, the dashboard and the Board pack show them.

def risks(engine: Engine, ctx: Context, today: date) -> tuple[Matrix, list[dict]]:
    """The matrix and every risk as pipelines.register.risk_view makes it (scores, band, appetite, review)."""
    with _register(engine, ctx, today) as (conn, matrix):
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


def impact_log(engine: Engine, ctx: Context, today: date) -> list[dict]:
    """Every Impact Log entry with its version (what an update must name)."""
    with _register(engine, ctx, today) as (conn, _matrix):
        return store.read_impact(conn, ctx.la_code)


# People's edits.

def add_risks(engine: Engine, ctx: Context, file: Path, *, by: str, today: date) -> list[str]:
    """Add the risks in a YAML file (`risks:` as in the partnership's register file); if any is refused, none is
    added.  Returns their ids."""
    specs = load_yaml(file, RiskFile).risks
    with _register(engine, ctx, today) as (conn, matrix):
        subgroups = set(ctx.config.subgroups)
        refuse_if([f"risk {s.id}: {p}" for s in specs
                   for p in risk_problems(s, matrix, subgroups, ctx.catalogue.indicator_by_id, today)])
        for spec in specs:
            store.insert_risk(conn, ctx.la_code, spec, matrix, today, by=by)
    return [s.id for s in specs]


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
    with _register(engine, ctx, today) as (conn, matrix):
        refuse_if([] if reason else ["say why the score changes"])
        refuse_if(score_problems(matrix, {"new": (likelihood, impact)}))
        store.rescore_risk(conn, ctx.la_code, risk_id, likelihood=likelihood, impact=impact, by=by, reason=reason,
                           version=version, matrix=matrix, today=today)


def review_risk(engine: Engine, ctx: Context, risk_id: str, *, by: str, note: str, today: date,
                version: int | None = None) -> date:
    """Record a review that keeps the score (refused if the risk changed since `version`, when given); returns the
    next review date, which follows the score band's cadence."""
    note = note.strip()
    with _register(engine, ctx, today) as (conn, matrix):
        refuse_if([] if note else ["say what the review found"])
        _unchanged_since_shown(conn, ctx.la_code, risk_id, version, "review")
        return store.review_risk(conn, ctx.la_code, risk_id, by=by, note=note, matrix=matrix, today=today)


DECISIONS = ("accepted", "rejected", "changed")


def decide_proposal(engine: Engine, ctx: Context, risk_id: str, proposal: int, *, decision: str, by: str, reason: str,
                    today: date, change: tuple[int, int] | None = None, version: int | None = None) -> dict:
    """Accept, change (to `change`) or reject a proposed re-score; refused if the risk changed since `version`,
    when given, so a decision is never applied to a score its maker has not seen."""
    reason = reason.strip()
    with _register(engine, ctx, today) as (conn, matrix):
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
                     on: date, status: str, evidence: str, by: str, today: date) -> str:
    """Add an Impact Log entry (its id is the next IL number); returns the id."""
    with _register(engine, ctx, today) as (conn, _matrix):
        fields = {"id": store.next_impact_id(conn, ctx.la_code), "date": on, "subgroup": subgroup,
                  "challenge": challenge.strip(), "action": action.strip(), "owner": owner.strip(), "status": status,
                  "evidence": evidence.strip()}
        refuse_if([f"the {name} is needed" for name in ("challenge", "action", "owner") if not fields[name]])
        try:
            entry = ImpactEntrySpec(**fields)
        except ValidationError as error:
            refuse_if([f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()])
        refuse_if(impact_problems(entry, set(ctx.config.subgroups)))
        store.insert_impact(conn, ctx.la_code, entry, by=by)
    return entry.id


def update_impact_entry(engine: Engine, ctx: Context, entry_id: str, changes: dict[str, str], *, by: str,
                        version: int, today: date) -> None:
    """Change an entry's status, action, owner or evidence of impact, if nobody changed it since `version`."""
    changes = {k: v.strip() for k, v in changes.items()}
    with _register(engine, ctx, today) as (conn, _matrix):
        refuse_if([] if changes else ["say what to change: its status, action, owner or evidence"])
        refuse_if([f"an Impact Log entry has no {k!r} to change" for k in changes if k not in IMPACT_FIELDS])
        status = changes.get("status")
        refuse_if([] if status in (None, *get_args(ImpactStatus))
                  else [f"status must be one of {', '.join(get_args(ImpactStatus))}, not {status!r}"])
        store.update_impact(conn, ctx.la_code, entry_id, changes, by=by, version=version)


# The monthly cycle's step.

def attach_register_evidence(engine: Engine, ctx: Context, today: date) -> dict[str, int]:
    """Attach alerts on linked indicators to open risks as evidence, with the re-scores they suggest, in one
    transaction (pipelines.register decides both).  Nothing when the partnership keeps no register."""
    if ctx.config.risk_register is None:
        return {"evidence": 0, "proposals": 0}
    with _register(engine, ctx, today) as (conn, matrix):
        risks = store.read_risks(conn, ctx.la_code)
        alerts = store.indicator_alerts(conn, ctx.la_code)
        links = {r["risk_id"]: r["linked_indicators"] for r in risks if r["status"] != "closed"}
        evidence = new_evidence(links, alerts, store.attached_evidence(conn, ctx.la_code))
        active = {risk_id: sum(a["status"] in ACTIVE and a["indicator"] in indicators
                               for a in alerts) for risk_id, indicators in links.items()}
        return store.attach_evidence(conn, ctx.la_code, evidence, propose_rescores(risks, evidence, active, matrix))
