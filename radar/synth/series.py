"""Monthly series that add up to a year's published figures.

Three kinds of series cover every count the generator writes:

- `Flow`: a yearly total spread over the months by a seasonal profile and noise;
- `Stock`: month-end values drawn through anchor points (published snapshots
  such as "331 children looked after at 31 March 2020") with noise between them;
- `Ratio`: a count spread in proportion to another series' months (assessments
  in time out of assessments completed, days waited per adoptive placement).

Flows and ratios hit their yearly figure exactly (largest-remainder rounding)
and stocks hit their anchors exactly, so the dashboard's 2019-20 figures are
the annual report's; the seeded noise only moves the monthly shape.  A year
without a figure of its own takes the nearest year's.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from radar.core.periods import parse_period
from radar.synth.months import fy_months

T = TypeVar("T")
FLAT = (1.0,) * 12


def rng_for(seed: int, *keys: object) -> random.Random:
    """A generator for one seed and one purpose (string seeds are hashed stably, unlike hash())."""
    return random.Random("|".join(str(k) for k in (seed, *keys)))


def nearest(by_year: Mapping[int, T], fy: int) -> T:
    """The figure for a financial year, or for the nearest year that has one."""
    return by_year[min(by_year, key=lambda year: (abs(year - fy), year))]


def jitter(rng: random.Random, noise: float, n: int) -> list[float]:
    """n multiplicative noise factors, log-normal and cut at two standard deviations."""
    return [math.exp(noise * max(-2.0, min(2.0, rng.gauss(0.0, 1.0)))) for _ in range(n)]


def allocate(total: int, weights: Sequence[float], pinned: Mapping[int, int] | None = None,
             caps: Sequence[int] | None = None) -> list[int]:
    """Split `total` into whole numbers in proportion to `weights`.

    Pinned positions keep their given value and the rest share what is left;
    no position goes above its cap (a numerator never exceeds its denominator).
    The largest-remainder method keeps the sum exactly `total`.
    """
    pinned = pinned or {}
    limit = list(caps) if caps is not None else [math.inf] * len(weights)
    out = [pinned.get(i, 0) for i in range(len(weights))]
    free = [i for i in range(len(weights)) if i not in pinned]
    rest = total - sum(pinned.values())
    weight = sum(weights[i] for i in free)
    if rest < 0 or (rest > 0 and weight <= 0):
        raise ValueError(f"cannot share {total} over {list(weights)} with pinned {dict(pinned)}")
    ideal = {i: rest * weights[i] / weight if weight else 0.0 for i in free}
    for i in free:
        out[i] = min(math.floor(ideal[i]), limit[i])
    for _ in range(rest - sum(out[i] for i in free)):
        room = [i for i in free if out[i] < limit[i]]
        if not room:
            raise ValueError(f"{total} does not fit under the caps {list(limit)}")
        out[max(room, key=lambda i: (ideal[i] - out[i], -i))] += 1
    return out


@dataclass(frozen=True)
class Flow:
    """Events in the month: a yearly total per financial year, shaped by season and noise."""

    totals: Mapping[int, int]
    season: tuple[float, ...] = FLAT  # April first
    noise: float = 0.08
    pins: Mapping[str, int] = field(default_factory=dict)  # months the report names, e.g. {"2019-07": 870}

    def months(self, fy: int, rng: random.Random) -> list[int]:
        periods = fy_months(fy)
        weights = [s * j for s, j in zip(self.season, jitter(rng, self.noise, 12), strict=True)]
        pinned = {i: self.pins[p] for i, p in enumerate(periods) if p in self.pins}
        return allocate(nearest(self.totals, fy), weights, pinned)


@dataclass(frozen=True)
class Stock:
    """A month-end snapshot: straight lines between anchor months, with noise off the anchors."""

    anchors: Mapping[str, int]
    noise: float = 0.01

    def level(self, period: str) -> float:
        """The value on the line through the anchors (flat before the first and after the last)."""
        points = sorted((_ordinal(p), v) for p, v in self.anchors.items())
        x = _ordinal(period)
        if x <= points[0][0]:
            return points[0][1]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if x <= x1:
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        return points[-1][1]

    def months(self, fy: int, rng: random.Random) -> list[int]:
        factors = jitter(rng, self.noise, 12)
        return [self.anchors[p] if p in self.anchors else max(0, round(self.level(p) * f))
                for p, f in zip(fy_months(fy), factors, strict=True)]


@dataclass(frozen=True)
class Ratio:
    """A count that follows another series: `rate` of its yearly sum, spread like its months.

    A rate up to 1 is a share and never exceeds the other series in any month;
    above 1 it is an amount per unit (days per adoptive placement).
    """

    of: str
    rates: Mapping[int, float]
    noise: float = 0.05
    pins: Mapping[str, float] = field(default_factory=dict)  # monthly rates the report names

    def months(self, fy: int, rng: random.Random, denominators: Sequence[int]) -> list[int]:
        rate = nearest(self.rates, fy)
        pinned = {i: round(self.pins[p] * denominators[i]) for i, p in enumerate(fy_months(fy)) if p in self.pins}
        weights = [d * j for d, j in zip(denominators, jitter(rng, self.noise, 12), strict=True)]
        caps = denominators if rate <= 1 else None
        return allocate(round(rate * sum(denominators)), weights, pinned, caps)


Series = Flow | Stock | Ratio
# An indicator's calibration: one series, or one per breakdown value.
Spec = Series | Mapping[str, Series]
Key = tuple[str, str]  # (series name, breakdown value or "")


def year_values(specs: Mapping[str, Spec], seed: int, fy: int) -> dict[Key, list[int]]:
    """The twelve months of one financial year for every series.

    A ratio reads the months of its `of` series (same breakdown value), which
    must therefore be declared before it.  Each series has its own random
    stream, so adding a series never changes the others.
    """
    values: dict[Key, list[int]] = {}
    for name, spec in specs.items():
        parts = spec.items() if isinstance(spec, Mapping) else [("", spec)]
        for breakdown, series in parts:
            rng = rng_for(seed, name, breakdown, fy)
            if isinstance(series, Ratio):
                values[(name, breakdown)] = series.months(fy, rng, values[(series.of, breakdown)])
            else:
                values[(name, breakdown)] = series.months(fy, rng)
    return values


def _ordinal(period: str) -> int:
    year, month = parse_period(period)
    return year * 12 + month - 1
