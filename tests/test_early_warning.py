"""The early-warning detector (pipelines/early_warning.py): its GLMs, its calibration and a golden series."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from radar.pipelines import early_warning as ew
from radar.pipelines import glm

START = 2016 * 12 + 3  # April 2016
MONTHS = np.arange(START, START + 48)


def _counts(rng, mean, phi, months=MONTHS, seasonal=False):
    x = glm.design(months, True, False, 0)
    mu = np.full(len(months), float(mean))
    if seasonal:
        mu *= np.exp(0.15 * x[:, 1] - 0.35 * x[:, 3] - 0.25 * x[:, 4])
    return glm.simulate("count", mu, phi, None, rng).astype(float)


@pytest.mark.parametrize("seasonal", [False, True])
@pytest.mark.parametrize("trend", [False, True])
def test_quasi_poisson_equals_statsmodels(seasonal, trend):
    rng = np.random.default_rng(7)
    y = _counts(rng, 40, 1.8, seasonal=True)
    x = glm.design(MONTHS, seasonal, trend, int(MONTHS[-1]) + 1)
    ours = glm.irls("count", x, y[None])
    theirs = sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2")
    np.testing.assert_allclose(ours.coef[0], theirs.params, rtol=1e-8, atol=1e-9)
    assert ours.phi[0] == pytest.approx(theirs.scale, rel=1e-8)
    np.testing.assert_allclose(np.sqrt(ours.phi[0] * np.diag(ours.cov_unscaled[0])), theirs.bse, rtol=1e-6)


@pytest.mark.parametrize("seasonal", [False, True])
def test_quasi_binomial_equals_statsmodels(seasonal):
    rng = np.random.default_rng(11)
    n = rng.integers(15, 80, len(MONTHS)).astype(float)
    y = rng.binomial(n.astype(int), 0.35).astype(float)
    x = glm.design(MONTHS, seasonal, True, int(MONTHS[-1]) + 1)
    ours = glm.irls("percentage", x, y[None], n[None])
    theirs = sm.GLM(y / n, x, family=sm.families.Binomial(), var_weights=n).fit(scale="X2")
    np.testing.assert_allclose(ours.coef[0], theirs.params, rtol=1e-8, atol=1e-9)
    assert ours.phi[0] == pytest.approx(theirs.scale, rel=1e-8)
    np.testing.assert_allclose(np.sqrt(ours.phi[0] * np.diag(ours.cov_unscaled[0])), theirs.bse, rtol=1e-6)


def test_many_series_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    y = np.stack([_counts(rng, m, 1.5) for m in (5, 20, 80)])
    mask = np.ones_like(y, dtype=bool)
    mask[1, 10] = False  # a missing month is left out of the fit
    x = glm.design(MONTHS, True, True, int(MONTHS[-1]) + 1)
    together = glm.irls("count", x, y, mask=mask)
    for i in range(3):
        alone = sm.GLM(y[i][mask[i]], x[mask[i]], family=sm.families.Poisson()).fit(scale="X2")
        np.testing.assert_allclose(together.coef[i], alone.params, rtol=1e-7, atol=1e-8)
        assert together.phi[i] == pytest.approx(alone.scale, rel=1e-7)


def test_trend_kept_only_when_significant():
    rng = np.random.default_rng(5)
    flat = _counts(rng, 60, 1.2)
    rising = glm.simulate("count", 30 * np.exp(0.3 * (MONTHS - MONTHS[0]) / 12), 1.2, None, rng).astype(float)
    periods = [glm.period_of(m) for m in MONTHS]
    settings = ew.EarlySettings(simulations=200)
    assert not ew.fit_model("count", periods, flat, None, False, 1, settings, detectable=False).trend
    assert ew.fit_model("count", periods, rising, None, False, 1, settings, detectable=False).trend


@pytest.mark.parametrize("worse", [1, -1])
def test_the_episode_count_sees_the_start_the_ewma_ran_from(monkeypatch, worse):
    """Calibration counts alarm episodes from the EWMA's start: for a lower-is-worse series too (it was counted
    from the start's mirror image, so an episode already under way could count as new)."""
    seen = {}
    real_ewma, real_rate = ew.ewma, ew.alarm_rate

    def spy_ewma(z, lam, start):
        seen.setdefault("ewma", np.asarray(start, dtype=float).reshape(-1))
        return real_ewma(z, lam, start)

    def spy_rate(paths, grid, start=None):
        if start is not None:
            seen["episodes"] = np.asarray(start, dtype=float).reshape(-1)
        return real_rate(paths, grid, start)

    monkeypatch.setattr(ew, "ewma", spy_ewma)
    monkeypatch.setattr(ew, "alarm_rate", spy_rate)
    periods = [glm.period_of(m) for m in MONTHS]
    counts = _counts(np.random.default_rng(2), 40, 1.3)
    ew.fit_model("count", periods, counts, None, False, worse, ew.EarlySettings(simulations=200), detectable=False)
    assert seen["episodes"].shape == seen["ewma"].shape and np.array_equal(seen["episodes"], seen["ewma"])


def test_calibrated_false_alarm_rate_matches_the_setting():
    """Stable series drawn from known models, judged month by month as the cycle would (fitted on 48 months,
    refitted a year later, the EWMA running on): alarm episodes per series-year of the joint detector (the EWMA
    or the single-month check) are within sampling error of the setting."""
    rng = np.random.default_rng(2024)
    settings = ew.EarlySettings(false_alarms_per_year=0.07, min_months=48)
    n_series, future = 160, 24
    months = np.arange(START, START + 48 + future)
    periods = [glm.period_of(m) for m in months]
    episodes = 0
    for i in range(n_series):
        mean, seasonal = [(20, False), (80, True), (300, False), (40, True)][i % 4]
        y = _counts(rng, mean, 1.6, months, seasonal)
        judged, state = ew.replay(periods, [float(v) for v in y], None, None, "count", seasonal, 1, settings,
                                  key=str(i), detectable=False)
        assert state.model.threshold > 0 and state.model.shewhart > 2.5  # both checks calibrated
        flags = [j.flag == "concern" for j in judged]
        episodes += sum(now and not before for before, now in zip([False, *flags], flags, strict=False))
    years = n_series * future / 12
    rate = episodes / years
    sampling_error = np.sqrt(settings.false_alarms_per_year / years)  # Poisson count of episodes
    assert abs(rate - settings.false_alarms_per_year) <= 3 * sampling_error, (rate, sampling_error)


def _golden():
    rng = np.random.default_rng(42)
    months = np.arange(START, START + 60)
    y = _counts(rng, 50, 1.3, months, seasonal=True)
    y[52:] = glm.simulate("count", np.full(8, 80.0), 1.3, None, rng)  # 80 a month from Aug 2020: +60%, more in August
    return [glm.period_of(m) for m in months], [float(v) for v in y]


def test_golden_step_is_flagged_in_its_known_month():
    periods, values = _golden()
    judged, state = ew.replay(periods, values, None, None, "count", True, 1, ew.EarlySettings(), key="golden")
    concerns = [j.period for j in judged if j.flag == "concern"]
    assert periods[52] == "2020-08"
    assert concerns[0] == "2020-08"  # the step's first month: 80 in an August that usually dips
    first = next(j for j in judged if j.flag == "concern")
    assert first.since == "2020-08" and first.observed_sum > first.expected_sum
    assert all(j.flag is None for j in judged if j.period < "2020-08")
    assert state.model.first_judged == "2020-04"  # refitted yearly: fitted on Apr 2016 - Mar 2020


def test_golden_one_month_jump_is_flagged_by_the_single_month_check():
    """A stable series of about 60 a month with one month 40 higher (about 4 SD of its noise) in Sep 2020: too
    brief for the EWMA, flagged at once by the single-month check, and only that month."""
    rng = np.random.default_rng(8)
    months = np.arange(START, START + 60)
    y = _counts(rng, 60, 1.3, months)
    y[53] += 40
    periods = [glm.period_of(m) for m in months]
    judged, state = ew.replay(periods, [float(v) for v in y], None, None, "count", False, 1, ew.EarlySettings(),
                              key="jump")
    flagged = [j for j in judged if j.flag is not None]
    assert [(j.period, j.flag, j.check) for j in flagged] == [("2020-09", "concern", "single_month")]
    jump = flagged[0]
    assert jump.ewma < state.model.threshold < state.model.shewhart < jump.z  # the EWMA alone stayed quiet
    assert jump.return_years is not None and jump.return_years > 1 / ew.EarlySettings().false_alarms_per_year


def test_one_wild_month_in_the_history_does_not_blind_the_series():
    """About 200 a month (overdispersion 1.3) with one month 2.5 times over in 2017, then +20% from Aug 2020 (about
    2.5 SD a month): the wild month is left out of the overdispersion, so the step is flagged within 3 months.
    (Pearson's phi with that month in is about 15, which would shrink each month's excess to under 1 SD.)"""
    rng = np.random.default_rng(12)
    months = np.arange(START, START + 60)
    y = _counts(rng, 200, 1.3, months)
    y[10] *= 2.5
    y[52:] = glm.simulate("count", np.full(8, 240.0), 1.3, None, rng)
    periods = [glm.period_of(m) for m in months]
    judged, state = ew.replay(periods, [float(v) for v in y], None, None, "count", False, 1, ew.EarlySettings(),
                              key="wild")
    concerns = [j.period for j in judged if j.flag == "concern"]
    assert periods[52] == "2020-08" and concerns and "2020-08" <= concerns[0] <= "2020-10"
    assert state.model.phi < 2


def test_replay_continues_from_a_stored_state():
    periods, values = _golden()
    settings = ew.EarlySettings()
    whole, _ = ew.replay(periods, values, None, None, "count", True, 1, settings, key="golden")
    first, state = ew.replay(periods[:55], values[:55], None, None, "count", True, 1, settings, key="golden")
    again = ew.State.from_dict(state.as_dict())
    rest, _ = ew.replay(periods, values, None, None, "count", True, 1, settings, key="golden", state=again)
    assert [(j.period, j.flag, round(j.ewma or 0, 9)) for j in first + rest] == [
        (j.period, j.flag, round(j.ewma or 0, 9)) for j in whole]


def test_rebase_restarts_the_model():
    periods, values = _golden()
    judged, state = ew.replay(periods, values, None, None, "count", True, 1, ew.EarlySettings(), rebases=["2019-04"],
                              key="golden")
    assert state.segment_start == "2019-04"
    assert all(j.expected is None for j in judged if j.period >= "2019-04")  # 17 months: too short to refit


def test_promise_words():
    settings = ew.EarlySettings()
    assert ew.promise(None, 10, settings, 1)["promise"] == "too_short"
    periods = [glm.period_of(m) for m in MONTHS]
    small = ew.fit_model("count", periods, _counts(np.random.default_rng(1), 2, 1.5), None, False, 1, settings)
    big = ew.fit_model("count", periods, _counts(np.random.default_rng(1), 300, 1.2), None, False, 1, settings)
    assert ew.promise(small, 48, settings, 1)["promise"] == "too_small"
    said = ew.promise(big, 48, settings, 1)
    assert said["promise"] == "ok" and said["min_detectable_change"] <= 0.2
    assert said["statement"].startswith("A sustained rise of about ")


@pytest.mark.parametrize("phi", [1.0, 1.6])
def test_a_percentage_month_without_trials_draws_nothing(phi):
    """A month the calibration masks has no trials: it draws 0, where 0 / 0 once stopped the cycle."""
    trials = np.array([40.0, 0.0, 55.0])
    draws = glm.simulate("percentage", np.array([10.0, 0.0, 20.0]), phi, trials, np.random.default_rng(3))
    assert draws[1] == 0 and 0 <= draws[0] <= 40 and 0 <= draws[2] <= 55


@pytest.mark.parametrize("rows", [1, 40, 1000, 1003])
def test_products_in_row_blocks_equal_one_product(rows):
    """glm._dot splits a product into row blocks OpenBLAS keeps on one thread (whole blocks, then the rest)."""
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(rows, 120)), rng.normal(size=(120, 49))
    np.testing.assert_allclose(glm._dot(a, b), a @ b, rtol=1e-12, atol=1e-12)
