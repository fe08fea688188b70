"""The alert rule type: what every rule declares, and the candidate alert every check returns.

Each rule is a unit an analyst can find and question without reading the
engine, in the style of Data-to-Insight's validators: a `Rule` declares its
id, the sentence a Board member reads, its default severity, which subgroup
it goes to, when it fires (the docs' rule table is built from this) and what
it reads (`Reads`: the frames of the cycle, and for record-level rules the
feed and columns the cycle loads for it); the function that checks it sits
just below it, one module per rule family:

- spc.py: special-cause variation on an indicator's chart;
- targets.py: a missed local target;
- benchmarks.py: worse than England and the statistical neighbours;
- feeds.py: a file missing or rejected;
- records.py: record-level patterns (LADO settings, repeat missing);
- sources.py: a pull source Radar cannot read;
- overdue.py: the risk register's reviews and actions past their date.

registry.py lists every rule with its check, and the cycle, the settings
and the docs read that list.  Every check returns candidate alerts in
CANDIDATE_SCHEMA for one cycle month; inhibition.py holds back those whose
feed is late or rejected, and lifecycle.py turns the rest into open,
resolved or silenced alerts.

Every candidate carries the feed its data came from (null for DfE
benchmarks), which is what lets a late feed hold its alerts back, and
`since`, the month its cause began (the lifecycle's first_period).  An alert
resting on fewer children than `small_numbers.min_children` says so and is
never rated high.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from radar.core.alert_settings import AlertSettings
from radar.core.alert_vocabulary import Severity
from radar.core.catalogue import Catalogue, Indicator
from radar.pipelines import messages

CANDIDATE_SCHEMA = {
    "key": pl.String, "rule": pl.String, "indicator": pl.String, "breakdown": pl.String, "feed": pl.String,
    "scope": pl.String, "period": pl.String, "since": pl.String, "severity": pl.String, "subgroup": pl.String,
    "message": pl.String, "evidence": pl.String,
}
FEED_SUBGROUP = "pci"  # Performance, Challenge & Impact chases agencies for their data
CAPPED = {"high": "medium"}  # what a small-numbers alert is rated instead


@dataclass(frozen=True)
class Reads:
    """What a rule reads: frames the cycle computes (`inputs`, fields of `registry.CycleInputs`)
    and record-level feeds with the columns it uses (`records`), which the cycle loads for it."""

    inputs: tuple[str, ...] = ()
    records: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One alert rule, declared once: everything but its check (see pipelines/alerts/registry.py)."""

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


# A count whose base is one of these counts children ("Children looked after", "Care leavers aged 19-21");
# other counts (offences, episodes, conferences, seats) never say "based on N children".
CHILD_COUNT_NAMES = ("Children", "Care leavers", "Young people")


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

