"""Early warning: an EWMA of each month's excess over what the series' own history leads Radar to expect.

Beside the Making Data Count chart (pipelines/spc.py), which judges a month
against limits drawn from the whole series, this detector asks a narrower
question sooner: is the series running above (or below) the value its own
history predicts for this month?

- **Expected value.** A generalised linear model fitted on the series'
  history up to the month before the month judged: counts as quasi-Poisson
  (log link), percentages as quasi-binomial on numerator and denominator
  (logit link).  Terms: an intercept; a linear trend only when it is
  significant (Wald test at 5%, with the overdispersion); for indicators
  marked `seasonal` in the catalogue one yearly harmonic (sine and cosine)
  and the two school-holiday months (August, December).  The overdispersion
  `phi` is Pearson's chi-square over its degrees of freedom, never below 1,
  without the months more than 3 of their own SD from the fit
  (`robust_phi`: one wild month would otherwise blind the series).
- **Standardised excess** z = (observed - expected) / sqrt(phi x variance),
  and its EWMA E_t = (1 - lambda) E_{t-1} + lambda z_t (a missing month
  leaves E unchanged).  A month is flagged when E passes the threshold on
  the worse side, or when the month's own z passes the single-month
  (Shewhart) limit: the EWMA is quick on moderate sustained changes, the
  single-month check on a jump too large to wait for.  On the better side
  either is an improvement, shown, never alerted.
- **Thresholds by simulation** from the series' own fitted model
  (`calibrate`): histories are drawn from the model (negative binomial or
  beta-binomial with its overdispersion), refitted exactly as the real one
  is (so the estimation error is in the simulation), the 12 months it
  will judge drawn three times over and judged with the EWMA carried in
  from its long-run spread.  The single-month limit is set so that it
  alone would raise `SHEWHART_SHARE` of the `false_alarms_per_year` budget;
  then the EWMA threshold is the lowest at which the two checks together
  raise at most the budget (alarm episodes, as the alert lifecycle counts
  them, per series-year).  The same simulation with a sustained step after
  the judged year (each history's EWMA carried on from its first future)
  gives the smallest change the pair flags within 3 months at least half
  the time (`min_detectable_change`).
- **Refits** every 12 months, or from a recorded re-base (the history
  before it is then left out).

Everything here is numpy on plain arrays; the models themselves (fitting
many series at once, simulating from them) are pipelines/glm.py.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from radar.pipelines.glm import Kind, expected, fit_with_selection, month_number, period_of, simulate, variance

FUTURE_MONTHS = 12  # months simulated after each fit to count false alarms: a model judges 12, then is refitted
FUTURES_PER_HISTORY = 3  # stable futures drawn per simulated history (the refits are the costly part)
HORIZON = 3  # "noticed within 3 months"
PROMISE = 0.5  # "... at least half the time"
STEPS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # relative sustained changes
REFIT_MONTHS = 12
# The single-month check's share of the false-alarm budget: a quarter keeps its limit near 3-3.5 SD (a month
# that far out is rare by chance but common after a large change) while leaving the EWMA most of the budget.
SHEWHART_SHARE = 0.25


@dataclass(frozen=True)
class EarlySettings:
    false_alarms_per_year: float = 0.07  # radar/core/alerts.yaml early_warning.false_alarms_per_year
    min_months: int = 24  # observed months needed before the first fit
    smoothing: float = 0.3  # the EWMA's lambda
    simulations: int = 1000  # simulated histories per calibration

    def __post_init__(self) -> None:
        if not 0 < self.false_alarms_per_year < 12:
            raise ValueError("false_alarms_per_year must be above 0 and below 12")
        if not 0 < self.smoothing <= 1:
            raise ValueError("smoothing must be in (0, 1]")
        if self.min_months < 6:
            raise ValueError("min_months must be at least 6: a model needs some history")


def ewma(z: np.ndarray, smoothing: float, start: np.ndarray | float = 0.0) -> np.ndarray:
    """E_t along the last axis; a NaN z leaves E unchanged."""
    out = np.empty_like(z, dtype=float)
    level = np.broadcast_to(np.asarray(start, dtype=float), z.shape[:-1]).copy()
    for t in range(z.shape[-1]):
        zt = z[..., t]
        level = np.where(np.isnan(zt), level, (1 - smoothing) * level + smoothing * np.nan_to_num(zt))
        out[..., t] = level
    return out


def alarm_rate(paths: np.ndarray, thresholds: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Alarm episodes per series-year at each threshold, for EWMA paths (B, F) on the worse side, each from its
    `start` (the EWMA before the first month; default 0).

    An episode starts at month t when E_{t-1} <= h < E_t, so the count at h
    is the number of (E_{t-1}, E_t) steps straddling it: two sorted arrays
    and a search, for every threshold at once."""
    first = np.zeros((paths.shape[0], 1)) if start is None else np.asarray(start, dtype=float).reshape(-1, 1)
    before = np.concatenate([first, paths[:, :-1]], axis=1)
    rising = paths > before
    lo, hi = np.sort(before[rising]), np.sort(paths[rising])
    count = np.searchsorted(lo, thresholds, side="right") - np.searchsorted(hi, thresholds, side="right")
    years = paths.shape[0] * paths.shape[1] / 12.0
    return count / years


# --- one series' model -----------------------------------------------------------------


@dataclass
class Model:
    """A fitted model with its calibrated threshold: what Radar stores per series (`as_dict`)."""

    kind: Kind
    seasonal: bool
    worse: int  # +1: higher is worse, -1: lower is worse
    coef: list[float]
    phi: float
    trend: bool
    origin: int  # running month number the trend counts years from
    fitted_on: str  # first month of the history it was fitted on
    first_judged: str  # the month after its history: the first month it judges
    months: int  # observed months it was fitted on
    threshold: float
    grid: list[float] = field(default_factory=list)  # thresholds ...
    rates: list[float] = field(default_factory=list)  # ... and in-control alarm episodes per year at each
    min_change: float | None = None  # smallest relative sustained change flagged within 3 months half the time
    trials: list[float] = field(default_factory=list)  # percentages: the last 12 months' denominators
    shewhart: float | None = None  # the single-month limit on z (None: a model stored before it existed)
    shewhart_grid: list[float] = field(default_factory=list)  # single-month levels ...
    shewhart_rates: list[float] = field(default_factory=list)  # ... and in-control episodes past each per year

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        return cls(**data)

    def expected_at(self, period: str, denominator: float | None = None) -> float:
        """Expected count, or expected percentage (0-100) for a percentage model."""
        share = float(expected(self.kind, np.array(self.coef), np.array([month_number(period)]), self.seasonal,
                               self.origin)[0, 0])
        return share if self.kind == "count" else 100.0 * share

    def standardised(self, period: str, value: float | None, numerator: float | None = None,
                     denominator: float | None = None) -> tuple[float | None, float | None]:
        """(z, expected in the value's terms) for one month; (None, expected) when the month cannot be judged."""
        months = np.array([month_number(period)])
        if self.kind == "count":
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return None, self.expected_at(period)
            mean = float(expected("count", np.array(self.coef), months, self.seasonal, self.origin)[0, 0])
            return (value - mean) / math.sqrt(max(self.phi * mean, 1e-9)), mean
        share = float(expected("percentage", np.array(self.coef), months, self.seasonal, self.origin)[0, 0])
        if numerator is None or not denominator:
            return None, 100.0 * share
        var = self.phi * denominator * share * (1 - share)
        return (numerator - denominator * share) / math.sqrt(max(var, 1e-9)), 100.0 * share

    def return_period(self, level: float, single_month: bool = False) -> float | None:
        """Years between in-control excursions this far to the worse side, of the EWMA or (`single_month`) of one
        month's z (None: rarer than the simulation could see)."""
        grid, rates = (self.shewhart_grid, self.shewhart_rates) if single_month else (self.grid, self.rates)
        if not grid:
            return None
        rate = float(np.interp(level, grid, rates, right=0.0))
        return None if rate <= 0 else 1.0 / rate

    def check(self, ewma: float, z: float | None) -> tuple[int, str | None]:
        """(+1 concern, -1 improvement or 0, the check that fired: "ewma" or "single_month") for a month."""
        level = self.worse * ewma
        month = None if z is None or self.shewhart is None else self.worse * z / self.shewhart
        for side in (1, -1):  # a concern first: a jump on the worse side outranks an improving EWMA
            if side * level > self.threshold:
                return side, "ewma"
            if month is not None and side * month > 1:
                return side, "single_month"
        return 0, None


def seed_of(*parts: str) -> int:
    """A stable seed from the series' key and fit month: a re-run draws the same simulation, so stores the same
    threshold."""
    return int.from_bytes(hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest(), "little")


def fit_model(kind: Kind, periods: list[str], values: np.ndarray, trials: np.ndarray | None, seasonal: bool,
              worse: int, settings: EarlySettings, seed: int = 0, detectable: bool = True) -> Model | None:
    """Fit and calibrate one series' model on its history (`periods` in order, NaN for a missing month).

    For a percentage `values` are numerators and `trials` denominators.
    None when the history cannot carry a model (fewer observed months than
    `settings.min_months`, or nothing but zeros).
    """
    months = np.array([month_number(p) for p in periods])
    y = np.asarray(values, dtype=float)
    mask = ~np.isnan(y)
    if kind == "percentage":
        trials = np.asarray(trials, dtype=float)
        mask &= ~np.isnan(trials) & (trials > 0)
    if mask.sum() < settings.min_months or np.nansum(np.where(mask, y, 0)) <= 0:
        return None
    if kind == "percentage" and np.all(y[mask] >= trials[mask]):
        return None
    origin = int(months[-1]) + 1
    tr = None if trials is None else np.nan_to_num(trials)[None]
    coef, phi, keep = fit_with_selection(kind, months, np.nan_to_num(y)[None], tr, mask[None], seasonal, origin)
    last_trials = [] if kind == "count" else [float(v) for v in np.asarray(trials)[mask][-12:]]
    model = Model(
        kind=kind, seasonal=seasonal, worse=worse, coef=[float(c) for c in coef[0]], phi=float(phi[0]),
        trend=bool(keep[0]), origin=origin, fitted_on=periods[0], first_judged=period_of(int(months[-1]) + 1),
        months=int(mask.sum()), threshold=float("nan"), trials=last_trials,
    )
    calibrate(model, months, mask, np.asarray(trials, dtype=float) if trials is not None else None, settings,
              np.random.default_rng(seed), detectable)
    return model


def calibrate(model: Model, months: np.ndarray, mask: np.ndarray, trials: np.ndarray | None,
              settings: EarlySettings, rng: np.random.Generator, detectable: bool = True) -> None:
    """Set the model's threshold (and its rate table and minimum detectable change) by simulation from itself."""
    kind, b = model.kind, settings.simulations
    coef = np.array(model.coef)[None]
    hist_trials = None if trials is None else np.where(mask, np.nan_to_num(trials), 0.0)
    truth = expected(kind, coef, months, model.seasonal, model.origin, hist_trials)[0]
    draws = simulate(kind, np.broadcast_to(truth, (b, len(months))), model.phi,
                     None if trials is None else np.broadcast_to(hist_trials, (b, len(months))), rng)
    sim_mask = np.broadcast_to(mask, (b, len(months)))
    sim_trials = None if trials is None else np.broadcast_to(hist_trials, (b, len(months)))
    # each simulated history is refitted as the real one was, trend selection included
    sim_coef, sim_phi, _ = fit_with_selection(kind, months, draws, sim_trials, sim_mask, model.seasonal, model.origin)
    future = np.arange(months[-1] + 1, months[-1] + 1 + FUTURE_MONTHS + HORIZON)
    fut_trials = None
    if kind == "percentage":
        cycle = np.array(model.trials) if model.trials else np.array([1.0])
        fut_trials = np.resize(cycle, len(future))
    true_future = expected(kind, coef, future, model.seasonal, model.origin, fut_trials)[0]
    predicted = expected(kind, sim_coef, future, model.seasonal, model.origin, fut_trials)  # (B, F)
    scale = np.sqrt(np.maximum(sim_phi[:, None] * variance(kind, predicted, fut_trials), 1e-9))

    def paths(mean_future: np.ndarray, judged: slice, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(EWMA, z) on the worse side, each (..., B, months), of draws around `mean_future` (..., months) in the
        `judged` months of `future`, the EWMA from `start` (on the worse side too)."""
        shape = (*mean_future.shape[:-1], b, mean_future.shape[-1])
        means = np.broadcast_to(mean_future[..., None, :], shape)
        obs = simulate(kind, means, model.phi, None if fut_trials is None else np.broadcast_to(
            fut_trials[judged], shape), rng)
        z = model.worse * (obs - predicted[:, judged]) / scale[:, judged]
        return ewma(z, settings.smoothing, start), z

    # A refitted model takes over an EWMA already running: it starts from the EWMA's long-run spread (on the worse
    # side, as the paths are; the episode count below must see the same start the EWMA ran from).
    lam = settings.smoothing
    start = rng.normal(0.0, math.sqrt(lam / (2 - lam)), (FUTURES_PER_HISTORY, b))
    level, z = paths(np.broadcast_to(true_future[:FUTURE_MONTHS], (FUTURES_PER_HISTORY, FUTURE_MONTHS)),
                     slice(0, FUTURE_MONTHS), start)
    level, z = level.reshape(-1, FUTURE_MONTHS), z.reshape(-1, FUTURE_MONTHS)
    budget = settings.false_alarms_per_year
    # the single-month limit first, on its share of the budget (episodes of consecutive months past it) ...
    model.shewhart, model.shewhart_grid, model.shewhart_rates = _lowest_within(z, None, SHEWHART_SHARE * budget)
    # ... then the EWMA's threshold for the pair: a month past the single-month limit is flagged whatever E is
    joint = np.where(z > model.shewhart, np.inf, level)
    model.threshold, model.grid, model.rates = _lowest_within(joint, start.reshape(-1), budget)
    if detectable:
        # a step starts after the first future's year, from each history's EWMA there
        model.min_change = min_detectable_change(model, true_future, paths, level[:b, -1])


def _lowest_within(paths: np.ndarray, start: np.ndarray | None, budget: float) -> tuple[float, list[float],
                                                                                          list[float]]:
    """(the lowest level whose alarm episodes per series-year on these in-control `paths` stay within `budget` at
    it and every level above, and a 61-point table of levels and rates for return periods)."""
    finite = paths[np.isfinite(paths)]
    grid = np.linspace(0.0, max(3.0, float(finite.max(initial=0.0)) + 0.05), 601)
    rates = alarm_rate(paths, grid, start)
    ok = np.maximum.accumulate(rates[::-1])[::-1] <= budget  # every higher level is ok too
    chosen = float(grid[np.argmax(ok)]) if ok.any() else float(grid[-1])
    keep = np.unique(np.r_[np.searchsorted(grid, chosen), np.linspace(0, len(grid) - 1, 61).astype(int)])
    return chosen, [round(float(g), 4) for g in grid[keep]], [round(float(r), 5) for r in rates[keep]]


def min_detectable_change(model: Model, base: np.ndarray, paths, start: np.ndarray) -> float | None:
    """The smallest relative sustained change in the worse direction (STEPS) flagged within HORIZON months of
    its start at least PROMISE of the time; None if even the largest is not.

    `base` is the expected value of the FUTURE_MONTHS in-control months and the HORIZON months after them, when
    the step starts.  Only those HORIZON months are drawn, for every step from the same `start` (each simulated
    history's EWMA at the end of its in-control year): the in-control months before a step are alike whatever
    its size, so one year drawn for all steps measures each as well as a year drawn for each, at a fifth of the
    draws."""
    steps = np.array([s for s in STEPS if model.worse > 0 or s < 1.0])
    shifted = np.outer(1 + model.worse * steps, base[FUTURE_MONTHS:])
    if model.kind == "percentage":
        cycle = np.resize(np.array(model.trials) if model.trials else np.array([1.0]), len(base))
        shifted = np.minimum(shifted, cycle[FUTURE_MONTHS:] * 0.999)
    level, z = paths(shifted, slice(FUTURE_MONTHS, None), start)  # (S, B, HORIZON) each
    flagged = (level > model.threshold) | (z > model.shewhart)
    caught = flagged.any(axis=-1).mean(axis=-1)
    hit = np.nonzero(caught >= PROMISE)[0]
    return float(steps[hit[0]]) if hit.size else None


# --- a series replayed month by month ----------------------------------------------------


@dataclass
class Judged:
    period: str
    value: float | None
    expected: float | None  # in the value's terms (count, or percentage 0-100)
    z: float | None
    ewma: float | None
    threshold: float | None
    flag: str | None  # "concern", "improvement" or None
    since: str | None  # first month of the EWMA's run on this side
    observed_sum: float | None  # counts: since `since`; percentages: numerators
    expected_sum: float | None
    return_years: float | None
    model: Model | None = None
    check: str | None = None  # which check flagged the month: "ewma" or "single_month" (the Shewhart limit)


@dataclass
class State:
    """Where a series' detector stands after a month: stored by the cycle, continued the next month."""

    model: Model | None
    ewma: float = 0.0
    last_period: str | None = None
    run_start: str | None = None
    run_side: int = 0
    observed_sum: float = 0.0
    expected_sum: float = 0.0
    trials_sum: float = 0.0
    segment_start: str | None = None

    def as_dict(self) -> dict:
        out = asdict(self)
        out["model"] = None if self.model is None else self.model.as_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> State:
        data = dict(data)
        data["model"] = None if data["model"] is None else Model.from_dict(data["model"])
        return cls(**data)


def due_for_refit(state: State, period: str) -> bool:
    return state.model is None or month_number(period) - month_number(state.model.first_judged) >= REFIT_MONTHS


def replay(periods: list[str], values: list[float | None], numerators: list[float | None] | None,
           denominators: list[float | None] | None, kind: Kind, seasonal: bool, worse: int,
           settings: EarlySettings, rebases: list[str] = (), key: str = "", state: State | None = None,
           detectable: bool = True) -> tuple[list[Judged], State]:
    """Judge each month of one series on its history up to the month before, as the monthly cycle would have.

    `periods` are consecutive months in order (None for a missing value).
    The model is fitted when `min_months` observed months exist, refitted
    every 12 months and from each re-base month (`rebases`: the history
    before it is then left out and the EWMA restarts).  With `state` (the
    last cycle's), judging continues from it and `periods` need only start
    at the state's segment; months up to `state.last_period` are skipped.
    """
    state = state or State(model=None, segment_start=periods[0] if periods else None)
    judged: list[Judged] = []
    numbers = [month_number(p) for p in periods]
    rebase_numbers = sorted(month_number(r) for r in rebases)
    for i, period in enumerate(periods):
        if state.last_period is not None and period <= state.last_period:
            continue
        latest_rebase = max((r for r in rebase_numbers if r <= numbers[i]), default=None)
        if latest_rebase is not None and month_number(state.segment_start or periods[0]) < latest_rebase:
            state = State(model=None, segment_start=period_of(latest_rebase))
        if due_for_refit(state, period):
            start = month_number(state.segment_start or periods[0])
            lo = next(j for j, n in enumerate(numbers) if n >= start)
            history = slice(lo, i)
            y = numerators if kind == "percentage" else values
            model = fit_model(
                kind, periods[history], _array(y[history]),
                None if kind == "count" else _array(denominators[history]), seasonal, worse, settings,
                seed_of(key, period),
                detectable and numbers[-1] - numbers[i] < REFIT_MONTHS,  # only the model left at the end is shown
            ) if i > lo else None
            if model is not None:
                state.model = model
        row = _judge(state, period, values[i], None if numerators is None else numerators[i],
                     None if denominators is None else denominators[i], settings)
        judged.append(row)
        state.last_period = period
    return judged, state


def _array(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _judge(state: State, period: str, value, numerator, denominator, settings: EarlySettings) -> Judged:
    model = state.model
    if model is None:
        return Judged(period, value, None, None, None, None, None, None, None, None, None)
    z, exp = model.standardised(period, value, numerator, denominator)
    if z is not None:
        state.ewma = (1 - settings.smoothing) * state.ewma + settings.smoothing * z
        side = 1 if state.ewma > 0 else -1 if state.ewma < 0 else 0
        if side != state.run_side or state.run_start is None:
            state.run_start, state.run_side = period, side
            state.observed_sum = state.expected_sum = state.trials_sum = 0.0
        if model.kind == "count":
            state.observed_sum += value
            state.expected_sum += exp
        else:
            state.observed_sum += numerator
            state.expected_sum += denominator * exp / 100.0
            state.trials_sum += denominator
    side, check = model.check(state.ewma, z)
    flag = {1: "concern", -1: "improvement"}.get(side)
    if model.kind == "count":
        obs_sum, exp_sum = state.observed_sum, state.expected_sum
    elif state.trials_sum:
        obs_sum, exp_sum = 100 * state.observed_sum / state.trials_sum, 100 * state.expected_sum / state.trials_sum
    else:
        obs_sum = exp_sum = None
    years = None
    if check == "ewma":
        years = model.return_period(abs(state.ewma))
    elif check == "single_month":
        years = model.return_period(abs(z), single_month=True)
    return Judged(period, value, exp, z, state.ewma, model.threshold, flag, state.run_start, obs_sum, exp_sum,
                  years, model, check)


def promise(model: Model | None, months: int, settings: EarlySettings, worse: int) -> dict:
    """What the detector can promise for a series, as the screen and `radar indicators --json` state it."""
    if model is None:
        return {"min_detectable_change": None, "promise": "too_short",
                "statement": f"Too short for any promise: the early warning needs {settings.min_months} months of "
                             f"history (this series has {months})."}
    if model.min_change is None:
        return {"min_detectable_change": None, "promise": "too_small",
                "statement": "Too small for any promise: even a sustained change of 100% would more often than not "
                             "go unnoticed for over 3 months."}
    words = "rise" if worse > 0 else "fall"
    return {"min_detectable_change": model.min_change, "promise": "ok",
            "statement": f"A sustained {words} of about {model.min_change:.0%} would be noticed within 3 months "
                         "at least half the time."}


def settings_from(alerts) -> EarlySettings:
    """The detector's settings from radar/core/alerts.yaml's `early_warning` (an AlertSettings)."""
    early = alerts.early_warning
    return EarlySettings(false_alarms_per_year=early.false_alarms_per_year, min_months=early.min_months,
                         smoothing=early.smoothing)
