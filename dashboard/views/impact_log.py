"""Impact Log: every challenge the partnership made, the action agreed and the evidence of its impact.

Filtered by subgroup and status.  The chair may add, update and link (to a
register risk or an alert) any entry, a subgroup chair their own subgroup's,
through the same actions floor functions and checks as `radar impact add`,
`radar impact update` and `radar impact link`; an update
names the version the page showed, so one made after someone else's is
refused rather than overwriting it.  Analysts read.
"""

from datetime import date
from typing import get_args

import polars as pl
import streamlit as st

from radar.core.register import ImpactStatus
from radar.dashboard import actions
from radar.dashboard.auth import require
from radar.dashboard.common import context, read, read_action
from radar.dashboard.register import (
    IMPACT_COLUMNS,
    STATUS_NAMES,
    day,
    done,
    impact_links,
    impact_log,
    judged_risks,
    say_done,
    shown_version,
    stop_unless_kept,
)
from radar.dashboard.signals import subgroup_name
from radar.models import alerts as alert_store
from radar.models.register import RegisterRefusal

person = require("impact_log")
ctx = context()
st.title("Impact Log")
say_done()
stop_unless_kept("Impact Log")
entries, links, risks = read_action(impact_log), read_action(impact_links), judged_risks()[1]
alerts = read(alert_store.alerts, ctx.la_code)
refs, messages = dict(zip(alerts["key"], alerts["ref"])), dict(zip(alerts["ref"], alerts["message"]))


def linked_words(entry_id: str) -> str:
    """The risks and alerts an entry is linked to, as people name them (an alert by its ref)."""
    mine = links.get(entry_id, {})
    return ", ".join([*mine.get("risk", []), *(refs.get(key, key) for key in mine.get("alert", []))])


def link_form(entry: dict) -> None:
    """Link the entry to a register risk or an alert (`radar impact link`), for the chair or its subgroup's."""
    with st.form(f"link-{entry['id']}", clear_on_submit=True):
        kind = st.radio("Link it to", ["risk", "alert"], horizontal=True, key=f"link-kind-{entry['id']}",
                        format_func={"risk": "A risk in the register", "alert": "An alert"}.get)
        a, b = st.columns(2)
        risk_id = a.selectbox("Risk", [r["id"] for r in risks], index=None, key=f"link-risk-{entry['id']}",
                              format_func=lambda i: next(f"{r['id']}: {r['title']}" for r in risks if r["id"] == i),
                              placeholder="Choose a risk")
        alert = b.selectbox("Alert", alerts["ref"].to_list(), index=None, key=f"link-alert-{entry['id']}",
                            format_func=lambda ref: f"{ref}: {messages.get(ref, '')[:80].rstrip()}", placeholder="Choose an alert")
        if st.form_submit_button("Link the entry"):
            try:
                said = actions.link_impact_entry(person, entry, **({"risk_id": risk_id} if kind == "risk"
                                                                   else {"alert": alert}))
            except RegisterRefusal as refusal:
                st.error(str(refusal), icon=":material/block:")
            else:
                done(f"{entry['id']} linked to {said}; recorded under {person.email}.")


statuses = list(get_args(ImpactStatus))
everyone = "All"

left, right = st.columns(2)
subgroup = left.selectbox("Subgroup", [everyone, *ctx.config.subgroups], key="subgroup",
                          format_func=lambda s: s if s == everyone else subgroup_name(ctx, s))
status = right.selectbox("Status", [everyone, *statuses], key="status", format_func=lambda s: STATUS_NAMES.get(s, s))
shown = [e for e in entries if subgroup in (everyone, e["subgroup"]) and status in (everyone, e["status"])]
if shown:
    st.dataframe(pl.DataFrame({
        "Entry": [e["id"] for e in shown], "Raised": [day(e["date"]) for e in shown],
        "Subgroup": [subgroup_name(ctx, e["subgroup"]) for e in shown],
        "Challenge": [e["challenge"] for e in shown], "Action": [e["action"] for e in shown],
        "Owner": [e["owner"] for e in shown], "Status": [STATUS_NAMES[e["status"]] for e in shown],
        "Evidence of impact": [e["evidence"] for e in shown],
        "Linked to": [linked_words(e["id"]) for e in shown],
    }), hide_index=True, column_config=IMPACT_COLUMNS)
else:
    st.info("No Impact Log entry matches these filters.")


mine = [s for s in ctx.config.subgroups if person.may_act_on_subgroup(s)]
editable = [e for e in shown if e["subgroup"] in mine]
if editable:
    st.subheader("Update an entry")
    chosen = st.selectbox("Entry", [e["id"] for e in editable], key="entry",
                          format_func=lambda i: next(f"{e['id']}: {e['challenge'][:80]}" for e in editable if e["id"] == i))
    entry = next(e for e in editable if e["id"] == chosen)
    seen = entry | {"version": shown_version(f"impact-version-{entry['id']}", entry["version"])}
    with st.form(f"update-{entry['id']}"):
        new_status = st.selectbox("Status", statuses, index=statuses.index(entry["status"]),
                                  format_func=STATUS_NAMES.get, key=f"status-{entry['id']}")
        action = st.text_area("Action", entry["action"], key=f"action-{entry['id']}")
        owner = st.text_input("Owner", entry["owner"], key=f"owner-{entry['id']}")
        evidence = st.text_area("Evidence of impact", entry["evidence"], key=f"evidence-{entry['id']}")
        if st.form_submit_button("Save the update"):
            try:
                actions.update_impact_entry(person, seen, {"status": new_status, "action": action, "owner": owner,
                                                            "evidence": evidence})
            except RegisterRefusal as refusal:
                st.error(str(refusal), icon=":material/block:")
            else:
                done(f"{entry['id']} updated; recorded under {person.email}.")
    link_form(entry)

if mine:
    st.subheader("Add an entry")
    with st.form("add-entry"):
        new_subgroup = st.selectbox("Subgroup", mine, format_func=lambda s: subgroup_name(ctx, s), key="new_subgroup")
        challenge = st.text_area("Challenge made", key="new_challenge")
        action = st.text_area("Action agreed", key="new_action")
        owner = st.text_input("Owner of the action", key="new_owner")
        raised = st.date_input("Raised on", date.today(), format="DD/MM/YYYY", key="new_date")
        new_status = st.selectbox("Status", statuses, format_func=STATUS_NAMES.get, key="new_status")
        evidence = st.text_area("Evidence of impact so far", key="new_evidence")
        if st.form_submit_button("Add to the Impact Log"):
            try:
                added = actions.add_impact_entry(person, subgroup=new_subgroup, challenge=challenge, action=action,
                                                 owner=owner, on=raised, status=new_status, evidence=evidence)
            except RegisterRefusal as refusal:
                st.error(str(refusal), icon=":material/block:")
            else:
                done(f"{added} added to the Impact Log; recorded under {person.email}.")
elif person.grant.role == "analyst":
    st.caption("Analysts read the Impact Log; the chair and subgroup chairs add and update entries.")
