"""Numbers, months and names written the way a Board member reads them.

Alert messages go to the Independent Chair and subgroup chairs, not to
analysts: "Sep 2019" rather than "2019-09", "53.0%" rather than 0.53,
"39.2 per 10,000 children" rather than a bare rate, "1,234" rather than
1234.0.  Every alert rule formats through these helpers so the same number
reads the same way in every message.
"""

from __future__ import annotations

import json
from datetime import date


def number(value: float, unit: str) -> str:
    """A value with its unit: "53.0%", "39.2 per 10,000 children", "426 days" or "1,234".

    A count is of children (or their cases), so it is a whole number even when
    it is a mean, a limit or a seasonally adjusted value: "3,726", never "3,726.1".
    """
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "rate_per_10k":
        return f"{value:,.1f} per 10,000 children"
    if unit == "days":
        return f"{value:,.0f} days"
    return f"{value:,.0f}"


def value_range(lower: float, upper: float, unit: str) -> str:
    """A usual range with its unit written once: "12 to 35", "40.0% to 60.0%", "30.1 to 50.2 per 10,000 children".

    A lower limit below zero is shown as 0: none of Radar's units can be
    negative, and "-3 to 35 referrals" would only puzzle the reader.
    """
    lower = max(lower, 0.0)
    if unit == "rate_per_10k":
        return f"{lower:,.1f} to {upper:,.1f} per 10,000 children"
    if unit == "days":
        return f"{lower:,.0f} to {upper:,.0f} days"
    return f"{number(lower, unit)} to {number(upper, unit)}"


def series_name(name: str, breakdown: str | None) -> str:
    """An indicator's name, with its breakdown value when it is not the total: "Child protection plans (neglect)"."""
    return f"{name} ({label(breakdown)})" if breakdown else name


def feed_title(name: str) -> str:
    """A feed's name without its note for data leads: "MASH contacts (one row per contact)" -> "MASH contacts"."""
    return name.split(" (")[0]


def label(code: str) -> str:
    """A catalogue code as words: "early_years" -> "early years"."""
    return code.replace("_", " ")


def indicator_list(names: list[str], shown: int = 2) -> str:
    """"A", "A and B", "A, B and C", or "A, B and 3 other indicators": a long list stays one readable sentence."""
    if len(names) <= shown + 1:
        return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)
    rest = len(names) - shown
    return f"{', '.join(names[:shown])} and {rest} other indicators"


def plural(count: int, one: str, many: str) -> str:
    """"1 child", "4 children"."""
    return f"{count:,} {one if count == 1 else many}"


def evidence(**values: object) -> str:
    """The values an alert was raised on, as a JSON string with sorted keys.

    Floats keep 6 significant figures (enough for a limit, and a tail
    probability of 1e-7 does not round to 0) and dates are ISO strings, so the
    same inputs always give the same text and re-running a cycle never looks
    like a change.
    """

    def clean(value: object) -> object:
        if isinstance(value, float):
            return float(f"{value:.6g}")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return json.dumps({k: clean(v) for k, v in values.items()}, sort_keys=True)
