"""Making text from a delivered file inert wherever Radar writes or shows it.

An agency's cell is data, never instructions: a spreadsheet evaluates text
starting with =, +, -, @ (or a tab or carriage return) as a formula
(`neutralise` prefixes it with an apostrophe, as OWASP advises for CSV
injection), and a Markdown or HTML renderer turns `[text](link)`, `![](image)`
or `<b>` into links, images and markup (`markdown_text` backslash-escapes every
ASCII punctuation character, which CommonMark always renders literally, and
folds line breaks so a cell stays one table cell).  The reports, the archive
and the dashboard all call these two functions, so there is one rule for
what "inert" means.
"""

from __future__ import annotations

import re
import string

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = "^[" + re.escape("".join(FORMULA_STARTS)) + "]"
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def neutralise(text: str) -> str:
    """Text a spreadsheet will show as text, never evaluate as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralised(column: str) -> pl.Expr:
    """`neutralise` for a whole text column of a polars frame (one expression, no Python per cell)."""
    text = pl.col(column)
    return pl.when(text.str.contains(_FORMULA)).then(pl.lit("'") + text).otherwise(text).alias(column)


def markdown_text(text: str) -> str:
    """Text a Markdown (or HTML) renderer shows literally, on one line: no links, images, markup or tables."""
    return _LINE_BREAKS.sub(" ", _PUNCTUATION.sub(r"\\\1", text))
