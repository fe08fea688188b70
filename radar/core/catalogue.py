"""The feed and indicator catalogue, loaded into strict typed models.

One YAML file (catalogue.yaml) is the single definition of every feed and
indicator; validation, pipelines, the dashboard and docs/feeds.md all read it
through these models.  `extra="forbid"` makes a typo in the file an error at
start-up instead of a silently ignored key, and the cross-reference checks in
`Catalogue._check_references` catch an indicator pointing at a feed, dimension
or indicator that does not exist.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")

Unit = Literal["count", "percent", "rate_per_10k", "days"]
Polarity = Literal["up_is_bad", "down_is_bad", "neutral"]
# How to combine months into a year: a flow is summed, a stock is its last month.
Measure = Literal["flow", "stock"]
# What a counted indicator counts (catalogue.yaml's header explains each).  The first two are about children:
# a small count of them could identify a child, so publication hides it (pipelines.disclosure).
Counts = Literal["children", "child_events", "crimes", "incidents", "allegations", "adults", "settings", "visits",
                 "training", "seats", "days"]
ABOUT_CHILDREN: tuple[Counts, ...] = ("children", "child_events")
UNIT_SCALE: dict[str, float] = {"percent": 100.0, "rate_per_10k": 10_000.0, "days": 1.0, "count": 1.0}
POPULATION = "population"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Named(Strict):
    id: str
    name: str


class Column(Strict):
    """A column of a record-level feed."""

    name: str
    type: Literal["string", "date", "boolean", "category"]
    description: str
    required: bool = True
    dimension: str | None = None  # for category columns: the allowed values
    pseudonymise: bool = False  # replaced by a keyed hash at ingest; the raw value is never stored
    in_period: bool = False  # a date that must fall inside the file's month
    not_before: str | None = None  # a date column this one may not precede
    implies: str | None = None  # a boolean that may only be true when this other one is true
    # Free text: the longest value accepted (checked by validation, so the store's column is never exceeded).
    max_length: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _text_has_a_length(self) -> Column:
        if (self.type == "string") != (self.max_length is not None):
            raise ValueError(f"column {self.name}: a string column needs max_length, and only a string column")
        return self


class Feed(Strict):
    id: str
    agency: str
    kind: Literal["aggregate", "records"]
    name: str
    cadence: Literal["monthly", "quarterly"] = "monthly"
    due_day: int = Field(10, ge=1, le=28)  # day of the following month the file is due
    key: str | None = None  # record feeds: the column that must be unique
    columns: tuple[Column, ...] = ()

    @model_validator(mode="after")
    def _no_raw_text_beside_a_child(self) -> Feed:
        """A feed holding child references keeps no free text raw.

        A sender's broken file can shift or swap a child's reference into any
        column; in a typed column (date, boolean, category) that fails
        validation, but in free text it would be accepted and stored raw.
        """
        raw = [c.name for c in self.columns if c.type == "string" and not c.pseudonymise]
        if raw and any(c.pseudonymise for c in self.columns):
            raise ValueError(f"feed {self.id}: free-text columns {', '.join(raw)} sit beside a child's reference "
                             "and must be pseudonymised too (pseudonymise: true)")
        return self

    def expects(self, period: str) -> bool:
        """Whether a file is due for this month (quarterly feeds: Mar, Jun, Sep, Dec)."""
        return self.cadence == "monthly" or int(period[5:7]) % 3 == 0


class FromRecords(Strict):
    """How a record-level feed is counted into a monthly indicator."""

    count: Literal["rows", "distinct"]
    column: str | None = None  # for count: distinct
    by: str | None = None  # a category column giving the breakdown
    where: dict[str, tuple[str | bool, ...]] = {}


class Derivation(Strict):
    numerator: str
    denominator: str  # an indicator id, or "population" (children aged 0-17)


class Comparator(Strict):
    value: float
    year: str
    note: str


class Indicator(Strict):
    id: str
    name: str
    definition: str
    feed: str
    unit: Unit
    polarity: Polarity
    subgroup: str
    measure: Measure | None = None
    counts: Counts | None = None  # what a counted indicator counts; a derived one rests on its numerator's and denominator's
    breakdown: str | None = None  # a dimension id
    from_records: FromRecords | None = None
    derived: Derivation | None = None
    comparator: Comparator | None = None
    # School-year seasonality: SPC runs on the value less the same month's usual level (pipelines.seasonal).
    seasonal: bool = False

    @property
    def is_sent(self) -> bool:
        """True for the indicators an agency puts in an aggregate return."""
        return self.derived is None and self.from_records is None

    @model_validator(mode="after")
    def _measure_for_counts(self) -> Indicator:
        if self.derived is None and self.measure is None:
            raise ValueError(f"indicator {self.id}: a counted indicator needs measure: flow or stock")
        if self.derived is not None and self.unit == "count":
            raise ValueError(f"indicator {self.id}: a derived indicator is a percent, rate or days")
        if (self.derived is None) != (self.counts is not None):
            raise ValueError(f"indicator {self.id}: a counted indicator says what it counts (counts: children, "
                             "child_events, crimes, ...), and a derived one does not")
        return self


class Catalogue(Strict):
    agencies: tuple[Named, ...]
    subgroups: tuple[Named, ...]
    dimensions: dict[str, tuple[str, ...]]
    feeds: tuple[Feed, ...]
    indicators: tuple[Indicator, ...]

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    @cached_property
    def feed_by_id(self) -> dict[str, Feed]:
        return {f.id: f for f in self.feeds}

    @cached_property
    def indicator_by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    @cached_property
    def seasonal_ids(self) -> list[str]:
        """The indicators charted net of their month's usual level (`seasonal: true`)."""
        return [i.id for i in self.indicators if i.seasonal]

    def child_bases(self, indicator_id: str) -> tuple[str, ...]:
        """Which of an indicator's stored figures count children: ("value",) for a count of children or of
        events each about one child; for a derived indicator, "numerator" and/or "denominator" where that
        indicator counts children; () for a figure resting on no child (crimes, settings, seats, ...)."""
        indicator = self.indicator_by_id[indicator_id]
        if indicator.derived is None:
            return ("value",) if indicator.counts in ABOUT_CHILDREN else ()
        parts = {"numerator": indicator.derived.numerator, "denominator": indicator.derived.denominator}
        return tuple(name for name, ref in parts.items()
                     if ref != POPULATION and self.indicator_by_id[ref].counts in ABOUT_CHILDREN)

    def indicators_of(self, feed_id: str) -> list[Indicator]:
        return [i for i in self.indicators if i.feed == feed_id]

    def sent_indicators(self, feed_id: str) -> list[Indicator]:
        return [i for i in self.indicators_of(feed_id) if i.is_sent]

    @cached_property
    def dimension_of(self) -> dict[str, str | None]:
        """Each indicator's breakdown dimension, resolved once.

        Declared for sent indicators; a record-derived indicator takes the
        dimension of its `by` column; a derived indicator takes its
        numerator's when the denominator shares it (or is a total).
        """
        out: dict[str, str | None] = {}
        for i in self.indicators:
            if i.from_records and i.from_records.by:
                col = next(c for c in self.feed_by_id[i.feed].columns if c.name == i.from_records.by)
                out[i.id] = col.dimension
            else:
                out[i.id] = i.breakdown
        for i in self.indicators:
            if i.derived and out[i.id] is None and i.derived.denominator != POPULATION:
                num, den = out[i.derived.numerator], out[i.derived.denominator]
                out[i.id] = num if den in (None, num) else None
        return out

    def parts_and_wholes(self, feed_id: str) -> list[tuple[str, str]]:
        """(numerator, denominator) of every percentage computed from two figures a feed sends.

        A share cannot exceed 100%, so the part may never be above its whole
        (compared breakdown by breakdown); averages (days) and rates per
        population have no such limit.  Validation enforces it and the feed
        specification states it, from this one definition.
        """
        sent = {i.id for i in self.sent_indicators(feed_id)}
        return [
            (i.derived.numerator, i.derived.denominator)
            for i in self.indicators_of(feed_id)
            if i.derived and i.unit == "percent" and {i.derived.numerator, i.derived.denominator} <= sent
            and self.dimension_of[i.derived.numerator] == self.dimension_of[i.derived.denominator]
        ]

    def breakdown_values(self, indicator: Indicator) -> tuple[str, ...]:
        dim = self.dimension_of[indicator.id]
        return self.dimensions[dim] if dim else ()

    def column_values(self, column: Column) -> tuple[str, ...]:
        return self.dimensions[column.dimension] if column.dimension else ()

    @model_validator(mode="after")
    def _check_references(self) -> Catalogue:
        problems: list[str] = []
        agencies = {a.id for a in self.agencies}
        subgroups = {s.id for s in self.subgroups}
        feeds = {f.id: f for f in self.feeds}
        indicators = {i.id: i for i in self.indicators}
        for collection, ids in (("feed", [f.id for f in self.feeds]), ("indicator", [i.id for i in self.indicators])):
            dupes = {x for x in ids if ids.count(x) > 1}
            if dupes:
                problems.append(f"duplicate {collection} ids: {sorted(dupes)}")
        for f in self.feeds:
            if f.agency not in agencies:
                problems.append(f"feed {f.id}: unknown agency {f.agency}")
            names = {c.name for c in f.columns}
            if f.kind == "records" and (not f.columns or f.key not in names):
                problems.append(f"feed {f.id}: record feeds need columns and a key column")
            for c in f.columns:
                if c.type == "category" and c.dimension not in self.dimensions:
                    problems.append(f"feed {f.id} column {c.name}: unknown dimension {c.dimension}")
                for ref in (c.not_before, c.implies):
                    if ref and ref not in names:
                        problems.append(f"feed {f.id} column {c.name}: unknown column {ref}")
        for i in self.indicators:
            feed = feeds.get(i.feed)
            if feed is None:
                problems.append(f"indicator {i.id}: unknown feed {i.feed}")
                continue
            if i.subgroup not in subgroups:
                problems.append(f"indicator {i.id}: unknown subgroup {i.subgroup}")
            if i.breakdown and i.breakdown not in self.dimensions:
                problems.append(f"indicator {i.id}: unknown dimension {i.breakdown}")
            if i.from_records and feed.kind != "records":
                problems.append(f"indicator {i.id}: from_records on an aggregate feed")
            if i.is_sent and feed.kind != "aggregate":
                problems.append(f"indicator {i.id}: record feeds have no sent indicators")
            if i.from_records:
                cols = {c.name: c for c in feed.columns}
                used = [i.from_records.by, i.from_records.column, *i.from_records.where]
                problems += [f"indicator {i.id}: unknown column {c}" for c in used if c and c not in cols]
            if i.derived:
                for ref in (i.derived.numerator, i.derived.denominator):
                    if ref != POPULATION and ref not in indicators:
                        problems.append(f"indicator {i.id}: unknown indicator {ref}")
                if (i.unit == "rate_per_10k") != (i.derived.denominator == POPULATION):
                    problems.append(f"indicator {i.id}: rates per 10,000 (and only they) divide by population")
        if problems:
            raise ValueError("catalogue.yaml is inconsistent:\n  " + "\n  ".join(problems))
        return self

    def to_public(self, la_code: str, name: str, due_days: dict[str, int]) -> dict:
        """The catalogue as `radar catalog --json` prints it for agencies' data leads."""
        feeds = []
        for f in self.feeds:
            entry = {
                "id": f.id,
                "name": f.name,
                "agency": f.agency,
                "kind": f.kind,
                "cadence": f.cadence,
                "due_day": due_days.get(f.id, f.due_day),
                "file_name": f"{f.id}__YYYY-MM.csv",
            }
            if f.kind == "aggregate":
                entry["columns"] = [
                    {"name": n, "type": t, "required": r}
                    for n, t, r in (("period", "period", True), ("indicator", "category", True),
                                    ("breakdown", "category", False), ("value", "integer", True))
                ]
                entry["indicators"] = [i.id for i in self.sent_indicators(f.id)]
            else:
                entry["key"] = f.key
                entry["columns"] = [
                    {"name": c.name, "type": c.type, "required": c.required, "description": c.description}
                    | ({"allowed": list(self.column_values(c))} if c.dimension else {})
                    | ({"pseudonymised": True} if c.pseudonymise else {})
                    for c in f.columns
                ]
            feeds.append(entry)
        indicators = []
        for i in self.indicators:
            entry = {
                "id": i.id,
                "name": i.name,
                "definition": i.definition,
                "feed": i.feed,
                "unit": i.unit,
                "measure": i.measure,
                "polarity": i.polarity,
                "subgroup": i.subgroup,
                "breakdowns": list(self.breakdown_values(i)),
                "derived": i.derived is not None,
                "seasonal": i.seasonal,
                "sent": i.is_sent,
            }
            if i.derived:
                entry |= {"numerator": i.derived.numerator, "denominator": i.derived.denominator}
            if i.from_records:
                entry["from_records"] = i.from_records.model_dump(exclude_defaults=True)
            if i.comparator:
                entry["comparator"] = i.comparator.model_dump()
            indicators.append(entry)
        return {
            "partnership": {"la_code": la_code, "name": name},
            "agencies": [a.model_dump() for a in self.agencies],
            "subgroups": [s.model_dump() for s in self.subgroups],
            "feeds": feeds,
            "indicators": indicators,
        }


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    with open(path, encoding="utf-8") as fh:
        return Catalogue.model_validate(yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
