"""Alert rules on indicators and feeds: which signals need a subgroup's attention this month.

Each rule is a unit an analyst can find and question without reading the
engine, in the style of Data-to-Insight's validators: a `Rule` declares its
id, the sentence a Board member reads, its default severity, which subgroup
it goes to, when it fires (the docs' rule table is built from this) and what
it reads (`Reads`: the frames of the cycle, and for record-level rules the
feed and columns the cycle loads for it); the function that checks it sits
just below.  pipelines/alert_registry.py lists every rule with its check, and
the cycle, the settings and the docs read that list.  Every check returns
candidate alerts in CANDIDATE_SCHEMA for one cycle month; the lifecycle
(pipelines/alert_lifecycle.py) turns candidates into open, resolved or
silenced alerts.

- `spc_signals`: the latest month of an XmR chart shows special-cause
  variation.  A concern is an alert (`spc_<signal>`); an improvement is a
  positive signal (`improvement_<signal>`) for the dashboard, never an alert.
- `target_missed`: a local target is missed, or lies outside the usual range
  (MDC assurance "consistently failing").
- `benchmark_gap`: the latest DfE year is worse than both England and the
  statistical neighbours by more than the configured margin.
- `feed_alerts`: an agency's file is missing or was rejected.  Alerts on that
  feed's indicators are then held back (`hold_back`), because a chart that is
  missing its latest month says nothing about that month.

Record-level rules (LADO settings, repeat missing) are in
pipelines/alert_records.py.  Every candidate carries the feed its data came
from (null for DfE benchmarks), which is what lets a late feed hold its alerts
back, and `since`, the month its cause began (the lifecycle's first_period).

Messages state the value as the agency reported it (indicator_value.value);
a seasonal indicator's chart value, net of the time of year, is named beside
it.  An alert resting on fewer children than `small_numbers.min_children`
says so and is never rated high.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings, Severity
from radar.core.catalogue import Catalogue, Indicator
from radar.core.periods import shift
from radar.pipelines import messages

CANDIDATE_SCHEMA = {
    "key": pl.String, "rule": pl.String, "indicator": pl.String, "breakdown": pl.String, "feed": pl.String,
    "scope": pl.String, "period": pl.String, "since": pl.String, "severity": pl.String, "subgroup": pl.String,
    "message": pl.String, "evidence": pl.String,
}
SERIES_KEYS = ["indicator", "breakdown"]
FEED_SUBGROUP = "pci"  # Performance, Challenge & Impact chases agencies for their data
HOLDING_STATUSES = ("missing", "rejected")
CAPPED = {"high": "medium"}  # what a small-numbers alert is rated instead


@dataclass(frozen=True)
class Reads:
    """What a rule reads: frames the cycle computes (`inputs`, fields of `alert_registry.CycleInputs`)
    and record-level feeds with the columns it uses (`records`), which the cycle loads for it."""

    inputs: tuple[str, ...] = ()
    records: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One alert rule, declared once: everything but its check (see pipelines/alert_registry.py)."""

    id: str
    message: str  # filled with str.format; every {field} is supplied by the rule's check
    severity: Severity  # the default; radar/core/alerts.yaml may override it
    fires_when: str  # one plain-English sentence for the docs' rule table
    reads: Reads
    subgroup: str | None = None  # None: the subgroup of the indicator the alert is about
    subgroup_words: str = "the indicator's subgroup"  # the docs' words for whose the alert is when subgroup is None

    def severity_in(self, settings: AlertSettings) -> Severity:
        return settings.severity.get(self.id, self.severity)

    def candidate(
        self,
        *,
        indicator: str | None,
        breakdown: str | None,
        feed: str | None,
        scope: str,
        period: str,
        settings: AlertSettings,
        evidence: dict,
        subgroup: str | None = None,
        since: str | None = None,
        based_on: int | None = None,
        alerting: bool = True,
        **fields: str,
    ) -> dict:
        """One candidate alert row; its key is deterministic so a re-run finds the same alert.

        `since` is the month the cause began (the cycle month unless the check
        knows better); `based_on` the number of children the value rests on,
        where the check can tell.  Below the small-numbers floor the message
        and evidence say so and a high severity becomes medium.  `alerting`
        False is a positive signal: no severity.
        """
        message = self.message.format(**fields)
        severity = self.severity_in(settings) if alerting else None
        if based_on is not None and based_on < settings.small_numbers.min_children:
            message = f"{message.rstrip('.')}, based on {messages.plural(based_on, 'child', 'children')}."
            evidence = evidence | {"based_on": based_on}
            severity = CAPPED.get(severity, severity)
        return {
            "key": alert_key(self.id, indicator, breakdown, scope),
            "rule": self.id,
            "indicator": indicator,
            "breakdown": breakdown,
            "feed": feed,
            "scope": scope,
            "period": period,
            "since": since or period,
            "severity": severity,
            "subgroup": self.subgroup or subgroup,
            "message": message,
            "evidence": messages.evidence(**evidence),
        }


def alert_key(rule: str, indicator: str | None, breakdown: str | None, scope: str) -> str:
    """`rule|indicator|breakdown|scope`, with an empty part where a rule has no indicator or breakdown."""
    return "|".join([rule, indicator or "", breakdown or "", scope])


def alert_ref(key: str) -> str:
    """The id people type: the rule's family and eight base-32 characters of the key's hash (`spc-k3f9qa2b`).

    Letters, digits and one hyphen, so it survives a terminal, a shell without
    quotes and an e-mail; derived from the key, so it is the same on every run.
    """
    digest = base64.b32encode(hashlib.blake2b(key.encode(), digest_size=5).digest()).decode().lower()
    return f"{key.split('_')[0].split('|')[0]}-{digest}"


def candidate_frame(rows: list[dict]) -> pl.DataFrame:
    """Candidate rows as a frame in key order (sorted as rows: a check makes a handful)."""
    return pl.DataFrame(sorted(rows, key=lambda row: row["key"]), schema=CANDIDATE_SCHEMA, orient="row")


# --- SPC special causes ----------------------------------------------------------------

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
# A count whose base is one of these counts children ("Children looked after", "Care leavers aged 19-21");
# other counts (offences, episodes, conferences, seats) never say "based on N children".
CHILD_COUNT_NAMES = ("Children", "Care leavers", "Young people")


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


def children_based_on(indicator: Indicator, reported: dict | None, catalogue: Catalogue) -> int | None:
    """How many children a reported value rests on, where Radar can tell; else None.

    An average or percentage rests on its denominator (adoption timeliness
    on the children placed that month); a count on itself.  Only a base whose
    catalogue name says it counts children qualifies (see CHILD_COUNT_NAMES),
    and a rate per 10,000 rests on the whole child population, never few.
    """
    if reported is None:
        return None
    if indicator.derived is not None:
        base, number = catalogue.indicator_by_id.get(indicator.derived.denominator), reported["denominator"]
    else:
        base, number = indicator, reported["value"]
    if base is None or number is None or not base.name.startswith(CHILD_COUNT_NAMES):
        return None
    return int(number)


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


# --- Targets -------------------------------------------------------------------------

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


# --- National and statistical-neighbour benchmarks -----------------------------------

BENCHMARK_GAP = Rule(
    "benchmark_gap",
    "{name} stood at {value} in {year}, worse than both England ({national}) "
    "and similar areas ({sn_median}, the median of the statistical neighbours).",
    "low", "the latest DfE year is worse than both England and the statistical-neighbour median by more "
    "than the margin in alerts.yaml (rates and percentages only)",
    Reads(inputs=("comparison",)),
)


def benchmark_gap(
    comparison: pl.DataFrame, catalogue: Catalogue, period: str, scope: str, settings: AlertSettings
) -> pl.DataFrame:
    """Indicators whose latest DfE year is worse than England AND the statistical-neighbour median.

    `comparison` holds indicator, year (DfE's year ending March, Int64),
    la_value, national, sn_median (`pipelines.benchmarks.comparison`).
    "Worse by more than the margin" is relative to each comparator: with a
    10% margin an up_is_bad rate must exceed 1.1 x both.  Neutral indicators,
    counts (which compare areas of different sizes, not performance) and rows
    missing any of the three numbers never raise it.
    """
    margin = settings.benchmark_gap.margin
    latest = (
        comparison.filter(pl.col("la_value").is_not_null())
        .sort("year")
        .group_by("indicator", maintain_order=True)
        .last()
        .filter(pl.col("national").is_not_null(), pl.col("sn_median").is_not_null())
        .sort("indicator")
    )
    rows = []
    for row in latest.iter_rows(named=True):
        indicator = catalogue.indicator_by_id[row["indicator"]]
        if indicator.polarity == "neutral" or indicator.unit == "count":
            continue
        comparators = (row["national"], row["sn_median"])
        if indicator.polarity == "up_is_bad":
            worse = all(row["la_value"] > c + margin * abs(c) for c in comparators)
        else:
            worse = all(row["la_value"] < c - margin * abs(c) for c in comparators)
        if not worse:
            continue
        unit = indicator.unit
        rows.append(BENCHMARK_GAP.candidate(
            indicator=indicator.id, breakdown="", feed=None, scope=scope, period=period,
            settings=settings, subgroup=indicator.subgroup,
            evidence={
                "year": row["year"], "la_value": row["la_value"], "national": row["national"], "sn_median": row["sn_median"],
                "margin": margin, "polarity": indicator.polarity,
            },
            name=indicator.name, value=messages.number(row["la_value"], unit),
            year=periods.financial_year_label(row["year"]), national=messages.number(row["national"], unit),
            sn_median=messages.number(row["sn_median"], unit),
        ))
    return candidate_frame(rows)


# --- Feeds -----------------------------------------------------------------------------

FEED_READS = Reads(inputs=("feed_status",))
FEED_RULES = {
    "missing": Rule(
        "feed_late",
        "No file has arrived for {month} from {agency} ({source}, due {due}), so alerts on {held} are held back.",
        "medium", "the month's file from an agency has not arrived by its due day; alerts on that feed's "
        "indicators are held back meanwhile and the feed alert lists them",
        FEED_READS, subgroup=FEED_SUBGROUP,
    ),
    "rejected": Rule(
        "feed_rejected",
        "The only file for {month} from {agency} ({source}) was rejected, "
        "so alerts on {held} are held back until a corrected file arrives.",
        "medium", "the month's only file from an agency was rejected; its indicators' alerts are held back",
        FEED_READS, subgroup=FEED_SUBGROUP,
    ),
}
FEED_RULE_IDS = tuple(rule.id for rule in FEED_RULES.values())


def feed_alerts(status: pl.DataFrame, catalogue: Catalogue, period: str, settings: AlertSettings) -> pl.DataFrame:
    """`feed_late` for a file missing at `period`, `feed_rejected` for one whose only submission was rejected.

    `status` is `pipelines.feed_status.feed_status` output.  A file that
    arrived late is not alerted here: its data is in, and the feed-status page
    already shows it was late.  Scope is the feed, subgroup always PCI.
    """
    agencies = {a.id: a.name for a in catalogue.agencies}
    rows = []
    to_alert = status.filter(pl.col("period") == period, pl.col("status").is_in(HOLDING_STATUSES))
    for row in to_alert.iter_rows(named=True):
        feed = catalogue.feed_by_id[row["feed_id"]]
        rule = FEED_RULES[row["status"]]
        held = catalogue.indicators_of(feed.id)
        rows.append(rule.candidate(
            indicator=None, breakdown=None, feed=feed.id, scope=feed.id, period=period, settings=settings,
            evidence={
                "feed_id": feed.id, "period": period, "due_date": row["due_date"], "status": row["status"],
                "held_back": [i.id for i in held],
            },
            month=periods.label(period), agency=agencies[feed.agency], source=messages.feed_title(feed.name),
            due=periods.day_label(row["due_date"]), held=messages.indicator_list([i.name for i in held]),
        ))
    return candidate_frame(rows)


def held_feeds(status: pl.DataFrame, period: str) -> list[str]:
    """Feeds whose file for `period` is missing or was rejected: their indicators' alerts wait for the data."""
    return sorted(status.filter(pl.col("period") == period, pl.col("status").is_in(HOLDING_STATUSES))["feed_id"])


def hold_back(candidates: pl.DataFrame, held: list[str]) -> pl.DataFrame:
    """Drop candidates computed from a held feed's data; the feed alerts themselves stay.

    Pass the same `held` to `alert_lifecycle.reconcile`, so alerts already
    open on those indicators are kept as they are instead of being resolved
    for want of data.
    """
    from_held = pl.col("feed").is_in(held).fill_null(False) & ~pl.col("rule").is_in(FEED_RULE_IDS)
    return candidates.filter(~from_held)
