"""The threat assessment overview, the Risk register and the Impact Log pages, as each role sees and uses them.

The store is test_dashboard's (alerts up to April 2025); the register and
the Impact Log are Bromley's seed files, loaded as the monthly cycle loads them.  Expected
cells, counts and filters are worked out from the seed file itself below,
not from the code under test.  Edits are made as signed-in people (as in
test_dashboard_access) and must land in the store through the register's
own functions, audited under their address, and be refused when the risk
or entry changed since the page showed it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from sqlalchemy import func, select
from test_dashboard import frame, shown
from test_dashboard_access import ANALYST, CHAIR, PCI_CHAIR, VIEWER, audit_events, visit

from radar.core.config import get_context
from radar.dashboard.common import changed
from radar.dashboard.register import day
from radar.models import register
from radar.models.audit import record_cycle
from radar.models.engine import get_engine
from radar.models.register import RiskProposal

SEED = yaml.safe_load((Path(get_context.__code__.co_filename).parent / "partnerships" / "bromley_risks.yaml")
                      .read_text(encoding="utf-8"))["risks"]
APPETITE = {"strategic": 9, "operational": 12}  # bromley_risk_matrix.yaml


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from test_dashboard_access import make_home

    with pytest.MonkeyPatch.context() as env:
        yield make_home(tmp_path_factory.mktemp("register_home"), env)


@pytest.fixture
def own_home(tmp_path, monkeypatch):
    from test_dashboard_access import make_home

    return make_home(tmp_path, monkeypatch)


def table(app, column: str) -> pl.DataFrame:
    return next(frame(app, i) for i in range(len(app.dataframe)) if column in frame(app, i).columns)


def submit_buttons(app, form: str) -> list[str]:
    """The keys of the page's buttons that submit a form whose key starts with `form`."""
    return [b.key for b in app.button if (b.key or "").startswith(f"FormSubmitter:{form}")]


def open_seed(likelihood: int, impact: int) -> set[str]:
    return {r["id"] for r in SEED if r.get("status", "open") != "closed"
            and (r["current"]["likelihood"], r["current"]["impact"]) == (likelihood, impact)}


def test_the_overview_ranks_threats_with_their_reasons_and_what_changed(home):
    app = visit(VIEWER)
    # what changed since the last Board comes first, before the ranked threats
    assert [h.value for h in app.subheader][:2] == ["What changed since the last Board", "Top threats"]
    threats = [m.value for m in app.markdown if m.value.startswith("**1. ")]
    assert threats and "score" in threats[0] and "Confidence" in threats[0]
    text = "\n".join(shown(m.value) for m in app.markdown)
    assert "(harm " in text and "by the data with" in text  # the pipeline's own one-sentence reason
    # As judged on 31 May 2025 (the end of the month after April), the last Board met on 9 September 2020.
    assert any("the last Board met on 9 Sep 2020" in c.value for c in app.caption)
    # Open actions due before 31 May 2025 (the seed's due dates are all 2020-21): each listed with its owner.
    overdue = [a for r in SEED for a in r.get("actions", []) if a.get("status", "open") == "open"]
    assert f"**Actions overdue** ({len(overdue)})" in text
    assert ("R02 Merger of six Clinical Commissioning Groups into one for South East London: Confirm the merged "
            "CCG's safeguarding accountabilities to the Board (Designated Nurse) was due on 31 Dec 2020") in text
    assert "**Alerts resolved** (1)\n- Children in need per 10,000 children stayed above average" in text  # names
    assert "cin_rate" not in text
    assert "](register)" not in text  # a viewer may not open the register, so no link to it


def test_the_heat_map_counts_open_risks_per_cell_and_a_cell_lists_its_risks(home):
    app = visit(ANALYST)
    heat = table(app, "Impact")
    assert heat.columns == ["Impact", "1 Rare", "2 Unlikely", "3 Possible", "4 Likely", "5 Almost certain"]
    assert heat["Impact"].to_list() == ["5 Severe", "4 Major", "3 Moderate", "2 Minor", "1 Minimal"]
    for likelihood in range(1, 6):
        for impact in range(1, 6):
            assert heat.row(5 - impact)[likelihood] == len(open_seed(likelihood, impact)), (likelihood, impact)
    cell = app.selectbox(key="heat_cell")
    choice = next(o for o in cell.options if o.startswith("Possible × Moderate (score 9)"))
    cell.select(choice).run()
    assert set(table(app, "Risk")["Risk"]) == open_seed(3, 3)


def test_the_heat_map_is_coloured_by_band_in_every_cell(home):
    from radar.dashboard.register import BAND_COLOURS, heat_colours, heat_table
    matrix = get_context().register.matrix
    colours, table = heat_colours(matrix), heat_table(matrix, [])
    assert colours.columns == table.columns and colours.height == table.height  # one style per cell
    by_likelihood = {lv.value: f"{lv.value} {lv.name}" for lv in matrix.likelihood}
    top = len(matrix.impact)  # rows run from the highest impact down
    # Bromley's bands: low from 1, medium from 5, high from 12 (bromley_risk_matrix.yaml)
    assert BAND_COLOURS["high"] in colours[by_likelihood[5]][0]  # 5 x 5 = 25
    assert BAND_COLOURS["low"] in colours[by_likelihood[1]][top - 1]  # 1 x 1 = 1
    assert BAND_COLOURS["medium"] in colours[by_likelihood[3]][top - 3]  # 3 x 3 = 9
    assert BAND_COLOURS["high"] in colours[by_likelihood[4]][top - 3]  # 4 x 3 = 12
    app = visit(ANALYST)
    assert any("green low (1 to 4), amber medium (5 to 11), red high (12 and above)" in c.value for c in app.caption)


def test_agency_submission_status_and_the_board_pack_download_for_the_chair_only(home):
    app = visit(CHAIR)
    files = table(app, "Files due")
    assert files.columns == ["Agency", "On time", "Late", "Missing", "Rejected", "Files due"]
    police = files.filter(pl.col("Agency") == get_context().config.agencies["police"].name).row(0, named=True)
    assert police["Late"] >= 1  # March 2025's police file arrived 8 days late
    # the pack as HTML or PDF (README), for the Board or for publication
    labels = [b.label for b in app.get("download_button")]
    assert labels == ["Download the Board pack for Apr 2025 (HTML)", "Download the Board pack for Apr 2025 (PDF)"]
    version = app.radio(key="pack_version")
    assert version.options == ["For the Board", "For publication"] and version.value == "board"
    version.set_value("publication").run()
    assert [b.label for b in app.get("download_button")] == labels
    # each change since the last Board links to the page that deals with it, for a role that may open it
    changes = next(m.value for m in app.markdown if m.value.startswith("**Actions overdue**"))
    listed = [line for line in changes.splitlines()[1:] if not line.startswith("- and ")]
    assert listed and all(line.endswith(" · [Risk register →](register)") for line in listed)
    assert not visit(PCI_CHAIR).get("download_button") and not visit(VIEWER).get("download_button")


def test_the_register_filters_by_subgroup_priority_and_appetite(home):
    app = visit(ANALYST, "register")
    assert set(table(app, "Risk")["Risk"]) == {r["id"] for r in SEED}
    app.selectbox(key="appetite").select("Out of appetite").run()
    out = table(app, "Risk")
    assert set(out["Risk"]) == {r["id"] for r in SEED if r["current"]["likelihood"] * r["current"]["impact"]
                                > APPETITE[r["category"]]}
    assert all(a.startswith("⚠ Out of appetite") for a in out["Appetite"])
    app.selectbox(key="appetite").select("All").run()
    app.selectbox(key="subgroup").select("health").run()
    app.selectbox(key="priority").select("early_help").run()
    assert set(table(app, "Risk")["Risk"]) == {r["id"] for r in SEED if r["subgroup"] == "health"
                                               and r["priority"] == "early_help"}


def test_a_risk_shows_its_scores_in_words_its_history_and_no_decision_for_an_analyst(home):
    app = visit(ANALYST, "register")
    app.selectbox(key="risk").select("R03").run()
    text = "\n".join(shown(m.value) for m in app.markdown)
    assert "**Current**: Likely × Major (4 × 4 = 16)" in text
    assert "⚠ out of appetite (above 9)" in text
    history = table(app, "What")
    assert history.row(0, named=True)["What"] == "Loaded from the partnership's register file"
    assert not submit_buttons(app, "decide") and not submit_buttons(app, "review")


def propose(risk_id: str, likelihood: int, impact: int) -> int:
    """A re-score proposal as the monthly cycle would make one from new evidence; its id."""
    ctx = get_context()
    with get_engine(ctx.settings.database_url).begin() as conn:
        register.attach_evidence(conn, ctx.la_code, [], [{"risk_id": risk_id, "likelihood": likelihood,
                                                          "impact": impact, "alert_key": "spc_trend|ehe_registered",
                                                          "reason": f"likelihood {likelihood - 1} → {likelihood}"}])
        table_ = RiskProposal.__table__
        return conn.execute(select(table_.c.id).order_by(table_.c.id.desc())).scalar()


def risk(risk_id: str) -> dict:
    ctx = get_context()
    with get_engine(ctx.settings.database_url).connect() as conn:
        return register.risk_row(conn, ctx.la_code, risk_id)


def decide(app, proposal: int, decision: str, reason: str):
    app.radio(key=f"decision-{proposal}").set_value(decision)
    app.text_input(key=f"reason-{proposal}").input(reason)
    app.button(key=f"FormSubmitter:decide-{proposal}-Record the decision").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_a_subgroup_chair_accepts_a_proposal_and_it_is_audited_under_their_address(own_home):
    proposal = propose("R03", 5, 4)
    app = visit(PCI_CHAIR, "register")
    app.selectbox(key="risk").select("R03").run()
    assert any(m.value.startswith(f"**Proposal {proposal}**: Almost certain × Major (5 × 4 = 20)")
               for m in app.markdown)
    app = decide(app, proposal, "accepted", "Agreed at the PCI meeting")
    assert f"proposal {proposal} accepted; recorded under {PCI_CHAIR}" in app.success[0].value
    row = risk("R03")
    assert (row["current_likelihood"], row["current_impact"], row["version"]) == (5, 4, 2)
    assert [e["actor"] for e in audit_events("proposal_accepted")] == [PCI_CHAIR]


def test_a_decision_on_a_risk_changed_since_the_page_showed_it_is_refused(own_home):
    proposal = propose("R03", 5, 4)
    app = visit(PCI_CHAIR, "register")
    app.selectbox(key="risk").select("R03").run()
    ctx = get_context()
    with get_engine(ctx.settings.database_url).begin() as conn:  # someone else re-scores it meanwhile
        register.rescore_risk(conn, ctx.la_code, "R03", likelihood=3, impact=4, by=CHAIR, reason="Reviewed",
                              version=1, matrix=ctx.register.matrix, today=date.today())
    changed()  # the page's next run reads the new version: the refusal must come from what the page showed
    app = decide(app, proposal, "changed", "Lower than proposed")
    assert "has changed since you read it (you had version 1, it is now version 2)" in app.error[0].value
    assert (risk("R03")["current_likelihood"], risk("R03")["version"]) == (3, 2)
    assert not audit_events("proposal_changed")


def test_a_subgroup_chair_cannot_decide_on_another_subgroups_risk(own_home):
    propose("R02", 4, 3)  # a health risk
    app = visit(PCI_CHAIR, "register")
    app.selectbox(key="risk").select("R02").run()
    assert any(m.value.startswith("**Proposal") for m in app.markdown) and not submit_buttons(app, "decide")
    assert any("The chair or the chair of Health" in c.value for c in app.caption)


def review(app, risk_id: str, reason: str, score: tuple[int, int] | None = None):
    app.radio(key=f"keep-{risk_id}").set_value(score is None)
    if score:
        app.number_input(key=f"review-likelihood-{risk_id}").set_value(score[0])
        app.number_input(key=f"review-impact-{risk_id}").set_value(score[1])
    app.text_input(key=f"review-reason-{risk_id}").input(reason)
    app.button(key=f"FormSubmitter:review-{risk_id}-Record the review").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_a_subgroup_chair_reviews_a_risk_keeping_its_score_then_re_scores_it(own_home):
    app = visit(PCI_CHAIR, "register")
    app.selectbox(key="risk").select("R03").run()
    before = risk("R03")
    app = review(app, "R03", "Looked at the April figures: no change")
    after = risk("R03")
    assert (after["current_likelihood"], after["current_impact"], after["version"]) == (4, 4, before["version"] + 1)
    assert f"R03: reviewed, score kept; next review {day(after['next_review'])}; recorded under {PCI_CHAIR}" \
        in app.success[0].value
    app = review(app, "R03", "Home education numbers have settled", (3, 4))
    row = risk("R03")
    assert (row["current_likelihood"], row["current_impact"], row["version"]) == (3, 4, before["version"] + 2)
    assert f"R03: now 3 × 4 = 12; recorded under {PCI_CHAIR}" in app.success[0].value
    assert [e["actor"] for e in audit_events("risk_reviewed")] == [PCI_CHAIR]
    assert [(e["actor"], json.loads(e["detail"])["to"]) for e in audit_events("risk_scored")] == [(PCI_CHAIR, [3, 4])]
    assert table(app, "What").select("Who", "What", "Why").rows()[-2:] == [
        (PCI_CHAIR, "Reviewed", "Looked at the April figures: no change"),
        (PCI_CHAIR, "Re-scored", "Home education numbers have settled"),
    ]


def test_a_review_without_a_finding_or_of_a_risk_changed_since_shown_is_refused(own_home):
    app = visit(PCI_CHAIR, "register")
    app.selectbox(key="risk").select("R03").run()
    app = review(app, "R03", "  ")
    assert "say what the review found" in app.error[0].value
    ctx = get_context()
    with get_engine(ctx.settings.database_url).begin() as conn:  # someone else re-scores it meanwhile
        register.rescore_risk(conn, ctx.la_code, "R03", likelihood=3, impact=4, by=CHAIR, reason="Reviewed",
                              version=1, matrix=ctx.register.matrix, today=date.today())
    changed()
    app = review(app, "R03", "No change")
    assert "has changed since you read it (you had version 1, it is now version 2)" in app.error[0].value
    assert risk("R03")["version"] == 2 and not audit_events("risk_reviewed")


def test_the_impact_log_filters_and_only_the_owning_chairs_may_edit(home):
    app = visit(ANALYST, "impact_log")
    seed = yaml.safe_load((Path(get_context.__code__.co_filename).parent / "partnerships" /
                           "bromley_impact_log.yaml").read_text(encoding="utf-8"))["entries"]
    assert table(app, "Entry")["Entry"].to_list() == [e["id"] for e in seed]
    assert not submit_buttons(app, "")
    app.selectbox(key="subgroup").select("pci").run()
    app.selectbox(key="status").select("complete").run()
    assert table(app, "Entry")["Entry"].to_list() == [e["id"] for e in seed
                                                      if e["subgroup"] == "pci" and e["status"] == "complete"]
    chair = visit(PCI_CHAIR, "impact_log")
    editable = chair.selectbox(key="entry").options
    assert editable and all(o.split(":")[0] in {e["id"] for e in seed if e["subgroup"] == "pci"} for o in editable)
    assert chair.selectbox(key="new_subgroup").options == ["Performance, Challenge & Impact"]


def test_adding_and_updating_an_impact_entry_is_audited_and_a_stale_update_refused(own_home):
    app = visit(PCI_CHAIR, "impact_log")
    app.text_area(key="new_challenge").input("Why are return home interviews late?")
    app.text_area(key="new_action").input("CSC to report timeliness monthly")
    app.button(key="FormSubmitter:add-entry-Add to the Impact Log").click().run()
    assert "the owner is needed" in app.error[0].value  # nothing saved without an owner
    app.text_input(key="new_owner").input("Director of Children's Social Care")
    app.button(key="FormSubmitter:add-entry-Add to the Impact Log").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert f"IL12 added to the Impact Log; recorded under {PCI_CHAIR}" in app.success[0].value
    added = [(e["actor"], e["subject"]) for e in audit_events("impact_added") if e["actor"] != "impact log file"]
    assert added == [(PCI_CHAIR, "impact:IL12")]

    app.selectbox(key="entry").select("IL12").run()
    ctx = get_context()
    with get_engine(ctx.settings.database_url).begin() as conn:  # someone else updates it meanwhile
        register.update_impact(conn, ctx.la_code, "IL12", {"status": "in_progress"}, by=CHAIR, version=1)
    changed()
    app.text_area(key="evidence-IL12").input("First report received")
    app.button(key="FormSubmitter:update-IL12-Save the update").click().run()
    assert "has changed since you read it" in app.error[0].value
    assert [e["actor"] for e in audit_events("impact_updated")] == [CHAIR]


def test_a_subgroup_chair_adds_a_risk_for_their_subgroup_from_the_form_and_it_is_audited(own_home):
    assert not submit_buttons(visit(ANALYST, "register"), "add-risk")  # an analyst has no form
    app = visit(PCI_CHAIR, "register")
    assert app.selectbox(key="new-subgroup").options == ["Performance, Challenge & Impact"]  # only their own
    app.button(key="FormSubmitter:add-risk-Add the risk").click().run()
    assert "the title is needed" in app.error[0].value
    new_id = f"R{max(int(r['id'][1:]) for r in SEED) + 1:02d}"
    app.text_input(key="new-title").input("Children placed out of area without notice")
    app.number_input(key="new-likelihood").set_value(4)
    app.number_input(key="new-impact").set_value(3)
    app.selectbox(key="new-appetite").select("operational")
    app.button(key="FormSubmitter:add-risk-Add the risk").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert f"{new_id}: added; recorded under {PCI_CHAIR}" in app.success[0].value
    row = risk(new_id)
    assert (row["subgroup"], row["category"], row["current_likelihood"], row["current_impact"]) == (
        "pci", "operational", 4, 3)
    assert [(e["actor"], e["subject"]) for e in audit_events("risk_added")] == [(PCI_CHAIR, f"risk:{new_id}")]
    assert new_id in set(table(app, "Risk")["Risk"])


def test_the_impact_log_and_register_are_judged_as_of_the_month_shown_not_todays_calendar(own_home):
    """The dashboard lives in the time of the month it shows (April 2025 here, the cycle's latest month; March 2020
    in the demo): a register the cycle loaded for that month is scored and given its review dates as of 31 May 2025
    (the end of the month after), and the Risk register page judges reviews and actions overdue on that day."""
    from radar.models.register import RiskAssessment

    visit(ANALYST, "impact_log")
    with get_engine(get_context().settings.database_url).connect() as conn:
        days = set(conn.execute(select(RiskAssessment.__table__.c.assessed_on)).scalars())
    assert days == {date(2025, 5, 31)}
    app = visit(ANALYST, "register")
    reviews = table(app, "Risk")["Next review"].to_list()
    assert reviews and not any("overdue" in r for r in reviews), reviews
    assert all(r.endswith("2025") for r in reviews), reviews  # the high band's cadence from 31 May 2025


def test_a_register_seeded_in_march_2020_is_not_years_overdue_on_a_page_showing_then(tmp_path, monkeypatch):
    """As `radar demo` leaves it: a register seeded on 30 Apr 2020 by the March 2020 cycle shows no review and no
    action overdue on the Risk register page, which shows March 2020."""
    from sqlmodel import Session
    from test_dashboard import alert
    from test_dashboard_access import OIDC_VARIABLES, PROVIDER

    monkeypatch.setenv("RADAR_HOME", str(tmp_path))
    for name in ("RADAR_DATABASE_URL", "RADAR_CONFIG", "RADAR_DEV_MODE", "RADAR_DEV_USER"):
        monkeypatch.delenv(name, raising=False)
    for name in OIDC_VARIABLES:
        monkeypatch.setenv(name, PROVIDER[name])
    ctx = get_context()
    engine = get_engine(ctx.settings.database_url)
    with Session(engine) as session:  # the March 2020 cycle's alert: the month the dashboard shows
        session.add(alert("spc_outside_limits", "cin_rate", "high", "pci", "open", "Above the usual range",
                          "2020-03", "2020-03"))
        session.commit()
    with engine.begin() as conn:  # the March 2020 cycle ran and loaded the register as of its as-of day
        record_cycle(conn, ctx.la_code, "2020-03", {})
        register.ensure_seeded(conn, ctx.la_code, ctx.register, date(2020, 4, 30))
    app = visit(ANALYST, "register")
    reviews = table(app, "Risk")["Next review"].to_list()
    assert reviews and not any("overdue" in r for r in reviews), reviews
    app.selectbox(key="risk").select("R02").run()
    text = "\n".join(shown(m.value) for m in app.markdown)
    assert "Confirm the merged CCG's safeguarding accountabilities to the Board (Designated Nurse, due 31 Dec 2020, " \
           "open)" in text
    assert "overdue" not in text
    assert table(app, "What").row(0, named=True)["When"] == "30 Apr 2020"  # loaded as of then, not today


def act_on(app, risk_id: str, action_id: int, button: str, note: str = "", **fields):
    if app.selectbox(key=f"open-action-{risk_id}").value != action_id:
        app.selectbox(key=f"open-action-{risk_id}").select(action_id).run()
    for key, value in fields.items():
        widget = app.date_input(key=f"action-due-{action_id}") if key == "due" else \
            app.text_input(key=f"action-{key}-{action_id}")
        widget.set_value(value)
    app.text_input(key=f"action-note-{action_id}").input(note)
    app.button(key=f"FormSubmitter:action-{risk_id}-{action_id}-{button}").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_a_subgroup_chair_adds_changes_and_closes_a_risks_actions_through_the_floor(own_home):
    """The Risk register page's action forms are `radar risks action add|update|close`: for the chair and the
    risk's subgroup chair only, audited under their address, refused with the floor's reason (an empty owner,
    a closing without a note, a risk changed since the page showed it)."""
    from radar.actions.register import risk as floor_risk

    assert not submit_buttons(visit(ANALYST, "register"), "add-action")
    app = visit(PCI_CHAIR, "register")
    app.selectbox(key="risk").select("R02").run()  # a health risk: not theirs
    assert not submit_buttons(app, "add-action")
    app.selectbox(key="risk").select("R03").run()
    due = date.today().replace(year=date.today().year + 1)
    app.text_input(key="new-action-R03").input("Audit home-education notifications")
    app.date_input(key="new-action-due-R03").set_value(due)
    app.button(key="FormSubmitter:add-action-R03-Add the action").click().run()
    assert "the action's owner cannot be empty" in app.error[0].value
    app.text_input(key="new-action-R03").input("Audit home-education notifications")
    app.text_input(key="new-action-owner-R03").input("Director of Education")
    app.date_input(key="new-action-due-R03").set_value(due)
    app.button(key="FormSubmitter:add-action-R03-Add the action").click().run()
    assert not app.exception, [e.value for e in app.exception]
    ctx = get_context()
    engine = get_engine(ctx.settings.database_url)
    added = [a for a in floor_risk(engine, ctx, "R03", date.today())["actions"]
             if a["description"] == "Audit home-education notifications"]
    assert len(added) == 1 and (added[0]["owner"], added[0]["due"], added[0]["status"]) == (
        "Director of Education", due, "open")
    number = added[0]["id"]
    assert f"R03: action {number} added; recorded under {PCI_CHAIR}" in app.success[0].value

    app = act_on(app, "R03", number, "Save the change", owner="Head of Education Welfare")
    assert f"R03: action {number} changed" in app.success[0].value
    app = act_on(app, "R03", number, "Close as done")
    assert "say what was done (or why the action is dropped)" in app.error[0].value
    with engine.begin() as conn:  # someone else re-scores the risk meanwhile
        register.rescore_risk(conn, ctx.la_code, "R03", likelihood=3, impact=4, by=CHAIR, reason="Reviewed",
                              version=risk("R03")["version"], matrix=ctx.register.matrix,
                              today=date.today())
    changed()
    app = act_on(app, "R03", number, "Close as done", note="Audit reported to PCI")
    assert "has changed since you read it" in app.error[0].value
    app = act_on(app, "R03", number, "Close as done", note="Audit reported to PCI")  # on the version now shown
    assert f"R03: action {number} done; recorded under {PCI_CHAIR}" in app.success[0].value
    closed = next(a for a in floor_risk(engine, ctx, "R03", date.today())["actions"] if a["id"] == number)
    assert (closed["owner"], closed["status"], closed["note"]) == ("Head of Education Welfare", "done",
                                                                   "Audit reported to PCI")
    assert [(e["actor"], e["action"]) for e in audit_events("action_added") + audit_events("action_updated")
            + audit_events("action_closed")] == [(PCI_CHAIR, "action_added"), (PCI_CHAIR, "action_updated"),
                                                 (PCI_CHAIR, "action_closed")]
    assert {"Action added", "Action changed", "Action closed"} <= set(table(app, "What")["What"])


def test_a_subgroup_chair_links_an_impact_entry_to_a_risk_and_an_alert_through_the_floor(own_home):
    """The Impact Log page's link form is `radar impact link`: the entry's subgroup chair (or the chair) only,
    audited under their address, a link made twice refused with the floor's reason, links shown in the table."""
    seed = yaml.safe_load((Path(get_context.__code__.co_filename).parent / "partnerships" /
                           "bromley_impact_log.yaml").read_text(encoding="utf-8"))["entries"]
    entry = next(e["id"] for e in seed if e["subgroup"] == "pci")
    assert not submit_buttons(visit(ANALYST, "impact_log"), "link")
    app = visit(PCI_CHAIR, "impact_log")
    app.selectbox(key="entry").select(entry).run()
    app.button(key=f"FormSubmitter:link-{entry}-Link the entry").click().run()
    assert "link to exactly one: a risk or an alert" in app.error[0].value  # nothing chosen
    app.selectbox(key=f"link-risk-{entry}").select("R03")
    app.button(key=f"FormSubmitter:link-{entry}-Link the entry").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert f"{entry} linked to risk R03; recorded under {PCI_CHAIR}" in app.success[0].value
    ref = app.selectbox(key=f"link-alert-{entry}").options[0].split(":")[0]
    app.radio(key=f"link-kind-{entry}").set_value("alert")
    app.selectbox(key=f"link-alert-{entry}").select(ref)
    app.button(key=f"FormSubmitter:link-{entry}-Link the entry").click().run()
    assert f"{entry} linked to alert {ref}" in app.success[0].value
    linked = dict(zip(table(app, "Entry")["Entry"], table(app, "Entry")["Linked to"]))
    assert linked[entry] == f"R03, {ref}"
    app.selectbox(key=f"link-risk-{entry}").select("R03")
    app.button(key=f"FormSubmitter:link-{entry}-Link the entry").click().run()
    assert f"Impact Log entry {entry} is already linked to that risk" in app.error[0].value
    assert [(e["actor"], e["subject"]) for e in audit_events("impact_linked")] == [(PCI_CHAIR, f"impact:{entry}")] * 2


def test_before_the_cycle_loads_the_register_its_pages_say_so_and_write_nothing(tmp_path, monkeypatch):
    """A store the monthly cycle has not yet loaded the register's files into: the Risk register and Impact Log
    pages say why they are empty, and reading them adds no risk (reads stay reads)."""
    from test_dashboard_access import make_home

    from radar.models.register import Risk

    make_home(tmp_path, monkeypatch, loaded=False)
    for page in ("register", "impact_log"):
        app = visit(CHAIR, page)
        assert any("has not been loaded" in i.value for i in app.info), [i.value for i in app.info]
    with get_engine(get_context().settings.database_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(Risk.__table__)).scalar() == 0
