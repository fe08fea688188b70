"""What is wrong with a delivered file, in words a data lead can act on.

A `Problem` is the unit everything downstream shows: the rejection report, the
submission record and the dashboard's feed page.  Its `rule` is a stable id so
problems can be counted and explained; `RULES` gives each rule a short title
and the one thing to do about it, which the report prints once per rule
instead of repeating advice on every row.

Children's data: a cell from a pseudonymised column (the child's reference) is
never copied into a Problem; `shown_value` puts `HIDDEN` in its place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# The value of any cell of a return that holds child references: a shifted column or a broken
# line ending can put a child's reference in any column, so none of that return's cells is shown.
HIDDEN = "(not shown: this return holds child references)"
MAX_VALUE_CHARS = 80
# Enough examples for a data lead to find the pattern; a 1M-row bad file stays small.
EXAMPLES_PER_RULE = 100


@dataclass(frozen=True)
class Problem:
    row: int | None  # spreadsheet row: header is row 1, first data row is row 2; None for the whole file
    column: str | None
    value: str | None  # as delivered (shortened), or HIDDEN for a child reference
    rule: str
    message: str


@dataclass(frozen=True)
class Rule:
    title: str  # a few words for the report's summary table
    advice: str  # what the data lead should do about it


RULES: dict[str, Rule] = {
    "file_name": Rule(
        "File name does not follow the pattern",
        "Rename the file <feed_id>__YYYY-MM.csv (or .xlsx), e.g. csc_monthly__2024-03.csv, and send it again.",
    ),
    "not_a_file": Rule(
        "Not an ordinary file",
        "Put the file itself in the drop folder: Radar does not follow links, shortcuts or folders.",
    ),
    "file_too_large": Rule(
        "File is too large",
        "Check the file holds one month of one return only; ask the Radar team if it really is this big.",
    ),
    "empty_file": Rule("File is empty", "Export the return again: the file (or its first sheet) has nothing in it."),
    "no_rows": Rule("Header but no data", "Add the month's rows under the header row and send the file again."),
    "encoding": Rule("Text encoding not readable", "Save the file as 'CSV UTF-8 (comma delimited)' and send it again."),
    "delimiter": Rule(
        "Columns not separated by commas",
        "Save the file as 'CSV UTF-8 (comma delimited)' so that commas separate the columns.",
    ),
    "header": Rule(
        "Column names do not match",
        "Make the first row exactly the column names of this return, spelt and ordered as in the feed guide.",
    ),
    "control_character": Rule(
        "Invisible control character in a cell",
        "Remove the control characters (often pasted from another system) from the cells named and send "
        "the file again; 'CSV UTF-8' from Excel never contains them.",
    ),
    "bidi_control": Rule(
        "Invisible text-direction character",
        "Remove the right-to-left or left-to-right control characters (U+202A to U+202E, U+2066 to U+2069, "
        "often pasted from a web page or e-mail) from the cells named and send the file again.",
    ),
    "cell_too_long": Rule(
        "Cell text longer than Excel allows",
        "No cell can hold more than 32,767 characters: check this is the return itself, export it again "
        "from Excel and send it.",
    ),
    "hard_link": Rule(
        "A second name for another file",
        "Copy the return itself into the drop folder: Radar does not read a file that also has another name "
        "on the disk (a hard link).",
    ),
    "internal_problem": Rule(
        "Radar could not check the file",
        "Send the file again later; if it is refused again, tell the Radar operator the reference in the message.",
    ),
    "too_long": Rule("Text longer than allowed", "Shorten the text to the length the feed guide gives."),
    "row_length": Rule(
        "Row has more cells than the header",
        "Delete the stray cells, or put double quotes around values that contain a comma.",
    ),
    "unreadable": Rule(
        "File could not be read",
        "Open the file to check it, export it again as CSV UTF-8 or Excel (.xlsx) and resend it.",
    ),
    "period_mismatch": Rule(
        "Period differs from the file name",
        "Give every row the month in the file name (YYYY-MM); rows for another month go in that month's file.",
    ),
    "unknown_indicator": Rule("Unknown indicator", "Use the indicator ids exactly as listed in the feed guide."),
    "not_sent_here": Rule(
        "Indicator not part of this return",
        "Delete the row: Radar calculates this indicator itself, or another return carries it.",
    ),
    "breakdown": Rule(
        "Breakdown does not fit the indicator",
        "Use the breakdown values listed for the indicator; leave breakdown empty for the others.",
    ),
    "missing_indicator": Rule(
        "Indicator missing",
        "Add a row for every indicator (and each of its breakdowns); send 0 when there were none.",
    ),
    "duplicate": Rule("Repeated row or reference", "Keep one row per reference (or per indicator and breakdown)."),
    "not_whole_number": Rule(
        "Not a whole number",
        "Write counts as whole numbers with the digits 0-9: no decimals, thousands commas, spaces, words "
        "or digits of another script (such as ٣ or ３).",
    ),
    "negative": Rule("Negative count", "Counts cannot be below zero: correct the figure."),
    "blank": Rule("Required cell is empty", "Fill in the cell; for a count of none, write 0."),
    "not_a_date": Rule("Not a date", "Write dates as YYYY-MM-DD, for example 2024-03-31."),
    "date_outside_period": Rule(
        "Date outside the file's month",
        "Only include rows for the month in the file name; send other months in their own file.",
    ),
    "date_order": Rule("Dates in the wrong order", "Correct the dates: an end cannot come before its start."),
    "not_allowed": Rule(
        "Value not in the allowed list",
        "Use one of the allowed values from the feed guide, spelt exactly.",
    ),
    "implies": Rule(
        "Answers contradict each other",
        "Correct the row: the second answer can only be true when the first one is.",
    ),
    "numerator_above_denominator": Rule(
        "Part larger than its whole",
        "Check both figures: a part (e.g. within 45 days) cannot exceed its total.",
    ),
}


def shown_value(value: str | None, hidden: bool = False) -> str | None:
    """The cell as a Problem may show it: shortened, or hidden when it identifies a child."""
    if value is None:
        return None
    if hidden:
        return HIDDEN
    return value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…"


@dataclass
class ProblemLog:
    """Counts every failure of every rule but keeps only the first examples of each."""

    examples: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def record(self, rule: str, total: int, examples: Iterable[Problem]) -> None:
        kept = sum(1 for p in self.examples if p.rule == rule)
        self.examples.extend(list(examples)[: max(EXAMPLES_PER_RULE - kept, 0)])
        self.counts[rule] = self.counts.get(rule, 0) + total

    def add(self, problem: Problem) -> None:
        self.record(problem.rule, 1, [problem])

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)
