"""The national benchmark's computations at a tiny size.

Fairness (the polars and pandas paths agree), fidelity (the national
composition equals the pipeline authority by authority) and honesty (the
incremental cycle equals a full recompute over every month).
"""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bench import national, national_signals, pandas_reference
from bench.national_data import History, month_range
from radar.core.alert_settings import SpcSettings
from radar.pipelines.charting import UNIT_BOUNDS, limit_bounds
from radar.pipelines.indicators import compute_indicators, count_records
from radar.pipelines.spc import xmr
from radar.pipelines.spc_state import materialise, reach

AUTHORITIES = ["E09000006", "E06000001", "E08000025"]  # Bromley, Hartlepool, Birmingham
SORT = ["la_code", "indicator", "breakdown", "period"]


@pytest.fixture(scope="module")
def setup():
    return national.build(records=5_000, months=36, la_codes=AUTHORITIES)


def test_month_range_crosses_the_year():
    assert month_range("2024-11", 3) == ["2024-11", "2024-12", "2025-01"]


def test_tiny_history_has_every_authority_month_and_record(setup):
    history = setup.history
    assert history.records.height == 5_000
    assert history.delivered.height == 3 * 36
    assert sorted(history.records["la_code"].unique()) == sorted(AUTHORITIES)
    assert setup.next_month.periods == ["2018-01"]
    # Board attendance is quarterly: no returns in the months between quarters.
    board = history.observations.filter(pl.col("indicator") == "board_seats")
    assert set(board["period"].str.slice(5, 2)) == {"03", "06", "09", "12"}


def test_scan_groups_by_every_column_an_indicator_counts_by(setup):
    assert national.counted_columns(setup.catalogue) == ["source", "outcome"]


def test_national_counts_by_hand(catalogue):
    records = pl.DataFrame({
        "la_code": ["A", "A", "A", "B"],
        "period": ["2020-01"] * 4,
        "child_ref": [1, 1, 2, 3],
        "source": ["police", "police", "health", "police"],
        "outcome": ["referral_to_csc", "early_help", "referral_to_csc", "early_help"],
    })
    delivered = pl.DataFrame({"la_code": ["A", "B", "B"], "period": ["2020-01", "2020-01", "2020-02"]})
    out = count_records(catalogue, "mash_contacts", records, delivered, by=["la_code"])

    def value(la_code, indicator, period="2020-01", breakdown=""):
        return out.filter(
            la_code=la_code, indicator=indicator, period=period, breakdown=breakdown
        )["value"].item()

    assert value("A", "mash_enquiries") == 3
    assert value("A", "mash_enquiries", breakdown="police") == 2
    assert value("A", "mash_referrals") == 2
    assert value("A", "mash_referrals", breakdown="police") == 1
    assert value("A", "mash_children") == 2
    assert value("B", "mash_enquiries") == 1
    assert value("B", "mash_referrals") == 0
    assert value("B", "mash_children", period="2020-02") == 0  # delivered empty: a true zero
    assert out.filter(la_code="A", period="2020-02").height == 0  # not delivered: nothing


def test_national_indicators_equal_the_pipeline_authority_by_authority(setup):
    history = setup.history
    national_values = national_signals.compute_indicators(
        setup.catalogue, history.observations, {"mash_contacts": history.records},
        {"mash_contacts": history.delivered}, history.population,
    )
    for la_code in AUTHORITIES:
        def own(frame: pl.DataFrame, la_code: str = la_code) -> pl.DataFrame:
            return frame.filter(pl.col("la_code") == la_code).drop("la_code")

        pipeline = compute_indicators(
            setup.catalogue, own(history.observations),
            {"mash_contacts": own(history.records)}, {"mash_contacts": own(history.delivered)}, own(history.population),
        )
        assert_frame_equal(own(national_values).sort(SORT[1:]), pipeline.sort(SORT[1:]))


def test_the_pandas_reference_refuses_a_method_it_does_not_implement(setup):
    with pytest.raises(ValueError, match="default limits only"):
        national.check_agreement(national.with_method(setup, screen_moving_ranges=True))


def test_polars_and_pandas_agree(setup):
    national.check_agreement(setup)  # raises on any difference
    _, signals = national.radar_full(setup)
    fired = set(signals.points["signal"].drop_nulls())
    assert fired == {"outside_limits", "trend", "two_of_three", "shift"}  # the comparison covers every rule


@pytest.mark.parametrize("shards", [2, 3])
def test_shards_of_authorities_put_together_are_the_whole_run(setup, shards):
    """Each shard is a slice of frames sorted by authority, as the history says its frames are (checked here
    for real); the shards' results together equal one shard's, row for row (values are left unsorted)."""
    history = setup.history
    frames = [history.observations, history.records, history.delivered, history.population]
    assert all(f["la_code"].flags["SORTED_ASC"] and f["la_code"].to_list() == sorted(f["la_code"]) for f in frames)

    def run(n: int):
        return national_signals.full(setup.catalogue, setup.settings, history.observations,
                                     {"mash_contacts": history.records}, {"mash_contacts": history.delivered},
                                     history.population, history.periods[-1], shards=n)

    (values, signals), (whole_values, whole) = run(shards), run(1)
    assert_frame_equal(values.sort(SORT), whole_values.sort(SORT))
    assert_frame_equal(signals.points, whole.points)
    assert_frame_equal(signals.summary, whole.summary)
    assert_frame_equal(signals.concerns, whole.concerns)
    assert_frame_equal(signals.improvements, whole.improvements)
    assert whole.concerns.height > 0


def test_a_frame_not_sorted_by_authority_is_sorted_before_it_is_cut():
    frame = pl.DataFrame({"la_code": ["B", "A", "C", "A", "B"], "n": [1, 2, 3, 4, 5]})
    parts = national_signals._by_authority(frame, ["B", "C"])
    assert [p.to_dict(as_series=False) for p in parts] == [
        {"la_code": ["A", "A"], "n": [2, 4]}, {"la_code": ["B", "B"], "n": [1, 5]}, {"la_code": ["C"], "n": [3]}]


def test_the_fairness_check_catches_a_different_number(setup, monkeypatch):
    monkeypatch.setattr(pandas_reference, "LIMIT_FACTOR", 3.0)
    with pytest.raises(AssertionError):
        national.check_agreement(setup)


def test_xmr_by_hand_in_both_engines():
    # Eleven quiet months then 20: mean 42/12 = 3.5, mean moving range 27/11,
    # upper limit 3.5 + 2.66 * 27/11 = 10.029, so the last month is outside;
    # the eleven before it all sit below the mean, a shift (a run of at least 7).
    values = [1.0, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 20]
    frame = pl.DataFrame({
        "la_code": "A", "indicator": "self_harm_attendances", "breakdown": "",
        "period": month_range("2020-01", 12), "value": values,
    })
    polarity = pl.DataFrame({"indicator": ["self_harm_attendances"], "polarity": ["up_is_bad"]})
    ours = xmr(frame, national_signals.SERIES_KEYS, SpcSettings(), polarity)
    theirs = pandas_reference.xmr(frame.to_pandas(), SpcSettings(), {"self_harm_attendances": "up_is_bad"})
    for points in (ours.to_pandas(), theirs):
        last = points.iloc[-1]
        assert last["mean"] == pytest.approx(3.5)
        assert last["upper"] == pytest.approx(3.5 + 2.66 * 27 / 11)
        assert (last["signal"], last["direction"], last["assessment"]) == ("outside_limits", "high", "concern")
        assert set(zip(points["signal"].iloc[:-1], points["direction"].iloc[:-1], points["assessment"].iloc[:-1])) == {
            ("shift", "low", "improvement")
        }


def test_two_of_three_and_clamped_limits_by_hand_in_both_engines(catalogue):
    # Two counts.  Self-harm: Radar's issue-6 example, [5,7,6,8,7,6,5,7,6,12,6,12]:
    # both 12s are close to the upper limit (> 11.925) but the 6 between them
    # lies below the mean 7.25, so no two-of-three: common cause throughout.
    # Child deaths: mean 15/12 = 1.25, mean MR 21/11, computed lower limit
    # 1.25 - 2.66 x 21/11 = -3.828, stored as 0; the months with none are inside.
    values = {
        "self_harm_attendances": [5.0, 7, 6, 8, 7, 6, 5, 7, 6, 12, 6, 12],
        "child_deaths": [0.0, 2, 1, 0, 3, 1, 0, 2, 1, 0, 4, 1],
    }
    frame = pl.DataFrame({
        "la_code": "A", "indicator": [i for i in values for _ in range(12)], "breakdown": "",
        "period": month_range("2020-01", 12) * 2, "value": [v for series in values.values() for v in series],
    })
    ours = xmr(frame, national_signals.SERIES_KEYS, SpcSettings(), bounds=limit_bounds(catalogue))
    theirs = pandas_reference.xmr(
        frame.to_pandas(), SpcSettings(), {}, {i: UNIT_BOUNDS["count"] for i in values}
    )
    for points in (ours.to_pandas(), theirs):
        assert points["signal"].isna().all()
        deaths = points[points["indicator"] == "child_deaths"]
        assert (deaths["lower"] == 0).all()
        assert deaths["upper"].iloc[0] == pytest.approx(1.25 + 2.66 * 21 / 11)


@pytest.mark.parametrize("method", [{}, *national.METHODS.values()], ids=["mdc", *national.METHODS])
def test_incremental_cycle_equals_a_full_recompute_over_all_months(setup, method):
    setup = national.with_method(setup, **method)
    values, signals = national.radar_full(setup)
    previous = national.previous_cycle(setup, values, signals.points)
    state, _, changed, concerns, _ = national.radar_incremental(setup, values, previous)
    history, new = setup.history, setup.next_month
    combined = History(
        periods=[*history.periods, *new.periods],
        observations=pl.concat([history.observations, new.observations]),
        records=pl.concat([history.records, new.records]),
        delivered=pl.concat([history.delivered, new.delivered]),
        population=pl.concat([history.population, new.population]),
    )
    _, full = national.radar_full(national.Setup(setup.catalogue, setup.settings, combined, new))
    points = materialise(signals.points, state, changed, national_signals.SERIES_KEYS)
    assert_frame_equal(points.sort(SORT), full.points.sort(SORT))
    assert_frame_equal(concerns, full.concerns)
    assert (changed["period"] == "2018-01").any()


def test_reach_sorts_each_changed_series_by_how_far_back_it_changed(setup):
    values, signals = national.radar_full(setup)
    previous = national.previous_cycle(setup, values, signals.points)
    _, _, changed, _, _ = national.radar_incremental(setup, values, previous)
    reached = national.reach(setup, previous.points, changed)
    parts = ("fast", "moved_seasonal", "recomputed")
    assert sum(reached[f"incremental_series_{part}"] for part in parts) == reached["incremental_series"]
    moved = changed.filter(pl.col("indicator").is_in(setup.catalogue.seasonal_ids))
    moved = moved.select(national_signals.SERIES_KEYS).unique()
    assert reached["incremental_series_moved_seasonal"] == moved.height > 0  # a new month moves every level
    # Earlier points that are as they are now count nothing; one earlier signal that differs counts its series.
    whole = changed.filter(pl.len().over(national_signals.SERIES_KEYS) > reach(setup.settings.spc_settings()))
    assert national.reach(setup, whole, whole)["incremental_series_earlier_flag_changed"] == 0
    first = whole.sort(national.POINT_KEYS).row(0, named=True)  # a series' first month: before the last N rows
    at = pl.all_horizontal(pl.col(k) == first[k] for k in national.POINT_KEYS)
    marked = whole.with_columns(signal=pl.when(at).then(pl.lit("not what it is now")).otherwise("signal"))
    assert national.reach(setup, marked, whole)["incremental_series_earlier_flag_changed"] == 1
