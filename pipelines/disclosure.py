"""Disclosure control for published outputs, following the DfE convention, on counts of children only.

A count of children (or of contacts, referrals, plans or episodes, each about
one child: the catalogue's `counts: children | child_events`) from 1 to the
partnership's threshold (`[disclosure] threshold`, 5 by default) is shown as
`c`; so is any figure it could be worked out from (secondary suppression,
checked against the total that is printed), and any rate, percentage,
average, chart or sentence resting on it.  Counts of risks, files, agencies,
actions, crimes or settings are never hidden: they disclose nothing about a
child.

Pure, and applied to a copy: the internal Board pack is never altered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import polars as pl

from radar.core.catalogue import Catalogue

SUPPRESSED = "c"
NOT_AVAILABLE = "x"
DEFAULT_THRESHOLD = 5


def is_small(count: float | None, threshold: int) -> bool:
    """A count of children that publication hides: from 1 to `threshold` (zero discloses nothing about a child)."""
    return count is not None and 0 < count <= threshold


def _exposed(parts: Sequence[int | None], total: int | None, hidden: set[int], threshold: int) -> bool:
    """Whether the hidden parts could be worked out, or together make a small count, from the printed total.

    With the total shown, the hidden parts sum to the total less the shown
    ones (S); a reader knows each hidden part is at least 1 (zeros are never
    hidden), so each lies between 1 and S - (k - 1) for k hidden parts.  One
    hidden part is S itself; S no more than k pins every one of them to 1;
    S from 1 to the threshold is itself a small count of children.
    """
    if total is None or not hidden or any(p is None for p in parts):
        return False  # no total printed (or a part not available): nothing to subtract from
    rest = total - sum(p for n, p in enumerate(parts) if n not in hidden)
    return len(hidden) == 1 or rest <= len(hidden) or is_small(rest, threshold)


def suppress_parts(parts: Sequence[int | None], total: int | None,
                   threshold: int = DEFAULT_THRESHOLD) -> tuple[list[str], str]:
    """(the parts as published, the total as published) for counts of children that add up to `total`.

    Primary: every part (and a total) from 1 to `threshold` becomes `c`; a
    hidden total hides every non-zero part, which are then all small.
    Secondary: while the hidden parts could be worked out from the shown
    total (see `_exposed`: `10, c, 0, c, 12` gives both away, two parts of at
    least 1 summing to 2), the smallest shown non-zero part is hidden too.
    Zero is shown; None (no figure) is shown as `x`, DfE's "not available".
    """
    total_hidden = is_small(total, threshold)
    hidden = {n for n, p in enumerate(parts) if is_small(p, threshold) or (total_hidden and p)}
    while not total_hidden and _exposed(parts, total, hidden, threshold):
        shown = [(p, n) for n, p in enumerate(parts) if n not in hidden and p]
        if not shown:
            total_hidden = True  # every non-zero part is hidden and still pinned: the total goes too
            break
        hidden.add(min(shown)[1])
    published = [SUPPRESSED if n in hidden else (NOT_AVAILABLE if p is None else f"{p:,}")
                 for n, p in enumerate(parts)]
    return published, SUPPRESSED if total_hidden else (NOT_AVAILABLE if total is None else f"{total:,}")


def resting_on_few(values: pl.DataFrame, catalogue: Catalogue, threshold: int) -> pl.DataFrame:
    """(indicator, period) of every stored total whose figure rests on 1 to `threshold` children.

    `values` are indicator_value rows (indicator, breakdown, period, value,
    numerator, denominator).  A count of children rests on itself; a
    percentage, rate or average on its numerator and denominator where those
    count children (catalogue.child_bases: a rate per 10,000 rests on its
    count, not on the population; an average of days on its children).
    """
    totals = values.filter(pl.col("breakdown") == "")
    found = []
    for indicator in totals["indicator"].unique().sort():
        bases = catalogue.child_bases(indicator) if indicator in catalogue.indicator_by_id else ()
        if not bases:
            continue
        small = pl.any_horizontal([pl.col(b).is_between(1, threshold, closed="both").fill_null(False) for b in bases])
        found.append(totals.filter(pl.col("indicator") == indicator, small).select("indicator", "period"))
    return pl.concat(found) if found else pl.DataFrame(schema={"indicator": pl.String, "period": pl.String})


FEW_CHILDREN = re.compile(r"\b(\d[\d,]*)\s+(?:child|children|young (?:person|people))\b", re.IGNORECASE)


def names_few_children(sentence: str, threshold: int) -> bool:
    """Whether a sentence states a count of 1 to `threshold` children ("based on 1 child", "3 children went missing")."""
    return any(is_small(int(m.group(1).replace(",", "")), threshold) for m in FEW_CHILDREN.finditer(sentence))


def withheld_sentence(about: str, threshold: int) -> str:
    """What publication prints instead of a sentence resting on few children."""
    return f"{about}: not published, because it rests on too few children (from 1 to {threshold})."


def any_in(few: Iterable[tuple[str, str]], indicator: str, months: Iterable[str]) -> bool:
    """Whether any of an indicator's `months` rests on few children (`few` as from `resting_on_few`)."""
    wanted = set(months)
    return any(i == indicator and p in wanted for i, p in few)
