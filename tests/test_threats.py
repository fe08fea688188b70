"""The strategic threat assessment (pipelines.threats): golden scores worked by hand, one threat per subject,
whole-number scores, a stable ranking, what changed since the last Board, and the Bromley themes file checked
against the catalogue and the register."""

from datetime import date, datetime

import polars as pl
import pytest

from radar.core import periods
from radar.core.catalogue import load_catalogue
from radar.core.config import get_context
from radar.core.register import FileProblem, RiskFile, load_yaml, parse_yaml
from radar.core.threats import Theme, ThemeIndicator, ThreatConfig, load_threats
from radar.models.submissions import SUBMISSION_SCHEMA
from radar.pipelines import threats
from radar.pipelines.benchmarks import BENCHMARK_SCHEMA
from radar.pipelines.threats import StaInputs

CATALOGUE = load_catalogue()
ABUSE = Theme(id="domestic_abuse", title="Domestic abuse", harm=4, harm_reason="r", likelihood=3, subgroup="pci",
              indicators=[ThemeIndicator(indicator="da_offences", weight=2), ThemeIndicator(indicator="idva_referrals")],
              risks=["R07"])
NEGLECT = Theme(id="neglect", title="Neglect", harm=5, harm_reason="r", likelihood=2, subgroup="pci",
                indicators=[ThemeIndicator(indicator="cpp_repeat_rate")])
ALERT = {"rule": "spc_outside_limits", "feed": None, "message": "m.", "cleared_period": None}


def risk(rid="R07", status="open", likelihood=4, impact=3, confidence="medium", title="Domestic abuse rising"):
    return {"id": rid, "title": title, "status": status, "linked_indicators": ["da_offences"],
            "current": {"likelihood": likelihood, "impact": impact, "score": likelihood * impact},
            "appetite": 10, "confidence": confidence, "actions": [
                {"description": "Audit DA referrals", "owner": "DCI", "due": date(2020, 4, 15), "status": "open"},
                {"description": "Done already", "owner": "DCI", "due": date(2020, 1, 15), "status": "done"}]}


def inputs(**over) -> StaInputs:
    base = {
        "catalogue": CATALOGUE, "themes": [ABUSE, NEGLECT], "period": "2020-03", "as_of": date(2020, 4, 30),
        "board_dates": [date(2019, 12, 11), date(2020, 3, 11), date(2020, 6, 10)],
        "series": pl.DataFrame({
            "indicator": ["da_offences", "idva_referrals", "cpp_repeat_rate"],
            "latest_period": ["2020-03", "2020-02", "2020-03"], "latest_value": [120.0, 14.0, 21.5],
            "variation": ["special_cause_concern_high", "common_cause", "special_cause_improvement_low"]}),
        "comparison": pl.DataFrame({"indicator": ["da_offences"], "year": [2019], "la_value": [30.0],
                                 "national": [25.0], "sn_median": [28.0]}),
        "alerts": pl.DataFrame([
            ALERT | {"key": "a|da_offences", "ref": "spc-aaaa", "indicator": "da_offences", "status": "open",
                     "severity": "high", "first_period": "2019-11", "raised_on": date(2020, 3, 20)},
            ALERT | {"key": "b|idva_referrals", "ref": "spc-bbbb", "indicator": "idva_referrals", "status": "open",
                     "severity": "high", "first_period": "2020-01", "raised_on": date(2020, 1, 15)},
            ALERT | {"key": "c|cpp_repeat_rate", "ref": "spc-cccc", "indicator": "cpp_repeat_rate",
                     "status": "resolved", "severity": "medium", "first_period": "2019-10",
                     "raised_on": date(2019, 11, 10), "cleared_period": "2020-03"}]),
        "risks": [risk(), risk("R08", status="closed"), risk("R05", title="Probation assessments", impact=2)],
        "score_changes": [{"risk": "R07", "on": date(2020, 2, 1), "by": "x", "from": [2, 3], "to": [3, 3]},
                       {"risk": "R07", "on": date(2020, 4, 2), "by": "DCI", "from": [3, 3], "to": [4, 3]}],
        "severity_at_board": {"b|idva_referrals": "medium"},
        "risks_added": [{"risk": "R05", "on": date(2020, 3, 30), "by": "Chair", "score": [4, 2]}],
        "agency_names": {"early_help": "Early Help service"},
        "feed_status": pl.DataFrame({
            "feed_id": ["police_monthly", "early_help_monthly", "csc_monthly", "police_monthly"],
            "period": ["2020-03", "2020-03", "2020-03", "2020-02"],
            "due_date": [date(2020, 4, 12), date(2020, 4, 12), date(2020, 4, 10), date(2020, 3, 10)],
            "status": ["on_time", "missing", "on_time", "late"]}),
    }
    return StaInputs(**base | over)


def test_golden_scores_worked_by_hand():
    ranked = {t["id"]: t for t in threats.assess(inputs())}
    abuse, r05, neglect = ranked["domestic_abuse"], ranked["R05"], ranked["neglect"]
    # da_offences: concern +1, open alert +1, open since Nov 2019 (3+ months) +0.5, worse than England 25 and
    # neighbours 28 +0.5 = 3; idva_referrals: open alert +1 (since Jan: not yet persisting) = 1.
    assert [e["pressure"] for e in abuse["evidence"]] == [3.0, 1.0]
    # trend (2 x 3 + 1 x 1) / 3 = 2.3 (one decimal), 2 whole steps; R07, which the theme lists, lifts the floor
    # from 3 to 4 (and would lift harm, but its impact 3 is below the theme's 4); 4 + 2 caps at 5; 4 x 5 = 20.
    assert (abuse["trend"], abuse["likelihood"], abuse["harm"], abuse["score"]) == (2.3, 5, 4, 20)
    assert abuse["risks"] == ["R07"] and [a["risk"] for a in abuse["open_actions"]] == ["R07"]
    # completeness 1 of 2 indicators has March; police on time (1), early help missing (0): (0.5 + 0.5) / 2.
    assert (abuse["confidence"], abuse["confidence_value"]) == ("medium", 0.5)
    # R05, which no theme lists, on its own: harm 2 (its impact), likelihood 4 + 3 = 7 capped at 5, score 10; data
    # confidence 1.0 (high) capped at the register's own "medium".
    assert (r05["harm"], r05["likelihood"], r05["score"], r05["confidence"]) == (2, 5, 10, "medium")
    # cpp_repeat_rate improving: -1; likelihood 2 - 1 = 1; harm 5; score 5; all March data on time: high.
    assert (neglect["trend"], neglect["likelihood"], neglect["score"], neglect["confidence"]) == (-1.0, 1, 5, "high")
    assert "R08" not in ranked  # closed risks are not threats
    assert "R07" not in ranked  # ranked once, with the theme that lists it, not again on its own


def test_one_threat_per_subject_and_scores_as_the_register_uses_them():
    ranked = threats.assess(inputs())
    subjects = [t["subject"] for t in ranked]
    assert sorted(subjects) == ["R05", "domestic_abuse", "neglect"]
    risks = [r for t in ranked for r in t["risks"]]
    assert sorted(risks) == ["R05", "R07"]  # every open risk in exactly one threat
    for t in ranked:
        assert all(isinstance(t[k], int) for k in ("harm", "likelihood", "score")), t
        assert t["score"] == t["harm"] * t["likelihood"] and 1 <= t["score"] <= 25
        assert round(t["trend"], 1) == t["trend"]
    # half a step moves the likelihood a whole step, either way; less than half does not
    assert [threats.whole_step(x) for x in (2.3, 0.5, 0.4, -0.4, -0.5, -1.6)] == [2, 1, 0, 0, -1, -2]


def test_the_reason_is_one_plain_sentence_with_its_evidence():
    ranked = {t["id"]: t for t in threats.assess(inputs())}
    assert ranked["domestic_abuse"]["reason"] == (
        "Score 20 (harm 4 × likelihood 5): likelihood 4 as for R07 in the register, raised 1 to the "
        "top of the scale by the data with 1 of 2 indicators showing a concerning special cause, 2 open alerts "
        "(the oldest since Nov 2019) and 1 of 2 indicators worse than both England and the statistical neighbours; "
        "confidence is medium (the Early help monthly return has not arrived).")
    assert ranked["neglect"]["reason"] == (
        "Score 5 (harm 5 × likelihood 1): likelihood 2 as the partnership judged it, lowered 1 by the data with "
        "1 of 1 indicator improving.")
    for t in ranked.values():
        assert ". " not in t["reason"] and t["reason"].endswith(".") and t["reason"].count(".") == 1


def test_same_inputs_same_ranking_whatever_the_order():
    twin = NEGLECT.model_copy(update={"id": "a_twin"})
    forward = [t["id"] for t in threats.assess(inputs(themes=[ABUSE, NEGLECT, twin]))]
    backward = [t["id"] for t in threats.assess(inputs(themes=[twin, NEGLECT, ABUSE],
                                                       risks=[*reversed(inputs().risks)]))]
    assert forward == backward == ["domestic_abuse", "R05", "a_twin", "neglect"]  # a tie falls to the id
    assert [t["rank"] for t in threats.assess(inputs())] == [1, 2, 3]


def test_what_changed_since_the_last_board():
    changes = threats.changes_since_last_board(inputs())
    assert [(c["kind"], c["page"]) for c in changes] == [
        ("alert_raised", "alerts"), ("alert_escalated", "alerts"), ("alert_resolved", "alerts"),
        ("risk_added", "register"), ("risk_outside_appetite", "register"), ("action_overdue", "register"),
        ("action_overdue", "register"), ("feed_late", "feed_status")]
    assert [c["line"] for c in changes] == [
        # raised after the Board (20 Mar), though its cause began in Nov 2019: said plainly, not "new (since ...)"
        "Domestic abuse offences: m: new to the Board; high since Nov 2019",
        "IDVA referrals: m: medium at the last Board, high now",
        "Second or subsequent plans (%): m: resolved in Mar 2020",
        "R05 Probation assessments: added on 30 Mar 2020 by Chair, scored 4 × 2 = 8",
        ("R07 Domestic abuse rising: re-scored from 3 × 3 = 9 to 4 × 3 = 12 on 2 Apr 2020 by DCI, moving it outside "
         "the appetite of 10"),
        "R07 Domestic abuse rising: Audit DA referrals (DCI) was due on 15 Apr 2020",
        "R05 Probation assessments: Audit DA referrals (DCI) was due on 15 Apr 2020",
        # February's late police file fell due before the Board
        "Early Help service: the Early help monthly return has not arrived for Mar 2020"]
    assert (changes[0]["alert"], changes[0]["since"]) == ("spc-aaaa", "2019-11")
    abuse = threats.assess(inputs())[0]
    assert abuse["changed"] == [changes[k]["line"] for k in (0, 1, 4, 5, 7)]
    named = inputs(alerts=inputs().alerts.with_columns(message=pl.lit("Domestic abuse offences rose.")))
    assert threats.changes_since_last_board(named)[0]["line"] == (  # the message names its indicator: said once
        "Domestic abuse offences rose: new to the Board; high since Nov 2019")
    de = threats.changes_since_last_board(inputs(severity_at_board={"b|idva_referrals": "high", "a|da_offences": "low"}))
    assert [c["alert"] for c in de if c["kind"] == "alert_raised"] == ["spc-aaaa"]
    calm = inputs(alerts=inputs().alerts.with_columns(severity=pl.lit("low")), severity_at_board={"b|idva_referrals": "high"})
    assert [(c["alert"], c["line"]) for c in threats.changes_since_last_board(calm) if c["kind"] == "alert_de_escalated"] \
        == [("spc-bbbb", "IDVA referrals: m: high at the last Board, low now")]
    back = threats.changes_since_last_board(inputs(score_changes=[
        {"risk": "R07", "on": date(2020, 4, 2), "by": "DCI", "from": [4, 3], "to": [3, 3]}]))
    assert [c["line"] for c in back if c["kind"] == "risk_rescored"] == [
        ("R07 Domestic abuse rising: re-scored from 4 × 3 = 12 to 3 × 3 = 9 on 2 Apr 2020 by DCI, back within the "
         "appetite of 10")]
    assert threats.grouped_changes(changes)[0] == ("Alerts new to the Board", changes[:1])
    # the alert on early help's missing file is told once, as the file newly late, not again as a new alert
    feed_alert = ALERT | {"rule": "feed_late", "feed": "early_help_monthly", "key": "f|early_help_monthly",
                          "ref": "feed-ffff", "indicator": None, "status": "open", "severity": "medium",
                          "first_period": "2020-03", "raised_on": date(2020, 4, 13)}
    with_feed = threats.changes_since_last_board(inputs(alerts=pl.concat([inputs().alerts, pl.DataFrame([feed_alert])],
                                                                         how="diagonal_relaxed")))
    assert with_feed == changes


def test_before_the_first_board_nothing_is_flagged():
    assert threats.changes_since_last_board(inputs(as_of=date(2019, 12, 1))) == []


def bromley_register() -> list:
    ctx = get_context()
    return load_yaml(ctx.config.resolve_path(ctx.config.risk_register.risks), RiskFile).risks


def test_bromley_themes_name_real_indicators_and_a_bad_file_is_named_by_line():
    ctx = get_context()
    config = load_threats(ctx.config.resolve_path(ctx.config.threat_assessment.themes), CATALOGUE,
                          set(ctx.config.subgroups), bromley_register())
    assert {"exploitation_missing", "domestic_abuse", "neglect", "mental_health_self_harm", "online_harm",
            "serious_youth_violence", "allegations_against_staff", "care_leavers"} <= {t.id for t in config.themes}
    # Bromley's links, each risk with the theme it is about (allegations does not borrow R11, nor neglect R03)
    assert {t.id: t.risks for t in config.themes if t.risks} == {
        "exploitation_missing": ["R12"], "domestic_abuse": ["R13"], "mental_health_self_harm": ["R11"],
        "care_leavers": ["R07"], "children_out_of_sight": ["R09"]}
    bad = ThreatConfig(themes=[ABUSE.model_copy(update={"indicators": [ThemeIndicator(indicator="nope")],
                                                        "subgroup": "nobody", "risks": []})])
    assert bad.problems(CATALOGUE, {"pci"}) == [
        "theme domestic_abuse: nope not in the catalogue (radar catalog --json)",
        "theme domestic_abuse: subgroup 'nobody' is not one of pci"]
    with pytest.raises(FileProblem, match=r"line 3, field themes.0.harm"):
        parse_yaml("themes:\n  - id: x\n    harm: 9\n    title: t\n    harm_reason: r\n    likelihood: 2\n"
                   "    subgroup: pci\n    indicators: [{indicator: da_offences}]\n", ThreatConfig, "t.yaml")


def test_a_theme_listing_a_risk_about_another_subject_is_refused_at_load(tmp_path):
    """The operator sees which theme and which risk: here allegations against staff borrowing the mental-health
    risk R11, as Bromley's assessment once did through a shared indicator."""
    ctx = get_context()
    themes = ctx.config.resolve_path(ctx.config.threat_assessment.themes).read_text()
    mislinked = tmp_path / "threats.yaml"
    mislinked.write_text(themes.replace("    indicators:\n      - {indicator: lado_referrals}",
                                        "    risks: [R11]\n    indicators:\n      - {indicator: lado_referrals}"))
    with pytest.raises(ValueError, match=r"theme allegations_against_staff lists risk R11, whose subject is "
                                         r"mental_health_self_harm.*risk R11 is listed by themes "
                                         r"mental_health_self_harm and allegations_against_staff"):
        load_threats(mislinked, CATALOGUE, set(ctx.config.subgroups), bromley_register())
    register = [r.model_copy(update={"subject": None}) if r.id == "R13" else r for r in bromley_register()]
    with pytest.raises(ValueError, match=r"theme domestic_abuse lists risk R13, which names no subject"):
        load_threats(ctx.config.resolve_path(ctx.config.threat_assessment.themes), CATALOGUE,
                     set(ctx.config.subgroups), register)
    unlisted = [r.model_copy(update={"subject": "neglect"}) if r.id == "R03" else r for r in bromley_register()]
    assert "risk R03: its subject is neglect, but theme neglect does not list it under risks" in \
        ThreatConfig(themes=[NEGLECT]).link_problems(unlisted)


def test_build_inputs_keeps_only_what_was_known_at_the_month_and_every_register_edit():
    ctx = get_context()
    sources = {
        "series": inputs().series, "alerts": inputs().alerts.with_columns(
            first_period=pl.Series(["2019-11", "2020-04", "2019-10"])),
        "risks": [], "score_changes": [{"risk": "R07", "on": date(2026, 5, 1), "by": "x", "from": [1, 1], "to": [2, 2]}],
        "risks_added": [{"risk": "R14", "on": date(2026, 5, 2), "by": "Chair", "score": [3, 3]}],
        "attached": [{"alert_key": "b|idva_referrals", "severity": "low", "at": datetime(2020, 2, 1, 9)},
                     {"alert_key": "b|idva_referrals", "severity": "medium", "at": datetime(2020, 3, 1, 9)},
                     {"alert_key": "b|idva_referrals", "severity": "high", "at": datetime(2020, 3, 20, 9)}],
        "submissions": pl.DataFrame(schema=SUBMISSION_SCHEMA),
        "comparison": {"benchmarks": pl.DataFrame(schema=BENCHMARK_SCHEMA), "la_code": ctx.la_code, "old_la_code": "",
                       "neighbour_old_codes": []},
    }
    built = threats.build_inputs(CATALOGUE, ctx.config, [ABUSE], None, "2020-03", date(2020, 4, 30), sources)
    assert built.alerts["ref"].to_list() == ["spc-aaaa", "spc-cccc"]  # the April alert is after the month
    assert built.severity_at_board == {"b|idva_referrals": "medium"}
    # the register ranked is the register as it stands, so an edit made after the Board is news whatever the day
    assert built.score_changes == sources["score_changes"] and built.risks_added == sources["risks_added"]


def test_radar_sta_json_on_a_store_with_only_the_register(register_store):
    """No data yet: the seeded register's open risks and the themes are still ranked, each subject once with low
    confidence, and the JSON has the issue's fields; a risk added and one re-scored after the last Board are in
    `changes_since_last_board` without --as-of, though the month's default day (30 Apr 2020) is long past."""
    import json

    from typer.testing import CliRunner

    from radar.cli import app
    from radar.core.register import RiskSpec
    from radar.models import register as store
    from radar.models.engine import get_engine

    out = CliRunner().invoke(app, ["sta", "--period", "2020-03", "--json", "--as-of", "2020-04-30"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert (result["period"], result["last_board"]) == ("2020-03", "2020-03-11")
    first = result["threats"][0]
    assert set(first) >= {"rank", "subject", "theme", "title", "score", "harm", "likelihood", "trend", "confidence",
                          "reason", "evidence", "risks", "open_actions", "changed"}
    assert {t["confidence"] for t in result["threats"]} == {"low"}  # no file has arrived
    subjects = [t["subject"] for t in result["threats"]]
    assert len(subjects) == len(set(subjects)) == 17  # Bromley's 9 themes and the 8 open risks no theme lists
    risks = [r for t in result["threats"] for r in t["risks"]]
    assert len(risks) == len(set(risks)) == 13  # each of the register's 13 open risks in exactly one threat
    by_subject = {t["subject"]: t for t in result["threats"]}
    assert by_subject["domestic_abuse"]["risks"] == ["R13"] and "R13" not in by_subject
    assert by_subject["allegations_against_staff"]["risks"] == [] and by_subject["neglect"]["risks"] == []
    for t in result["threats"]:
        assert all(isinstance(t[k], int) for k in ("harm", "likelihood", "score")) and ". " not in t["reason"]
    again = json.loads(CliRunner().invoke(app, ["sta", "--period", "2020-03", "--json", "--as-of", "2020-04-30"]).stdout)
    assert [t["title"] for t in again["threats"]] == [t["title"] for t in result["threats"]]
    assert {c["kind"] for c in result["changes_since_last_board"]} == {"feed_late"}  # no action due yet

    matrix, la, today = get_context().register.matrix, get_context().config.partnership.la_code, date.today()
    spec = RiskSpec(id="R14", title="Online harm in lockdown", cause="c", event="e", consequence="q",
                    category="operational", priority="local_safeguarding_context", subgroup="education",
                    owner="Director of Education", inherent={"likelihood": 4, "impact": 4},
                    current={"likelihood": 4, "impact": 4}, target={"likelihood": 2, "impact": 4},
                    confidence="low", confidence_reason="new")
    with get_engine(register_store).begin() as conn:
        store.insert_risk(conn, la, spec, matrix, today, by="Independent Chair")
        store.rescore_risk(conn, la, "R10", likelihood=4, impact=4, by="Head of Service, MASH", reason="audit",
                           version=store.risk_row(conn, la, "R10")["version"], matrix=matrix, today=today)
    out = CliRunner().invoke(app, ["sta", "--period", "2020-03", "--json"])
    assert out.exit_code == 0, out.output
    changes = [c for c in json.loads(out.stdout)["changes_since_last_board"] if c["kind"].startswith("risk_")]
    assert [(c["kind"], c["risk"], c["page"]) for c in changes] == [
        ("risk_added", "R14", "register"), ("risk_outside_appetite", "R10", "register")]
    assert changes[0]["line"] == (f"R14 Online harm in lockdown: added on {periods.day_label(today)} by Independent "
                                  "Chair, scored 4 × 4 = 16, outside the appetite of 12")


def test_radar_sta_json_gives_the_reported_figure_and_names_the_seasonally_adjusted_one(store_url, tmp_path,
                                                                                       monkeypatch):
    """Children missing education referrals (seasonal) was 40 as reported in March 2020 and 37.5 as charted
    (seasonally adjusted): `latest_value` is the 40 agencies reported, the 37.5 named beside it; a series that is
    not seasonal carries its reported figure alone.  The Board pack reads these same fields."""
    import json

    from sqlmodel import Session
    from typer.testing import CliRunner

    from radar.cli import app
    from radar.models.charts import SeriesStatus
    from radar.models.engine import get_engine
    from radar.models.indicators import IndicatorValue

    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    la = get_context().config.partnership.la_code
    with Session(get_engine(store_url)) as session:
        session.add_all([
            SeriesStatus(la_code=la, indicator="cme_referrals", latest_period="2020-03", latest_value=37.5),
            IndicatorValue(la_code=la, indicator="cme_referrals", period="2020-03", value=40.0),
            IndicatorValue(la_code=la, indicator="cme_referrals", breakdown="schools", period="2020-03", value=30.0),
            SeriesStatus(la_code=la, indicator="ehe_registered", latest_period="2020-03", latest_value=210.0),
            IndicatorValue(la_code=la, indicator="ehe_registered", period="2020-03", value=210.0)])
        session.commit()
    out = CliRunner().invoke(app, ["sta", "--period", "2020-03", "--json", "--as-of", "2020-04-30"])
    assert out.exit_code == 0, out.output
    evidence = {e["indicator"]: e for t in json.loads(out.stdout)["threats"] for e in t["evidence"]}
    cme, ehe = evidence["cme_referrals"], evidence["ehe_registered"]
    assert (cme["latest_value"], cme["adjusted_value"], cme["adjustment"]) == (40.0, 37.5, "seasonal")
    assert (ehe["latest_value"], ehe["adjusted_value"], ehe["adjustment"]) == (210.0, None, None)
