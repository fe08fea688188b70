"""Keyed pseudonyms for child references.

A child's reference is replaced by HMAC-SHA256(key, reference), as 32 hex
characters, straight after validation: Radar can still count distinct children
and link a child's episodes across months, but the store never holds the raw
reference, and without the key nobody can recompute a pseudonym from a
guessed reference (a plain hash could be).  Each distinct value is hashed once
and joined back onto the column, so a million rows about a few hundred
thousand children cost a few hundred thousand hashes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import polars as pl

from radar.core.catalogue import Feed

PSEUDONYM_CHARS = 32
PSEUDONYM = "__pseudonym__"  # a working column while the pseudonyms are joined on


def pseudonymised_columns(feed: Feed) -> list[str]:
    """The columns of `feed` that hold a child identifier."""
    return [c.name for c in feed.columns if c.pseudonymise]


def pseudonymiser(key: bytes) -> Callable[[str], str]:
    """A function giving a value its keyed pseudonym; the key is prepared once, not per value."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def pseudonym(value: str) -> str:
        mac = keyed.copy()
        mac.update(value.encode("utf-8"))
        return mac.hexdigest()[:PSEUDONYM_CHARS]

    return pseudonym


def pseudonymise(frame: pl.DataFrame, columns: list[str], key: bytes) -> pl.DataFrame:
    """`frame` with each of `columns` replaced by its pseudonyms; nulls stay null."""
    pseudonym = pseudonymiser(key)
    for column in columns:
        distinct = frame[column].drop_nulls().unique()
        pseudonyms = pl.DataFrame({column: distinct, PSEUDONYM: [pseudonym(value) for value in distinct]},
                                  schema={column: pl.String, PSEUDONYM: pl.String})
        frame = (frame.join(pseudonyms, on=column, how="left", maintain_order="left")
                 .with_columns(pl.col(PSEUDONYM).alias(column)).drop(PSEUDONYM))
    return frame
