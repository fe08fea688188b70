"""Golden tests for the indicator and feed alert rules (pipelines.alerts: spc, targets, benchmarks, feeds), on tiny hand-made frames.

SPC points are built by hand with the columns `pipelines.spc.xmr` returns, so
these tests do not depend on how it computes them; one test at the end runs
the real `xmr` to check the two fit together.
"""

import json
from datetime import date

import polars as pl
import pytest

from radar.core.alert_settings import ALERTS_FILE, parse_alert_settings
from radar.core.catalogue import load_catalogue
from radar.core.periods import month_range
from radar.pipelines.alerts.benchmarks import benchmark_gap
from radar.pipelines.alerts.feeds import feed_alerts
from radar.pipelines.alerts.inhibition import held_feeds, hold_back
from radar.pipelines.alerts.rule import CANDIDATE_SCHEMA, alert_key
from radar.pipelines.alerts.spc import spc_signals
from radar.pipelines.alerts.targets import target_missed

SETTINGS = parse_alert_settings(ALERTS_FILE.read_text(encoding="utf-8"))
CATALOGUE = load_catalogue()
LA = "E09000006"
POINT_SCHEMA = {
    "indicator": pl.String, "breakdown": pl.String, "period": pl.String, "value": pl.Float64,
    "mean": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "segment": pl.Int64, "label": pl.String,
    "signal": pl.String, "direction": pl.String, "assessment": pl.String,
}


def series(
    indicator: str,
    values: list[float | None],
    *,
    start: str = "2019-01",
    mean: float,
    lower: float,
    upper: float,
    signal: str | None = None,
    direction: str | None = None,
    assessment: str | None = None,
    breakdown: str = "",
    label: str = "ok",
) -> pl.DataFrame:
    """One series of XmR points; the signal (if any) is on its last month. A None value drops the month."""
    periods = month_range(start, "2099-12")[: len(values)]
    rows = [
        (indicator, breakdown, p, v, mean, lower, upper, 0, label,
         *((signal, direction, assessment) if i == len(values) - 1 else (None, None, None)))
        for i, (p, v) in enumerate(zip(periods, values))
        if v is not None
    ]
    return pl.DataFrame(rows, schema=POINT_SCHEMA, orient="row")


def only(frame: pl.DataFrame) -> dict:
    assert frame.height == 1, frame
    return frame.row(0, named=True)


# --- SPC ------------------------------------------------------------------------------------


def test_a_point_above_the_upper_limit_of_a_bad_when_high_indicator_is_a_high_severity_alert():
    points = series("self_harm_attendances", [20, 22, 19, 21, 42], start="2019-11", mean=20.0, lower=5.2, upper=34.8,
                    signal="outside_limits", direction="high", assessment="concern")
    concerns, improvements = spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS)
    assert improvements.is_empty()
    assert concerns.schema == CANDIDATE_SCHEMA
    alert = only(concerns)
    assert alert["message"] == (
        "A&E attendances for self-harm stood at 42 in Mar 2020, above the usual range of 5 to 35."
    )
    assert alert | {"message": None, "evidence": None} == {
        "key": "spc_outside_limits|self_harm_attendances||E09000006", "rule": "spc_outside_limits",
        "indicator": "self_harm_attendances", "breakdown": "", "feed": "health_monthly", "scope": LA,
        "period": "2020-03", "since": "2020-03", "severity": "high", "subgroup": "health", "message": None,
        "evidence": None,
    }
    assert json.loads(alert["evidence"]) == {
        "value": 42.0, "mean": 20.0, "lower": 5.2, "upper": 34.8, "signal": "outside_limits", "direction": "high",
    }


def test_an_improvement_is_a_positive_signal_not_an_alert():
    points = series("self_harm_attendances", [20, 22, 19, 21, 3], start="2019-11", mean=20.0, lower=5.2, upper=34.8,
                    signal="outside_limits", direction="low", assessment="improvement")
    concerns, improvements = spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS)
    assert concerns.is_empty()
    good = only(improvements)
    assert good["rule"] == "improvement_outside_limits"
    assert good["key"] == "improvement_outside_limits|self_harm_attendances||E09000006"
    assert good["severity"] is None
    assert good["message"] == (
        "A&E attendances for self-harm stood at 3 in Mar 2020, below the usual range of 5 to 35."
    )


def test_a_shift_names_the_month_the_run_started():
    # Mean 30: Aug 2019 (29) is below it, Sep 2019 - Mar 2020 are the 7 months above.
    values = [25, 35, 28, 32, 27, 33, 26, 29, 31, 34, 32, 36, 33, 35, 38]
    points = series("missing_episodes", values, mean=30.0, lower=15.0, upper=45.0,
                    signal="shift", direction="high", assessment="concern")
    alert = only(spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS)[0])
    assert alert["message"] == "Missing episodes stayed above average for 7 months running (since Sep 2019)."
    assert alert["severity"] == "medium"
    evidence = json.loads(alert["evidence"])
    assert (evidence["run_start"], evidence["run_length"]) == ("2019-09", 7)


def test_a_missing_month_ends_a_run():
    # Same as above but Nov 2019 never arrived: the run is Dec 2019 - Mar 2020.
    values = [25, 35, 28, 32, 27, 33, 26, 29, 31, 34, None, 36, 33, 35, 38]
    points = series("missing_episodes", values, mean=30.0, lower=15.0, upper=45.0,
                    signal="shift", direction="high", assessment="concern")
    alert = only(spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS)[0])
    assert alert["message"] == "Missing episodes stayed above average for 4 months running (since Dec 2019)."


def test_a_rebase_ends_a_run():
    # The limits were re-based from Dec 2019 (segment 1): the run counts from there.
    values = [25, 35, 28, 32, 27, 33, 26, 29, 31, 34, 32, 36, 33, 35, 38]
    points = series("missing_episodes", values, mean=30.0, lower=15.0, upper=45.0,
                    signal="shift", direction="high", assessment="concern")
    points = points.with_columns(segment=(pl.col("period") >= "2019-12").cast(pl.Int64))
    alert = only(spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS)[0])
    assert alert["message"] == "Missing episodes stayed above average for 4 months running (since Dec 2019)."


def test_a_falling_trend_of_a_bad_when_low_percentage():
    # Jul 2019 (64.0) to Jan 2020 (50.0): six falls, seven points.
    values = [60, 58, 62, 61, 63, 59, 64, 62, 60, 58, 55, 53, 50]
    points = series("rhi_completion_rate", values, mean=58.0, lower=45.0, upper=71.0,
                    signal="trend", direction="low", assessment="concern")
    alert = only(spc_signals(points, CATALOGUE, "2020-01", LA, SETTINGS)[0])
    assert alert["message"] == (
        "Return home interviews completed (%) fell every month from 64.0% in Jul 2019 to 50.0% in Jan 2020."
    )
    assert alert["key"] == "spc_trend|rhi_completion_rate||E09000006"
    assert json.loads(alert["evidence"])["run_length"] == 7


def test_two_of_three_on_a_breakdown_names_the_breakdown_and_its_subgroup():
    points = series("child_deaths", [1, 0, 2, 1, 3, 1, 3], breakdown="unexpected", start="2019-09",
                    mean=1.2, lower=-1.1, upper=3.5, signal="two_of_three", direction="high", assessment="concern")
    assert spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS)[0].is_empty()  # breakdowns are shown, not alerted
    on_breakdowns = SETTINGS.model_copy(update={"spc": SETTINGS.spc.model_copy(update={"alert_on_breakdowns": True})})
    alert = only(spc_signals(points, CATALOGUE, "2020-03", LA, on_breakdowns)[0])
    assert alert["message"] == (
        "Child deaths (unexpected) came close to the top of the usual range (0 to 4) in two of the last three "
        "months, with 3 in Mar 2020."
    )
    assert (alert["key"], alert["subgroup"], alert["feed"]) == (
        "spc_two_of_three|child_deaths|unexpected|E09000006", "cdop", "cdop_monthly",
    )


@pytest.mark.parametrize(
    ("period", "label", "assessment"),
    [
        ("2020-02", "ok", "concern"),  # the signal is not at the cycle month
        ("2020-03", "too_short", "concern"),  # a chart without reliable limits
        ("2020-03", "ok", None),  # a neutral indicator's signal is neither good nor bad
    ],
)
def test_spc_raises_nothing_off_the_cycle_month_on_short_charts_or_for_neutral_signals(period, label, assessment):
    points = series("self_harm_attendances", [20, 22, 19, 21, 42], start="2019-11", mean=20.0, lower=5.2, upper=34.8,
                    signal="outside_limits", direction="high", assessment=assessment, label=label)
    concerns, improvements = spc_signals(points, CATALOGUE, period, LA, SETTINGS)
    assert concerns.is_empty() and improvements.is_empty()


def test_no_signal_no_alert():
    points = series("self_harm_attendances", [20, 22, 19, 21, 23], start="2019-11", mean=20.0, lower=5.2, upper=34.8)
    assert spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS)[0].is_empty()


def test_the_real_xmr_output_feeds_the_spc_rules():
    from radar.pipelines import spc

    # Twelve months alternating 20 and 22, then 40 in Jan 2020.  Mean = 292/13 = 22.4615; moving ranges are
    # eleven 2s and one 18, mean 40/12 = 3.3333; limits 22.4615 -/+ 2.66 x 3.3333 = 13.595 and 31.328.
    values = [20.0, 22.0] * 6 + [40.0]
    frame = pl.DataFrame({
        "indicator": "self_harm_attendances", "breakdown": "", "period": month_range("2019-01", "2020-01"), "value": values,
    })
    polarity = pl.DataFrame({"indicator": ["self_harm_attendances"], "polarity": ["up_is_bad"]})
    points = spc.xmr(frame, ["indicator", "breakdown"], SETTINGS.spc_settings(), polarity=polarity)
    alert = only(spc_signals(points, CATALOGUE, "2020-01", LA, SETTINGS)[0])
    assert alert["message"] == (
        "A&E attendances for self-harm stood at 40 in Jan 2020, above the usual range of 14 to 31."
    )
    evidence = json.loads(alert["evidence"])
    assert evidence["mean"] == pytest.approx(22.4615, abs=1e-4)
    assert evidence["upper"] == pytest.approx(31.3282, abs=1e-4)


# --- Targets -----------------------------------------------------------------------------------

TARGETS = pl.DataFrame({
    "indicator": ["swa_timeliness", "adoption_timeliness", "swa_timeliness", "cpp_rate", "icpc_timeliness"],
    "value": [87.0, 426.0, 90.0, 40.0, 80.0],
    "year": ["2019-20", "2019-20", "2020-21", "2019-20", "2021-22"],
})


def latest(indicator: str, value: float, period: str = "2020-03", lower: float = 70.0, upper: float = 95.0):
    return series(indicator, [value], start=period, mean=(lower + upper) / 2, lower=lower, upper=upper)


def missed(points: pl.DataFrame, assurance: str | None, period: str = "2020-03") -> pl.DataFrame:
    """target_missed on `points` with a `summarise`-shaped summary carrying `assurance`."""
    summary = points.select("indicator", "breakdown", "period", "value", "label").with_columns(
        assurance=pl.lit(assurance, dtype=pl.String)
    )
    return target_missed(points, reported_as_charted(points), summary, TARGETS, CATALOGUE, period, LA, SETTINGS)


def reported_as_charted(points: pl.DataFrame, denominator: float | None = None) -> pl.DataFrame:
    """indicator_value rows equal to the charted values (a series with no seasonal adjustment)."""
    return points.select("indicator", "breakdown", "period", "value").with_columns(
        numerator=pl.lit(None, pl.Float64), denominator=pl.lit(denominator, pl.Float64))


def test_a_value_below_a_bad_when_low_target_misses_it():
    points = latest("swa_timeliness", 80.0)
    alert = only(missed(points, "hit_and_miss"))
    assert alert["message"] == (
        "Assessment timeliness (45 days) stood at 80.0% in Mar 2020, missing the 2019-20 target of 87.0%."
    )
    assert (alert["key"], alert["severity"], alert["subgroup"]) == (
        "target_missed|swa_timeliness||E09000006", "medium", "pci",
    )
    assert json.loads(alert["evidence"])["target_year"] == "2019-20"


def test_a_value_above_a_bad_when_high_target_misses_it():
    points = latest("adoption_timeliness", 450.0, lower=300.0, upper=500.0)
    alert = only(missed(points, None))
    assert alert["message"] == (
        "Average days from care to adoptive placement stood at 450 days in Mar 2020, "
        "missing the 2019-20 target of 426 days."
    )


def test_a_met_target_raises_nothing():
    points = latest("swa_timeliness", 88.0)
    assert missed(points, "hit_and_miss").is_empty()


def test_consistently_failing_fires_even_in_a_month_that_met_the_target():
    points = latest("swa_timeliness", 88.0, lower=60.0, upper=86.5)
    alert = only(missed(points, "consistently_failing"))
    assert alert["message"] == (
        "Assessment timeliness (45 days) stood at 88.0% in Mar 2020, meeting the 2019-20 target of 87.0%; "
        "with a usual range of 60.0% to 86.5%, the target will mostly be missed unless something changes."
    )


def test_the_target_in_force_is_the_latest_one_not_after_the_month():
    points = latest("swa_timeliness", 88.0, period="2020-04")  # 2020-21: the target is now 90
    alert = only(missed(points, None, period="2020-04"))
    assert "missing the 2020-21 target of 90.0%" in alert["message"]
    # icpc_timeliness only has a 2021-22 target: not in force in 2019-20.
    points = latest("icpc_timeliness", 10.0)
    assert missed(points, None).is_empty()


def test_a_neutral_indicator_never_misses_a_target():
    assert missed(latest("cpp_rate", 50.0, lower=30.0, upper=60.0), None).is_empty()


# --- Benchmarks --------------------------------------------------------------------------------

COMPARISON_SCHEMA = {"indicator": pl.String, "year": pl.Int64, "la_value": pl.Float64, "national": pl.Float64,
                     "sn_median": pl.Float64}


def comparison(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=COMPARISON_SCHEMA, orient="row")


def test_worse_than_england_and_neighbours_by_more_than_the_margin():
    # 25.0 > 21.0 x 1.1 = 23.1 and > 20.0 x 1.1 = 22.0.
    frame = comparison(("cpp_repeat_rate", 2020, 25.0, 21.0, 20.0))
    alert = only(benchmark_gap(frame, CATALOGUE, "2020-03", LA, SETTINGS))
    assert alert["message"] == (
        "Second or subsequent plans (%) stood at 25.0% in 2019-20, worse than both England (21.0%) "
        "and similar areas (20.0%, the median of the statistical neighbours)."
    )
    assert (alert["key"], alert["severity"], alert["feed"]) == ("benchmark_gap|cpp_repeat_rate||E09000006", "low", None)
    assert json.loads(alert["evidence"]) == {
        "year": 2020, "la_value": 25.0, "national": 21.0, "sn_median": 20.0, "margin": 0.1, "polarity": "up_is_bad",
    }


def test_a_bad_when_low_indicator_must_be_below_both_by_the_margin():
    # 70 < 85 x 0.9 = 76.5 and < 84 x 0.9 = 75.6: fires; 76 is not below 75.6: does not.
    fires = comparison(("care_leavers_accommodation_rate", 2020, 70.0, 85.0, 84.0))
    assert only(benchmark_gap(fires, CATALOGUE, "2020-03", LA, SETTINGS))["rule"] == "benchmark_gap"
    close = comparison(("care_leavers_accommodation_rate", 2020, 76.0, 85.0, 84.0))
    assert benchmark_gap(close, CATALOGUE, "2020-03", LA, SETTINGS).is_empty()


@pytest.mark.parametrize(
    "row",
    [
        ("cpp_repeat_rate", 2020, 23.0, 21.0, 20.0),  # worse than both, but within 10% of England
        ("cpp_repeat_rate", 2020, 25.0, 21.0, None),  # no neighbour median
        ("cpp_repeat_rate", 2020, None, 21.0, 20.0),  # the LA's own figure suppressed
        ("cin_rate", 2020, 500.0, 334.0, 300.0),  # neutral
        ("cpp_second_subsequent", 2020, 90_000.0, 10_000.0, 60.0),  # a count: areas differ in size
    ],
)
def test_benchmark_gap_does_not_fire(row):
    assert benchmark_gap(comparison(row), CATALOGUE, "2020-03", LA, SETTINGS).is_empty()


def test_only_the_latest_year_counts():
    frame = comparison(("cpp_repeat_rate", 2019, 30.0, 21.0, 20.0), ("cpp_repeat_rate", 2020, 20.0, 21.0, 20.0))
    assert benchmark_gap(frame, CATALOGUE, "2020-03", LA, SETTINGS).is_empty()


# --- Feeds and hold-back -----------------------------------------------------------------------

STATUS = pl.DataFrame(
    [
        ("csc_monthly", "2020-03", date(2020, 4, 10), "missing"),
        ("police_monthly", "2020-03", date(2020, 4, 12), "rejected"),
        ("health_monthly", "2020-03", date(2020, 4, 15), "late"),
        ("yos_monthly", "2020-03", date(2020, 4, 15), "not_due"),
        ("lado_referrals", "2020-02", date(2020, 3, 10), "missing"),
    ],
    schema={"feed_id": pl.String, "period": pl.String, "due_date": pl.Date, "status": pl.String},
    orient="row",
)


def test_a_missing_and_a_rejected_file_raise_feed_alerts_naming_what_is_held_back():
    alerts = feed_alerts(STATUS, CATALOGUE, "2020-03", SETTINGS)
    assert alerts["key"].to_list() == ["feed_late|||csc_monthly", "feed_rejected|||police_monthly"]
    assert set(alerts["subgroup"]) == {"pci"}
    assert alerts["severity"].to_list() == ["medium", "medium"]
    late, rejected = alerts.to_dicts()
    csc = CATALOGUE.indicators_of("csc_monthly")
    assert late["message"] == (
        "No file has arrived for Mar 2020 from Children's social care and MASH (Children's social care monthly "
        f"return, due 10 Apr 2020), so alerts on Social work assessments completed, Assessments completed within "
        f"45 working days and {len(csc) - 2} other indicators are held back."
    )
    assert json.loads(late["evidence"])["held_back"] == [i.id for i in csc]
    assert rejected["message"] == (
        "The only file for Mar 2020 from Police (Police domestic abuse and sexual offences) was rejected, so alerts "
        "on Domestic abuse offences, Domestic abuse incidents (non-crime) and Sexual offences are held back until a "
        "corrected file arrives."
    )
    assert (rejected["indicator"], rejected["breakdown"], rejected["feed"]) == (None, None, "police_monthly")


def test_late_not_due_and_other_months_raise_no_feed_alert():
    in_time = STATUS.filter(pl.col("status").is_in(["late", "not_due"]))
    assert feed_alerts(in_time, CATALOGUE, "2020-03", SETTINGS).is_empty()
    assert feed_alerts(STATUS, CATALOGUE, "2020-04", SETTINGS).is_empty()


def test_hold_back_drops_alerts_on_held_feeds_but_keeps_the_feed_alerts():
    held = held_feeds(STATUS, "2020-03")
    assert held == ["csc_monthly", "police_monthly"]
    keep = [
        "feed_late|||csc_monthly", "spc_shift|self_harm_attendances||E09000006",
        "benchmark_gap|cpp_repeat_rate||E09000006",
    ]
    rows = [
        ("feed_late", None, "csc_monthly"),
        ("spc_shift", "strategy_discussions", "csc_monthly"),
        ("target_missed", "swa_timeliness", "csc_monthly"),
        ("spc_trend", "sexual_offences", "police_monthly"),
        ("spc_shift", "self_harm_attendances", "health_monthly"),
        ("benchmark_gap", "cpp_repeat_rate", None),
    ]
    candidates = pl.DataFrame(
        [
            {"key": alert_key(rule, ind, "" if ind else None, LA if ind else feed), "rule": rule, "indicator": ind,
             "breakdown": "" if ind else None, "feed": feed, "scope": LA if ind else feed, "period": "2020-03",
             "severity": "medium", "subgroup": "pci", "message": "m", "evidence": "{}"}
            for rule, ind, feed in rows
        ],
        schema=CANDIDATE_SCHEMA,
    )
    assert sorted(hold_back(candidates, held)["key"]) == sorted(keep)


# --- Honest numbers: reported values, when a cause began, small numbers -------------------------


def test_a_seasonal_alert_states_the_reported_value_with_the_adjusted_one_beside_it():
    # The chart runs on 3,726.1 (net of the time of year; written whole, a count of children); the centres reported 4,300 visits.
    points = series("family_centre_visits", [5000, 5100, 4900, 5050, 3726.1], start="2019-11", mean=5000.0,
                    lower=4000.0, upper=6000.0, signal="outside_limits", direction="low", assessment="concern")
    reported = reported_as_charted(points).with_columns(
        value=pl.when(pl.col("period") == "2020-03").then(4300.0).otherwise(pl.col("value")))
    alert = only(spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS, reported)[0])
    assert alert["message"] == (
        "Children and family centre visits stood at 4,300 (3,726 allowing for the time of year) in Mar 2020, "
        "below the usual range of 4,000 to 6,000."
    )
    evidence = json.loads(alert["evidence"])
    assert (evidence["value"], evidence["adjusted_value"]) == (4300.0, 3726.1)


def test_many_areas_judged_at_once_each_get_their_own_scope_values_and_history():
    # Two areas chart the same indicator: one reports few children behind its value, one many.
    few = series("adoption_timeliness", [400, 420, 410, 405, 700], start="2019-11", mean=410.0, lower=300.0,
                 upper=520.0, signal="outside_limits", direction="high", assessment="concern")
    many = few.with_columns(value=pl.col("value") + 1)
    areas = {LA: (few, reported_as_charted(few, 4)), "E09000008": (many, reported_as_charted(many, 12))}
    alone = pl.concat([spc_signals(p, CATALOGUE, "2020-03", la, SETTINGS, r)[0] for la, (p, r) in areas.items()])
    points, reported = (pl.concat([frames[i].with_columns(la_code=pl.lit(la)) for la, frames in areas.items()])
                        for i in (0, 1))
    together, _ = spc_signals(points, CATALOGUE, "2020-03", "", SETTINGS, reported, scope_by="la_code")
    assert together.sort("key").to_dicts() == alone.sort("key").to_dicts()
    assert together["severity"].sort().to_list() == ["high", "medium"]  # each area's own children


def test_an_spc_alert_began_where_the_unbroken_run_of_the_same_concern_began():
    # Signals: Nov 2019 high (concern), Dec 2019 low (the other side: breaks the run), Jan 2020 shift high,
    # Feb and Mar 2020 outside the limits high.  The cause began in Jan 2020.
    points = series("self_harm_attendances", [20, 22, 19, 40, 41], start="2019-11", mean=20.0, lower=5.2,
                    upper=34.8, signal="outside_limits", direction="high", assessment="concern")
    marks = {"2019-11": ("outside_limits", "high"), "2019-12": ("two_of_three", "low"),
             "2020-01": ("shift", "high"), "2020-02": ("outside_limits", "high")}
    for period, (signal, direction) in marks.items():
        at = pl.col("period") == period
        points = points.with_columns(signal=pl.when(at).then(pl.lit(signal)).otherwise("signal"),
                                     direction=pl.when(at).then(pl.lit(direction)).otherwise("direction"),
                                     assessment=pl.when(at).then(pl.lit("concern")).otherwise("assessment"))
    alert = only(spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS, reported_as_charted(points))[0])
    assert (alert["period"], alert["since"]) == ("2020-03", "2020-01")


@pytest.mark.parametrize(("children", "severity", "note"), [
    (4, "medium", ", based on 4 children."),  # below the floor of 10: said, and never high
    (12, "high", "."),
])
def test_an_alert_resting_on_few_children_says_so_and_is_never_high(children, severity, note):
    # Adoption timeliness is an average over the children placed that month (its denominator).
    points = series("adoption_timeliness", [400, 420, 410, 405, 700], start="2019-11", mean=410.0, lower=300.0,
                    upper=520.0, signal="outside_limits", direction="high", assessment="concern")
    alert = only(spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS, reported_as_charted(points, children))[0])
    assert alert["message"] == (
        f"Average days from care to adoptive placement stood at 700 days in Mar 2020, above the usual range of "
        f"300 to 520 days{note}"
    )
    assert alert["severity"] == severity
    assert json.loads(alert["evidence"]).get("based_on") == (children if children < 10 else None)


def test_a_count_that_is_not_of_children_never_says_based_on_children():
    points = series("self_harm_attendances", [2, 3, 2, 3, 9], start="2019-11", mean=2.5, lower=0.0, upper=5.0,
                    signal="outside_limits", direction="high", assessment="concern")
    alert = only(spc_signals(points, CATALOGUE, "2020-03", LA, SETTINGS, reported_as_charted(points))[0])
    assert "based on" not in alert["message"] and alert["severity"] == "high"


def test_target_missed_judges_the_reported_value_and_counts_the_children():
    # Charted 80.0% would miss the 87% target; the reported 88.0% meets it.
    points = latest("swa_timeliness", 80.0)
    summary = points.select("indicator", "breakdown", "period", "value", "label").with_columns(
        assurance=pl.lit("hit_and_miss"))
    reported = reported_as_charted(points).with_columns(value=pl.lit(88.0))
    assert target_missed(points, reported, summary, TARGETS, CATALOGUE, "2020-03", LA, SETTINGS).is_empty()
    # Three children placed: the average of 450 days misses 426, on small numbers.
    points = latest("adoption_timeliness", 450.0, lower=300.0, upper=500.0)
    summary = summary.clear().vstack(points.select("indicator", "breakdown", "period", "value", "label")
                                     .with_columns(assurance=pl.lit(None, pl.String)))
    alert = only(target_missed(points, reported_as_charted(points, 3.0), summary, TARGETS, CATALOGUE, "2020-03",
                               LA, SETTINGS))
    assert alert["message"].endswith("missing the 2019-20 target of 426 days, based on 3 children.")
    assert json.loads(alert["evidence"])["based_on"] == 3
