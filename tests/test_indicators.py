"""Golden tests for the indicator pipeline: counts, totals and derivations by hand."""

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from radar.pipelines.indicators import (
    CELL,
    FEW_VALUES,
    _as_enum,
    _cell_counts,
    _grouped,
    add_totals,
    compute_indicators,
    count_records,
    derive,
)


def value(frame: pl.DataFrame, indicator: str, period: str, breakdown: str = "") -> float | None:
    rows = frame.filter(
        (pl.col("indicator") == indicator) & (pl.col("period") == period) & (pl.col("breakdown") == breakdown)
    )
    assert rows.height == 1, f"expected one row for {indicator} {period} {breakdown!r}, got {rows.height}"
    return rows["value"][0]


def mash(rows):
    return pl.DataFrame(
        rows, schema={"period": pl.String, "child_ref": pl.String, "source": pl.String, "outcome": pl.String},
        orient="row",
    )


def months(*periods):
    return pl.DataFrame({"period": list(periods)})


def population(periods, count=80_000, carried=False):
    return pl.DataFrame({
        "period": periods, "population": [count] * len(periods),
        "population_year": [2019] * len(periods), "carried_forward": [carried] * len(periods),
    })


def test_record_counts_by_source_with_explicit_zeros(catalogue):
    records = mash([
        ("2019-07", "a", "police", "referral_to_csc"),
        ("2019-07", "a", "police", "no_further_action"),
        ("2019-07", "b", "health", "referral_to_csc"),
        ("2019-07", "c", "schools", "early_help"),
    ])
    out = count_records(catalogue, "mash_contacts", records, months("2019-07", "2019-08"))
    assert value(out, "mash_enquiries", "2019-07") == 4
    assert value(out, "mash_enquiries", "2019-07", "police") == 2
    assert value(out, "mash_enquiries", "2019-07", "individual") == 0
    assert value(out, "mash_referrals", "2019-07") == 2
    assert value(out, "mash_referrals", "2019-07", "schools") == 0
    assert value(out, "mash_children", "2019-07") == 3  # child a twice counts once
    # August was delivered with no rows: true zeros, not missing values.
    assert value(out, "mash_enquiries", "2019-08") == 0
    assert value(out, "mash_enquiries", "2019-08", "police") == 0


def test_boolean_filters_on_missing_episodes(catalogue):
    records = pl.DataFrame({
        "period": ["2020-01"] * 3,
        "child_ref": ["x", "x", "y"],
        "looked_after": [True, True, False],
        "rhi_offered": [True, True, False],
        "rhi_completed": [True, False, False],
    })
    out = count_records(catalogue, "missing_episodes", records, months("2020-01"))
    assert value(out, "missing_episodes", "2020-01") == 3
    assert value(out, "missing_episodes_cla", "2020-01") == 2
    assert value(out, "children_missing", "2020-01") == 2
    assert value(out, "rhi_offered", "2020-01") == 2
    assert value(out, "rhi_completed", "2020-01") == 1


def test_totals_are_computed_not_sent(catalogue):
    obs = pl.DataFrame({
        "period": ["2020-03"] * 5,
        "indicator": ["cpp_open"] * 5,
        "breakdown": ["neglect", "emotional_abuse", "physical_abuse", "sexual_abuse", "multiple"],
        "value": [194, 95, 3, 2, 0],
    })
    out = add_totals(catalogue, obs)
    assert value(out, "cpp_open", "2020-03") == 294
    assert value(out, "cpp_open", "2020-03", "neglect") == 194


def test_derived_percent_rate_and_days(catalogue):
    base = pl.DataFrame({
        "period": ["2020-03"] * 7,
        "indicator": ["swa_within_45_days", "swa_completed", "cpp_open", "adoption_days_total",
                      "adoption_placements", "icpc_held", "icpc_within_15_days"],
        "breakdown": [""] * 7,
        "value": [261.0, 300.0, 294.0, 748.0, 2.0, 0.0, 0.0],
    })
    out = derive(catalogue, base, population(["2020-03"], 75_055))
    assert value(out, "swa_timeliness", "2020-03") == pytest.approx(87.0)  # 261/300
    assert value(out, "cpp_rate", "2020-03") == pytest.approx(294 / 75_055 * 10_000)  # 39.17 per 10k
    assert value(out, "adoption_timeliness", "2020-03") == pytest.approx(374.0)  # 748 days / 2 children
    # Zero denominator: no value and a note, never a stand-in number.
    icpc = out.filter(pl.col("indicator") == "icpc_timeliness")
    assert icpc["value"].to_list() == [None]
    assert "zero" in icpc["note"][0]


def test_derived_by_breakdown_uses_matching_breakdown(catalogue):
    base = pl.DataFrame({
        "period": ["2019-10"] * 4,
        "indicator": ["mash_referrals", "mash_enquiries", "mash_referrals", "mash_enquiries"],
        "breakdown": ["", "", "police", "police"],
        "value": [53.0, 100.0, 30.0, 40.0],
    })
    out = derive(catalogue, base, population(["2019-10"]))
    assert value(out, "mash_conversion", "2019-10") == pytest.approx(53.0)
    assert value(out, "mash_conversion", "2019-10", "police") == pytest.approx(75.0)


def test_carried_forward_population_is_said(catalogue):
    base = pl.DataFrame({"period": ["2026-01"], "indicator": ["cla_open"], "breakdown": [""], "value": [331.0]})
    out = derive(catalogue, base, population(["2026-01"], 80_000, carried=True))
    row = out.filter(pl.col("indicator") == "cla_rate")
    assert row["value"][0] == pytest.approx(41.375)
    assert "carried forward" in row["note"][0]


def test_compute_indicators_end_to_end_small(catalogue):
    obs = pl.DataFrame({
        "period": ["2019-04", "2019-04"], "indicator": ["swa_completed", "swa_within_45_days"],
        "breakdown": ["", ""], "value": [10.0, 9.0],
    })
    records = {"mash_contacts": mash([("2019-04", "a", "police", "referral_to_csc"),
                                      ("2019-04", "b", "police", "early_help")])}
    out = compute_indicators(catalogue, obs, records, {"mash_contacts": months("2019-04")}, population(["2019-04"]))
    assert value(out, "swa_timeliness", "2019-04") == pytest.approx(90.0)
    assert value(out, "mash_conversion", "2019-04") == pytest.approx(50.0)
    assert out.select(["period", "indicator", "breakdown"]).is_duplicated().sum() == 0
    assert out.schema["period"] == pl.String


def test_many_authorities_at_once_give_each_authoritys_own_values(catalogue):
    """With `by=["la_code"]` nothing is summed or joined across authorities."""
    obs = pl.DataFrame({
        "la_code": ["A", "A", "B", "B"], "period": ["2019-04"] * 4,
        "indicator": ["swa_completed", "swa_within_45_days"] * 2, "breakdown": [""] * 4, "value": [10, 9, 20, 5],
    })
    records = {"mash_contacts": mash([("2019-04", "a", "police", "referral_to_csc")]).with_columns(la_code=pl.lit("A"))}
    delivered = {"mash_contacts": pl.DataFrame({"la_code": ["A", "B"], "period": ["2019-04"] * 2})}
    pops = pl.concat([population(["2019-04"], 1000).with_columns(la_code=pl.lit(code)) for code in "AB"])
    out = compute_indicators(catalogue, obs, records, delivered, pops, by=["la_code"])
    timeliness = out.filter(pl.col("indicator") == "swa_timeliness").select("la_code", "value").rows()
    assert timeliness == [("A", pytest.approx(90.0)), ("B", pytest.approx(25.0))]
    enquiries = out.filter((pl.col("indicator") == "mash_enquiries") & (pl.col("breakdown") == ""))
    assert enquiries.select("la_code", "value").rows() == [("A", 1.0), ("B", 0.0)]


def test_a_missing_category_counts_in_the_total_only(catalogue):
    # The grouping packs each column's codes into one integer, null as a code of its own.
    records = mash([
        ("2019-07", "a", None, "referral_to_csc"),
        ("2019-07", "b", "police", None),
        ("2019-07", "c", "police", "referral_to_csc"),
    ])
    out = count_records(catalogue, "mash_contacts", records, months("2019-07"))
    assert value(out, "mash_enquiries", "2019-07") == 3
    assert value(out, "mash_enquiries", "2019-07", "police") == 2
    assert value(out, "mash_referrals", "2019-07") == 2
    assert value(out, "mash_referrals", "2019-07", "police") == 1


def test_integer_group_keys_far_apart(catalogue):
    # Integer authority codes 2**62 apart: the cells are numbered, never packed from the keys.
    far = [-(2**62), 2**62]
    records = pl.concat([
        mash([("2019-07", "a", "police", "early_help"), ("2019-08", "b", "health", "early_help")]).with_columns(
            la_code=pl.lit(code)
        )
        for code in far
    ]).vstack(mash([("2019-07", "c", "police", "early_help")]).with_columns(la_code=pl.lit(far[0])))
    delivered = pl.DataFrame({"la_code": [far[0], far[0], far[1], far[1]], "period": ["2019-07", "2019-08"] * 2})
    out = count_records(catalogue, "mash_contacts", records, delivered, by=["la_code"])
    police = out.filter(indicator="mash_enquiries", breakdown="police", period="2019-07")
    assert police.sort("la_code").select("la_code", "value").rows() == [(far[0], 2.0), (far[1], 1.0)]
    children = out.filter(indicator="mash_children", breakdown="", period="2019-07")
    assert children.sort("la_code")["value"].to_list() == [2.0, 1.0]


def test_columns_too_wide_to_pack_are_grouped_as_they_are():
    far = pl.DataFrame({"a": [-(2**62), 2**62, -(2**62)], "b": [-(2**62), 2**62, -(2**62)], "x": [1, 2, 3]})
    out = _grouped(far, ["a", "b"], pl.col("x").sum()).sort("a")
    assert out.select("a", "b", "x").rows() == [(-(2**62), -(2**62), 4), (2**62, 2**62, 2)]


def test_signed_codes_with_nulls_pack_into_a_64_bit_key():
    frame = pl.DataFrame({"a": [-5, None, -5, 7], "b": [True, False, True, None], "x": [1, 2, 3, 4]})
    out = _grouped(frame, ["a", "b"], pl.col("x").sum()).sort("x", "a")
    assert out.select("a", "b", "x").rows() == [(None, False, 2), (-5, True, 4), (7, None, 4)]


def national_like(seed: int, n: int = 3_000) -> pl.DataFrame:
    """Records of three authorities over three months, grouped by authority and month as a store returns them,
    with some sources and outcomes missing."""
    rng = random.Random(seed)
    sources = ["police", "health", "schools", "la_services", "individual", "other", None]
    outcomes = ["referral_to_csc", "early_help", "advice_information", "no_further_action", None]
    rows = [
        (la, period, f"child{rng.randrange(200)}", rng.choice(sources), rng.choice(outcomes))
        for la in ("A", "B", "C") for period in ("2020-01", "2020-02", "2020-03") for _ in range(n // 9)
    ]
    return pl.DataFrame(
        rows, schema={"la_code": pl.String, "period": pl.String, "child_ref": pl.String, "source": pl.String,
                      "outcome": pl.String}, orient="row",
    )


def by_hand(records: pl.DataFrame) -> pl.DataFrame:
    """The MASH counts the plain way: a group_by of the strings per indicator and breakdown."""
    keys = ["la_code", "period"]
    referrals = records.filter(pl.col("outcome") == "referral_to_csc")
    parts = [
        records.group_by(keys).agg(value=pl.len()).with_columns(indicator=pl.lit("mash_enquiries"), breakdown=pl.lit("")),
        records.drop_nulls("source").group_by(*keys, "source").agg(value=pl.len())
        .with_columns(indicator=pl.lit("mash_enquiries"), breakdown="source"),
        referrals.group_by(keys).agg(value=pl.len()).with_columns(indicator=pl.lit("mash_referrals"), breakdown=pl.lit("")),
        referrals.drop_nulls("source").group_by(*keys, "source").agg(value=pl.len())
        .with_columns(indicator=pl.lit("mash_referrals"), breakdown="source"),
        records.group_by(keys).agg(value=pl.col("child_ref").n_unique())
        .with_columns(indicator=pl.lit("mash_children"), breakdown=pl.lit("")),
    ]
    return pl.concat([p.select(*keys, "indicator", "breakdown", pl.col("value").cast(pl.Float64)) for p in parts])


def nonzero(out: pl.DataFrame) -> pl.DataFrame:
    return out.filter(pl.col("value") > 0).sort("la_code", "period", "indicator", "breakdown")


DELIVERED = pl.DataFrame({"la_code": ["A", "A", "A", "B", "B", "B", "C", "C", "C"],
                          "period": ["2020-01", "2020-02", "2020-03"] * 3})


@pytest.mark.parametrize("order", ["grouped", "shuffled", "interleaved"])
def test_counts_do_not_depend_on_the_order_of_the_records(catalogue, order):
    # Grouped records are counted by runs of equal keys; shuffled ones (almost every row a run) and a file
    # of one month split in two (one cell, two runs) have their runs regrouped by their keys.
    records = national_like(seed=7)
    arranged = {
        "grouped": records,
        "shuffled": records.sample(fraction=1.0, shuffle=True, seed=3),
        "interleaved": pl.concat([records.slice(0, 200), records.slice(400), records.slice(200, 200)]),
    }[order]
    out = count_records(catalogue, "mash_contacts", arranged, DELIVERED, by=["la_code"])
    assert_frame_equal(nonzero(out), nonzero(by_hand(records)), check_column_order=False)
    assert out.height == DELIVERED.height * (1 + 6 + 1 + 6 + 1)  # every indicator and source, zeros included
    assert_frame_equal(out, count_records(catalogue, "mash_contacts", records, DELIVERED, by=["la_code"]))


def test_a_record_missing_its_authority_or_month_is_counted_nowhere(catalogue):
    # First row too: a run starting with a missing key is still a run of its own.
    records = mash([
        (None, "a", "police", "referral_to_csc"),
        ("2019-07", "a", "police", "referral_to_csc"),
        ("2019-07", "b", "health", "early_help"),
        (None, "c", "police", "early_help"),
        ("2019-08", "d", "police", "early_help"),
    ]).with_columns(la_code=pl.Series(["A", "A", "A", None, "A"]))
    delivered = pl.DataFrame({"la_code": ["A", "A"], "period": ["2019-07", "2019-08"]})
    out = count_records(catalogue, "mash_contacts", records, delivered, by=["la_code"])
    assert value(out, "mash_enquiries", "2019-07") == 2
    assert value(out, "mash_enquiries", "2019-07", "police") == 1
    assert value(out, "mash_children", "2019-07") == 2
    assert value(out, "mash_enquiries", "2019-08") == 1
    assert out.filter(pl.col("la_code").is_null() | pl.col("period").is_null()).is_empty()


def test_no_records_at_all_give_zeros_for_every_delivered_month(catalogue):
    out = count_records(catalogue, "mash_contacts", mash([]), months("2019-07"))
    assert out.height == 1 + 6 + 1 + 6 + 1
    assert out["value"].to_list() == [0.0] * out.height


def test_a_category_outside_the_catalogue_counts_in_the_total_only(catalogue):
    records = mash([("2019-07", "a", "carrier_pigeon", "referral_to_csc"), ("2019-07", "b", "police", "shrug")])
    out = count_records(catalogue, "mash_contacts", records, months("2019-07"))
    assert value(out, "mash_enquiries", "2019-07") == 2
    assert out.filter(indicator="mash_enquiries", breakdown="police")["value"].to_list() == [1.0]
    assert value(out, "mash_referrals", "2019-07") == 1
    assert value(out, "mash_referrals", "2019-07", "police") == 0


@pytest.mark.parametrize("dtype", [pl.Enum(["x", "y", "z"]), pl.Categorical], ids=["enum: unpacked", "categorical"])
def test_cells_count_every_combination_of_their_columns_values_as_a_group_by_would(dtype):
    """Each cell's counts by an enum or categorical with nulls, a boolean and a signed integer with nulls:
    unpacked from each cell's packed keys (a categorical is grouped as it is) to what group_by gives."""
    rng = random.Random(7)
    n = 2_000
    frame = pl.DataFrame({
        CELL: sorted(rng.randrange(5, 40) for _ in range(n)),
        "kind": [rng.choice(["x", "z", None]) for _ in range(n)],
        "flag": [rng.random() < 0.3 for _ in range(n)],
        "number": [rng.choice([-3, 4, 9, None]) for _ in range(n)],
    }, schema_overrides={"kind": dtype, CELL: pl.UInt32})
    columns = ["flag", "kind", "number"]
    expected = frame.group_by(CELL, *columns).agg(pl.len().alias("n"))
    got = _cell_counts(frame, columns)
    assert_frame_equal(got.sort(pl.all()), expected.sort(pl.all()), check_dtypes=False)
    assert got.schema == expected.schema


@pytest.mark.parametrize("allowed", [("police", "health", "other"), tuple(f"v{i}" for i in range(FEW_VALUES + 3))],
                         ids=["few: compared", "many: cast"])
def test_a_column_is_coded_as_the_enum_a_cast_gives(allowed):
    """Either way of coding gives each allowed value its own code, and missing for any other value or none."""
    column = pl.Series("c", [allowed[-1], "carrier_pigeon", None, allowed[0], "", allowed[1]])
    coded = pl.select(_as_enum(pl.lit(column), allowed).alias("c")).to_series()
    assert_series_equal(coded, column.cast(pl.Enum(allowed), strict=False))
