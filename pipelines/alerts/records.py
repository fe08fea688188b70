"""Alert rules on record-level feeds: one setting drawing many LADO referrals, children missing again and again.

Monthly totals can hide both patterns: five allegations about one school are
lost in a borough's referrals, and a handful of children each missing many
times look like ordinary episode counts.  These rules look at the records
(already pseudonymised at ingest) and leave with counts only: no child
reference ever reaches a message or evidence.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import timedelta

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings
from radar.core.periods import month_range, shift
from radar.pipelines import messages
from radar.pipelines.alerts.rule import FEED_SUBGROUP, Reads, Rule, candidate_frame
from radar.pipelines.spc import xmr

LADO_FEED = "lado_referrals"
MISSING_FEED = "missing_episodes"


def poisson_tail(count: int, expected: float) -> float:
    """P(X >= count) for X ~ Poisson(expected): 1 - sum over k < count of e^-expected expected^k / k!.

    Written out with `math` (no scipy): the terms are built one from the last
    and summed with `fsum`, which is exact enough for the 1% threshold and
    never returns a negative probability.
    """
    if count <= 0:
        return 1.0
    term, below = math.exp(-expected), []
    for k in range(count):
        below.append(term)
        term *= expected / (k + 1)
    return max(0.0, 1.0 - math.fsum(below))


# --- LADO referrals concentrated on one setting -------------------------------------

SETTING_CONCENTRATION = Rule(
    "setting_concentration",
    "LADO referrals about setting {setting} ({setting_type}): {count} in the {window} months to {month}, "
    "where {usual} would be usual.",
    "high", "LADO referrals about one setting in the last 6 months are at least 3 and have a Poisson tail "
    "probability below 1% given what that setting and settings of its type usually see",
    Reads(records={LADO_FEED: ("setting_ref", "setting_type", "period")}),
    subgroup=FEED_SUBGROUP,
)


def setting_concentration(referrals: pl.DataFrame, period: str, settings: AlertSettings) -> pl.DataFrame:
    """Settings with clearly more LADO referrals in the window ending at `period` than they and their kind usually see.

    A setting is a (setting_ref, setting_type) pair.  The history is every
    month of `referrals` before the window; it must cover at least one whole
    window, or there is no "usual" to compare with.  Per window of history:

    - own average: the setting's referrals in the history / windows in it;
    - type average: referrals about settings of its type in the history /
      windows / the settings of that type Radar has seen (settings never
      referred are unknown to it, which over-states the usual rate and keeps
      the alert cautious).

    Expected = the larger of the two, so a setting with a long record of
    referrals is judged against itself and a new one against its peers.  The
    alert needs at least `min_referrals` and a Poisson tail P(X >= count)
    below `max_probability`.
    """
    thresholds = settings.setting_concentration
    window_start = shift(period, -(thresholds.window_months - 1))
    data = referrals.filter(pl.col("period") <= period)
    if data.is_empty():
        return candidate_frame([])
    history_months = len(month_range(data["period"].min(), window_start)) - 1
    if history_months < thresholds.window_months:
        return candidate_frame([])
    windows = history_months / thresholds.window_months
    setting = ["setting_ref", "setting_type"]
    history = data.filter(pl.col("period") < window_start)
    own = history.group_by(setting).agg(own=pl.len())
    by_type = (
        data.group_by("setting_type")
        .agg(settings_of_type=pl.col("setting_ref").n_unique())
        .join(history.group_by("setting_type").agg(type_total=pl.len()), on="setting_type", how="left")
    )
    counts = (
        data.filter(pl.col("period") >= window_start)
        .group_by(setting)
        .agg(count=pl.len())
        .filter(pl.col("count") >= thresholds.min_referrals)
        .join(own, on=setting, how="left")
        .join(by_type, on="setting_type", how="left")
        .with_columns(
            own_average=pl.col("own").fill_null(0) / windows,
            type_average=pl.col("type_total").fill_null(0) / windows / pl.col("settings_of_type"),
        )
        .with_columns(expected=pl.max_horizontal("own_average", "type_average"))
        .sort(setting)
    )
    rows = []
    for row in counts.iter_rows(named=True):
        probability = poisson_tail(row["count"], row["expected"])
        if probability >= thresholds.max_probability:
            continue
        rows.append(SETTING_CONCENTRATION.candidate(
            indicator=LADO_FEED, breakdown=row["setting_type"], feed=LADO_FEED, scope=row["setting_ref"],
            period=period, settings=settings,
            evidence={
                "count": row["count"], "expected": row["expected"], "own_average": row["own_average"],
                "type_average": row["type_average"], "probability": probability, "window_start": window_start,
                "window_end": period, "history_months": history_months, "settings_of_type": row["settings_of_type"],
            },
            setting=row["setting_ref"], setting_type=messages.label(row["setting_type"]), count=str(row["count"]),
            window=str(thresholds.window_months), month=periods.label(period), usual=_usual(row["expected"]),
        ))
    return candidate_frame(rows)


def _usual(expected: float) -> str:
    return "almost none" if expected < 0.05 else f"about {expected:.1f}"


# --- Children missing repeatedly ----------------------------------------------------

REPEAT_MISSING = Rule(
    "repeat_missing",
    "{children} went missing {times} or more times in the {days} days to {end}, more than usual: {reason}.",
    "high", "the monthly count of children with 3+ missing episodes in 90 days shows an upward special cause "
    "(counts only: never a child reference); months whose window lacks an accepted file are left out",
    Reads(inputs=("received",), records={MISSING_FEED: ("child_ref", "start_date", "period")}),
    subgroup=FEED_SUBGROUP,
)
REPEAT_SERIES = "repeat_missing"  # the series key the monthly counts are charted under
COUNTS_SCHEMA = {"period": pl.String, "value": pl.Float64}


def repeat_missing_counts(
    episodes: pl.DataFrame, period: str, settings: AlertSettings, received: Collection[str]
) -> pl.DataFrame:
    """Per month up to `period`: children with `min_episodes`+ episodes starting in the window to month end.

    The window is the `window_days` days ending on the month's last day,
    both ends included.  The series starts at the first month whose whole
    window lies inside the data (a window reaching back before the first
    month would undercount).  `received` are the months with an accepted
    missing-episodes file: a month whose window touches a month without one
    is left out (a gap in the chart), because a file that never arrived is
    not zero episodes and counting it so would lower the baseline.  Months
    with no such child are 0.  Returns [period, value] with counts only:
    child references never leave here.
    """
    counting = settings.repeat_missing
    if episodes.is_empty():
        return pl.DataFrame(schema=COUNTS_SCHEMA)
    first = episodes["period"].min()
    data_start = periods.first_day(first)
    windows = []
    for month in month_range(first, period):
        end = periods.last_day(month)
        start = end - timedelta(days=counting.window_days - 1)
        covered = all(m in received for m in month_range(periods.of_date(start), month))
        if start >= data_start and covered:
            windows.append((month, start, end))
    if not windows:
        return pl.DataFrame(schema=COUNTS_SCHEMA)
    frame = pl.DataFrame(windows, schema={"period": pl.String, "from": pl.Date, "to": pl.Date}, orient="row")
    # An episode can only be in the windows of the months from its start to window_days - 1 days later:
    # joined on those (a few per episode) rather than on every month of the history.
    start = pl.col("start_date")
    months = pl.date_ranges(start.dt.month_start(), start.dt.offset_by(f"{counting.window_days - 1}d").dt.month_start(),
                            interval="1mo")
    repeats = (
        episodes.select("child_ref", "start_date", period=months).explode("period")
        .with_columns(pl.col("period").dt.strftime("%Y-%m"))
        .join(frame, on="period")
        .filter(pl.col("start_date").is_between(pl.col("from"), pl.col("to")))
        .group_by("period", "child_ref")
        .agg(episodes=pl.len())
        .filter(pl.col("episodes") >= counting.min_episodes)
        .group_by("period")
        .agg(value=pl.len().cast(pl.Float64))
    )
    return (
        frame.select("period")
        .join(repeats, on="period", how="left")
        .with_columns(pl.col("value").fill_null(0.0))
        .sort("period")
    )



REASONS = {
    "outside_limits": "above the usual range of {range}",
    "trend": "the number has risen month after month",
    "two_of_three": "near the top of the usual range ({range}) in two of the last three months",
    "shift": "above the average of {mean} month after month",
}


def repeat_missing(
    episodes: pl.DataFrame, period: str, scope: str, settings: AlertSettings, received: Collection[str]
) -> pl.DataFrame:
    """An alert when the monthly count of children missing repeatedly shows an upward special cause at `period`.

    The counts (`repeat_missing_counts`, over the months in `received`) are
    charted with the same XmR rules and settings as every indicator; more
    children is worse.  Message and evidence hold counts and limits only; a
    count below the small-numbers floor says so.
    """
    series = repeat_missing_counts(episodes, period, settings, received).with_columns(
        indicator=pl.lit(REPEAT_SERIES))
    if series.is_empty():
        return candidate_frame([])
    polarity = pl.DataFrame({"indicator": [REPEAT_SERIES], "polarity": ["up_is_bad"]})
    points = xmr(series, ["indicator"], settings.spc_settings(), polarity=polarity)
    latest = points.filter(
        pl.col("period") == period, pl.col("label") == "ok", pl.col("signal").is_not_null(),
        pl.col("direction") == "high",
    )
    counting = settings.repeat_missing
    rows = []
    for point in latest.iter_rows(named=True):
        count = int(point["value"])
        reason = REASONS[point["signal"]].format(
            range=messages.value_range(point["lower"], point["upper"], "count"),
            mean=messages.number(point["mean"], "count"),
        )
        rows.append(REPEAT_MISSING.candidate(
            indicator=None, breakdown=None, feed=MISSING_FEED, scope=scope, period=period,
            settings=settings, based_on=count,
            evidence={
                "children": count, "mean": point["mean"], "lower": point["lower"], "upper": point["upper"],
                "signal": point["signal"], "window_days": counting.window_days, "min_episodes": counting.min_episodes,
            },
            children=messages.plural(count, "child", "children"), times=str(counting.min_episodes),
            days=str(counting.window_days), end=periods.day_label(periods.last_day(period)), reason=reason,
        ))
    return candidate_frame(rows)
