"""Risk register: every risk with its scores and appetite, one risk's history and evidence, and decisions.

The list filters by subgroup, partnership priority and appetite.  A chosen
risk shows cause, event and consequence, its scores in the matrix's words,
controls and actions, the alerts attached to it as evidence and its history
from the audit trail.  A proposed re-score (made by the monthly cycle from
new evidence) is decided here by the chair or the chair of the risk's
subgroup, through the same store function as `radar risks decide`; the
same people review a risk there, keeping its score or giving it a new one
(`radar risks review`, `radar risks score`), and add, change or close its
actions (`radar risks action add|update|close`).  The page is judged as of
the month the monthly cycle last judged, as the overview is.  A decision or review names the
risk's version as the page showed it, so one on a risk someone else has just
changed is refused, never merged.
"""

from datetime import date, timedelta

import polars as pl
import streamlit as st

from radar.core.register import PRIORITY_NAMES
from radar.dashboard import actions
from radar.dashboard.auth import require
from radar.dashboard.common import context, humanise, plain, read, read_action
from radar.dashboard.register import (
    HISTORY_WORDS,
    RISK_COLUMNS,
    STATUS_NAMES,
    day,
    done,
    history,
    judged_risks,
    risk_table,
    say_done,
    score_words,
    shown_version,
    stop_unless_kept,
)
from radar.dashboard.signals import subgroup_name
from radar.models import alerts as alert_store
from radar.models.register import RegisterRefusal


def add_risk_form(person, matrix) -> None:
    """A new risk, for the chair (any subgroup) or a subgroup's chair (theirs), as `radar risks add` takes it."""
    mine = [s for s in ctx.config.subgroups if person.may_act_on_subgroup(s)]
    if not mine:
        return
    with st.expander("Add a risk"), st.form("add-risk", clear_on_submit=True):
        title = st.text_input("Title", key="new-title")
        a, b = st.columns(2)
        subgroup = a.selectbox("Subgroup", mine, key="new-subgroup", format_func=lambda s: subgroup_name(ctx, s))
        owner = b.selectbox("Owner", matrix.owners, key="new-owner")
        likelihood = a.number_input("Likelihood", 1, matrix.size[0], 3, key="new-likelihood")
        impact = b.number_input("Impact", 1, matrix.size[1], 3, key="new-impact")
        appetite = a.selectbox("Appetite", list(matrix.appetite), key="new-appetite",
                               format_func=lambda c: f"{c.capitalize()} ({matrix.appetite[c]} or less)")
        priority = b.selectbox("Partnership priority", list(PRIORITY_NAMES), key="new-priority",
                               format_func=PRIORITY_NAMES.get)
        cause = st.text_input("Cause", key="new-cause")
        event = st.text_input("Event", key="new-event")
        consequence = st.text_input("Consequence", key="new-consequence")
        if st.form_submit_button("Add the risk"):
            try:
                added = actions.add_risk(person, title=title, subgroup=subgroup, owner=owner, likelihood=likelihood,
                                         impact=impact, appetite=appetite, priority=priority, cause=cause,
                                         event=event, consequence=consequence)
            except RegisterRefusal as refusal:
                st.error(str(refusal), icon=":material/block:")
            else:
                done(f"{added}: added; recorded under {person.email}.")


def event_day(event: dict) -> date:
    """The day a history entry counts from: the day a risk was loaded or added as (the day judged, so the demo's
    register reads as loaded in 2020), else when the entry was recorded."""
    on = event["detail"].get("on")
    return date.fromisoformat(on) if on else event["at"].date()


def action_forms(person, risk) -> None:
    """Add an action to the risk, or change or close one of its open actions (`radar risks action add|update|
    close`), for the chair or the chair of the risk's subgroup; `risk` carries the version the page showed."""
    st.subheader("Actions")
    with st.form(f"add-action-{risk['id']}", clear_on_submit=True):
        description = st.text_input("New action: what will be done", key=f"new-action-{risk['id']}")
        a, b = st.columns(2)
        owner = a.text_input("Who does it", key=f"new-action-owner-{risk['id']}")
        due = b.date_input("Due", date.today() + timedelta(days=28), format="DD/MM/YYYY",
                           key=f"new-action-due-{risk['id']}")
        if st.form_submit_button("Add the action"):
            try:
                number = actions.add_risk_action(person, risk, description=description, owner=owner, due=due)
            except RegisterRefusal as refusal:
                st.error(str(refusal), icon=":material/block:")
            else:
                done(f"{risk['id']}: action {number} added; recorded under {person.email}.")
    still_open = [a for a in risk["actions"] if a["status"] == "open"]
    if not still_open:
        return
    chosen = st.selectbox("Change or close an open action", [a["id"] for a in still_open],
                          key=f"open-action-{risk['id']}",
                          format_func=lambda i: next(plain(a["description"]) for a in still_open if a["id"] == i))
    action = next(a for a in still_open if a["id"] == chosen)
    with st.form(f"action-{risk['id']}-{action['id']}"):
        description = st.text_input("What will be done", action["description"], key=f"action-text-{action['id']}")
        a, b = st.columns(2)
        owner = a.text_input("Who does it", action["owner"], key=f"action-owner-{action['id']}")
        due = b.date_input("Due", action["due"], format="DD/MM/YYYY", key=f"action-due-{action['id']}")
        note = st.text_input("When closing: what was done, or why it is dropped", key=f"action-note-{action['id']}")
        left, middle, right = st.columns(3)
        save = left.form_submit_button("Save the change")
        complete = middle.form_submit_button("Close as done")
        drop = right.form_submit_button("Close as dropped")
    if save or complete or drop:
        try:
            if save:
                actions.update_risk_action(person, risk, action, description=description, owner=owner, due=due)
            else:
                actions.close_risk_action(person, risk, action, note=note, dropped=drop)
        except RegisterRefusal as refusal:
            st.error(str(refusal), icon=":material/block:")
        else:
            said = "changed" if save else "dropped" if drop else "done"
            done(f"{risk['id']}: action {action['id']} {said}; recorded under {person.email}.")


person = require("register")
ctx = context()
st.title("Risk register")
say_done()
stop_unless_kept("risk register")
matrix, risks = judged_risks()
add_risk_form(person, matrix)

everyone = "All"
left, middle, right = st.columns(3)
subgroups = sorted({r["subgroup"] for r in risks})
subgroup = left.selectbox("Subgroup", [everyone, *subgroups], key="subgroup",
                          format_func=lambda s: s if s == everyone else subgroup_name(ctx, s))
priority = middle.selectbox("Partnership priority", [everyone, *PRIORITY_NAMES], key="priority",
                            format_func=lambda p: PRIORITY_NAMES.get(p, p))
appetite = right.selectbox("Appetite", [everyone, "Out of appetite", "Within appetite"], key="appetite")
shown = [r for r in risks
         if subgroup in (everyone, r["subgroup"]) and priority in (everyone, r["priority"])
         and appetite in (everyone, "Out of appetite" if r["out_of_appetite"] else "Within appetite")]
if not shown:
    st.info("No risk matches these filters.")
    st.stop()
st.dataframe(risk_table(ctx, matrix, shown), hide_index=True, column_config=RISK_COLUMNS)
st.caption(f"Scores are likelihood × impact on the register's {matrix.size[0]} × {matrix.size[1]} matrix. "
           "A risk is out of appetite when its current score is above what the partnership accepts for its category.")

chosen = st.selectbox("Look at a risk", [r["id"] for r in shown], key="risk",
                      format_func=lambda i: next(f"{r['id']}: {r['title']}" for r in shown if r["id"] == i))
risk = next(r for r in shown if r["id"] == chosen)
st.subheader(f"{risk['id']}: {risk['title']}")
st.markdown(f"**Cause**: {plain(risk['cause'])}\n\n**Event**: {plain(risk['event'])}\n\n"
            f"**Consequence**: {plain(risk['consequence'])}")
st.markdown("\n".join([
    f"- **Current**: {score_words(matrix, risk['current'])}, {risk['band']} band, trend {risk['trend']}",
    f"- **Inherent**: {score_words(matrix, risk['inherent'])}; **target**: {score_words(matrix, risk['target'])}",
    "- **Appetite**: " + (f"⚠ out of appetite (above {risk['appetite']})" if risk["out_of_appetite"]
                          else f"within appetite ({risk['appetite']} or less)"),
    f"- **Confidence**: {risk['confidence']}: {plain(risk['confidence_reason'])}",
    f"- **Owner**: {risk['owner']} ({subgroup_name(ctx, risk['subgroup'])}); status {STATUS_NAMES[risk['status']]}; "
    f"next review {day(risk['next_review'])}" + (" (overdue)" if risk["review_overdue"] else ""),
]))
if risk["controls"]:
    st.markdown("**Controls**\n" + "\n".join(f"- {plain(c['description'])} ({humanise(c['effectiveness']).lower()})"
                                             for c in risk["controls"]))
if risk["actions"]:
    st.markdown("**Actions**\n" + "\n".join(
        f"- {plain(a['description'])} ({plain(a['owner'])}, due {day(a['due'])}, {STATUS_NAMES[a['status']].lower()}"
        + (", ⚠ overdue)" if a["overdue"] else ")") for a in risk["actions"]))
names = [ctx.catalogue.indicator_by_id[i].name for i in risk["linked_indicators"] if i in ctx.catalogue.indicator_by_id]
st.markdown("**Indicators that evidence it**: " + (", ".join(names) or "none linked"))

st.subheader("Evidence")
alerts = read(alert_store.alerts, ctx.la_code)
evidence = alerts.filter(pl.col("key").is_in(risk["evidence"]))
if evidence.is_empty():
    st.caption("No alert has been attached to this risk yet: alerts on its indicators arrive here after each cycle.")
else:
    st.dataframe(evidence.select(Alert=pl.col("ref"), Message=pl.col("message"),
                                 Severity=pl.col("severity").str.to_titlecase(),
                                 Status=pl.col("status").str.to_titlecase()), hide_index=True)

st.subheader("Proposed re-scores")
may_decide = person.may_act_on_subgroup(risk["subgroup"])
seen = risk | {"version": shown_version(f"risk-version-{risk['id']}", risk["version"])}
waiting = [p for p in risk["proposals"] if p["status"] == "proposed"]
if not waiting:
    st.caption("No proposal is waiting for a decision.")
for proposal in waiting:
    proposed = {"likelihood": proposal["likelihood"], "impact": proposal["impact"],
                "score": proposal["likelihood"] * proposal["impact"]}
    st.markdown(f"**Proposal {proposal['id']}**: {score_words(matrix, proposed)}. {plain(proposal['reason'])}")
    if not may_decide:
        continue
    with st.form(f"decide-{proposal['id']}"):
        decision = st.radio("Decision", ["accepted", "changed", "rejected"], horizontal=True,
                            key=f"decision-{proposal['id']}",
                            format_func={"accepted": "Accept", "changed": "Change to", "rejected": "Reject"}.get)
        a, b = st.columns(2)
        likelihood = a.number_input("Likelihood (if changing)", 1, matrix.size[0], proposal["likelihood"],
                                    key=f"likelihood-{proposal['id']}")
        impact = b.number_input("Impact (if changing)", 1, matrix.size[1], proposal["impact"],
                                key=f"impact-{proposal['id']}")
        reason = st.text_input("Why", key=f"reason-{proposal['id']}")
        if st.form_submit_button("Record the decision"):
            try:
                result = actions.decide_proposal(person, seen, proposal["id"], decision, reason,
                                                 (likelihood, impact) if decision == "changed" else None)
            except RegisterRefusal as refusal:
                st.error(str(refusal), icon=":material/block:")
            else:
                done(f"{risk['id']}: proposal {proposal['id']} {result['status']}; recorded under {person.email}.")
if waiting and not may_decide:
    st.caption(f"The chair or the chair of {subgroup_name(ctx, risk['subgroup'])} decides on these proposals.")

if may_decide:
    st.subheader("Review or re-score")
    with st.form(f"review-{risk['id']}"):
        keep = st.radio("The review", [True, False], horizontal=True, key=f"keep-{risk['id']}",
                        format_func={True: "Keep the score", False: "Give a new score"}.get)
        a, b = st.columns(2)
        likelihood = a.number_input("Likelihood (if re-scoring)", 1, matrix.size[0], risk["current"]["likelihood"],
                                    key=f"review-likelihood-{risk['id']}")
        impact = b.number_input("Impact (if re-scoring)", 1, matrix.size[1], risk["current"]["impact"],
                                key=f"review-impact-{risk['id']}")
        reason = st.text_input("What the review found", key=f"review-reason-{risk['id']}")
        if st.form_submit_button("Record the review"):
            try:
                said = actions.review_risk(person, seen, reason, None if keep else (likelihood, impact))
            except RegisterRefusal as refusal:
                st.error(str(refusal), icon=":material/block:")
            else:
                done(f"{risk['id']}: {said}; recorded under {person.email}.")

if may_decide:
    action_forms(person, seen)

st.subheader("History")
events = read_action(history, risk["id"])
st.dataframe(pl.DataFrame({
    "When": [day(event_day(e)) for e in events],
    "Who": [e["by"] if "@" in e["by"] else humanise(e["by"]) for e in events],  # an address, or Radar itself
    "What": [HISTORY_WORDS.get(e["what"], humanise(e["what"])) for e in events],
    "Why": [str(e["detail"].get("reason") or e["detail"].get("note") or e["detail"].get("message") or "")
            for e in events],
}, schema={"When": pl.String, "Who": pl.String, "What": pl.String, "Why": pl.String}), hide_index=True)
