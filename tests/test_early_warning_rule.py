"""The `early_warning` alert rule: a chair-readable sentence, improvements never alerted, totals only."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from radar.core.alert_settings import ALERTS_FILE, parse_alert_settings
from radar.pipelines import early_warning as ew
from radar.pipelines import glm
from radar.pipelines.alerts import registry as alert_registry
from radar.pipelines.alerts.early_warning import STATE_SCHEMA, detection_statement, early_warning_signals, series_states

SETTINGS = parse_alert_settings(ALERTS_FILE.read_text(encoding="utf-8"))


def _state(**over) -> dict:
    row = dict.fromkeys(STATE_SCHEMA) | {
        "indicator": "missing_episodes", "breakdown": "", "period": "2020-06", "value": 30.0, "expected": 19.0,
        "ewma": 1.9, "threshold": 1.4, "flag": "concern", "since": "2020-03", "observed_since": 112.0,
        "expected_since": 74.2, "return_years": 10.3, "promise": "ok", "statement": "", "months": 48, "state": "{}",
    }
    return row | over


def test_a_concern_reads_as_the_chair_would_say_it(catalogue):
    states = pl.DataFrame([_state()], schema=STATE_SCHEMA, orient="row")
    concerns, improvements = early_warning_signals(states, catalogue, "2020-06", "E09000006", SETTINGS)
    assert improvements.is_empty() and concerns.height == 1
    alert = concerns.row(0, named=True)
    assert alert["message"] == (
        "38 more missing episodes than expected since Mar 2020 (112 against about 74); "
        "an excess this large happens by chance about once in 10 years.")
    assert alert["rule"] == "early_warning" and alert["since"] == "2020-03" and alert["severity"] == "medium"
    assert alert["feed"] == "missing_episodes"  # a late file holds it back, as it does the SPC rules
    assert json.loads(alert["evidence"])["detector"] == "early_warning"
    assert json.loads(alert["evidence"])["check"] == "ewma"


def test_the_evidence_names_the_single_month_check_when_it_fired(catalogue):
    """A month flagged while the EWMA is still under its threshold was flagged by the single-month check: the
    rule and detector stay `early_warning`, the evidence says which check fired."""
    states = pl.DataFrame([_state(ewma=0.9, threshold=1.4)], schema=STATE_SCHEMA, orient="row")
    concerns, _ = early_warning_signals(states, catalogue, "2020-06", "E09000006", SETTINGS)
    evidence = json.loads(concerns["evidence"][0])
    assert concerns["rule"][0] == "early_warning" and evidence["detector"] == "early_warning"
    assert evidence["check"] == "single_month"


def test_improvements_are_shown_never_alerted_and_breakdowns_stay_quiet(catalogue):
    states = pl.DataFrame([_state(flag="improvement", observed_since=50.0),
                           _state(breakdown="female")], schema=STATE_SCHEMA, orient="row")
    concerns, improvements = early_warning_signals(states, catalogue, "2020-06", "E09000006", SETTINGS)
    assert concerns.is_empty()
    assert improvements["rule"].to_list() == ["improvement_early_warning"]
    assert improvements["severity"].to_list() == [None]
    assert improvements["message"][0] == (
        "24 fewer missing episodes than expected since Mar 2020 (50 against about 74); "
        "a shortfall this large happens by chance about once in 10 years.")


def test_the_registry_runs_the_rule_on_the_cycle_states():
    assert "early_warning" in alert_registry.RULES


def test_series_states_continue_from_stored_ones(catalogue):
    rng = np.random.default_rng(4)
    periods = [glm.period_of(2016 * 12 + 3 + i) for i in range(40)]
    values = pl.DataFrame({
        "indicator": "missing_episodes", "breakdown": "", "period": periods,
        "value": [float(v) for v in rng.poisson(60, 40)], "numerator": None, "denominator": None,
    }, schema_overrides={"numerator": pl.Float64, "denominator": pl.Float64})
    settings = ew.EarlySettings(simulations=300)
    full = series_states(catalogue, values, {}, None, periods[-1], None, settings)
    before = series_states(catalogue, values, {}, None, periods[-2], None, settings)
    stored = {("missing_episodes", ""): json.loads(before["state"][0])}
    moved = series_states(catalogue, values, stored, None, periods[-1], [periods[-1]], settings)
    assert moved.drop("state").rows() == full.drop("state").rows()
    row = full.row(0, named=True)
    assert row["promise"] in ("ok", "too_small") and row["statement"]
    assert detection_statement(catalogue.indicator_by_id["missing_episodes"], None, "female")["promise"] == "not_covered"


def test_the_threat_assessment_counts_an_early_warning_like_a_special_cause():
    from test_threats import inputs

    from radar.pipelines import threats

    base = inputs()
    series = base.series.with_columns(
        early_flag=pl.when(pl.col("indicator") == "idva_referrals").then(pl.lit("concern")),
        early_since=pl.when(pl.col("indicator") == "idva_referrals").then(pl.lit("2019-12")))
    found = threats.indicator_evidence(inputs(series=series))
    before = threats.indicator_evidence(base)
    idva = found["idva_referrals"]
    assert idva["pressure"] == before["idva_referrals"]["pressure"] + 1 and idva["concern"]
    assert idva["detectors"] == ["early_warning"] and "early warning" in idva["signal"]
    assert found["da_offences"]["detectors"] == ["mdc"]
