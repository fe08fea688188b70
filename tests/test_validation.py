"""The validation entry point as a whole: schemas generated from the catalogue, and no exception escapes."""

from __future__ import annotations

import random

import pytest
from feedfiles import write_aggregate

from radar.core.catalogue import Column, Feed
from radar.validation.feeds import ValidatedFile, validate_file
from radar.validation.problems import RULES, Problem
from radar.validation.schemas import AGGREGATE_COLUMNS, expected_columns, schema_for

LIMIT = 10 * 1024 * 1024



def checks_by_column(schema):
    return {name: [c.error for c in column.checks] for name, column in schema.columns.items()}


def test_record_schema_follows_the_catalogue(catalogue):
    schema = schema_for(catalogue.feed_by_id["missing_episodes"], "2024-03", catalogue)
    assert checks_by_column(schema) == {
        "episode_id": ["too_long"], "child_ref": ["too_long"],
        "start_date": ["not_a_date", "date_outside_period"],
        "end_date": ["not_a_date", "date_order"],
        "looked_after": ["not_allowed"], "rhi_offered": ["not_allowed"], "rhi_completed": ["not_allowed", "implies"],
    }
    assert [n for n, c in schema.columns.items() if c.unique] == ["episode_id"]
    assert [n for n, c in schema.columns.items() if c.nullable] == ["end_date"]
    assert schema.strict and schema.ordered


def test_a_new_catalogue_column_is_validated_without_code(tmp_path, catalogue):
    """Schemas are generated: a feed declared only in data gets every check."""
    feed = Feed(id="test_feed", agency="police", kind="records", name="Test", key="ref", columns=(
        Column(name="ref", type="string", max_length=10, description="id"),
        Column(name="seen", type="date", in_period=True, description="date"),
        Column(name="category", type="category", dimension="cpp_category", required=False, description="c"),
    ))
    schema = schema_for(feed, "2024-03", catalogue)
    assert checks_by_column(schema) == {"ref": ["too_long"], "seen": ["not_a_date", "date_outside_period"],
                                        "category": ["not_allowed"]}
    assert expected_columns(feed) == ["ref", "seen", "category"]


def test_a_child_feed_may_keep_no_free_text_raw():
    """A reference swapped into a free-text column would be accepted and stored raw, so the catalogue refuses one."""
    child = Column(name="child_ref", type="string", max_length=64, pseudonymise=True, description="child")
    with pytest.raises(ValueError, match="free-text columns note sit beside a child's reference"):
        Feed(id="f", agency="police", kind="records", name="F", key="child_ref", columns=(
            child, Column(name="note", type="string", max_length=10, description="text")))
    Feed(id="f", agency="police", kind="records", name="F", key="child_ref", columns=(
        child, Column(name="seen", type="date", description="date")))


def test_aggregate_schema(catalogue):
    schema = schema_for(catalogue.feed_by_id["csc_monthly"], "2024-03", catalogue)
    assert list(schema.columns) == AGGREGATE_COLUMNS
    assert checks_by_column(schema) == {
        "period": ["period_mismatch"], "indicator": ["unknown_indicator", "not_sent_here", "duplicate"],
        "breakdown": ["breakdown"], "value": ["not_whole_number", "negative"]}


def test_every_check_is_a_known_rule_with_a_message(catalogue):
    for feed in catalogue.feeds:
        for column in schema_for(feed, "2024-03", catalogue).columns.values():
            for check in column.checks:
                assert check.error in RULES
                assert check.description and not check.description.startswith("<")


def test_ok_needs_a_frame_and_no_problems():
    problem = Problem(None, None, None, "empty_file", "empty")
    assert not ValidatedFile("f", "2024-03", None, [problem], {"empty_file": 1}, 0).ok
    assert not ValidatedFile("f", "2024-03", None, [], {}, 0).ok


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_garbage_never_raises(tmp_path, catalogue, seed, suffix):
    rng = random.Random(seed)
    path = tmp_path / f"police_monthly__2024-03.{suffix}"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
    result = validate_file(path, catalogue, LIMIT)
    assert not result.ok and result.problems and all(p.rule in RULES for p in result.problems)


def test_corrupted_return_never_raises(tmp_path, catalogue):
    """A valid return with random bytes overwritten still gets problems, not an exception."""
    rng = random.Random(7)
    path = write_aggregate(tmp_path, "csc_monthly", "2024-03", catalogue)
    for _ in range(30):
        data = bytearray(path.read_bytes())
        for _ in range(5):
            data[rng.randrange(len(data))] = rng.choice(b';,"\n\r\x00\xa3\xff=-0aZ ')
        path.write_bytes(bytes(data))
        result = validate_file(path, catalogue, LIMIT)
        assert all(p.rule in RULES for p in result.problems)
