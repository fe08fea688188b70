"""The strategic threat assessment (pipelines.threats): golden scores worked by hand, a stable ranking, what
changed since the last Board, and the Bromley themes file checked against the catalogue."""

from datetime import date, datetime

import polars as pl
import pytest

from radar.core.catalogue import load_catalogue
from radar.core.config import get_context
from radar.core.register import FileProblem, parse_yaml
from radar.core.threats import Theme, ThemeIndicator, ThreatConfig, load_threats
from radar.models.queries import SUBMISSION_SCHEMA
from radar.pipelines import threats
from radar.pipelines.benchmarks import BENCHMARK_SCHEMA
from radar.pipelines.threats import StaInputs

CATALOGUE = load_catalogue()
ABUSE = Theme(id="domestic_abuse", title="Domestic abuse", harm=4, harm_reason="r", likelihood=3, subgroup="pci",
              indicators=[ThemeIndicator(indicator="da_offences", weight=2), ThemeIndicator(indicator="idva_referrals")])
NEGLECT = Theme(id="neglect", title="Neglect", harm=5, harm_reason="r", likelihood=2, subgroup="pci",
                indicators=[ThemeIndicator(indicator="cpp_repeat_rate")])
ALERT = {"rule": "spc_outside_limits", "feed": None, "message": "m", "cleared_period": None}


def risk(rid="R07", status="open", likelihood=4, impact=3, confidence="medium"):
    return {"id": rid, "title": "Domestic abuse rising", "status": status, "linked_indicators": ["da_offences"],
            "current": {"likelihood": likelihood, "impact": impact, "score": likelihood * impact},
            "confidence": confidence, "actions": [
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
        "risks": [risk(), risk("R08", status="closed")],
        "score_changes": [{"risk": "R07", "on": date(2020, 2, 1), "by": "x", "from": [2, 3], "to": [3, 3]},
                       {"risk": "R07", "on": date(2020, 4, 2), "by": "DCI", "from": [3, 3], "to": [4, 3]}],
        "severity_at_board": {"b|idva_referrals": "medium"},
        "feed_status": pl.DataFrame({
            "feed_id": ["police_monthly", "early_help_monthly", "csc_monthly", "police_monthly"],
            "period": ["2020-03", "2020-03", "2020-03", "2020-02"],
            "due_date": [date(2020, 4, 12), date(2020, 4, 12), date(2020, 4, 10), date(2020, 3, 10)],
            "status": ["on_time", "missing", "on_time", "late"]}),
    }
    return StaInputs(**base | over)


def test_golden_scores_worked_by_hand():
    ranked = {t["id"]: t for t in threats.assess(inputs())}
    abuse, r07, neglect = ranked["domestic_abuse"], ranked["R07"], ranked["neglect"]
    # da_offences: concern +1, open alert +1, open since Nov 2019 (3+ months) +0.5, worse than England 25 and
    # neighbours 28 +0.5 = 3; idva_referrals: open alert +1 (since Jan: not yet persisting) = 1.
    assert [e["pressure"] for e in abuse["evidence"]] == [3.0, 1.0]
    # trend (2 x 3 + 1 x 1) / 3 = 2.33; R07 (likelihood 4) lifts the floor from 3 to 4; 4 + 2.33 caps at 5.
    assert (abuse["trend"], abuse["likelihood"], abuse["harm"], abuse["score"]) == (2.33, 5.0, 4, 20.0)
    # completeness 1 of 2 indicators has March; police on time (1), early help missing (0): (0.5 + 0.5) / 2.
    assert (abuse["confidence"], abuse["confidence_value"]) == ("medium", 0.5)
    # R07 on its own: harm 3 (its impact), likelihood 4 + 3 = 7 capped at 5, score 15; data confidence 1.0 (high)
    # capped at the register's own "medium".
    assert (r07["harm"], r07["likelihood"], r07["score"], r07["confidence"]) == (3, 5.0, 15.0, "medium")
    # cpp_repeat_rate improving: -1; likelihood 2 - 1 = 1; harm 5; score 5; all March data on time: high.
    assert (neglect["trend"], neglect["likelihood"], neglect["score"], neglect["confidence"]) == (-1.0, 1.0, 5.0, "high")
    assert "R08" not in ranked  # closed risks are not threats


def test_the_reason_is_at_most_two_plain_sentences():
    abuse = threats.assess(inputs())[0]
    assert abuse["reason"] == (
        "Harm 4 of 5 and likelihood 5 of 5 give 20, with 1 indicator of 2 showing a concerning special cause; "
        "2 open alerts, the oldest since Nov 2019. Its likelihood starts from 4, the register's score for R07; "
        "confidence is medium (the Early help monthly return has not arrived).")
    for t in threats.assess(inputs()):
        assert t["reason"].count(". ") <= 1 and t["reason"].endswith(".")


def test_same_inputs_same_ranking_whatever_the_order():
    twin = NEGLECT.model_copy(update={"id": "a_twin"})
    forward = [t["id"] for t in threats.assess(inputs(themes=[ABUSE, NEGLECT, twin]))]
    backward = [t["id"] for t in threats.assess(inputs(themes=[twin, NEGLECT, ABUSE], risks=[risk("R08", "closed"), risk()]))]
    assert forward == backward == ["domestic_abuse", "R07", "a_twin", "neglect"]  # a tie falls to the id
    assert [t["rank"] for t in threats.assess(inputs())] == [1, 2, 3]


def test_what_changed_since_the_last_board():
    changes = threats.changes_since_last_board(inputs())
    assert changes["last_board"] == date(2020, 3, 11)
    assert [a["ref"] for a in changes["new_alerts"]] == ["spc-aaaa"]
    assert [(a["ref"], a["was"], a["severity"]) for a in changes["escalated"]] == [("spc-bbbb", "medium", "high")]
    assert [a["ref"] for a in changes["resolved"]] == ["spc-cccc"]
    assert [(c["risk"], c["to"]) for c in changes["risk_score_changes"]] == [("R07", [4, 3])]
    assert [a["due"] for a in changes["overdue_actions"]] == [date(2020, 4, 15)]
    assert changes["late_agencies"] == [{"agency": "early_help", "feed": "early_help_monthly", "period": "2020-03",
                                         "status": "missing"}]  # February's late police file was before the Board
    abuse = threats.assess(inputs())[0]
    assert abuse["changed"] == [
        "new alert spc-aaaa on da_offences", "escalated spc-bbbb on idva_referrals",
        "R07 re-scored 3x3 → 4x3 on 2020-04-02", "overdue action on R07 (due 2020-04-15)",
        "the Early help monthly return has not arrived for Mar 2020"]
    de = threats.changes_since_last_board(inputs(severity_at_board={"b|idva_referrals": "high", "a|da_offences": "low"}))
    assert [a["ref"] for a in de["escalated"]] == [] and [a["ref"] for a in de["new_alerts"]] == ["spc-aaaa"]
    calm = inputs(alerts=inputs().alerts.with_columns(severity=pl.lit("low")), severity_at_board={"b|idva_referrals": "high"})
    assert [a["ref"] for a in threats.changes_since_last_board(calm)["de_escalated"]] == ["spc-bbbb"]


def test_before_the_first_board_nothing_is_flagged():
    early = threats.changes_since_last_board(inputs(as_of=date(2019, 12, 1)))
    assert early["last_board"] is None and not any(early[k] for k in early if k != "last_board")


def test_bromley_themes_name_real_indicators_and_a_bad_file_is_named_by_line():
    ctx = get_context()
    config = load_threats(ctx.config.resolve_path(ctx.config.threat_assessment.themes), CATALOGUE,
                          set(ctx.config.subgroups))
    assert {"exploitation_missing", "domestic_abuse", "neglect", "mental_health_self_harm", "online_harm",
            "serious_youth_violence", "allegations_against_staff", "care_leavers"} <= {t.id for t in config.themes}
    bad = ThreatConfig(themes=[ABUSE.model_copy(update={"indicators": [ThemeIndicator(indicator="nope")],
                                                        "subgroup": "nobody"})])
    assert bad.problems(CATALOGUE, {"pci"}) == [
        "theme domestic_abuse: nope not in the catalogue (radar catalog --json)",
        "theme domestic_abuse: subgroup 'nobody' is not one of pci"]
    with pytest.raises(FileProblem, match=r"line 3, field themes.0.harm"):
        parse_yaml("themes:\n  - id: x\n    harm: 9\n    title: t\n    harm_reason: r\n    likelihood: 2\n"
                   "    subgroup: pci\n    indicators: [{indicator: da_offences}]\n", ThreatConfig, "t.yaml")


def test_build_inputs_keeps_only_what_was_known_at_the_month():
    ctx = get_context()
    sources = {
        "series": inputs().series, "alerts": inputs().alerts.with_columns(
            first_period=pl.Series(["2019-11", "2020-04", "2019-10"])),
        "risks": [], "score_changes": [{"risk": "R07", "on": date(2020, 5, 1), "by": "x", "from": [1, 1], "to": [2, 2]}],
        "attached": [{"alert_key": "b|idva_referrals", "severity": "low", "at": datetime(2020, 2, 1, 9)},
                     {"alert_key": "b|idva_referrals", "severity": "medium", "at": datetime(2020, 3, 1, 9)},
                     {"alert_key": "b|idva_referrals", "severity": "high", "at": datetime(2020, 3, 20, 9)}],
        "submissions": pl.DataFrame(schema=SUBMISSION_SCHEMA), "benchmarks": pl.DataFrame(schema=BENCHMARK_SCHEMA),
        "neighbours": [],
    }
    built = threats.build_inputs(CATALOGUE, ctx.config, [ABUSE], None, "2020-03", date(2020, 4, 30), sources)
    assert built.alerts["ref"].to_list() == ["spc-aaaa", "spc-cccc"]  # the April alert is after the month
    assert built.score_changes == [] and built.severity_at_board == {"b|idva_referrals": "medium"}


def test_radar_sta_json_on_a_store_with_only_the_register(store_url, tmp_path, monkeypatch):
    """No data yet: the seeded register's open risks and the themes are still ranked, each with low confidence,
    and the JSON has the issue's fields."""
    import json

    from typer.testing import CliRunner

    from radar.cli import app

    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    out = CliRunner().invoke(app, ["sta", "--period", "2020-03", "--json", "--as-of", "2020-04-30"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert (result["period"], result["last_board"]) == ("2020-03", "2020-03-11")
    first = result["threats"][0]
    assert set(first) >= {"rank", "theme", "title", "score", "harm", "likelihood", "trend", "confidence", "reason",
                          "evidence", "risks", "open_actions", "changed"}
    assert {t["confidence"] for t in result["threats"]} == {"low"}  # no file has arrived
    assert "register" in {t["theme"] for t in result["threats"]} and len(result["threats"]) > 9
    again = json.loads(CliRunner().invoke(app, ["sta", "--period", "2020-03", "--json", "--as-of", "2020-04-30"]).stdout)
    assert [t["title"] for t in again["threats"]] == [t["title"] for t in result["threats"]]
