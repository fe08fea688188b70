"""Golden tests for the Making Data Count XmR chart (pipelines/spc.py).

Every expected number is worked by hand in the comments: mean = sum / n,
mean MR = sum of moving ranges / count, limits = mean +/- 2.66 x mean MR, the
2-sigma zone = 2/3 of the distance from the mean to a limit.  The rules are
NHSRplotthedots' (0.2.2): where a case pins that reference's behaviour, the
comment names the reference's issue.
"""

from __future__ import annotations

from typing import get_args

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from radar.core.alert_settings import SpcSettings
from radar.core.catalogue import Unit
from radar.pipelines.charting import UNIT_BOUNDS, limit_bounds
from radar.pipelines.spc import D2, LIMIT_FACTOR, MR_SCREEN_FACTOR, summarise, xmr

KEYS = ["indicator"]
# Twelve points with no special cause.  Sum 78 -> mean 6.5.  Moving ranges
# 2,1,2,1,1,1,2,1,2,1,1 sum 15 -> mean MR 15/11 = 1.363636; limits
# 6.5 -/+ 2.66 x 1.363636 = 3.627273 -> 2.872727 and 10.127273.
QUIET = [5, 7, 6, 8, 7, 6, 5, 7, 8, 6, 7, 6]


def months(n: int, start_year: int = 2020) -> list[str]:
    return [f"{start_year + m // 12}-{m % 12 + 1:02d}" for m in range(n)]


def series(values: list[float | None], indicator: str = "x", start_year: int = 2020) -> pl.DataFrame:
    """One series of consecutive months from January of `start_year`."""
    return pl.DataFrame(
        {"indicator": indicator, "period": months(len(values), start_year), "value": values},
        schema={"indicator": pl.String, "period": pl.String, "value": pl.Float64},
    )


def polarity(**by_indicator: str) -> pl.DataFrame:
    return pl.DataFrame({"indicator": list(by_indicator), "polarity": list(by_indicator.values())})


def column(out: pl.DataFrame, name: str) -> list:
    return out.get_column(name).to_list()


def flagged(out: pl.DataFrame, rule: str) -> list[int]:
    """Positions (0-based) of the points a rule flags."""
    return [i for i, hit in enumerate(column(out, rule)) if hit]


def test_constants_are_mdcs():
    # d2 = 1.128 for ranges of two; 3/d2 = 2.6596 rounds to MDC's 2.66; the
    # upper range limit D4 = 1 + 3 x d3/d2 with d3 = 0.8525 is 3.267.
    assert D2 == 1.128
    assert LIMIT_FACTOR == 2.66 and round(3 / D2, 2) == LIMIT_FACTOR
    assert MR_SCREEN_FACTOR == 3.267 and round(1 + 3 * 0.8525 / D2, 3) == MR_SCREEN_FACTOR


def test_limits_of_a_quiet_series_and_no_signal():
    out = xmr(series(QUIET), KEYS)
    first = out.row(0, named=True)
    assert first["mean"] == pytest.approx(6.5)
    assert first["mr_mean"] == pytest.approx(15 / 11)
    assert first["lower"] == pytest.approx(2.872727, abs=1e-6)
    assert first["upper"] == pytest.approx(10.127273, abs=1e-6)
    assert first["sigma"] == pytest.approx(1.363636 / 1.128, abs=1e-6)
    assert column(out, "mr") == [None, 2, 1, 2, 1, 1, 1, 2, 1, 2, 1, 1]
    assert set(column(out, "label")) == {"ok"}
    assert column(out, "signal") == [None] * 12
    assert column(out, "segment") == [0] * 12


def test_point_outside_the_limits():
    # Last point 20: sum 92 -> mean 7.666667; MRs 2,1,2,1,1,1,2,1,2,1,13 sum 27
    # -> 2.454545; upper = 7.666667 + 6.529091 = 14.195758 < 20.
    out = xmr(series(QUIET[:-1] + [20]), KEYS, polarity=polarity(x="up_is_bad"))
    assert out.row(0, named=True)["upper"] == pytest.approx(14.195758, abs=1e-6)
    assert flagged(out, "outside_limits") == [11]
    last = out.row(11, named=True)
    assert (last["signal"], last["direction"], last["assessment"]) == ("outside_limits", "high", "concern")
    assert column(out, "signal")[:11] == [None] * 11


# Six rising points (8..13) at positions 5-10.  Sum 125 -> mean 10.416667;
# MRs 2,3,2,1,2,1,1,1,1,1,3 sum 18 -> 1.636364; zone 2/3 x 4.352727 = 2.901818,
# so nothing is beyond 2 sigma (13 < 13.318), no run of 7 on one side.
SIX_RISING = [10, 12, 9, 11, 10, 8, 9, 10, 11, 12, 13, 10]


def test_six_rising_points_are_no_trend_with_seven():
    out = xmr(series(SIX_RISING), KEYS)
    assert flagged(out, "trend") == []
    assert column(out, "signal") == [None] * 12


def test_six_rising_points_are_a_trend_with_six():
    out = xmr(series(SIX_RISING), KEYS, SpcSettings(run_length=6), polarity(x="down_is_bad"))
    assert flagged(out, "trend") == [5, 6, 7, 8, 9, 10]
    assert set(column(out, "direction")[5:11]) == {"high"}
    assert set(column(out, "assessment")[5:11]) == {"improvement"}
    assert flagged(out, "shift") == []


def test_seven_falling_points_are_a_falling_trend():
    # 14,13,...,8 at positions 4-10.  Sum 129 -> mean 10.75; MRs
    # 2,3,2,3,1,1,1,1,1,1,2 sum 18 -> 1.636364, zone 2.901818: 14 > 13.651818
    # is beyond, but alone; 8 > 7.848182 is not.  Runs on one side: 5 at most.
    out = xmr(series([10, 12, 9, 11, 14, 13, 12, 11, 10, 9, 8, 10]), KEYS, polarity=polarity(x="down_is_bad"))
    assert flagged(out, "trend") == [4, 5, 6, 7, 8, 9, 10]
    assert set(column(out, "direction")[4:11]) == {"low"}
    assert set(column(out, "assessment")[4:11]) == {"concern"}
    assert flagged(out, "two_of_three") == []


# Seven below then seven above a mean of exactly 10 (sum 140 over 14).
# MRs 2,2,2,2,2,1 | 5 | 2,2,2,2,2,1 sum 27 -> 2.076923; limits 10 -/+ 5.524615,
# zone 3.683077: nothing beyond 2 sigma (13 < 13.683, 7 > 6.317).
STEP = [7, 9, 7, 9, 7, 9, 8, 13, 11, 13, 11, 13, 11, 12]


def test_shift_of_seven_on_each_side():
    out = xmr(series(STEP), KEYS, polarity=polarity(x="up_is_bad"))
    assert out.row(0, named=True)["mean"] == 10
    assert out.row(0, named=True)["mr_mean"] == pytest.approx(27 / 13)
    assert flagged(out, "shift") == list(range(14))
    assert column(out, "direction") == ["low"] * 7 + ["high"] * 7
    assert column(out, "assessment") == ["improvement"] * 7 + ["concern"] * 7
    assert flagged(out, "outside_limits") == flagged(out, "two_of_three") == flagged(out, "trend") == []


def test_point_exactly_on_the_mean_breaks_a_shift():
    # High half 13,11,13,10,13,11,13 keeps the sum at 140 (mean 10), and its 10
    # sits on the mean: two runs of three above, no shift there.  MRs sum 30
    # -> 2.307692, zone 4.092308: nothing beyond 2 sigma.
    out = xmr(series(STEP[:7] + [13, 11, 13, 10, 13, 11, 13]), KEYS)
    assert out.row(0, named=True)["mean"] == 10
    assert flagged(out, "shift") == list(range(7))


# Months 1-8 and 10-14 of a series whose values 7,8,9 | 10,11,12,13 would be a
# seven-point rise if the missing month 9 were ignored.  13 points, sum 132 ->
# mean 10.153846; MRs (none across the gap) 2,3,2,1,3,1,1 | 1,1,1,3 sum 19 ->
# 1.727273; zone 3.063030: only 7 is beyond (low), alone.
ACROSS_GAP = [10, 12, 9, 11, 10, 7, 8, 9, None, 10, 11, 12, 13, 10]


@pytest.mark.parametrize("gap", ["missing month", "null value"])
def test_gap_breaks_a_trend_and_gives_no_moving_range(gap):
    frame = series(ACROSS_GAP)
    if gap == "missing month":
        frame = frame.filter(pl.col("value").is_not_null())
    out = xmr(frame, KEYS).filter(pl.col("value").is_not_null())
    assert column(out, "mr") == [None, 2, 3, 2, 1, 3, 1, 1, None, 1, 1, 1, 3]
    assert out.row(0, named=True)["mr_mean"] == pytest.approx(19 / 11)
    assert out.row(0, named=True)["mean"] == pytest.approx(132 / 13)
    assert column(out, "signal") == [None] * 13


def test_same_values_without_the_gap_are_a_trend():
    out = xmr(series([v for v in ACROSS_GAP if v is not None]), KEYS)
    assert flagged(out, "trend") == [5, 6, 7, 8, 9, 10, 11]


# Sum 87 -> mean 7.25; MRs 2,1,2,1,1,1,2,1 | 5,3,3 sum 22 -> 2.0; limits
# 7.25 -/+ 5.32 -> 1.93 and 12.57; zone 3.546667 -> beyond above 10.796667.
# The last three, 11, 8, 11, all lie above the mean, so the window counts.
TWO_OF_THREE = [5, 7, 6, 8, 7, 6, 5, 7, 6, 11, 8, 11]


def test_two_of_three_beyond_two_sigma():
    out = xmr(series(TWO_OF_THREE), KEYS, polarity=polarity(x="neutral"))
    assert out.row(0, named=True)["mean"] == pytest.approx(7.25)
    assert out.row(0, named=True)["mr_mean"] == pytest.approx(2.0)
    assert flagged(out, "two_of_three") == [9, 11]
    assert flagged(out, "outside_limits") == []
    assert column(out, "direction")[9:] == ["high", None, "high"]
    assert column(out, "assessment")[9:] == [None, None, None]  # neutral polarity: neither


def test_two_of_three_on_opposite_sides_is_no_signal():
    # Last three 11, 7, 2: sum 77 -> mean 6.416667; MRs 11 + 5,4,5 = 25 ->
    # 2.272727; zone 4.030303: 11 is beyond above (> 10.447), 2 beyond below
    # (< 2.386), but on opposite sides.
    out = xmr(series(TWO_OF_THREE[:9] + [11, 7, 2]), KEYS)
    assert flagged(out, "two_of_three") == []
    assert flagged(out, "outside_limits") == []


def test_issue_example_is_common_cause_as_in_the_reference():
    # The example of Radar's issue 6 (NHSRplotthedots issue #143).  Sum 87 ->
    # mean 7.25; MRs 2,1,2,1,1,1,2,1,6,6,6 sum 29 -> 2.636364; limits 7.25 -/+
    # 7.012727 -> 0.237273 and 14.262727; zone 4.675152, so both 12s are close
    # to the upper limit (> 11.925152), but the 6 between them is below the
    # mean: no window of three lies on one side.  Runs below the mean: 5 at most.
    out = xmr(series([5, 7, 6, 8, 7, 6, 5, 7, 6, 12, 6, 12]), KEYS, polarity=polarity(x="up_is_bad"))
    assert out.row(0, named=True)["upper"] == pytest.approx(14.262727, abs=1e-6)
    assert flagged(out, "two_of_three") == []
    assert column(out, "signal") == [None] * 12


def test_a_point_on_the_mean_breaks_two_of_three():
    # Sum 84 -> mean exactly 7; MRs 2,1,2,1,1,1,0,1,5,4,4 sum 22 -> 2.0; upper
    # 12.32, zone 3.546667: both 11s are close (> 10.546667), the 7 between
    # them is on the mean, on neither side.
    out = xmr(series([5, 7, 6, 8, 7, 6, 5, 5, 6, 11, 7, 11]), KEYS)
    assert out.row(0, named=True)["mean"] == 7
    assert flagged(out, "two_of_three") == []
    assert column(out, "signal") == [None] * 12


@pytest.mark.parametrize(
    ("tail", "signals"),
    [
        ([7, 20, 9.5], [None, "outside_limits", None]),
        ([9.5, 20, 9.5], ["two_of_three", "outside_limits", "two_of_three"]),
    ],
)
def test_a_point_outside_the_limits_is_not_close_to_them(tail, signals):
    # Limits fixed on QUIET: mean 6.5, upper 10.127273, zone 2.418182 -> close
    # above 8.918182.  20 is outside (its own signal), not close, as in the
    # reference: with 7 and 9.5 only one point of the three is close and 9.5
    # is common cause; with 9.5 on both sides two are, and both are flagged.
    out = xmr(series(QUIET + tail), KEYS, SpcSettings(baseline_points=12), polarity(x="up_is_bad"))
    assert column(out, "signal") == [None] * 12 + signals


def test_trends_are_judged_by_direction_even_across_the_mean():
    # Seven rising 2..8 then seven falling 8..2, sharing the peak.  Sum 82 ->
    # mean 5.466667; MRs 8, twelve 1s, 8 sum 28 -> 2.0; limits 0.146667 and
    # 10.786667: nothing outside; the 10s are close but their neighbours lie
    # below the mean.  The rise starts below the mean and ends above it, and
    # every point of it is high (NHSRplotthedots issue #171); the peak takes
    # the direction of the step after it (the reference's "right side"), low.
    values = [10, 2, 3, 4, 5, 6, 7, 8, 7, 6, 5, 4, 3, 2, 10]
    out = xmr(series(values), KEYS, polarity=polarity(x="up_is_bad"))
    assert out.row(0, named=True)["mean"] == pytest.approx(82 / 15)
    assert flagged(out, "trend") == list(range(1, 14))
    assert column(out, "signal") == [None] + ["trend"] * 13 + [None]
    assert column(out, "direction")[1:14] == ["high"] * 6 + ["low"] * 7
    assert column(out, "assessment")[1:14] == ["concern"] * 6 + ["improvement"] * 7


def test_gap_keeps_two_points_beyond_two_sigma_apart():
    # TWO_OF_THREE with its 8 (between the two 11s) missing, and a 6 in front so
    # twelve points remain.  Sum 85 -> mean 7.083333; MRs 1 + 11 + 5 (none
    # across the gap) = 17 over 10 -> 1.7; zone 3.014667: both 11s are beyond
    # 10.098 and below the upper limit 11.605, but the gap keeps them apart.
    values = [6] + TWO_OF_THREE
    out = xmr(series(values).filter(pl.col("period") != "2020-12"), KEYS)
    assert flagged(out, "two_of_three") == []


# A small monthly count.  Sum 15 -> mean 1.25; MRs 2,1,1,3,2,1,2,1,1,4,3 sum 21
# -> 1.909091; limits 1.25 -/+ 5.078182 -> -3.828182 and 6.328182.
SMALL_COUNT = [0, 2, 1, 0, 3, 1, 0, 2, 1, 0, 4, 1]
COUNT_BOUNDS = pl.DataFrame({"indicator": ["x"], "floor": [0.0], "ceiling": [None]}, schema_overrides={"ceiling": pl.Float64})


def test_count_limits_never_go_below_zero():
    plain = xmr(series(SMALL_COUNT), KEYS).row(0, named=True)
    assert plain["lower"] == pytest.approx(-3.828182, abs=1e-6)
    out = xmr(series(SMALL_COUNT), KEYS, bounds=COUNT_BOUNDS)
    assert set(column(out, "lower")) == {0}
    assert column(out, "upper") == [pytest.approx(6.328182, abs=1e-6)] * 12
    assert column(out, "mean") == [1.25] * 12  # only the limits are clamped
    # A month with no event sits on the clamped limit: inside, as on the computed one.
    assert flagged(out, "outside_limits") == [] and column(out, "signal") == [None] * 12


def test_a_value_below_a_clamped_limit_is_judged_against_the_computed_one():
    # A seasonally adjusted count can dip below zero.  With -1 first: sum 14 ->
    # mean 1.166667; MRs 3,1,1,3,2,1,2,1,1,4,3 sum 22 -> 2.0; computed lower
    # -4.153333, stored 0.  -1 is within the process's limits: no signal.
    out = xmr(series([-1] + SMALL_COUNT[1:]), KEYS, bounds=COUNT_BOUNDS)
    assert out.row(0, named=True)["lower"] == 0
    assert column(out, "signal") == [None] * 12


def test_percentage_limits_stay_within_0_and_100():
    # Sum 1183 -> mean 98.583333; MRs 2,1,2,2,4,3,1,3,2,1,2 sum 23 -> 2.090909;
    # limits 98.583333 -/+ 5.561818 -> 93.021515 and 104.145152, stored 100.
    values = [97, 99, 100, 98, 100, 96, 99, 100, 97, 99, 100, 98]
    bounds = pl.DataFrame({"indicator": ["x"], "floor": [0.0], "ceiling": [100.0]})
    out = xmr(series(values), KEYS, bounds=bounds)
    row = out.row(0, named=True)
    assert (row["lower"], row["upper"]) == (pytest.approx(93.021515, abs=1e-6), 100)
    assert column(out, "signal") == [None] * 12


def test_every_unit_has_bounds_and_the_catalogue_gives_each_indicator_its_own(catalogue):
    assert set(UNIT_BOUNDS) == set(get_args(Unit))
    bounds = {row["indicator"]: (row["floor"], row["ceiling"]) for row in limit_bounds(catalogue).iter_rows(named=True)}
    assert len(bounds) == len(catalogue.indicators)
    assert bounds["child_deaths"] == (0, None)  # a count
    assert bounds["mash_conversion"] == (0, 100)  # a percentage
    assert bounds["cin_rate"] == (0, None)  # a rate per 10,000 children


def test_too_short_series_has_no_limits_or_signals():
    out = xmr(series(QUIET[:10] + [40]), KEYS)
    assert set(column(out, "label")) == {"too_short"}
    assert column(out, "upper") == column(out, "mean") == [None] * 11
    assert column(out, "signal") == [None] * 11
    assert xmr(series(QUIET[:11] + [40]), KEYS).row(11, named=True)["signal"] == "outside_limits"


@pytest.mark.parametrize("level", [5.0, 0.0])
def test_constant_series_flags_nothing(level):
    out = xmr(series([level] * 12), KEYS)
    assert set(column(out, "label")) == {"constant"}
    row = out.row(5, named=True)
    assert (row["mean"], row["mr_mean"], row["lower"], row["upper"], row["sigma"]) == (level, 0, level, level, 0)
    assert column(out, "signal") == [None] * 12


def test_single_value_and_no_data():
    single = xmr(series([4.0], indicator="one"), KEYS).row(0, named=True)
    assert (single["label"], single["mr"], single["mean"], single["signal"]) == ("too_short", None, None, None)
    empty = xmr(series([None] * 3, indicator="none"), KEYS)
    assert set(column(empty, "label")) == {"no_data"}
    assert column(empty, "mean") == [None] * 3


def test_no_polarity_gives_no_assessment():
    out = xmr(series(QUIET[:-1] + [20]), KEYS)
    assert column(out, "assessment")[11] is None
    assert column(out, "signal")[11] == "outside_limits"


def test_screening_drops_a_large_moving_range():
    # A spike of 30 at position 7: sum 101 -> mean 8.416667; MRs
    # 2,1,2,1,1,1,25,22,2,1,1 sum 59 -> 5.363636; screen at 3.267 x 5.363636 =
    # 17.523 drops 25 and 22 -> 12/9 = 1.333333; limits 8.416667 -/+ 3.546667.
    values = QUIET[:7] + [30] + QUIET[8:]
    plain = xmr(series(values), KEYS).row(0, named=True)
    screened = xmr(series(values), KEYS, SpcSettings(screen_moving_ranges=True)).row(0, named=True)
    assert plain["mr_mean"] == pytest.approx(59 / 11)
    assert screened["mr_mean"] == pytest.approx(12 / 9)
    assert screened["mean"] == pytest.approx(101 / 12)
    assert screened["lower"] == pytest.approx(4.87, abs=1e-6)
    assert screened["upper"] == pytest.approx(11.963333, abs=1e-6)


def test_fixed_baseline_applies_the_first_points_limits_to_later_ones():
    # Baseline = QUIET (mean 6.5, upper 10.127273); the later 11 and 12 are
    # judged against it and fall outside.
    out = xmr(series(QUIET + [11, 12]), KEYS, SpcSettings(baseline_points=12))
    assert set(column(out, "mean")) == {6.5}
    assert column(out, "mr_mean") == [pytest.approx(15 / 11)] * 14
    assert flagged(out, "outside_limits") == [12, 13]


def test_explicit_rebase_starts_new_limits():
    # QUIET then QUIET + 10: without a re-base, 12 points below and 12 above the
    # overall mean of 11.5 are shifts.  Re-based at 2021-01, each year has its
    # own mean (6.5, 16.5), the same mean MR 15/11 (the jump is not a moving
    # range), and no signal.  A third segment of five points is too short.
    frame = series(QUIET + [v + 10 for v in QUIET] + [9, 9, 9, 9, 9])
    assert flagged(xmr(frame.head(24), KEYS), "shift") == list(range(24))
    rebases = pl.DataFrame(
        {"indicator": ["x", "x"], "period": ["2021-01", "2022-01"], "reason": ["new front door", "pilot"]}
    )
    out = xmr(frame, KEYS, rebases=rebases)
    assert column(out, "segment") == [0] * 12 + [1] * 12 + [2] * 5
    assert column(out, "mean")[:24] == [6.5] * 12 + [16.5] * 12
    assert column(out, "mr_mean")[:24] == [pytest.approx(15 / 11)] * 24
    assert column(out, "mr")[12] is None
    assert column(out, "label") == ["ok"] * 24 + ["too_short"] * 5
    assert column(out, "signal") == [None] * 29


def test_rebase_in_a_missing_month_starts_at_the_next_month():
    frame = series(QUIET + [v + 10 for v in QUIET]).filter(pl.col("period") != "2021-01")
    rebases = pl.DataFrame({"indicator": ["x"], "period": ["2021-01"], "reason": ["gap"]})
    out = xmr(frame, KEYS, rebases=rebases)
    assert column(out, "segment") == [0] * 12 + [1] * 11


def test_many_series_at_once_match_each_alone():
    frames = [
        series(QUIET, "quiet"),
        series(QUIET[:-1] + [20], "outside"),
        series(SIX_RISING, "rising", start_year=2019),
        series(STEP, "step"),
        series(ACROSS_GAP, "gap"),
        series(TWO_OF_THREE, "two"),
        series([5.0] * 12, "constant"),
        series([3.0, 4.0], "short"),
    ]
    pol = polarity(quiet="up_is_bad", outside="up_is_bad", rising="down_is_bad", step="neutral", two="up_is_bad")
    settings = SpcSettings(run_length=6, screen_moving_ranges=True)
    alone = pl.concat([xmr(f, KEYS, settings, pol) for f in frames]).sort("indicator", "period")
    together = xmr(pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=3), KEYS, settings, pol)
    assert_frame_equal(together.sort("indicator", "period"), alone)


def test_keys_of_several_columns():
    a = series(QUIET[:-1] + [20]).with_columns(la_code=pl.lit("E09000006"))
    b = series(QUIET).with_columns(la_code=pl.lit("E09000001"))
    # A caller's own columns pass through untouched, even one named like a lookup column.
    frame = pl.concat([a, b]).with_columns(polarity=pl.lit("caller's"))
    out = xmr(frame, ["la_code", "indicator"], polarity=polarity(x="up_is_bad"))
    assert out.columns[:5] == frame.columns and set(column(out, "polarity")) == {"caller's"}
    assert column(out, "assessment")[23] == "concern"
    assert column(out, "la_code") == ["E09000001"] * 12 + ["E09000006"] * 12
    assert column(out, "signal")[12:] == [None] * 11 + ["outside_limits"]
    assert column(out, "signal")[:12] == [None] * 12


def test_repeated_period_and_malformed_period_are_refused():
    with pytest.raises(ValueError, match="repeat a period"):
        xmr(pl.concat([series(QUIET), series(QUIET[:1])]), KEYS)
    with pytest.raises(ValueError, match="YYYY-MM"):
        xmr(series(QUIET).with_columns(period=pl.lit("2020-1")), KEYS)
    with pytest.raises(ValueError, match="unknown polarity"):
        xmr(series(QUIET), KEYS, polarity=polarity(x="higher_is_better"))


def test_settings_refuse_a_run_of_one():
    with pytest.raises(ValueError):
        SpcSettings(run_length=1)


def test_summary_icons():
    frames = [
        series(QUIET[:-1] + [20], "outside"),  # upper 14.195758
        series(QUIET[:-1] + [20], "outside_neutral"),
        series(QUIET + [None], "quiet"),  # limits 2.872727 .. 10.127273; the last month is late
        series([10, 12, 9, 11, 14, 13, 12, 11, 10, 9, 8, 7], "falling"),  # mean 10.5, limits 6.389 .. 14.611
        series(QUIET[:5], "short"),
    ]
    pol = polarity(outside="up_is_bad", outside_neutral="neutral", falling="up_is_bad")
    points = xmr(pl.concat(frames), KEYS, polarity=pol)
    targets = pl.DataFrame(
        {
            "indicator": ["outside", "quiet", "falling", "short"],
            "target": [5.0, 12.0, 30.0, 4.0],
            "polarity": ["up_is_bad", "up_is_bad", "up_is_bad", "up_is_bad"],
        }
    )
    summary = {row["indicator"]: row for row in summarise(points, KEYS, targets).iter_rows(named=True)}
    assert summary["outside"]["variation"] == "special_cause_concern_high"
    assert summary["outside"]["assurance"] == "hit_and_miss"  # 5 lies in 1.137576 .. 14.195758
    assert summary["outside_neutral"]["variation"] == "special_cause_neither_high"
    assert summary["outside_neutral"]["assurance"] is None  # no target
    assert summary["quiet"]["period"] == "2020-12" and summary["quiet"]["value"] == 6
    assert summary["quiet"]["variation"] == "common_cause"
    assert summary["quiet"]["assurance"] == "consistently_passing"  # 12 above the upper limit, lower is better
    assert summary["falling"]["variation"] == "special_cause_improvement_low"
    assert summary["falling"]["assurance"] == "consistently_passing"  # 30 above the upper limit, lower is better
    assert (summary["short"]["label"], summary["short"]["variation"], summary["short"]["assurance"]) == (
        "too_short", None, None,
    )


def test_summary_of_points_in_any_order():
    """The latest points are found by runs when the points come as xmr returns them, by grouping otherwise:
    both must pick the same rows."""
    frames = [
        series(QUIET + [None], "late"),  # the latest month with a value is the one before the last
        series([None, None, None], "empty"),  # no value at all: its latest month
        series(QUIET[:-1] + [20], "outside"),
    ]
    points = xmr(pl.concat(frames), KEYS)
    expected = summarise(points, KEYS)
    assert expected.select("indicator", "period").rows() == [
        ("empty", "2020-03"), ("late", "2020-12"), ("outside", "2020-12"),
    ]
    split = pl.concat([points.slice(0, 20), points.slice(20)]).sort("indicator", "period", descending=[True, False])
    late = points.filter(pl.col("indicator") == "late")
    others = points.filter(pl.col("indicator") != "late")
    apart = pl.concat([late.head(5), others, late.slice(5)])  # late's rows in two runs, each in month order
    backwards = points.reverse()  # every month before the one above it
    shuffled = points.sample(fraction=1.0, shuffle=True, seed=3)
    for reordered in (split, apart, backwards, shuffled):
        assert_frame_equal(summarise(reordered, KEYS), expected)


def test_assurance_against_either_limit():
    # QUIET: limits 2.872727 .. 10.127273.
    points = xmr(series(QUIET), KEYS)

    def assurance(target: float, polarity: str) -> str | None:
        targets = pl.DataFrame({"indicator": ["x"], "target": [target], "polarity": [polarity]})
        return summarise(points, KEYS, targets).item(0, "assurance")

    assert assurance(2.0, "down_is_bad") == "consistently_passing"
    assert assurance(2.0, "up_is_bad") == "consistently_failing"
    assert assurance(11.0, "down_is_bad") == "consistently_failing"
    assert assurance(10.0, "down_is_bad") == "hit_and_miss"
    assert assurance(2.0, "neutral") is None
