"""Impact Log: every challenge the partnership made, the action agreed and the evidence of its impact.

Filtered by subgroup and status.  The chair may add and update any entry,
a subgroup chair their own subgroup's, through the same store functions
and checks as `radar impact add` and `radar impact update`; an update
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
from radar.dashboard.common import context, read
from radar.dashboard.register import (
    NOT_LOADED,
    STATUS_NAMES,
    day,
    done,
    impact_log,
    register_loaded,
    say_done,
    shown_version,
)
from radar.dashboard.signals import subgroup_name
from radar.models.register import RegisterRefusal

person = require("impact_log")
ctx = context()
st.title("Impact Log")
say_done()
if ctx.config.risk_register is None:
    st.info("This partnership keeps no Impact Log in Radar (its config has no [risk_register] section).")
    st.stop()
if not read(register_loaded):
    st.info(NOT_LOADED)
    st.stop()
entries = read(impact_log)
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
    }), hide_index=True)
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
