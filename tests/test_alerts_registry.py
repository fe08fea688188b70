"""The one alert-rule registry (pipelines.alerts.registry): settings, the cycle's reads and the docs all follow it."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from radar.core.alert_settings import ALERTS_FILE, parse_alert_settings
from radar.core.catalogue import load_catalogue
from radar.pipelines.alerts import registry as alert_registry
from radar.pipelines.alerts.registry import RULES, CycleInputs, check_settings, record_reads, rule_table, run_checks

TEXT = ALERTS_FILE.read_text(encoding="utf-8")
SETTINGS = parse_alert_settings(TEXT)
CATALOGUE = load_catalogue()
DOCS = Path(__file__).parents[1] / "docs" / "signals.md"


def test_every_rule_is_declared_once_with_a_default_severity():
    ids = [rule.id for check in alert_registry.CHECKS for rule in check.rules]
    assert len(ids) == len(set(ids)) == len(RULES) == 14
    assert RULES["spc_outside_limits"].severity_in(SETTINGS) == "high"
    assert RULES["spc_shift"].severity_in(SETTINGS) == "medium"
    assert RULES["benchmark_gap"].severity_in(SETTINGS) == "low"


def test_alerts_yaml_overrides_a_severity_and_an_unknown_rule_id_is_an_error():
    settings = parse_alert_settings(TEXT.replace("severity: {}", "severity: {benchmark_gap: high}"))
    check_settings(settings)
    assert RULES["benchmark_gap"].severity_in(settings) == "high"
    typo = parse_alert_settings(TEXT.replace("severity: {}", "severity: {benchmark_gaps: high}"))
    with pytest.raises(ValueError, match="severity for benchmark_gaps, which is not an alert rule"):
        check_settings(typo)


def test_alerts_yaml_sets_the_charts_screening_and_fixed_baseline():
    assert (SETTINGS.spc_settings().screen_moving_ranges, SETTINGS.spc_settings().baseline_points) == (False, None)
    chosen = parse_alert_settings(TEXT.replace("screen_moving_ranges: false", "screen_moving_ranges: true")
                                  .replace("baseline_points: null", "baseline_points: 24"))
    assert (chosen.spc_settings().screen_moving_ranges, chosen.spc_settings().baseline_points) == (True, 24)
    with pytest.raises(ValueError, match="baseline_points"):
        parse_alert_settings(TEXT.replace("baseline_points: null", "baseline_points: 1"))


def test_the_cycle_loads_the_record_feeds_and_columns_the_rules_declare():
    assert record_reads() == {
        "lado_referrals": ("setting_ref", "setting_type", "period"),
        "missing_episodes": ("child_ref", "start_date", "period"),
    }


def _empty_inputs() -> CycleInputs:
    """A cycle month with no data and the police file missing (one feed_late alert)."""
    points = pl.DataFrame(schema={
        "indicator": pl.String, "breakdown": pl.String, "period": pl.String, "value": pl.Float64,
        "mean": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "segment": pl.Int64, "label": pl.String,
        "signal": pl.String, "direction": pl.String, "assessment": pl.String,
    })
    status = pl.DataFrame(
        {"feed_id": ["police_monthly"], "period": ["2020-03"], "due_date": [date(2020, 4, 15)], "status": ["missing"]}
    )
    return CycleInputs(
        catalogue=CATALOGUE, settings=SETTINGS, period="2020-03", scope="E09000006", points=points,
        summary=points.select("indicator", "breakdown", "period").with_columns(assurance=pl.lit(None, pl.String)),
        values=points.select("indicator", "breakdown", "period", "value").with_columns(
            numerator=pl.lit(None, pl.Float64), denominator=pl.lit(None, pl.Float64)),
        targets=pl.DataFrame(schema={"indicator": pl.String, "value": pl.Float64, "year": pl.String}),
        comparison=pl.DataFrame(schema={"indicator": pl.String, "year": pl.Int64, "la_value": pl.Float64,
                                        "national": pl.Float64, "sn_median": pl.Float64}),
        feed_status=status, received={},
        records={"lado_referrals": pl.DataFrame(schema={"setting_ref": pl.String, "setting_type": pl.String,
                                                        "period": pl.String}),
                 "missing_episodes": pl.DataFrame(schema={"child_ref": pl.String, "start_date": pl.Date,
                                                          "period": pl.String})},
        risks=[], today=date(2020, 4, 20),
    )


def test_run_checks_refuses_an_unknown_rule_and_splits_alerts_from_improvements():
    inputs = _empty_inputs()
    alerts, improvements = run_checks(inputs)
    assert alerts["rule"].to_list() == ["feed_late"] and improvements.is_empty()
    bad = parse_alert_settings(TEXT.replace("severity: {}", "severity: {no_such_rule: low}"))
    with pytest.raises(ValueError, match="no_such_rule"):
        run_checks(CycleInputs(**{**inputs.__dict__, "settings": bad}))


def test_the_cycle_runs_the_register_rules_on_the_risks_and_the_day_it_is_given():
    inputs = _empty_inputs()
    risk = {"risk_id": "R03", "title": "COVID-19", "status": "open", "subgroup": "pci", "owner": "Independent Chair",
            "next_review": date(2020, 4, 30), "actions": [
                {"id": 1, "description": "Threat assessment", "owner": "BSCP Business Manager",
                 "due": date(2020, 4, 15), "status": "open"}]}
    before = CycleInputs(**{**inputs.__dict__, "risks": [risk], "today": date(2020, 4, 15)})
    assert run_checks(before)[0]["rule"].to_list() == ["feed_late"]  # due today is not yet overdue
    after = CycleInputs(**{**inputs.__dict__, "risks": [risk], "today": date(2020, 5, 1)})
    alerts = run_checks(after)[0].filter(pl.col("rule") != "feed_late")
    assert alerts.select("rule", "subgroup").rows() == [("action_overdue", "pci"), ("risk_review_overdue", "pci")]


def test_the_docs_rule_table_is_the_registry():
    table = rule_table(CATALOGUE)
    assert table.count("\n| `") == len(RULES)  # a row per rule
    assert table in DOCS.read_text(encoding="utf-8"), "docs/signals.md's rule table differs: paste rule_table()"
