"""Making text from a delivered file inert wherever Radar writes or shows it.

An agency's cell is data, never instructions: a spreadsheet evaluates text
starting with =, +, -, @ (or a tab or carriage return) as a formula
(`neutralise` prefixes it with an apostrophe, as OWASP advises for CSV
injection), and a Markdown or HTML renderer turns `[text](link)`, `![](image)`
or `<b>` into links, images and markup (`markdown_text` backslash-escapes every
ASCII punctuation character, which CommonMark always renders literally, and
folds line breaks so a cell stays one table cell).  The reports, the archive
and the dashboard all call these two functions, so there is one rule for
what "inert" means.  Both also make Unicode's bidirectional controls
(U+202A-U+202E, U+2066-U+2069) visible as `<U+202E>`: a right-to-left override
in a name would otherwise print the rest of the line reversed.  Validation
refuses them in every cell and file name (`BIDI_CONTROLS`); this is for the
names and text that still reach a report.
"""

from __future__ import annotations

import re
import string

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = "^[" + re.escape("".join(FORMULA_STARTS)) + "]"
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"[\r\n]+")
# Embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069): they reorder how text is shown.
BIDI_CONTROLS = "[\u202a-\u202e\u2066-\u2069]"
_BIDI = re.compile(BIDI_CONTROLS)


def has_bidi_control(text: str) -> bool:
    return _BIDI.search(text) is not None


def visible_controls(text: str) -> str:
    """`text` with each bidirectional control written out as `<U+XXXX>`, so it cannot reorder what follows."""
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def neutralise(text: str) -> str:
    """Text a spreadsheet will show as text, never evaluate as a formula."""
    text = visible_controls(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralised(column: str) -> pl.Expr:
    """`neutralise` for a whole text column of a polars frame (one expression, no Python per cell)."""
    text = pl.col(column)
    return pl.when(text.str.contains(_FORMULA)).then(pl.lit("'") + text).otherwise(text).alias(column)


def markdown_text(text: str) -> str:
    """Text a Markdown (or HTML) renderer shows literally, on one line: no links, images, markup or tables."""
    return _LINE_BREAKS.sub(" ", _PUNCTUATION.sub(r"\\\1", visible_controls(text)))
