"""Quasi-likelihood GLMs for monthly series, many fitted at once: the expected values early warning compares with.

Counts are quasi-Poisson (log link), percentages quasi-binomial on numerator
and denominator (logit link); the terms are an intercept, a linear trend
only where it is significant (`fit_with_selection`), and for seasonal
indicators one yearly harmonic and the school-holiday months (`design`).
`irls` fits a batch of series (or of simulated copies of one) by
iteratively reweighted least squares, vectorised over the batch, and is
tested equal to statsmodels; `simulate` draws series from a fitted model
(negative binomial or beta-binomial with its overdispersion), which is how
pipelines/early_warning.py calibrates its thresholds.  Plain numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["count", "percentage"]

TREND_Z = 1.96
OUTLIER_Z = 3.0  # a history month further than this from the fit, in its own noise, is left out of phi
HOLIDAYS = (8, 12)  # August and December: school holidays
ONE_THREAD = 2**18  # multiply-adds up to which OpenBLAS computes a matrix product on the calling thread alone


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
    pearson2: np.ndarray  # (B, T) each month's squared Pearson residual (y - mu)^2 / V, NaN where not observed


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (B, n) @ b (n, k) in blocks of rows, each small enough for OpenBLAS to keep on the calling thread.

    One large product is shared among the cores, and on a busy machine the
    calling thread then waits for a core to come free, product after
    product: on two busy cores the refit's products took ten times as long
    on average as the same products in blocks (whose time hardly varies)."""
    rows = max(1, ONE_THREAD // (a.shape[1] * b.shape[1]))
    whole = len(a) // rows * rows
    blocks = a[:whole].reshape(-1, rows, a.shape[1]) @ b  # numpy multiplies stacked blocks one by one
    return np.concatenate([blocks.reshape(whole, b.shape[1]), a[whole:] @ b])


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

    `x` is (T, p), shared by the batch; `y` (B, T); `mask` (B, T) True where
    a month is observed.  The coefficients are the Poisson/binomial maximum
    likelihood ones (what statsmodels' GLM gives); `phi` is Pearson's
    chi-square over its degrees of freedom (statsmodels' `scale="X2"`).

    With x shared, every series' X'WX is one matrix product of the weights
    (B, T) with each month's x x' (T, p x p), and X'Wz one of the weighted
    working values with x: plain matrix products, where B stacked (p, T) x
    (T, p) products would cost the calibration's 1,000 refits ten times as
    long.
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    b, t = y.shape
    mask = np.ones_like(y, dtype=bool) if mask is None else np.atleast_2d(mask)
    if kind == "percentage":
        trials = np.atleast_2d(np.asarray(trials, dtype=float))
        mask = mask & (trials > 0)
        trials = np.where(mask, trials, 1.0)
    y = np.where(mask, y, 0.0)
    x = np.asarray(x, dtype=float)
    p = x.shape[1]
    outer = (x[:, :, None] * x[:, None, :]).reshape(t, p * p)  # each month's x x'

    def gram(weight: np.ndarray) -> np.ndarray:
        """X'WX for each series' weights (B, T): (B, p, p)."""
        return _dot(weight, outer).reshape(b, p, p) + 1e-10 * np.eye(p)

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
    for _ in range(iterations):
        mu, var = _mean(kind, eta, trials)
        var = np.maximum(var, 1e-12)
        # d eta / d mu: 1/mu (log), 1/(n p (1-p)) per unit of y (logit on counts of trials)
        weight = var * w_obs  # working weight: (dmu/deta)^2 / var = var for both canonical links
        working = eta + (y - mu) / var
        new = np.linalg.solve(gram(weight), _dot(weight * working, x)[..., None])[..., 0]
        step = np.abs(new - coef).max(axis=1)
        coef = new
        eta = _dot(coef, x.T)
        converged = step < tol
        if converged.all():
            break
    mu, var = _mean(kind, eta, trials)
    xtwx = gram(np.maximum(var, 1e-12) * w_obs)
    pearson2 = np.where(mask, (y - mu) ** 2 / np.maximum(var, 1e-12), np.nan)
    dof = np.maximum(w_obs.sum(axis=1) - p, 1)
    return Fit(coef, np.nansum(pearson2, axis=1) / dof, np.linalg.inv(xtwx), converged, pearson2)


def robust_phi(fit: Fit) -> np.ndarray:
    """The overdispersion without the history's outlying months, floored at 1: (B,).

    Pearson's phi squares every month's residual, so one wild month (a data
    error, a one-off spike) can multiply it several times over, and with it
    every later month's standardised excess is shrunk: the series goes
    nearly blind for as long as that month stays in its history.  Months
    further than OUTLIER_Z of their own noise from the fit are left out of
    phi (twice over, as phi settles).  Simulated histories are refitted the
    same way, so the calibration allows for what this leaves out.
    """
    p = fit.coef.shape[1]
    phi = np.maximum(fit.phi, 1.0)
    for _ in range(2):
        kept = fit.pearson2 <= OUTLIER_Z**2 * phi[:, None]  # NaN (not observed) compares False
        phi = np.maximum(np.where(kept, fit.pearson2, 0.0).sum(axis=1) / np.maximum(kept.sum(axis=1) - p, 1), 1.0)
    return phi


def fit_with_selection(kind: Kind, months: np.ndarray, y: np.ndarray, trials: np.ndarray | None,
                       mask: np.ndarray | None, seasonal: bool, origin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coef with the trend's column zero where not kept, phi floored at 1, trend kept) for B series.

    The model with a trend is fitted; where its trend is not significant
    (|coef / se| < 1.96, se from the quasi-likelihood covariance) the model
    without one is used.  Coefficients are always in the with-trend layout.
    The overdispersion is `robust_phi`'s.
    """
    with_trend = irls(kind, design(months, seasonal, True, origin), y, trials, mask)
    without = irls(kind, design(months, seasonal, False, origin), y, trials, mask)
    phi_t = robust_phi(with_trend)
    se = np.sqrt(phi_t * with_trend.cov_unscaled[:, 1, 1])
    keep = np.abs(with_trend.coef[:, 1]) > TREND_Z * se
    flat = np.insert(without.coef, 1, 0.0, axis=1)
    coef = np.where(keep[:, None], with_trend.coef, flat)
    phi = np.where(keep, phi_t, robust_phi(without))
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
    # A masked month has no trials (0): its draw is 0 whatever its share, which must still be a probability.
    share = np.clip(np.divide(mean, trials, out=np.zeros(np.broadcast(mean, trials).shape), where=trials > 0),
                    1e-9, 1 - 1e-9)
    n = np.round(trials).astype(np.int64)
    rho = np.where(n > 1, (phi - 1.0) / np.maximum(n - 1, 1), 0.0)
    rho = np.clip(rho, 0.0, 0.999)
    if phi > 1.0 + 1e-9:
        a = share * (1 - rho) / np.maximum(rho, 1e-12)
        b = (1 - share) * (1 - rho) / np.maximum(rho, 1e-12)
        share = np.where(rho > 0, rng.beta(np.maximum(a, 1e-6), np.maximum(b, 1e-6)), share)
    return rng.binomial(n, share).astype(float)
