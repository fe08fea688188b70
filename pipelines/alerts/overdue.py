"""`risk_review_overdue` and `action_overdue`: the risk register's reviews and actions that are past their date.

A register nobody reviews stops being a judgement; these alerts go to the
risk's owning subgroup, and their evidence names the risk's owner, whom
notification routes may address (`owner:{owner}`).  They read the register
as the cycle found it (models.register.read_risks) and the day it runs:
reviews and actions fall overdue by the calendar, not by the data month.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings
from radar.pipelines.alerts.rule import Reads, Rule, candidate_frame

RISK_REVIEW_OVERDUE = Rule(
    "risk_review_overdue", "Risk {risk} ({title}) was due for review on {due} and has not been reviewed.",
    "medium", "a risk in the register is past its next review date", Reads(inputs=("risks", "today")),
    subgroup_words="the risk's owning subgroup",
)
ACTION_OVERDUE = Rule(
    "action_overdue", "An action on risk {risk} is overdue since {due}: {action} (owner: {owner}).",
    "medium", "an open action on a risk is past its due date", Reads(inputs=("risks", "today")),
    subgroup_words="the risk's owning subgroup",
)
REGISTER_RULES = (RISK_REVIEW_OVERDUE, ACTION_OVERDUE)


def overdue_candidates(risks: Iterable[dict], today: date, period: str, scope: str,
                       settings: AlertSettings) -> pl.DataFrame:
    """Alert candidates (rule.CANDIDATE_SCHEMA) for overdue reviews and open actions past their due date,
    each routed to the risk's owning subgroup; the evidence names the risk's owner, whom notification routes
    may address (`owner:{owner}`)."""
    rows = []
    for risk in risks:
        if risk["status"] == "closed":
            continue
        common = {"indicator": None, "feed": None, "scope": scope, "period": period, "settings": settings,
                  "subgroup": risk["subgroup"]}
        if risk["next_review"] < today:
            rows.append(RISK_REVIEW_OVERDUE.candidate(
                breakdown=risk["risk_id"], evidence={"risk": risk["risk_id"], "owner": risk["owner"],
                                                    "next_review": risk["next_review"]},
                risk=risk["risk_id"], title=risk["title"], due=periods.day_label(risk["next_review"]), **common))
        for action in risk["actions"]:
            if action["status"] == "open" and action["due"] < today:
                rows.append(ACTION_OVERDUE.candidate(
                    breakdown=f"{risk['risk_id']}.{action['id']}",
                    evidence={"risk": risk["risk_id"], "owner": risk["owner"], "action": action["id"],
                              "due": action["due"]},
                    risk=risk["risk_id"], due=periods.day_label(action["due"]), action=action["description"],
                    owner=action["owner"], **common))
    return candidate_frame(rows)
