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
  `phi` is Pearson's chi-square over its degrees of freedom, never below 1.
- **Standardised excess** z = (observed - expected) / sqrt(phi x variance),
  and its EWMA E_t = (1 - lambda) E_{t-1} + lambda z_t (a missing month
  leaves E unchanged).  A month is flagged when E passes the threshold on
  the worse side; on the better side it is an improvement, shown, never
  alerted.
- **Threshold by simulation** from the series' own fitted model
  (`calibrate`): histories are drawn from the model (negative binomial or
  beta-binomial with its overdispersion), refitted exactly as the real one
  is (so the estimation error is in the simulation), the 12 months it
  will judge drawn three times over and judged with the EWMA carried in
  from its long-run spread; the threshold is the lowest at which stable series
  raise at most `false_alarms_per_year` alarms (episodes, as the alert
  lifecycle counts them) per series-year.  The same simulation with a
  sustained step gives the smallest change flagged within 3 months at least
  half the time (`min_detectable_change`).
- **Refits** every 12 months, or from a recorded re-base (the history
  before it is then left out).

Everything here is numpy on plain arrays; `irls` fits many series (or many
simulated copies of one) at once, and is tested equal to statsmodels.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

Kind = Literal["count", "percentage"]

FUTURE_MONTHS = 12  # months simulated after each fit to count false alarms: a model judges 12, then is refitted
FUTURES_PER_HISTORY = 3  # stable futures drawn per simulated history (the refits are the costly part)
BURN_IN = 12  # in-control months simulated before a step when measuring detection
HORIZON = 3  # "noticed within 3 months"
PROMISE = 0.5  # "... at least half the time"
STEPS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # relative sustained changes
REFIT_MONTHS = 12
TREND_Z = 1.96
HOLIDAYS = (8, 12)  # August and December: school holidays


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


# --- months and designs ----------------------------------------------------------------


def month_number(period: str) -> int:
    """"2020-03" -> a running month number (year x 12 + month - 1)."""
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def period_of(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def design(months: np.ndarray, seasonal: bool, trend: bool, origin: int) -> np.ndarray:
    """The model's columns for running month numbers: intercept, [trend in years], [sin, cos, August, December]."""
    months = np.asarray(months, dtype=float)
    columns = [np.ones_like(months)]
    if trend:
        columns.append((months - origin) / 12.0)
    if seasonal:
        angle = 2 * np.pi * (months % 12) / 12.0
        columns += [np.sin(angle), np.cos(angle)]
        columns += [(months % 12 == m - 1).astype(float) for m in HOLIDAYS]
    return np.stack(columns, axis=-1)


# --- the GLM, many at once -------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    coef: np.ndarray  # (B, p)
    phi: np.ndarray  # (B,) Pearson chi-square / (n - p), not floored
    cov_unscaled: np.ndarray  # (B, p, p) inverse of X'WX (times phi: the coefficients' covariance)
    converged: np.ndarray  # (B,)


def _mean(kind: Kind, eta: np.ndarray, trials: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance function) of y for the linear predictor."""
    if kind == "count":
        mu = np.exp(np.clip(eta, -30, 30))
        return mu, mu
    p = 1.0 / (1.0 + np.exp(-np.clip(eta, -30, 30)))
    return trials * p, trials * p * (1 - p)


def irls(kind: Kind, x: np.ndarray, y: np.ndarray, trials: np.ndarray | None = None,
         mask: np.ndarray | None = None, iterations: int = 50, tol: float = 1e-10) -> Fit:
    """Quasi-Poisson (log link) or quasi-binomial (logit link, `trials` per month) GLMs by iteratively
    reweighted least squares, for B series at once.

    `x` is (T, p) shared or (B, T, p); `y` (B, T); `mask` (B, T) True where a
    month is observed.  The coefficients are the Poisson/binomial maximum
    likelihood ones (what statsmodels' GLM gives); `phi` is Pearson's
    chi-square over its degrees of freedom (statsmodels' `scale="X2"`).
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    b, t = y.shape
    mask = np.ones_like(y, dtype=bool) if mask is None else np.atleast_2d(mask)
    if kind == "percentage":
        trials = np.atleast_2d(np.asarray(trials, dtype=float))
        mask = mask & (trials > 0)
        trials = np.where(mask, trials, 1.0)
    y = np.where(mask, y, 0.0)
    x = np.broadcast_to(x, (b, t, x.shape[-1])) if x.ndim == 2 else x  # (B, T, p): a view, not a copy
    p = x.shape[-1]
    w_obs = mask.astype(float)
    # statsmodels' starting values
    if kind == "count":
        mu = (y + (y * w_obs).sum(1, keepdims=True) / np.maximum(w_obs.sum(1, keepdims=True), 1)) / 2
        eta = np.log(np.maximum(mu, 1e-8))
    else:
        prop = (y + 0.5) / (trials + 1)
        eta = np.log(prop / (1 - prop))
    coef = np.zeros((b, p))
    converged = np.zeros(b, dtype=bool)
    xtwx = np.zeros((b, p, p))
    for _ in range(iterations):
        mu, var = _mean(kind, eta, trials)
        var = np.maximum(var, 1e-12)
        # d eta / d mu: 1/mu (log), 1/(n p (1-p)) per unit of y (logit on counts of trials)
        weight = var * w_obs  # working weight: (dmu/deta)^2 / var = var for both canonical links
        working = eta + (y - mu) / var
        xw = x * weight[..., None]
        xtwx = np.matmul(xw.transpose(0, 2, 1), x) + 1e-10 * np.eye(p)
        xtwz = np.matmul(xw.transpose(0, 2, 1), working[..., None])
        new = np.linalg.solve(xtwx, xtwz)[..., 0]
        step = np.abs(new - coef).max(axis=1)
        coef = new
        eta = np.matmul(x, coef[..., None])[..., 0]
        converged = step < tol
        if converged.all():
            break
    mu, var = _mean(kind, eta, trials)
    xw = x * (np.maximum(var, 1e-12) * w_obs)[..., None]
    xtwx = np.matmul(xw.transpose(0, 2, 1), x) + 1e-10 * np.eye(p)
    pearson = (((y - mu) ** 2 / np.maximum(var, 1e-12)) * w_obs).sum(axis=1)
    dof = np.maximum(w_obs.sum(axis=1) - p, 1)
    return Fit(coef, pearson / dof, np.linalg.inv(xtwx), converged)


def fit_with_selection(kind: Kind, months: np.ndarray, y: np.ndarray, trials: np.ndarray | None,
                       mask: np.ndarray | None, seasonal: bool, origin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coef with the trend's column zero where not kept, phi floored at 1, trend kept) for B series.

    The model with a trend is fitted; where its trend is not significant
    (|coef / se| < 1.96, se from the quasi-likelihood covariance) the model
    without one is used.  Coefficients are always in the with-trend layout.
    """
    with_trend = irls(kind, design(months, seasonal, True, origin), y, trials, mask)
    without = irls(kind, design(months, seasonal, False, origin), y, trials, mask)
    phi_t = np.maximum(with_trend.phi, 1.0)
    se = np.sqrt(phi_t * with_trend.cov_unscaled[:, 1, 1])
    keep = np.abs(with_trend.coef[:, 1]) > TREND_Z * se
    flat = np.insert(without.coef, 1, 0.0, axis=1)
    coef = np.where(keep[:, None], with_trend.coef, flat)
    phi = np.maximum(np.where(keep, with_trend.phi, without.phi), 1.0)
    return coef, phi, keep


def expected(kind: Kind, coef: np.ndarray, months: np.ndarray, seasonal: bool, origin: int,
             trials: np.ndarray | None = None) -> np.ndarray:
    """Expected counts (or expected numerators, given `trials`) for B coefficient rows: (B, len(months)).
    Without trials a percentage model gives the expected proportion."""
    eta = np.einsum("tp,bp->bt", design(months, seasonal, True, origin), np.atleast_2d(coef))
    if kind == "count":
        return np.exp(np.clip(eta, -30, 30))
    share = 1.0 / (1.0 + np.exp(-np.clip(eta, -30, 30)))
    return share if trials is None else share * trials


def variance(kind: Kind, mean: np.ndarray, trials: np.ndarray | None) -> np.ndarray:
    if kind == "count":
        return mean
    share = mean / trials
    return trials * share * (1 - share)


def simulate(kind: Kind, mean: np.ndarray, phi: float, trials: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Draws with the model's mean and variance phi x V: negative binomial (counts) or beta-binomial."""
    if kind == "count":
        if phi <= 1.0 + 1e-9:
            return rng.poisson(mean)
        return rng.poisson(rng.gamma(mean / (phi - 1.0), phi - 1.0))
    # a month with no trials (no denominator) draws nothing; its share is any valid one, not 0 / 0
    share = np.clip(np.divide(mean, trials, out=np.zeros_like(mean, dtype=float), where=trials > 0), 1e-9, 1 - 1e-9)
    n = np.round(trials).astype(np.int64)
    rho = np.where(n > 1, (phi - 1.0) / np.maximum(n - 1, 1), 0.0)
    rho = np.clip(rho, 0.0, 0.999)
    if phi > 1.0 + 1e-9:
        a = share * (1 - rho) / np.maximum(rho, 1e-12)
        b = (1 - share) * (1 - rho) / np.maximum(rho, 1e-12)
        share = np.where(rho > 0, rng.beta(np.maximum(a, 1e-6), np.maximum(b, 1e-6)), share)
    return rng.binomial(n, share).astype(float)


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

    def return_period(self, level: float) -> float | None:
        """Years between in-control excursions of the EWMA this far to the worse side (None: rarer than the
        simulation could see)."""
        if not self.grid:
            return None
        rate = float(np.interp(level, self.grid, self.rates, right=0.0))
        return None if rate <= 0 else 1.0 / rate


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
    steps = BURN_IN + HORIZON
    future = np.arange(months[-1] + 1, months[-1] + 1 + max(FUTURE_MONTHS, steps))
    fut_trials = None
    if kind == "percentage":
        cycle = np.array(model.trials) if model.trials else np.array([1.0])
        fut_trials = np.resize(cycle, len(future))
    true_future = expected(kind, coef, future, model.seasonal, model.origin, fut_trials)[0]
    predicted = expected(kind, sim_coef, future, model.seasonal, model.origin, fut_trials)  # (B, F)
    scale = np.sqrt(np.maximum(sim_phi[:, None] * variance(kind, predicted, fut_trials), 1e-9))

    def paths(mean_future: np.ndarray, months_out: int, start: np.ndarray | float = 0.0) -> np.ndarray:
        """EWMA paths on the worse side, (..., B, months_out), of draws around `mean_future` (..., months_out)."""
        shape = (*mean_future.shape[:-1], b, months_out)
        means = np.broadcast_to(mean_future[..., None, :months_out], shape)
        obs = simulate(kind, means, model.phi, None if fut_trials is None else np.broadcast_to(
            fut_trials[:months_out], shape), rng)
        z = (obs - predicted[:, :months_out]) / scale[:, :months_out]
        return model.worse * ewma(z, settings.smoothing, model.worse * np.asarray(start))

    # A refitted model takes over an EWMA already running: it starts from the EWMA's long-run spread.
    lam = settings.smoothing
    start = rng.normal(0.0, math.sqrt(lam / (2 - lam)), (FUTURES_PER_HISTORY, b))
    stable = paths(np.broadcast_to(true_future[:FUTURE_MONTHS], (FUTURES_PER_HISTORY, FUTURE_MONTHS)),
                   FUTURE_MONTHS, start).reshape(-1, FUTURE_MONTHS)
    grid = np.linspace(0.0, max(3.0, float(stable.max()) + 0.05), 601)
    rates = alarm_rate(stable, grid, start.reshape(-1))
    ok = np.maximum.accumulate(rates[::-1])[::-1] <= settings.false_alarms_per_year  # every higher h is ok too
    model.threshold = float(grid[np.argmax(ok)]) if ok.any() else float(grid[-1])
    keep = np.unique(np.r_[np.searchsorted(grid, model.threshold), np.linspace(0, len(grid) - 1, 61).astype(int)])
    model.grid = [round(float(g), 4) for g in grid[keep]]
    model.rates = [round(float(r), 5) for r in rates[keep]]
    if detectable:
        model.min_change = min_detectable_change(model, true_future[:steps], paths)


def min_detectable_change(model: Model, base: np.ndarray, paths) -> float | None:
    """The smallest relative sustained change in the worse direction (STEPS) flagged within HORIZON months of
    its start at least PROMISE of the time; None if even the largest is not."""
    steps = np.array([s for s in STEPS if model.worse > 0 or s < 1.0])
    factor = 1 + model.worse * steps
    shifted = np.broadcast_to(base, (len(steps), len(base))).copy()
    shifted[:, BURN_IN:] *= factor[:, None]
    if model.kind == "percentage":
        cycle = np.resize(np.array(model.trials) if model.trials else np.array([1.0]), len(base))
        shifted = np.minimum(shifted, cycle * 0.999)
    judged = paths(shifted, len(base))  # (S, B, months)
    caught = (judged[..., BURN_IN:] > model.threshold).any(axis=-1).mean(axis=-1)
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
    level = model.worse * state.ewma
    flag = "concern" if level > model.threshold else "improvement" if level < -model.threshold else None
    if model.kind == "count":
        obs_sum, exp_sum = state.observed_sum, state.expected_sum
    elif state.trials_sum:
        obs_sum, exp_sum = 100 * state.observed_sum / state.trials_sum, 100 * state.expected_sum / state.trials_sum
    else:
        obs_sum = exp_sum = None
    return Judged(period, value, exp, z, state.ewma, model.threshold, flag, state.run_start, obs_sum, exp_sum,
                  model.return_period(abs(state.ewma)) if flag else None, model)


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
