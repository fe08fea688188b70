"""Early warning against Making Data Count on simulated series like a partnership's (`make bench`).

Series: negative-binomial monthly counts of about 5, 20, 80 and 300 (overdispersion 1.5), with and
without a school-year pattern (lower in August and December, a yearly wave), and percentages on about
20, 50 and 100 children (beta-binomial); a quarter of them with autocorrelated months (AR(1) on the log
mean, 0.3) and a quarter with an outlier month (x2.5) in their history.  48 months of history, then 24
judged months.  Each month is judged on the data up to it, as the cycle would (pipelines/signal_replay):

- false alarms: alarm episodes (a flagged month after an unflagged one) per series-year on stable series;
- detection: a sustained step (in the worse direction) starting at a random month 3-12 of the judged
  window, sized in standard deviations (SD) of a month's noise at the step: the same number of steps in
  every SD band (`steps_per_band`), each with a size drawn evenly within its band (0.2-1 SD for
  "under 1", 3-5 SD for "3 and over") on a series type drawn from those that can carry it (counts: +10% to +200%; percentages: up
  to 95%); detected within 3 months when the detector flags a concern in the step's first 3 months;
  delay = months from the step's start to the first flag (never flagged counts as never, so a median
  can be "never").  Both detectors judge the same series, so each band also records the binomial
  standard error of the early warning's share and the paired standard error of its gain over MDC;
- time: the detector's monthly step for 150 authorities' ~40 series each from stored states, and the
  yearly refit (fit, simulation, threshold, minimum detectable change) per series.

Figures go to bench/results.json as early_warning_*.
"""

from __future__ import annotations

import math
import time

import numpy as np
import polars as pl

from radar.core.alert_settings import SpcSettings
from radar.pipelines import early_warning as ew
from radar.pipelines import glm
from radar.pipelines.signal_replay import mdc_alarms

HISTORY, JUDGED = 48, 24
START = 2016 * 12 + 3  # April 2016
BANDS = [(0, 1), (1, 1.5), (1.5, 2), (2, 2.5), (2.5, 3), (3, math.inf)]
BAND_NAMES = ["under_1sd", "1_1_5sd", "1_5_2sd", "2_2_5sd", "2_5_3sd", "3sd_plus"]
TYPES = [("count", 5, False), ("count", 20, False), ("count", 80, False), ("count", 300, False),
         ("count", 20, True), ("count", 80, True), ("count", 300, True),
         ("percentage", 20, False), ("percentage", 50, False), ("percentage", 100, False)]
PHI = 1.5
SHARE = 0.6


def _season(months: np.ndarray) -> np.ndarray:
    m = months % 12
    return np.exp(0.12 * np.sin(2 * np.pi * m / 12) - 0.35 * (m == 7) - 0.25 * (m == 11))


def one_sd(kind, size, seasonal, month):
    """A month's noise (one SD) relative to its level, at a running month number: what a step is sized in."""
    if kind == "count":
        level = size * (_season(np.array([month]))[0] if seasonal else 1.0)
        return math.sqrt(PHI / level)
    return math.sqrt(PHI * SHARE * (1 - SHARE) / size) / SHARE


def step_factor(kind, size, seasonal, month, sd) -> float | None:
    """The relative level after a step of `sd` SDs at `month`, or None when this series type cannot carry it."""
    factor = 1 + sd * one_sd(kind, size, seasonal, month)
    top = 0.95 / SHARE if kind == "percentage" else 3.0
    return factor if 1.1 <= factor <= top else None


def make_series(rng, kind, size, seasonal, step_at=None, factor=1.0):
    """(values, denominators or None, clean: neither autocorrelated nor with an outlier month) of one simulated
    series, with a sustained step to `factor` x its level from month `step_at`."""
    n = HISTORY + JUDGED
    months = np.arange(START, START + n)
    wobble = np.zeros(n)
    autocorrelated = rng.random() < 0.25
    if autocorrelated:
        for t in range(1, n):
            wobble[t] = 0.3 * wobble[t - 1] + rng.normal(0, 0.08)
    outlier = rng.integers(6, HISTORY) if rng.random() < 0.25 else None
    clean = not autocorrelated and outlier is None
    lift = np.ones(n)
    if step_at is not None:
        lift[step_at:] = factor
    if kind == "count":
        mean = size * (_season(months) if seasonal else 1.0) * np.exp(wobble) * lift
        if outlier is not None:
            mean[outlier] *= 2.5
        return glm.simulate("count", mean, PHI, None, rng).astype(float), None, clean
    trials = np.maximum(rng.poisson(size, n), 3).astype(float)
    share = np.clip(SHARE * np.exp(wobble) * lift, 0.01, 0.99)
    if outlier is not None:
        share[outlier] = min(share[outlier] * 1.5, 0.99)
    return glm.simulate("percentage", share * trials, PHI, trials, rng), trials, clean


def early_flags(kind, values, trials, seasonal, worse, settings, key) -> dict[int, str]:
    """The months the early warning flagged a concern, with the check that fired ("ewma" or "single_month")."""
    periods = [glm.period_of(START + t) for t in range(len(values))]
    vals = [float(v) for v in values]
    if kind == "count":
        judged, _ = ew.replay(periods, vals, None, None, kind, seasonal, worse, settings, key=key, detectable=False)
    else:
        pct = [100 * v / d for v, d in zip(vals, trials, strict=True)]
        judged, _ = ew.replay(periods, pct, vals, [float(d) for d in trials], kind, seasonal, worse, settings,
                              key=key, detectable=False)
    return {glm.month_number(j.period) - START: j.check for j in judged if j.flag == "concern"}


def mdc_flags(series: list[tuple[str, str, np.ndarray, np.ndarray | None, bool]], worse: str) -> dict[str, set[int]]:
    """Months flagged by MDC on the chart as it stood each month, for many series at once (seasonal apart)."""
    found: dict[str, set[int]] = {name: set() for name, *_ in series}
    judged_from = glm.period_of(START + HISTORY)
    for seasonal in (False, True):
        rows = []
        for name, kind, values, trials, s in series:
            if s != seasonal:
                continue
            shown = values if kind == "count" else 100 * values / trials
            rows += [(name, glm.period_of(START + t), float(v)) for t, v in enumerate(shown)]
        if not rows:
            continue
        frame = pl.DataFrame(rows, schema={"series": pl.String, "period": pl.String, "value": pl.Float64}, orient="row")
        flagged = mdc_alarms(frame, seasonal, worse, SpcSettings(), judged_from=judged_from)
        for name, period in flagged.select("series", "period").iter_rows():
            found[name].add(glm.month_number(period) - START)
    return found


def episodes(flags) -> int:
    judged = range(HISTORY, HISTORY + JUDGED)
    return sum(1 for t in judged if t in flags and (t - 1) not in flags)


def run(seed: int = 2026, stable_each: int = 30, steps_per_band: int = 120) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    settings = ew.EarlySettings()
    figures: dict[str, float] = {}

    # --- false alarms on stable series
    stable, clean_names = [], set()
    for _ in range(stable_each):
        for kind, size, seasonal in TYPES:
            values, trials, clean = make_series(rng, kind, size, seasonal)
            stable.append((f"s{len(stable)}", kind, values, trials, seasonal))
            if clean:
                clean_names.add(stable[-1][0])
    started, cpu = time.perf_counter(), time.process_time()
    early_eps = {name: episodes(early_flags(k, v, d, s, 1, settings, name)) for name, k, v, d, s in stable}
    early_seconds, early_cpu = time.perf_counter() - started, time.process_time() - cpu
    mdc = mdc_flags(stable, "higher")
    mdc_eps = sum(episodes(mdc[name]) for name, *_ in stable)
    years = len(stable) * JUDGED / 12
    figures["early_warning_false_alarms_per_year"] = sum(early_eps.values()) / years
    # series drawn exactly as the model assumes (no autocorrelation, no outlier month): the calibration's own case
    figures["early_warning_false_alarms_per_year_clean"] = sum(early_eps[n] for n in clean_names) / (
        len(clean_names) * JUDGED / 12)
    figures["early_warning_stable_clean_series"] = len(clean_names)
    figures["early_warning_mdc_false_alarms_per_year"] = mdc_eps / years
    figures["early_warning_stable_series"] = len(stable)

    # --- sustained steps, the same number in every SD band
    stepped, meta = [], {}
    for band, (lo, hi) in zip(BAND_NAMES, BANDS, strict=True):
        for _ in range(steps_per_band):
            at = HISTORY + int(rng.integers(3, 13))
            sd = float(rng.uniform(max(lo, 0.2), min(hi, 5.0)))  # below 0.2 SD no type fits +10% or more
            fits = [(t, f) for t in TYPES if (f := step_factor(*t, START + at, sd)) is not None]
            (kind, size, seasonal), factor = fits[rng.integers(len(fits))]
            values, trials, _ = make_series(rng, kind, size, seasonal, at, factor)
            name = f"t{len(stepped)}"
            stepped.append((name, kind, values, trials, seasonal))
            meta[name] = (at, band)
    started, cpu = time.perf_counter(), time.process_time()
    early = {name: early_flags(k, v, d, s, 1, settings, name) for name, k, v, d, s in stepped}
    early_seconds += time.perf_counter() - started
    early_cpu += time.process_time() - cpu
    mdc = mdc_flags(stepped, "higher")
    by_band: dict[str, dict[str, list[float]]] = {b: {"early": [], "mdc": []} for b in BAND_NAMES}
    single_month = caught = 0
    for name, (at, band) in meta.items():
        for which, flags in (("early", early[name]), ("mdc", mdc[name])):
            after = [t for t in sorted(flags) if t >= at]
            by_band[band][which].append(after[0] - at if after else math.inf)
        first = [t for t in sorted(early[name]) if t >= at][:1]
        caught += bool(first)
        single_month += bool(first) and early[name][first[0]] == "single_month"
    for band, found in by_band.items():
        within = {}
        for which, delays in found.items():
            prefix = "early_warning" if which == "early" else "early_warning_mdc"
            delays = np.array(delays)
            within[which] = (delays < 3).astype(float)
            figures[f"{prefix}_{band}_within_3m"] = float(np.mean(within[which]))
            median = float(np.median(delays))
            figures[f"{prefix}_{band}_median_delay_months"] = median if math.isfinite(median) else -1.0
        n = len(found["early"])
        p = float(np.mean(within["early"]))
        figures[f"early_warning_{band}_steps"] = n
        figures[f"early_warning_{band}_within_3m_se"] = math.sqrt(p * (1 - p) / n)  # binomial
        gain = within["early"] - within["mdc"]  # paired: the same series judged by both
        figures[f"early_warning_{band}_gain_within_3m"] = float(gain.mean())
        figures[f"early_warning_{band}_gain_within_3m_se"] = float(gain.std(ddof=1) / math.sqrt(n))
    figures["early_warning_single_month_share_of_first_flags"] = single_month / max(caught, 1)
    figures["early_warning_replay_seconds_per_series"] = early_seconds / (len(stable) + len(stepped))
    figures["early_warning_replay_cpu_seconds_per_series"] = early_cpu / (len(stable) + len(stepped))

    # --- time for 150 authorities x 40 series: a month from stored states, and a refit
    sample = stable[:40]
    states = []
    refit_started, refit_cpu = time.perf_counter(), time.process_time()
    for name, kind, values, trials, seasonal in sample:
        periods = [glm.period_of(START + t) for t in range(HISTORY)]
        if kind == "count":
            _, state = ew.replay(periods, [float(v) for v in values[:HISTORY]], None, None, kind, seasonal, 1,
                                 settings, key=name)
        else:
            _, state = ew.replay(periods, list(100 * values[:HISTORY] / trials[:HISTORY]),
                                 [float(v) for v in values[:HISTORY]], [float(d) for d in trials[:HISTORY]], kind,
                                 seasonal, 1, settings, key=name)
        states.append(state)
    refit_40 = time.perf_counter() - refit_started  # one fit + calibration (with detectable change) per series
    refit_40_cpu = time.process_time() - refit_cpu
    month = glm.period_of(START + HISTORY)
    saved = [s.as_dict() for s in states]
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(150):
        for (name, kind, values, trials, seasonal), data in zip(sample, saved, strict=True):
            state = ew.State.from_dict(data)
            state.model.first_judged = month  # not due for a refit this month
            v = float(values[HISTORY])
            if kind == "count":
                ew.replay([month], [v], None, None, kind, seasonal, 1, settings, key=name, state=state)
            else:
                d = float(trials[HISTORY])
                ew.replay([month], [100 * v / d], [v], [d], kind, seasonal, 1, settings, key=name, state=state)
    figures["early_warning_month_seconds_150la"] = time.perf_counter() - started
    figures["early_warning_month_cpu_seconds_150la"] = time.process_time() - cpu
    figures["early_warning_refit_seconds_partnership_40_series"] = refit_40
    figures["early_warning_refit_cpu_seconds_partnership_40_series"] = refit_40_cpu
    figures["early_warning_refit_cpu_seconds_150la"] = refit_40_cpu * 150  # 150 partnerships' refits, one core
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
