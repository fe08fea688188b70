"""Every alert rule, declared once, with its check: what the cycle runs, the settings are checked against and the docs list.

A `Check` ties one or more `Rule`s (rule.Rule: id, message, default
severity, subgroup, what it reads) to the function that raises them; the SPC
check raises four rules and the feed check two, because one pass over the
charts or the feed statuses decides between them.  The cycle
(flows/signals.py) builds a `CycleInputs`, loads the record feeds and columns
`record_reads()` names, and calls `run_checks`; nothing else lists rule ids.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue
from radar.pipelines.alerts import benchmarks, early_warning, feeds, overdue, records, sources, spc, targets
from radar.pipelines.alerts.rule import Rule, candidate_frame

POSITIVE_PREFIX = "improvement_"  # rows a check returns under this prefix are positive signals, not alerts


@dataclass(frozen=True)
class CycleInputs:
    """What the rules may read for one cycle month (a rule's `Reads.inputs` name these fields)."""

    catalogue: Catalogue
    settings: AlertSettings
    period: str
    scope: str  # the partnership's la_code
    points: pl.DataFrame  # XmR points of the series that may alert (pipelines.spc.xmr)
    summary: pl.DataFrame  # each series' icons (pipelines.spc.summarise)
    values: pl.DataFrame  # reported indicator values: indicator, breakdown, period, value, numerator, denominator
    targets: pl.DataFrame  # local targets: indicator, value, year
    comparison: pl.DataFrame  # DfE comparison for the month (pipelines.benchmarks.benchmark_comparison at `period`)
    feed_status: pl.DataFrame  # pipelines.feed_status.feed_status
    received: Mapping[str, Collection[str]]  # feed id -> months with an accepted file in force
    records: Mapping[str, pl.DataFrame]  # record feed id -> its rows in force, the columns record_reads() names
    risks: Sequence[dict]  # the risk register (models.register.read_risks); empty for a partnership without one
    today: date  # the day the cycle runs: reviews and actions fall overdue by the calendar, not the data month
    unreachable: Mapping[str, int] = field(default_factory=dict)  # feed id -> failed pulls in a row (flows/pull.py)
    early_warning: pl.DataFrame | None = None  # each series' early-warning state (alerts.early_warning.series_states)


@dataclass(frozen=True)
class Check:
    rules: tuple[Rule, ...]
    run: Callable[[CycleInputs], pl.DataFrame]


def _spc(i: CycleInputs) -> pl.DataFrame:
    concerns, improvements = spc.spc_signals(i.points, i.catalogue, i.period, i.scope, i.settings, i.values)
    return pl.concat([concerns, improvements])


CHECKS: tuple[Check, ...] = (
    Check(tuple(spc.SPC_RULES.values()), _spc),
    Check((early_warning.EARLY_WARNING,), lambda i: pl.concat(early_warning.early_warning_signals(
        i.early_warning, i.catalogue, i.period, i.scope, i.settings, i.values))),
    Check((targets.TARGET_MISSED,), lambda i: targets.target_missed(
        i.points, i.values, i.summary, i.targets, i.catalogue, i.period, i.scope, i.settings)),
    Check((benchmarks.BENCHMARK_GAP,), lambda i: benchmarks.benchmark_gap(
        i.comparison, i.catalogue, i.period, i.scope, i.settings)),
    Check(tuple(feeds.FEED_RULES.values()), lambda i: feeds.feed_alerts(
        i.feed_status, i.catalogue, i.period, i.settings)),
    Check((records.SETTING_CONCENTRATION,), lambda i: records.setting_concentration(
        i.records[records.LADO_FEED], i.period, i.settings)),
    Check((records.REPEAT_MISSING,), lambda i: records.repeat_missing(
        i.records[records.MISSING_FEED], i.period, i.scope, i.settings,
        i.received.get(records.MISSING_FEED, ()))),
    Check(overdue.REGISTER_RULES, lambda i: overdue.overdue_candidates(
        i.risks, i.today, i.period, i.scope, i.settings)),
    Check((sources.SOURCE_UNREACHABLE,), lambda i: sources.source_unreachable(
        i.unreachable, i.catalogue, i.period, i.settings)),
)
RULES: dict[str, Rule] = {rule.id: rule for check in CHECKS for rule in check.rules}


def record_reads() -> dict[str, tuple[str, ...]]:
    """The record-level feeds the rules read, each with the union of the columns they use (in first-declared order)."""
    reads: dict[str, tuple[str, ...]] = {}
    for rule in RULES.values():
        for feed, columns in rule.reads.records.items():
            reads[feed] = tuple(dict.fromkeys([*reads.get(feed, ()), *columns]))
    return reads


def check_settings(settings: AlertSettings) -> None:
    """Refuse severities in alerts.yaml for rules that do not exist (a typo would otherwise change nothing)."""
    unknown = sorted(set(settings.severity) - RULES.keys())
    if unknown:
        raise ValueError(
            f"radar/core/alerts.yaml sets a severity for {', '.join(unknown)}, which is not an alert rule; "
            f"the rules are {', '.join(RULES)}"
        )


def run_checks(inputs: CycleInputs) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(alert candidates, positive signals) from every registered check at the cycle month."""
    check_settings(inputs.settings)
    found = pl.concat([candidate_frame([]), *(check.run(inputs) for check in CHECKS)], how="vertical_relaxed")
    positive = pl.col("rule").str.starts_with(POSITIVE_PREFIX)
    return found.filter(~positive).sort("key"), found.filter(positive).sort("key")


def rule_table(catalogue: Catalogue) -> str:
    """The docs' rule table (docs/signals.md), from the registry: a test keeps the docs equal to it."""
    subgroups = {s.id: s.name for s in catalogue.subgroups}
    lines = ["| rule | fires when | default severity | goes to |", "|---|---|---|---|"]
    for rule in RULES.values():
        goes_to = subgroups[rule.subgroup] if rule.subgroup else rule.subgroup_words
        lines.append(f"| `{rule.id}` | {rule.fires_when} | {rule.severity} | {goes_to} |")
    return "\n".join(lines)
