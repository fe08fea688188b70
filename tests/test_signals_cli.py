"""`radar signals run` on a small CSV (and a bad row), and the back-test's replay of stored values."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
from typer.testing import CliRunner

from radar.cli import app
from radar.core.alert_settings import SpcSettings
from radar.pipelines import early_warning as ew
from radar.pipelines import glm, signal_replay

runner = CliRunner()


def _rows(rng, mean, months=60, step_at=50, factor=1.6):
    return [(glm.period_of(2016 * 12 + 3 + i), int(rng.poisson(mean * (factor if i >= step_at else 1))))
            for i in range(months)]


def _csv(tmp_path, lines, name="series.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_signals_run_prints_both_detectors_alarms(tmp_path):
    rng = np.random.default_rng(42)
    lines = ["series,period,value"] + [f"missing,{p},{v}" for p, v in _rows(rng, 50)]
    result = runner.invoke(app, ["signals", "run", "--input", str(_csv(tmp_path, lines)), "--json"])
    assert result.exit_code == 0, result.output
    alarms = json.loads(result.stdout)
    assert {a["detector"] for a in alarms} == {"mdc", "early_warning"}
    assert all({"series", "period", "detector"} <= a.keys() for a in alarms)
    early = [a for a in alarms if a["detector"] == "early_warning"]
    assert all(a["series"] == "missing" and a["period"] >= "2020-06" for a in early)  # the step: June 2020
    assert early[0]["new"] and abs(early[0]["excess"] - (early[0]["value"] - early[0]["expected"])) < 0.01
    assert {"expected", "excess"} <= early[0].keys() and early[0]["expected"] > 40


def test_signals_run_percentages_lower_is_worse(tmp_path):
    rng = np.random.default_rng(3)
    lines = ["series,period,value,denominator"]
    for i in range(60):
        n = int(rng.integers(80, 120))
        lines.append(f"on_time,{glm.period_of(2016 * 12 + i)},{rng.binomial(n, 0.8 if i < 48 else 0.6)},{n}")
    result = runner.invoke(app, ["signals", "run", "--input", str(_csv(tmp_path, lines)), "--kind", "percentage",
                                 "--worse", "lower", "--json"])
    assert result.exit_code == 0, result.output
    early = [a for a in json.loads(result.stdout) if a["detector"] == "early_warning"]
    assert early and early[0]["period"] >= "2020-01" and early[0]["excess"] < 0


def test_signals_run_names_the_bad_row(tmp_path):
    lines = ["series,period,value", "a,2020-01,4", "a,2020-02,five", "a,2020-03,6"]
    result = runner.invoke(app, ["signals", "run", "--input", str(_csv(tmp_path, lines)), "--json"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "row 3: value 'five' is not a number" in said
    for bad, words in [("a,2020-13,4", "row 2: period '2020-13'"), ("a,2020-01,-1", "row 2: value '-1'")]:
        result = runner.invoke(app, ["signals", "run", "--input", str(_csv(tmp_path, ["series,period,value", bad]))])
        assert result.exit_code == 2 and words in " ".join(result.output.split()), result.output
    result = runner.invoke(app, ["signals", "run", "--input", str(_csv(tmp_path, lines)), "--kind", "percentage"])
    assert result.exit_code == 2 and "denominator" in result.output


def test_mdc_replay_judges_each_month_on_its_own_prefix():
    values = [5, 7, 6, 8, 7, 6, 5, 7, 6, 8, 7, 6, 30, 6]
    frame = pl.DataFrame({"series": ["s"] * 14, "period": [glm.period_of(2019 * 12 + i) for i in range(14)],
                          "value": [float(v) for v in values]})
    flagged = signal_replay.mdc_alarms(frame, False, "higher", SpcSettings())
    assert flagged.rows() == [("s", "2020-01", "outside_limits")]


def test_backtest_replays_stored_values(catalogue):
    rng = np.random.default_rng(8)
    rows = _rows(rng, 40)
    values = pl.DataFrame({
        "indicator": ["lado_referrals"] * len(rows), "breakdown": [""] * len(rows),
        "period": [p for p, _ in rows], "value": [float(v) for _, v in rows],
        "numerator": [None] * len(rows), "denominator": [None] * len(rows),
    }, schema_overrides={"numerator": pl.Float64, "denominator": pl.Float64})
    found = signal_replay.backtest(catalogue, values, SpcSettings(), ew.EarlySettings())
    early = [r for r in found if r["detector"] == "early_warning"]
    assert early and early[0]["series"] == "lado_referrals" and early[0]["period"] >= "2020-06"


def test_signals_backtest_reads_the_stored_history(radar_store):
    from radar.models import indicators as indicator_store
    from radar.models.engine import get_engine

    rng = np.random.default_rng(8)
    rows = _rows(rng, 40)
    values = pl.DataFrame({
        "period": [p for p, _ in rows], "indicator": ["lado_referrals"] * len(rows), "breakdown": [""] * len(rows),
        "value": [float(v) for _, v in rows], "numerator": [None] * len(rows), "denominator": [None] * len(rows),
        "note": [""] * len(rows),
    }, schema_overrides={"numerator": pl.Float64, "denominator": pl.Float64})
    with get_engine(radar_store).begin() as conn:
        indicator_store.save_indicator_values(conn, "E09000006", values, up_to=rows[-1][0])
    result = runner.invoke(app, ["signals", "backtest", "--indicator", "lado_referrals", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    early = [r for r in found if r["detector"] == "early_warning"]
    assert early and early[0]["series"] == "lado_referrals" and early[0]["period"] >= "2020-06"
    assert runner.invoke(app, ["signals", "backtest", "--indicator", "no_such"]).exit_code == 2
    listed = json.loads(runner.invoke(app, ["indicators", "--indicator", "lado_referrals", "--json"]).stdout)
    assert listed[0]["promise"] == "not_assessed" and "monthly cycle" in listed[0]["detection"]
