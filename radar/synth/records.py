"""Record-level sample feeds: one row per MASH contact, missing episode or LADO referral.

How many rows a month gets (and how many are referrals, interviews offered and
completed) comes from the calibrated series; this module decides *which*
child, setting, day and category each row gets.  Children and settings come
from pools fixed by the seed, so the same child recurs across contacts and
months as in a real case system, and a setting always keeps its type.
The references are invented: `LCS` and seven digits, never a real person.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import TypeVar

from radar.synth import calibration as cal
from radar.synth.months import fy_index, month_days
from radar.synth.series import rng_for

Row = dict[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class Pools:
    """The children and settings every month draws from (cumulative weights for `random.choices`)."""

    children: tuple[str, ...]
    child_weights: tuple[float, ...]
    missing_children: tuple[str, ...]
    missing_weights: tuple[float, ...]
    looked_after: frozenset[str]
    settings: Mapping[str, tuple[str, ...]]  # setting type -> its setting references
    setting_weights: Mapping[str, tuple[float, ...]]


def make_pools(seed: int) -> Pools:
    rng = rng_for(seed, "pools")
    children = tuple(f"LCS{n:07d}" for n in rng.sample(range(10_000, 10_000_000), cal.CHILD_POOL))
    child_weights = tuple(accumulate(rng.lognormvariate(0.0, 1.0) for _ in children))
    missing = children[: cal.MISSING_POOL]  # the pool is in random order already
    looked_after = frozenset(rng.sample(missing, round(cal.LOOKED_AFTER_SHARE * len(missing))))
    missing_weights = tuple(accumulate(
        rng.lognormvariate(0.0, 1.2) * (2.0 if child in looked_after else 1.0) for child in missing))
    total = sum(cal.SETTINGS.values())
    numbers = iter(rng.sample(range(1, total + 1), total))  # setting numbers shuffled, so types interleave
    settings = {kind: tuple(f"SET-{next(numbers):04d}" for _ in range(count)) for kind, count in cal.SETTINGS.items()}
    setting_weights = {kind: tuple(accumulate(rng.lognormvariate(0.0, 1.0) for _ in refs))
                       for kind, refs in settings.items()}
    return Pools(children, child_weights, missing, missing_weights, looked_after, settings, setting_weights)


def record_id(prefix: str, period: str, number: int) -> str:
    """A case-system style reference unique in the month's file, e.g. MC-2019-07-000123."""
    return f"{prefix}-{period}-{number:06d}"


def mash_contacts(period: str, contacts: int, referrals: int, pools: Pools, rng: random.Random) -> list[Row]:
    """The month's contacts in date order; exactly `referrals` of them go to social care."""
    sources = dict(cal.MASH_SOURCES)
    sources["schools"] *= cal.SCHOOL_CONTACTS[fy_index(period)]
    source = _pick(rng, sources, contacts)
    other_outcome = _pick(rng, cal.MASH_OTHER_OUTCOMES, contacts)
    referred = set(rng.sample(range(contacts), referrals))
    days = _days(rng, period, contacts, weekend=0.25)
    children = rng.choices(pools.children, cum_weights=pools.child_weights, k=contacts)
    return [
        {
            "contact_id": record_id("MC", period, i + 1),
            "child_ref": children[i],
            "received_date": days[i].isoformat(),
            "source": source[i],
            "outcome": "referral_to_csc" if i in referred else other_outcome[i],
        }
        for i in range(contacts)
    ]


def missing_episodes(period: str, episodes: int, offered: int, completed: int, pools: Pools,
                     rng: random.Random) -> list[Row]:
    """The month's missing episodes; interviews go to children who have come back.

    Interviews are offered to the first `offered` episodes of one random order
    (returned children first) and completed for the first `completed`, so a
    completed interview is always an offered one.
    """
    children = rng.choices(pools.missing_children, cum_weights=pools.missing_weights, k=episodes)
    starts = _days(rng, period, episodes, weekend=1.3)
    away = _pick(rng, cal.RETURN_AFTER_DAYS, episodes)
    order = sorted(rng.sample(range(episodes), episodes), key=lambda i: away[i] is None)
    rank = {episode: position for position, episode in enumerate(order)}
    return [
        {
            "episode_id": record_id("ME", period, i + 1),
            "child_ref": children[i],
            "start_date": starts[i].isoformat(),
            "end_date": "" if away[i] is None else (starts[i] + timedelta(days=away[i])).isoformat(),
            "looked_after": _bool(children[i] in pools.looked_after),
            "rhi_offered": _bool(rank[i] < offered),
            "rhi_completed": _bool(rank[i] < completed),
        }
        for i in range(episodes)
    ]


def lado_referrals(period: str, referrals: int, pools: Pools, rng: random.Random) -> list[Row]:
    """The month's LADO referrals: a setting of the drawn type, some settings more than once."""
    kinds = _pick(rng, cal.LADO_SETTINGS, referrals)
    allegations = _pick(rng, cal.LADO_ALLEGATIONS, referrals)
    outcomes = _pick(rng, cal.LADO_OUTCOMES, referrals)
    days = _days(rng, period, referrals, weekend=0.1)
    return [
        {
            "referral_id": record_id("LR", period, i + 1),
            "received_date": days[i].isoformat(),
            "setting_ref": rng.choices(pools.settings[kinds[i]], cum_weights=pools.setting_weights[kinds[i]])[0],
            "setting_type": kinds[i],
            "allegation_type": allegations[i],
            "outcome": outcomes[i],
        }
        for i in range(referrals)
    ]


def _pick(rng: random.Random, shares: Mapping[T, float], n: int) -> list[T]:
    return rng.choices(list(shares), weights=list(shares.values()), k=n)


def _days(rng: random.Random, period: str, n: int, weekend: float) -> Sequence[date]:
    """n dates in the month in order, weekend days `weekend` times as likely as weekdays."""
    days = month_days(period)
    return sorted(rng.choices(days, weights=[weekend if d.weekday() >= 5 else 1.0 for d in days], k=n))


def _bool(value: bool) -> str:
    return "true" if value else "false"
