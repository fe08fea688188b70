"""`target_missed`: a local target is missed, or lies outside the usual range (MDC assurance "consistently failing").

The month's value is the one agencies reported, never a seasonally
adjusted chart value: a target is set on what is reported.
"""

from __future__ import annotations

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue
from radar.pipelines import messages
from radar.pipelines.alerts.rule import Reads, Rule, candidate_frame, children_based_on

TARGET_MISSED = Rule(
    "target_missed",
    "{name} stood at {value} in {month}, {comparison} the {year} target of {target}{outlook}.",
    "medium", "the reported value misses the local target, or assurance says the target will mostly be missed",
    Reads(inputs=("values", "points", "summary", "targets")),
)


def target_missed(
    points: pl.DataFrame,
    values: pl.DataFrame,
    summary: pl.DataFrame,
    targets: pl.DataFrame,
    catalogue: Catalogue,
    period: str,
    scope: str,
    settings: AlertSettings,
) -> pl.DataFrame:
    """Total series that miss their local target at `period`, or cannot be expected to meet it.

    The month's value is the REPORTED one (`values`, indicator_value rows):
    a target is set on what agencies report, never on a seasonally adjusted
    chart value.  `points` supply the usual range.  `targets` holds
    indicator, value, year ("2019-20").  A target stands until the
    partnership sets a newer one, so the month uses the latest target whose
    year is not after the month's financial year.  Which side misses comes
    from polarity (down_is_bad: below the target misses); a neutral indicator
    has no "worse" side and never misses.  `summary` (`pipelines.spc.summarise`)
    supplies the MDC assurance icon: `consistently_failing` fires even in a
    month that happened to meet the target, because the process will usually
    miss it.
    """
    year = periods.financial_year_of(period)
    standing = (
        targets.filter(pl.col("year") <= year)
        .sort("year")
        .group_by("indicator", maintain_order=True)
        .last()
        .select("indicator", target="value", target_year="year")
    )
    total_at = (pl.col("breakdown") == "") & (pl.col("period") == period)
    assurance = summary.filter(total_at).select("indicator", "assurance")
    limits = points.filter(total_at).select("indicator", "lower", "upper")
    latest = (
        values.filter(total_at, pl.col("value").is_not_null())
        .select("indicator", "value", "denominator")
        .join(standing, on="indicator")
        .join(limits, on="indicator", how="left")
        .join(assurance, on="indicator", how="left")
        .sort("indicator")
    )
    rows = []
    for point in latest.iter_rows(named=True):
        indicator = catalogue.indicator_by_id[point["indicator"]]
        if indicator.polarity == "neutral":
            continue
        value, target = point["value"], point["target"]
        missed = value < target if indicator.polarity == "down_is_bad" else value > target
        failing = point["assurance"] == "consistently_failing"
        if not (missed or failing):
            continue
        unit = indicator.unit
        outlook = (
            f"; with a usual range of {messages.value_range(point['lower'], point['upper'], unit)}, "
            "the target will mostly be missed unless something changes"
            if failing else ""
        )
        rows.append(TARGET_MISSED.candidate(
            indicator=indicator.id, breakdown="", feed=indicator.feed, scope=scope, period=period,
            settings=settings, subgroup=indicator.subgroup,
            based_on=children_based_on(indicator, point, catalogue),
            evidence={
                "value": value, "target": target, "target_year": point["target_year"],
                "polarity": indicator.polarity, "assurance": point["assurance"], "lower": point["lower"], "upper": point["upper"],
            },
            name=indicator.name, value=messages.number(value, unit), month=periods.label(period),
            comparison="missing" if missed else "meeting", year=point["target_year"],
            target=messages.number(target, unit), outlook=outlook,
        ))
    return candidate_frame(rows)

