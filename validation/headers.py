"""Checking the header row: separators, missing, extra, misspelt and reordered columns.

The header is checked before any cell, because every later check relies on the
columns being the ones the feed declares.  Each difference gets its own
problem, and a misspelt name is matched to the expected name it most resembles
(difflib) so the data lead sees "did you mean 'received_date'?".
"""

from __future__ import annotations

import difflib
from collections import Counter

from radar.validation.problems import Problem, shown_value

SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}


def header_problems(header: list[str | None], expected: list[str], quote: bool = True) -> list[Problem]:
    """Every way the delivered header differs from `expected`; empty when it matches exactly.

    With `quote=False` (a return that holds child references) a delivered name
    is never repeated back, only its position: when line endings or columns
    are broken, the "header" may be a row of data.
    """
    if header == expected:
        return []
    separator = _other_separator(header, expected)
    if separator:
        return [_problem(None, f"The file uses {separator} between columns; Radar needs commas. "
                               "Save it as 'CSV UTF-8 (comma delimited)'.", rule="delimiter")]
    names = [name or "" for name in header]
    if not {name.lower() for name in names} & set(expected):
        # Not one expected name, in any case: probably no header row at all, so
        # its cells may be data (even a child's reference) and are not repeated back.
        return [_problem(None, f"The first row must be the column names {_listed(expected)}, but none of them "
                               "is there: add the header row, or check this is the right return.")]

    def called(position: int, name: str) -> str:
        return f"'{shown_value(name)}'" if quote else str(position)

    def where(position: int, name: str) -> str:
        return shown_value(name) if quote else f"column {position}"

    first = {name: position for position, name in reversed(list(enumerate(names, start=1)))}
    problems = [_problem(where(first[name], name), f"Column {called(first[name], name)} appears more than once "
                                                   "in the header: keep one.")
                for name, n in Counter(names).items() if n > 1 and name]
    problems += [_problem(None, f"Column {position} has values but no name in the header row: "
                                "delete the column or give it its name.")
                 for position, name in enumerate(names, start=1) if not name]
    missing = [name for name in expected if name not in names]
    for name in dict.fromkeys(n for n in names if n and n not in expected):
        close = difflib.get_close_matches(name, missing, n=1) or difflib.get_close_matches(
            name.lower(), missing, n=1)
        if close:
            missing.remove(close[0])
            text = f"Column {called(first[name], name)} is not expected: did you mean '{close[0]}'?"
        else:
            text = f"Column {called(first[name], name)} is not part of this return: delete it."
        problems.append(_problem(where(first[name], name), text))
    problems += [_problem(name, f"Column '{name}' is missing: add it (columns are {_listed(expected)}).")
                 for name in missing]
    if not problems:
        problems.append(_problem(None, f"The columns are in a different order: "
                                       f"they must be {_listed(expected)}, in that order."))
    return problems


def _other_separator(header: list[str | None], expected: list[str]) -> str | None:
    """The separator a one-column header was written with, when it is not a comma."""
    if len(header) != 1 or len(expected) == 1 or not header[0]:
        return None
    return next((name for sep, name in SEPARATORS.items() if sep in header[0]), None)


def _listed(names: list[str]) -> str:
    return ", ".join(names)


def _problem(column: str | None, message: str, rule: str = "header") -> Problem:
    return Problem(row=1, column=column, value=None, rule=rule, message=message)
