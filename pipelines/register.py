"""The risk register's judgements, pure: is an edit acceptable, how does a risk stand, what does new evidence suggest.

The store (radar.models.register) keeps risks and writes them in one
transaction; this module decides, from plain values, everything a person
would otherwise have to work out: whether an edit breaks a rule (all
problems named at once, so one correction fixes them), each risk's scores,
band, appetite and review date as the register shows them, which alerts are
new evidence on a risk and the re-score that evidence suggests.  The
alerts an overdue review or action raises are a rule family of their own
(pipelines/alerts/overdue.py).  The matrix arithmetic itself is the
configuration's (radar.core.register.Matrix).

A proposal never changes a score: `propose_rescores` only returns
suggestions; the owner decides (models.register.decide_proposal).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date

from radar.core import periods
from radar.core.alert_vocabulary import ACTIVE, severity_rank
from radar.core.register import ImpactEntrySpec, Matrix, RiskSpec


def score_problems(matrix: Matrix, scores: dict[str, tuple[int, int]]) -> list[str]:
    """Every named (likelihood, impact) pair that is off the matrix, e.g. {"current": (6, 2)}."""
    return [f"{name} score: {problem}" for name, (lik, imp) in scores.items()
            if (problem := matrix.score_problem(lik, imp))]


def risk_problems(spec: RiskSpec, matrix: Matrix, subgroups: Collection[str], indicators: Collection[str],
                  today: date) -> list[str]:
    """Why a new risk cannot go into the register (empty when it can)."""
    problems = score_problems(matrix, {name: (s.likelihood, s.impact) for name, s in
                                       (("inherent", spec.inherent), ("current", spec.current), ("target", spec.target))})
    if spec.owner not in matrix.owners:
        problems.append(f"owner {spec.owner!r} is not one of the register's owners: {', '.join(matrix.owners)}")
    if spec.subgroup not in subgroups:
        problems.append(f"subgroup {spec.subgroup!r} is not a subgroup: {', '.join(sorted(subgroups))}")
    unknown = [i for i in spec.linked_indicators if i not in indicators]
    if unknown:
        problems.append(f"linked indicators {', '.join(unknown)} are not in the catalogue (radar catalog --json)")
    if spec.next_review is not None and spec.next_review < today:
        problems.append(f"the next review date {spec.next_review} is in the past")
    problems += acceptance_problems(spec.status, spec.approver, spec.expiry, today)
    return problems


def acceptance_problems(status: str, approver: str | None, expiry: date | None, today: date) -> list[str]:
    """An accepted risk needs who accepted it and until when (a future date)."""
    if status != "accepted":
        return []
    problems = []
    if not approver:
        problems.append("an accepted risk needs the approver who accepted it")
    if expiry is None:
        problems.append("an accepted risk needs an expiry date for the acceptance")
    elif expiry <= today:
        problems.append(f"the acceptance's expiry {expiry} must be after today")
    return problems


def impact_problems(entry: ImpactEntrySpec, subgroups: Collection[str]) -> list[str]:
    if entry.subgroup not in subgroups:
        return [f"subgroup {entry.subgroup!r} is not a subgroup: {', '.join(sorted(subgroups))}"]
    return []


def trend(score_at_last_review: int | None, score_now: int) -> str:
    """How the current score moved since the last review: up, down, steady (or new: never reviewed)."""
    if score_at_last_review is None:
        return "new"
    return "up" if score_now > score_at_last_review else "down" if score_now < score_at_last_review else "steady"


def _scored(matrix: Matrix, likelihood: int, impact: int) -> dict:
    return {"likelihood": likelihood, "impact": impact, "score": likelihood * impact}


def risk_view(risk: dict, matrix: Matrix, today: date) -> dict:
    """One risk as the register shows it (CLI, dashboard, Board pack), from the store's row and its children.

    `risk` has the risk table's columns plus `linked_indicators`, `controls`,
    `actions`, `evidence` (attached alert rows), `proposals` and
    `score_at_last_review`.
    """
    current = _scored(matrix, risk["current_likelihood"], risk["current_impact"])
    return {
        "id": risk["risk_id"], "title": risk["title"], "cause": risk["cause"], "event": risk["event"],
        "consequence": risk["consequence"], "category": risk["category"], "priority": risk["priority"],
        "subgroup": risk["subgroup"], "owner": risk["owner"],
        "inherent": _scored(matrix, risk["inherent_likelihood"], risk["inherent_impact"]),
        "current": current,
        "target": _scored(matrix, risk["target_likelihood"], risk["target_impact"]),
        "band": matrix.band(current["score"]).name,
        "appetite": matrix.appetite[risk["category"]],
        "out_of_appetite": matrix.out_of_appetite(risk["category"], current["score"]),
        "confidence": risk["confidence"], "confidence_reason": risk["confidence_reason"],
        "status": risk["status"], "approver": risk["approver"], "expiry": risk["expiry"],
        "next_review": risk["next_review"],
        "review_overdue": risk["status"] != "closed" and risk["next_review"] < today,
        "trend": trend(risk["score_at_last_review"], current["score"]),
        "version": risk["version"],
        "linked_indicators": risk["linked_indicators"],
        "controls": risk["controls"],
        "actions": [a | {"overdue": a["status"] == "open" and a["due"] < today} for a in risk["actions"]],
        "evidence": sorted({e["alert_key"] for e in risk["evidence"]}),
        "proposals": [{k: p[k] for k in ("id", "likelihood", "impact", "reason", "status")} for p in risk["proposals"]],
    }


def new_evidence(links: dict[str, list[str]], alerts: Iterable[dict], attached: Collection[tuple]) -> list[dict]:
    """Alerts on a risk's linked indicators whose state the risk has not yet seen, each with what changed.

    `links`: risk id -> indicators; `alerts`: key, indicator, status,
    severity, message, last_period; `attached`: (risk id, alert key,
    status, severity) already recorded.  An alert seen for the first time
    while active is `raised`; a higher severity than last seen `escalated`;
    resolved after being seen active `resolved`.  Anything else (the same
    state again, an acknowledgement) is not news.
    """
    by_indicator: dict[str, list[str]] = {}
    for risk_id, indicators in links.items():
        for indicator in indicators:
            by_indicator.setdefault(indicator, []).append(risk_id)
    seen: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for risk_id, key, status, severity in attached:
        seen.setdefault((risk_id, key), []).append((status, severity))
    found = []
    for alert in sorted(alerts, key=lambda a: a["key"]):
        for risk_id in by_indicator.get(alert["indicator"] or "", []):
            before = seen.get((risk_id, alert["key"]), [])
            change = _change(before, alert["status"], alert["severity"])
            if change:
                found.append({"risk_id": risk_id, "alert_key": alert["key"], "change": change,
                              "status": alert["status"], "severity": alert["severity"],
                              "period": alert["last_period"], "message": alert["message"],
                              "indicator": alert["indicator"]})
    return found


def _change(before: list[tuple[str, str]], status: str, severity: str) -> str | None:
    if (status, severity) in before:
        return None
    active_before = [s for st, s in before if st in ACTIVE]
    if status in ACTIVE:
        if not before or all(st == "resolved" for st, _ in before):
            return "raised"
        if severity_rank(severity) > max(severity_rank(s) for s in active_before or [severity]):
            return "escalated"
        return None
    if status == "resolved" and active_before:
        return "resolved"
    return None


def propose_rescores(risks: Iterable[dict], evidence: list[dict], still_active: dict[str, int],
                     matrix: Matrix) -> list[dict]:
    """At most one proposed re-score per risk from this cycle's evidence, with a one-sentence reason.

    Raised or escalated evidence suggests likelihood + 1 (up to the matrix's
    top); resolved evidence, when no alert on the risk's indicators is still
    active (`still_active`: risk id -> active alerts), suggests likelihood - 1
    (not below 1).  A risk that already has an undecided proposal gets none:
    the owner has a question to answer first.  Impact is left as it is, since
    an alert says how likely harm is, not how bad it would be.
    """
    top = matrix.size[0]
    proposals = []
    for risk in risks:
        if risk["status"] == "closed" or any(p["status"] == "proposed" for p in risk["proposals"]):
            continue
        mine = [e for e in evidence if e["risk_id"] == risk["risk_id"]]
        worse = [e for e in mine if e["change"] in ("raised", "escalated")]
        better = [e for e in mine if e["change"] == "resolved"] if not still_active.get(risk["risk_id"]) else []
        likelihood = risk["current_likelihood"]
        if worse and likelihood < top:
            cause, new = worse[0], likelihood + 1
        elif better and not worse and likelihood > 1:
            cause, new = better[0], likelihood - 1
        else:
            continue
        what = cause["message"].rstrip(". ")
        if cause["change"] == "resolved":
            what = f"Alert resolved in {periods.label(cause['period'])}: {what[0].lower()}{what[1:]}"
        more = f" (and {len(worse or better) - 1} more)" if len(worse or better) > 1 else ""
        proposals.append({"risk_id": risk["risk_id"], "likelihood": new, "impact": risk["current_impact"],
                          "alert_key": cause["alert_key"],
                          "reason": f"{what}{more}; likelihood {likelihood} → {new}."})
    return proposals
