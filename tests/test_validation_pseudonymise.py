"""Keyed pseudonyms: deterministic per key, different across keys, one hash per distinct value."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

import radar.validation.pseudonymise as pseudo
from radar.validation.pseudonymise import (
    pseudonymise,
    pseudonymised_columns,
    pseudonymiser,
)

KEY = b"k" * 32



def frame():
    return pl.DataFrame({"row_number": [2, 3, 4, 5], "child_ref": ["A1", "B2", None, "A1"], "other": ["x"] * 4})


def test_pseudonym_is_hmac_sha256_truncated():
    expected = hmac.new(KEY, b"A1", hashlib.sha256).hexdigest()[:32]
    assert pseudonymiser(KEY)("A1") == expected
    assert len(expected) == 32


def test_pseudonym_is_hmac_sha256_for_every_key_length_and_any_text():
    """Keys shorter than, equal to and longer than SHA-256's 64-byte block (a long key is hashed first)."""
    values = ["A1", "", "Zoë-Ångström 名前", "x" * 200]
    for key in (b"", b"k", b"k" * 64, b"k" * 65, bytes(range(256))):
        pseudonym = pseudonymiser(key)
        for value in values:
            assert pseudonym(value) == hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def test_same_key_same_pseudonym_nulls_stay_null_other_columns_untouched():
    out = pseudonymise(frame(), ["child_ref"], KEY)
    a1, b2 = pseudonymiser(KEY)("A1"), pseudonymiser(KEY)("B2")
    assert out["child_ref"].to_list() == [a1, b2, None, a1]
    assert out.columns == frame().columns
    assert out.drop("child_ref").equals(frame().drop("child_ref"))
    assert pseudonymise(frame(), ["child_ref"], KEY).equals(out)


def test_different_key_gives_different_pseudonyms():
    one = pseudonymise(frame(), ["child_ref"], KEY)["child_ref"]
    two = pseudonymise(frame(), ["child_ref"], b"another key")["child_ref"]
    assert set(one.drop_nulls()).isdisjoint(set(two.drop_nulls()))


def test_each_distinct_value_is_hashed_once(monkeypatch):
    calls = []
    real = pseudo.pseudonymiser

    def counting(key):
        inner = real(key)
        return lambda value: calls.append(value) or inner(value)

    monkeypatch.setattr(pseudo, "pseudonymiser", counting)
    many = pl.DataFrame({"child_ref": ["A1", "B2", "A1", "A1", None, "B2"] * 1000})
    out = pseudonymise(many, ["child_ref"], KEY)
    assert sorted(calls) == ["A1", "B2"]
    assert out["child_ref"].n_unique() == 3  # two pseudonyms and null


def test_row_order_is_kept():
    refs = [f"C{i % 7}" for i in range(50)]
    out = pseudonymise(pl.DataFrame({"n": range(50), "child_ref": refs}), ["child_ref"], KEY)
    assert out["n"].to_list() == list(range(50))
    assert out["child_ref"].to_list() == [pseudonymiser(KEY)(r) for r in refs]


def test_pseudonymised_columns(catalogue):
    assert pseudonymised_columns(catalogue.feed_by_id["mash_contacts"]) == ["contact_id", "child_ref"]
    assert pseudonymised_columns(catalogue.feed_by_id["missing_episodes"]) == ["episode_id", "child_ref"]
    assert pseudonymised_columns(catalogue.feed_by_id["lado_referrals"]) == []
    assert pseudonymised_columns(catalogue.feed_by_id["csc_monthly"]) == []
