"""The risk register and Impact Log in the store: reads, and writes that are whole or nothing.

Every function takes an open connection, so the caller's `engine.begin()`
is the one transaction: a refused edit raises `RegisterRefusal` and the
transaction rolls back, leaving nothing half-saved.  Each edit of a risk
carries the version it was based on; the UPDATE matches that version or
changes nothing, and then the edit is refused (optimistic locking: two
people editing the same risk never silently overwrite each other).  Every
change writes an audit_event with subject `risk:R01` or `impact:IL01`, which
is the history `risk_history` shows.

The register starts from the partnership's files (radar.core.register, parsed
by the caller): the monthly cycle seeds a store that has never had them
(`ensure_seeded`, through radar.actions.register.seed_register, its only
caller); reads never write, so until then a store shows an empty register
(`is_seeded` says why).  After that the store is the register.  Whether
an edit is acceptable (scores on the matrix, known owner...) is judged by
radar.pipelines.register before these functions are called.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Connection, Index, Text, func, insert, select, update
from sqlmodel import Field, SQLModel

from radar.core.register import ImpactEntrySpec, Matrix, RegisterFiles, RiskSpec
from radar.models.audit import AUDIT, audit, utcnow


class Risk(SQLModel, table=True):
    """One risk in the partnership's register; `version` rises with every edit so a stale edit is refused."""

    __tablename__ = "risk"
    __table_args__ = (Index("uq_risk_id", "la_code", "risk_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    risk_id: str = Field(max_length=8)  # R01, what people type
    title: str = Field(sa_column=Column(Text, nullable=False))
    cause: str = Field(sa_column=Column(Text, nullable=False))
    event: str = Field(sa_column=Column(Text, nullable=False))
    consequence: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=16)  # strategic | operational
    priority: str = Field(sa_column=Column(Text, nullable=False))
    subgroup: str = Field(max_length=32)
    owner: str = Field(sa_column=Column(Text, nullable=False))
    inherent_likelihood: int
    inherent_impact: int
    current_likelihood: int
    current_impact: int
    target_likelihood: int
    target_impact: int
    confidence: str = Field(max_length=8)  # high | medium | low
    confidence_reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # open | treated | accepted | closed
    approver: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    expiry: date | None = None
    next_review: date
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow)


class RiskControl(SQLModel, table=True):
    __tablename__ = "risk_control"

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id", index=True)
    description: str = Field(sa_column=Column(Text, nullable=False))
    effectiveness: str = Field(max_length=24)  # effective | partly_effective | ineffective


class RiskAction(SQLModel, table=True):
    __tablename__ = "risk_action"

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id", index=True)
    description: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(sa_column=Column(Text, nullable=False))
    due: date
    status: str = Field(max_length=16)  # open | done | dropped
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # why it was closed


class RiskIndicator(SQLModel, table=True):
    """A catalogue indicator whose alerts are evidence on the risk."""

    __tablename__ = "risk_indicator"
    __table_args__ = (Index("uq_risk_indicator", "risk", "indicator", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id")
    indicator: str = Field(max_length=64)


class RiskAssessment(SQLModel, table=True):
    """Every score given to a risk (loaded, scored, reviewed, decided), with the scoring criteria then in force."""

    __tablename__ = "risk_assessment"

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id", index=True)
    kind: str = Field(max_length=16)  # loaded | added | scored | reviewed | decided
    likelihood: int
    impact: int
    assessed_on: date
    by: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    criteria: str = Field(sa_column=Column(Text, nullable=False))  # JSON: the matrix in force
    at: datetime = Field(default_factory=utcnow)


class RiskEvidence(SQLModel, table=True):
    """An alert the monthly cycle attached to a risk, in the state it was seen (raised, escalated, resolved)."""

    __tablename__ = "risk_evidence"
    __table_args__ = (Index("uq_risk_evidence", "risk", "alert_key", "status", "severity", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id")
    alert_key: str = Field(max_length=255)
    change: str = Field(max_length=16)  # raised | escalated | resolved
    status: str = Field(max_length=16)
    severity: str = Field(max_length=8)
    period: str = Field(max_length=7)
    at: datetime = Field(default_factory=utcnow)


class RiskProposal(SQLModel, table=True):
    """A re-score Radar suggests from evidence; it changes nothing until the owner decides."""

    __tablename__ = "risk_proposal"

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id", index=True)
    likelihood: int
    impact: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    alert_key: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=16)  # proposed | accepted | changed | rejected
    proposed_at: datetime = Field(default_factory=utcnow)
    decided_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_at: datetime | None = None


class ImpactEntry(SQLModel, table=True):
    """One "challenge -> action -> impact" of the Impact Log."""

    __tablename__ = "impact_entry"
    __table_args__ = (Index("uq_impact_entry", "la_code", "entry_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    entry_id: str = Field(max_length=8)  # IL01
    raised_on: date
    subgroup: str = Field(max_length=32)
    challenge: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # open | in_progress | complete
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow)


class ImpactLink(SQLModel, table=True):
    """An Impact Log entry tied to a register risk or an alert (`radar impact link`)."""

    __tablename__ = "impact_link"
    __table_args__ = (Index("uq_impact_link", "entry", "kind", "target", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    entry: int = Field(foreign_key="impact_entry.id")
    kind: str = Field(max_length=8)  # risk | alert
    target: str = Field(max_length=255)  # the risk's id (R04) or the alert's key


RISK = Risk.__table__
CONTROL = RiskControl.__table__
ACTION = RiskAction.__table__
INDICATOR = RiskIndicator.__table__
ASSESSMENT = RiskAssessment.__table__
EVIDENCE = RiskEvidence.__table__
PROPOSAL = RiskProposal.__table__
IMPACT = ImpactEntry.__table__
LINK = ImpactLink.__table__
SEEDED = "register_seeded"


class RegisterRefusal(ValueError):
    """An edit the register refuses, in words the person making it can act on."""


def is_seeded(conn: Connection, la_code: str) -> bool:
    """Whether the partnership's register files were ever loaded into this store (the marker is an audit event)."""
    return conn.execute(select(AUDIT.c.id).where(AUDIT.c.la_code == la_code, AUDIT.c.action == SEEDED)).first() \
        is not None


def ensure_seeded(conn: Connection, la_code: str, files: RegisterFiles, today: date) -> None:
    """Load the partnership's risk and Impact Log files into a store that has never had them (idempotent).

    The marker is an audit event, so a register emptied on purpose later is
    not refilled; the seed files are read only when the marker is missing.
    """
    if is_seeded(conn, la_code):
        return
    for spec in files.risks:
        insert_risk(conn, la_code, spec, files.matrix, today, by="register file", kind="loaded")
    for entry in files.impact_log:
        insert_impact(conn, la_code, entry, by="impact log file")
    audit(conn, la_code, "register file", SEEDED, la_code, {"risks": len(files.risks),
                                                            "impact_entries": len(files.impact_log)})


def _assess(conn: Connection, risk_pk: int, kind: str, likelihood: int, impact: int, on: date, by: str,
            reason: str, matrix: Matrix) -> None:
    conn.execute(insert(ASSESSMENT).values(
        risk=risk_pk, kind=kind, likelihood=likelihood, impact=impact, assessed_on=on, by=by, reason=reason,
        criteria=json.dumps(matrix.criteria(), sort_keys=True), at=utcnow()))


def insert_risk(conn: Connection, la_code: str, spec: RiskSpec, matrix: Matrix, today: date, by: str,
                kind: str = "added") -> None:
    """Add a risk with its controls, actions and linked indicators, and its first assessment."""
    if _risk_pk(conn, la_code, spec.id, missing_ok=True):
        raise RegisterRefusal(f"risk {spec.id} already exists; choose another id or edit it instead")
    score = spec.current.likelihood * spec.current.impact
    values = {
        "la_code": la_code, "risk_id": spec.id, "title": spec.title, "cause": spec.cause, "event": spec.event,
        "consequence": spec.consequence, "category": spec.category, "priority": spec.priority,
        "subgroup": spec.subgroup, "owner": spec.owner, "confidence": spec.confidence,
        "confidence_reason": spec.confidence_reason, "status": spec.status, "approver": spec.approver,
        "expiry": spec.expiry, "next_review": spec.next_review or matrix.next_review(score, today),
        "version": 1, "updated_at": utcnow(),
    } | {f"{name}_{axis}": getattr(getattr(spec, name), axis)
         for name in ("inherent", "current", "target") for axis in ("likelihood", "impact")}
    pk = conn.execute(insert(RISK).values(**values)).inserted_primary_key[0]
    for control in spec.controls:
        conn.execute(insert(CONTROL).values(risk=pk, **control.model_dump()))
    for action in spec.actions:
        conn.execute(insert(ACTION).values(risk=pk, **action.model_dump()))
    for indicator in spec.linked_indicators:
        conn.execute(insert(INDICATOR).values(risk=pk, indicator=indicator))
    _assess(conn, pk, kind, spec.current.likelihood, spec.current.impact, today, by, f"risk {kind}", matrix)
    audit(conn, la_code, by, f"risk_{kind}", f"risk:{spec.id}", spec.model_dump(mode="json") | {"on": today})


def _risk_pk(conn: Connection, la_code: str, risk_id: str, missing_ok: bool = False) -> int | None:
    pk = conn.execute(select(RISK.c.id).where(RISK.c.la_code == la_code, RISK.c.risk_id == risk_id)).scalar()
    if pk is None and not missing_ok:
        raise RegisterRefusal(f"there is no risk {risk_id} in the register (see radar risks list)")
    return pk


def _bump(conn: Connection, la_code: str, risk_id: str, version: int, values: dict[str, Any]) -> int:
    """Apply an edit only if the risk is still at `version`; refuse it otherwise (someone else edited it)."""
    pk = _risk_pk(conn, la_code, risk_id)
    changed = conn.execute(update(RISK).where(RISK.c.id == pk, RISK.c.version == version)
                           .values(**values, version=version + 1, updated_at=utcnow())).rowcount
    if changed != 1:
        now = conn.execute(select(RISK.c.version).where(RISK.c.id == pk)).scalar()
        raise RegisterRefusal(f"risk {risk_id} has changed since you read it (you had version {version}, it is now "
                              f"version {now}); look at it again (radar risks show {risk_id}) and redo your edit")
    return pk


def rescore_risk(conn: Connection, la_code: str, risk_id: str, *, likelihood: int, impact: int, by: str,
                 reason: str, version: int, matrix: Matrix, today: date, kind: str = "scored") -> None:
    """Give the risk a new current score (a review too: the next review follows the new band's cadence)."""
    old = risk_row(conn, la_code, risk_id)
    pk = _bump(conn, la_code, risk_id, version, {
        "current_likelihood": likelihood, "current_impact": impact,
        "next_review": matrix.next_review(likelihood * impact, today)})
    _assess(conn, pk, kind, likelihood, impact, today, by, reason, matrix)
    audit(conn, la_code, by, f"risk_{kind}", f"risk:{risk_id}", {
        "from": [old["current_likelihood"], old["current_impact"]], "to": [likelihood, impact], "reason": reason,
        "version": version + 1})


def review_risk(conn: Connection, la_code: str, risk_id: str, *, by: str, note: str, matrix: Matrix,
                today: date) -> date:
    """Record a review that keeps the score; the next review date moves on by the band's cadence."""
    risk = risk_row(conn, la_code, risk_id)
    score = risk["current_likelihood"] * risk["current_impact"]
    next_review = matrix.next_review(score, today)
    pk = _bump(conn, la_code, risk_id, risk["version"], {"next_review": next_review})
    _assess(conn, pk, "reviewed", risk["current_likelihood"], risk["current_impact"], today, by, note, matrix)
    audit(conn, la_code, by, "risk_reviewed", f"risk:{risk_id}", {"note": note, "next_review": next_review,
                                                                   "version": risk["version"] + 1})
    return next_review


def next_risk_id(conn: Connection, la_code: str) -> str:
    """The next free R number after the highest in the register (R01 when it is empty)."""
    ids = conn.execute(select(RISK.c.risk_id).where(RISK.c.la_code == la_code)).scalars()
    numbers = [int(i[1:]) for i in ids if i[1:].isdigit()]
    return f"R{max(numbers, default=0) + 1:02d}"


def add_action(conn: Connection, la_code: str, risk_id: str, *, description: str, owner: str, due: date, by: str,
               version: int) -> int:
    """Add an open action to a risk if it is still at `version`; returns the action's number."""
    pk = _bump(conn, la_code, risk_id, version, {})
    action = conn.execute(insert(ACTION).values(risk=pk, description=description, owner=owner, due=due,
                                                status="open", note="")).inserted_primary_key[0]
    audit(conn, la_code, by, "action_added", f"risk:{risk_id}", {
        "action": action, "description": description, "owner": owner, "due": due, "version": version + 1})
    return action


def action_row(conn: Connection, la_code: str, risk_id: str, action_id: int) -> dict:
    pk = _risk_pk(conn, la_code, risk_id)
    row = conn.execute(select(ACTION).where(ACTION.c.id == action_id, ACTION.c.risk == pk)).mappings().first()
    if row is None:
        raise RegisterRefusal(f"risk {risk_id} has no action {action_id} (see radar risks show {risk_id})")
    return dict(row)


def change_action(conn: Connection, la_code: str, risk_id: str, action_id: int, changes: dict[str, Any], *, by: str,
                  version: int, what: str = "action_updated") -> None:
    """Change an action's description, owner, due date, or status and note, if the risk is still at `version`."""
    old = action_row(conn, la_code, risk_id, action_id)
    _bump(conn, la_code, risk_id, version, {})
    conn.execute(update(ACTION).where(ACTION.c.id == action_id).values(**changes))
    detail = {"action": action_id, "version": version + 1} | {k: {"from": old[k], "to": v}
                                                             for k, v in changes.items() if k != "note"}
    audit(conn, la_code, by, what, f"risk:{risk_id}", detail | ({"reason": changes["note"]} if "note" in changes else {}))


def decide_proposal(conn: Connection, la_code: str, risk_id: str, proposal_id: int, *, decision: str, by: str,
                    reason: str, matrix: Matrix, today: date, change: tuple[int, int] | None = None) -> dict:
    """The owner's decision on a proposed re-score: accepted (its score), changed (another score) or rejected."""
    pk = _risk_pk(conn, la_code, risk_id)
    proposal = conn.execute(select(PROPOSAL).where(PROPOSAL.c.id == proposal_id, PROPOSAL.c.risk == pk)).mappings().first()
    if proposal is None:
        raise RegisterRefusal(f"risk {risk_id} has no proposal {proposal_id} (see radar risks show {risk_id})")
    if proposal["status"] != "proposed":
        raise RegisterRefusal(f"proposal {proposal_id} was already {proposal['status']} by {proposal['decided_by']}")
    score = {"accepted": (proposal["likelihood"], proposal["impact"]), "changed": change}.get(decision)
    if score:
        rescore_risk(conn, la_code, risk_id, likelihood=score[0], impact=score[1], by=by, reason=reason,
                     version=risk_row(conn, la_code, risk_id)["version"], matrix=matrix, today=today, kind="decided")
    conn.execute(update(PROPOSAL).where(PROPOSAL.c.id == proposal_id).values(
        status=decision, decided_by=by, decision_reason=reason, decided_at=utcnow()))
    audit(conn, la_code, by, f"proposal_{decision}", f"risk:{risk_id}", {
        "proposal": proposal_id, "proposed": [proposal["likelihood"], proposal["impact"]], "score": score,
        "reason": reason})
    return {"proposal": proposal_id, "status": decision, "score": score}


def attach_evidence(conn: Connection, la_code: str, evidence: list[dict], proposals: list[dict]) -> dict:
    """Record alerts as evidence on risks and the re-scores they suggest (pipelines.register decides both)."""
    for row in evidence:
        pk = _risk_pk(conn, la_code, row["risk_id"])
        conn.execute(insert(EVIDENCE).values(risk=pk, alert_key=row["alert_key"], change=row["change"],
                                             status=row["status"], severity=row["severity"], period=row["period"],
                                             at=utcnow()))
        audit(conn, la_code, "monthly_cycle", "risk_evidence", f"risk:{row['risk_id']}",
              {k: row[k] for k in ("alert_key", "change", "message")})
    for row in proposals:
        pk = _risk_pk(conn, la_code, row["risk_id"])
        proposal = conn.execute(insert(PROPOSAL).values(
            risk=pk, likelihood=row["likelihood"], impact=row["impact"], reason=row["reason"],
            alert_key=row["alert_key"], status="proposed", proposed_at=utcnow())).inserted_primary_key[0]
        audit(conn, la_code, "monthly_cycle", "proposal_made", f"risk:{row['risk_id']}",
              {"proposal": proposal, "likelihood": row["likelihood"], "impact": row["impact"], "reason": row["reason"]})
    return {"evidence": len(evidence), "proposals": len(proposals)}


def risk_row(conn: Connection, la_code: str, risk_id: str) -> dict:
    pk = _risk_pk(conn, la_code, risk_id)
    return dict(conn.execute(select(RISK).where(RISK.c.id == pk)).mappings().one())


def read_risks(conn: Connection, la_code: str) -> list[dict]:
    """Every risk with its controls, actions, linked indicators, evidence, proposals and the score at its last
    review (what pipelines.register.risk_view needs), in id order."""
    risks = [dict(r) for r in conn.execute(select(RISK).where(RISK.c.la_code == la_code).order_by(RISK.c.risk_id))
             .mappings()]
    pks = [r["id"] for r in risks]

    def children(table, order) -> dict[int, list[dict]]:
        grouped: dict[int, list[dict]] = {pk: [] for pk in pks}
        for row in conn.execute(select(table).where(table.c.risk.in_(pks)).order_by(order)).mappings():
            grouped[row["risk"]].append({k: v for k, v in row.items() if k != "risk"})
        return grouped

    controls = children(CONTROL, CONTROL.c.id)
    actions = children(ACTION, ACTION.c.id)
    indicators = children(INDICATOR, INDICATOR.c.indicator)
    evidence = children(EVIDENCE, EVIDENCE.c.id)
    proposals = children(PROPOSAL, PROPOSAL.c.id)
    reviewed = _score_before_last_review(conn, pks)
    for risk in risks:
        pk = risk["id"]
        risk |= {"controls": [{k: c[k] for k in ("description", "effectiveness")} for c in controls[pk]],
                 "actions": actions[pk], "linked_indicators": [i["indicator"] for i in indicators[pk]],
                 "evidence": evidence[pk], "proposals": proposals[pk], "score_at_last_review": reviewed.get(pk)}
    return risks


def _score_before_last_review(conn: Connection, pks: list[int]) -> dict[int, int]:
    """Each risk's score as it stood at its last review before the latest assessment (the base of its trend)."""
    scores: dict[int, list[int]] = {}
    query = select(ASSESSMENT.c.risk, ASSESSMENT.c.likelihood, ASSESSMENT.c.impact).where(
        ASSESSMENT.c.risk.in_(pks)).order_by(ASSESSMENT.c.risk, ASSESSMENT.c.id)
    for row in conn.execute(query):
        scores.setdefault(row.risk, []).append(row.likelihood * row.impact)
    return {pk: s[-2] for pk, s in scores.items() if len(s) > 1}


def risk_history(conn: Connection, la_code: str, risk_id: str) -> list[dict]:
    """Every change to a risk, oldest first: who, when, what, why (from the audit trail)."""
    _risk_pk(conn, la_code, risk_id)
    rows = conn.execute(select(AUDIT.c.at, AUDIT.c.actor, AUDIT.c.action, AUDIT.c.detail).where(
        AUDIT.c.la_code == la_code, AUDIT.c.subject == f"risk:{risk_id}").order_by(AUDIT.c.id)).mappings()
    return [{"at": r["at"], "by": r["actor"], "what": r["action"], "detail": json.loads(r["detail"])} for r in rows]


def attached_evidence(conn: Connection, la_code: str) -> list[tuple[str, str, str, str]]:
    query = select(RISK.c.risk_id, EVIDENCE.c.alert_key, EVIDENCE.c.status, EVIDENCE.c.severity).join(
        RISK, RISK.c.id == EVIDENCE.c.risk).where(RISK.c.la_code == la_code)
    return [tuple(r) for r in conn.execute(query)]


def insert_impact(conn: Connection, la_code: str, entry: ImpactEntrySpec, by: str) -> None:
    exists = conn.execute(select(IMPACT.c.id).where(IMPACT.c.la_code == la_code, IMPACT.c.entry_id == entry.id)).first()
    if exists:
        raise RegisterRefusal(f"Impact Log entry {entry.id} already exists; update it instead")
    values = entry.model_dump(exclude={"id", "date"}) | {"entry_id": entry.id, "raised_on": entry.date}
    conn.execute(insert(IMPACT).values(la_code=la_code, version=1, updated_at=utcnow(), **values))
    audit(conn, la_code, by, "impact_added", f"impact:{entry.id}", entry.model_dump(mode="json"))


def next_impact_id(conn: Connection, la_code: str) -> str:
    count = conn.execute(select(func.count()).select_from(IMPACT).where(IMPACT.c.la_code == la_code)).scalar()
    return f"IL{count + 1:02d}"


def update_impact(conn: Connection, la_code: str, entry_id: str, changes: dict[str, str], *, by: str,
                  version: int) -> None:
    """Change an entry's status, action, owner or evidence of impact, if nobody changed it since `version`."""
    old = conn.execute(select(IMPACT).where(IMPACT.c.la_code == la_code, IMPACT.c.entry_id == entry_id)).mappings().first()
    if old is None:
        raise RegisterRefusal(f"there is no Impact Log entry {entry_id} (see radar impact list)")
    changed = conn.execute(update(IMPACT).where(IMPACT.c.id == old["id"], IMPACT.c.version == version).values(
        **changes, version=version + 1, updated_at=utcnow())).rowcount
    if changed != 1:
        raise RegisterRefusal(f"Impact Log entry {entry_id} has changed since you read it (you had version {version}, "
                              f"it is now version {old['version']}); look at it again and redo your update")
    audit(conn, la_code, by, "impact_updated", f"impact:{entry_id}",
          {k: {"from": old[k], "to": v} for k, v in changes.items()})


def link_impact(conn: Connection, la_code: str, entry_id: str, kind: str, target: str, *, by: str) -> None:
    """Tie an Impact Log entry to a risk (its id) or an alert (its key); a link made twice is refused."""
    entry = conn.execute(select(IMPACT.c.id).where(IMPACT.c.la_code == la_code, IMPACT.c.entry_id == entry_id)).scalar()
    if entry is None:
        raise RegisterRefusal(f"there is no Impact Log entry {entry_id} (see radar impact list)")
    if conn.execute(select(LINK.c.id).where(LINK.c.entry == entry, LINK.c.kind == kind, LINK.c.target == target)).first():
        raise RegisterRefusal(f"Impact Log entry {entry_id} is already linked to that {kind}")
    conn.execute(insert(LINK).values(entry=entry, kind=kind, target=target))
    audit(conn, la_code, by, "impact_linked", f"impact:{entry_id}", {"kind": kind, "target": target})


def impact_links(conn: Connection, la_code: str) -> dict[str, dict[str, list[str]]]:
    """Each linked entry's risks and alerts (keys), by entry id."""
    query = select(IMPACT.c.entry_id, LINK.c.kind, LINK.c.target).join(IMPACT, IMPACT.c.id == LINK.c.entry).where(
        IMPACT.c.la_code == la_code).order_by(LINK.c.id)
    links: dict[str, dict[str, list[str]]] = {}
    for row in conn.execute(query):
        links.setdefault(row.entry_id, {"risk": [], "alert": []})[row.kind].append(row.target)
    return links


def read_impact(conn: Connection, la_code: str) -> list[dict]:
    rows = conn.execute(select(IMPACT).where(IMPACT.c.la_code == la_code).order_by(IMPACT.c.entry_id)).mappings()
    return [{"id": r["entry_id"], "date": r["raised_on"], "subgroup": r["subgroup"], "challenge": r["challenge"],
             "action": r["action"], "owner": r["owner"], "status": r["status"], "evidence": r["evidence"],
             "version": r["version"]} for r in rows]


def risk_owners(conn: Connection, la_code: str) -> dict[str, str]:
    """Risk id (R04) -> its owner's role, for routing risk and action alerts to the owner."""
    return dict(conn.execute(select(RISK.c.risk_id, RISK.c.owner).where(RISK.c.la_code == la_code)).all())

