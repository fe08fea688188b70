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
from collections.abc import Callable

import polars as pl

from radar.core.catalogue import Feed

PSEUDONYM_CHARS = 32
PSEUDONYM = "__pseudonym__"  # a working column while the pseudonyms are joined on


def pseudonymised_columns(feed: Feed) -> list[str]:
    """The columns of `feed` that hold a child identifier."""
    return [c.name for c in feed.columns if c.pseudonymise]


def pseudonymiser(key: bytes) -> Callable[[str], str]:
    """A function giving a value its keyed pseudonym, HMAC-SHA256 as RFC 2104 defines it.

    The key's inner and outer hash states are prepared once and copied per
    value: `hmac.HMAC.copy` costs a Python object per value, as much as the
    hashing itself, and a million-row file holds two million references.
    `tests/test_validation_pseudonymise.py` holds it to `hmac.new` byte for byte.
    """
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def pseudonym(value: str) -> str:
        digest = inner.copy()
        digest.update(value.encode("utf-8"))
        mac = outer.copy()
        mac.update(digest.digest())
        return mac.hexdigest()[:PSEUDONYM_CHARS]

    return pseudonym


def pseudonymise(frame: pl.DataFrame, columns: list[str], key: bytes) -> pl.DataFrame:
    """`frame` with each of `columns` replaced by its pseudonyms; nulls stay null."""
    pseudonym = pseudonymiser(key)
    for column in columns:
        distinct = frame[column].drop_nulls().unique()
        pseudonyms = pl.DataFrame({column: distinct, PSEUDONYM: [pseudonym(value) for value in distinct.to_list()]},
                                  schema={column: pl.String, PSEUDONYM: pl.String})
        frame = (frame.join(pseudonyms, on=column, how="left", maintain_order="left")
                 .with_columns(pl.col(PSEUDONYM).alias(column)).drop(PSEUDONYM))
    return frame
