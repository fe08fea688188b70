"""`spc_signals`: the latest month of an XmR chart shows special-cause variation (MDC's rules).

A concern is an alert (`spc_<signal>`); an improvement is a positive signal
(`improvement_<signal>`) for the dashboard, never an alert.  Messages state
the value as the agency reported it (indicator_value.value); a seasonal
indicator's chart value, net of the time of year, is named beside it.  An
alert's `since` is where the unbroken run of months signalling the same
concern began.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue, Indicator
from radar.core.periods import shift
from radar.pipelines import messages
from radar.pipelines.alerts.rule import Reads, Rule, candidate_frame, children_based_on

SERIES_KEYS = ["indicator", "breakdown"]
SPC_READS = Reads(inputs=("points", "values"))
SPC_RULES = {
    "outside_limits": Rule(
        "spc_outside_limits",
        "{name} stood at {value} in {month}, {side} the usual range of {range}.",
        "high", "the latest month of a total series is outside its usual range (process limits), on the worse side",
        SPC_READS,
    ),
    "trend": Rule(
        "spc_trend",
        "{name} {moved} every month from {start_value} in {start} to {value} in {month}.",
        "medium", "a total series has risen (or fallen) for `spc.run_length` months running (7), in the worse direction",
        SPC_READS,
    ),
    "two_of_three": Rule(
        "spc_two_of_three",
        "{name} came close to the {edge} of the usual range ({range}) in two of the last three months, "
        "with {value} in {month}.",
        "medium", "two of the last three months of a total series are near the worse edge of the usual range",
        SPC_READS,
    ),
    "shift": Rule(
        "spc_shift",
        "{name} stayed {side} average for {length} months running (since {start}).",
        "medium", "a total series has stayed on the worse side of its average for `spc.run_length` months running (7)",
        SPC_READS,
    ),
}


def spc_signals(
    points: pl.DataFrame, catalogue: Catalogue, period: str, scope: str, settings: AlertSettings,
    values: pl.DataFrame | None = None, scope_by: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(concerns, improvements) from the XmR points (`pipelines.spc.xmr` output) at the cycle month.

    Only a series whose chart is labelled `ok` and whose point at `period`
    has a signal counts, and only a total unless the settings alert on
    breakdowns (`spc.alert_on_breakdowns`); MDC reports a point's
    highest-priority rule, so a series raises at most one.  A neutral
    indicator's signal is neither a concern nor an improvement and raises
    nothing.  Improvements carry no severity: they are shown, never alerted.

    `values` are the reported indicator values (indicator_value rows): the
    message states them, with a seasonal chart's value beside them, and their
    denominators say how many children an average or percentage rests on.
    Without them (the national benchmark times the selection only) the
    message states the charted value and names the seasonal adjustment.
    `since` is where the unbroken run of months signalling the same concern
    (any special cause on the same side) began: a rise flagged since 2018 is
    not new in 2020 because Radar's first cycle ran then.

    `scope_by` names a column of `points` (and `values`) that holds each
    series' own scope, so many areas' charts are judged in one call (the
    national benchmark's la_code); `scope` then goes unused.
    """
    keys = [scope_by, *SERIES_KEYS] if scope_by else SERIES_KEYS
    firing = points.filter(
        pl.col("period") == period, pl.col("label") == "ok", pl.col("signal").is_not_null(),
        pl.col("assessment").is_in(["concern", "improvement"]),
        pl.lit(settings.spc.alert_on_breakdowns) | (pl.col("breakdown") == ""),
    )
    reported = _reported(values, firing, keys)
    histories = _histories(points, firing, period, keys)
    concerns, improvements = [], []
    for point in firing.iter_rows(named=True):
        indicator = catalogue.indicator_by_id[point["indicator"]]
        rule = SPC_RULES[point["signal"]]
        series = tuple(point[key] for key in keys)
        history = histories[series]
        own = {row["period"]: row for row in reported.get(series, ())} if reported is not None else None
        fields, extra = _spc_fields(point, indicator, history, own)
        same_cause = _run_back(history, lambda earlier, later: (
            earlier["signal"] is not None and earlier["assessment"] == later["assessment"]
            and earlier["direction"] == later["direction"]
        ))
        row = own.get(period) if own is not None else None
        common = dict(
            indicator=indicator.id, breakdown=point["breakdown"], feed=indicator.feed,
            scope=point[scope_by] if scope_by else scope, period=period,
            subgroup=indicator.subgroup, settings=settings, since=same_cause[0]["period"],
            based_on=children_based_on(indicator, row, catalogue),
            evidence=dict(
                value=row["value"] if row else point["value"], mean=point["mean"], lower=point["lower"],
                upper=point["upper"], signal=point["signal"], direction=point["direction"],
                **({"adjusted_value": point["value"]} if row and indicator.seasonal else {}), **extra,
            ),
            **fields,
        )
        if point["assessment"] == "concern":
            concerns.append(rule.candidate(**common))
        else:
            improvements.append(replace(rule, id=f"improvement_{point['signal']}").candidate(alerting=False, **common))
    return candidate_frame(concerns), candidate_frame(improvements)


HISTORY_COLUMNS = ("period", "segment", "value", "mean", "signal", "assessment", "direction")


def _histories(
    points: pl.DataFrame, firing: pl.DataFrame, period: str, keys: list[str]
) -> dict[tuple, list[dict]]:
    """Each firing series' points up to `period`, in month order, by its `keys`.

    Read at once (a join, a sort, the rows by series), where a filter of the
    whole chart per firing point made alerting the slowest step of a national
    run; only the columns a run back along the chart reads (`_run_back`).
    """
    own = (
        points.lazy().filter(pl.col("period") <= period).join(firing.lazy().select(keys), on=keys, how="semi")
        .select(*keys, *HISTORY_COLUMNS).sort(*keys, "period").collect()
    )
    return own.rows_by_key(keys, named=True, include_key=True)


def _reported(values: pl.DataFrame | None, firing: pl.DataFrame, keys: list[str]) -> dict[tuple, list[dict]] | None:
    """The reported rows of the firing series, by their `keys`; None without `values`."""
    if values is None:
        return None
    return values.join(firing.select(keys), on=keys, how="semi").rows_by_key(keys, named=True, include_key=True)



def stated_value(charted: float, reported: dict | None, indicator: Indicator) -> str:
    """The value as reported, with a seasonal chart's value named beside it: "4,300 (3,726 allowing for the time of year)"."""
    unit = indicator.unit
    if reported is None or reported["value"] is None:
        return messages.number(charted, unit)
    text = messages.number(reported["value"], unit)
    if indicator.seasonal:
        text += f" ({messages.number(charted, unit)} allowing for the time of year)"
    return text


def _spc_fields(point: dict, indicator: Indicator, history: list[dict], reported: dict | None) -> tuple[dict, dict]:
    """The message fields of an SPC signal, and the run details that go into its evidence.

    `reported` holds the series' reported rows by month (None without reported values)."""
    unit, high = indicator.unit, point["direction"] == "high"
    # Without reported values the charted value is all there is: a seasonal one is net of the time of year.
    name = (f"{indicator.name}, allowing for the time of year,"
            if indicator.seasonal and reported is None else indicator.name)

    def stated(row: dict) -> str:
        return stated_value(row["value"], (reported or {}).get(row["period"]), indicator)

    fields = {
        "name": messages.series_name(name, point["breakdown"]),
        "value": stated(point),
        "month": periods.label(point["period"]),
        "range": messages.value_range(point["lower"], point["upper"], unit),
        "side": "above" if high else "below",
        "edge": "top" if high else "bottom",
        "moved": "rose" if high else "fell",
    }
    if point["signal"] not in ("trend", "shift"):
        return fields, {}
    sign = 1 if high else -1
    if point["signal"] == "trend":
        run = _run_back(history, lambda earlier, later: (later["value"] - earlier["value"]) * sign > 0)
    else:
        run = _run_back(history, lambda earlier, later: (earlier["value"] - earlier["mean"]) * sign > 0)
    start = run[0]
    fields |= {
        "start": periods.label(start["period"]),
        "start_value": stated(start),
        "length": str(len(run)),
    }
    return fields, {"run_start": start["period"], "run_length": len(run)}


def _run_back(history: list[dict], continues) -> list[dict]:
    """The run of points ending at the last one: earlier points are added while
    they are the month before, in the same segment, have a value and
    `continues(earlier, later)` holds (the same test the SPC rule applied)."""
    run = [history[-1]]
    for earlier in reversed(history[:-1]):
        later = run[0]
        if (
            earlier["value"] is None
            or earlier["segment"] != later["segment"]
            or earlier["period"] != shift(later["period"], -1)
            or not continues(earlier, later)
        ):
            break
        run.insert(0, earlier)
    return run

