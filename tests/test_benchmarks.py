"""Benchmarks from the real DfE files, checked by hand against the CSV rows.

Numbers quoted in comments are the cells of /work/shared/data/dfe (Open
Government Licence v3.0); rates are worked out by hand from them.
"""

from __future__ import annotations

import polars as pl
import pytest

from radar.core.config import DEFAULT_CONFIG, load_config
from radar.pipelines.benchmarks import BENCHMARK_SCHEMA, benchmark_comparison, comparator_year, extract
from radar.validation.ees import (
    BenchmarkMapping,
    BenchmarkSource,
    EESError,
    load_benchmark_mapping,
    read_ees,
)
from radar.validation.neighbours import statistical_neighbours
from radar.validation.population import (
    all_populations,
    population_for_periods,
    read_child_population,
)

DFE = load_config(DEFAULT_CONFIG).population_path().parent
POPULATION_FILE = DFE / "ons_mid-year_population_estimates_2012_to_2024.csv"
SN_2021 = DFE / "New_Statistical_Neighbour_Groupings_April_2021.csv"
SN_2025 = DFE / "sn_model_2025_wide.csv"
BROMLEY, BROMLEY_OLD = "E09000006", "305"

@pytest.fixture(scope="module")
def population() -> pl.DataFrame:
    return all_populations(POPULATION_FILE)


@pytest.fixture(scope="module")
def benchmarks(population) -> pl.DataFrame:
    frames = {p.name: read_ees(p) for p in DFE.glob("*.csv") if p.name not in (SN_2021.name, SN_2025.name)}
    return extract(frames, load_benchmark_mapping(), population)


def value(benchmarks: pl.DataFrame, indicator: str, year: int, area_code: str) -> tuple[float | None, str | None]:
    row = benchmarks.filter(indicator=indicator, year=year, area_code=area_code)
    assert row.height == 1
    return row["value"][0], row["symbol"][0]


# --- population ----------------------------------------------------------------


def test_bromley_child_population(population):
    bromley = read_child_population(POPULATION_FILE, BROMLEY)
    assert bromley.schema == {"year": pl.Int64, "population": pl.Int64}
    assert dict(bromley.filter(pl.col("year").is_in([2019, 2020, 2024])).rows()) == {2019: 73165, 2020: 73175, 2024: 73457}


def test_all_populations_has_every_level_and_leaves_out_unpublished(population):
    england = population.filter(level="national", year=2019)
    assert england.select("area_code", "population").row(0) == ("E92000001", 11790492)
    outer_london = population.filter(level="regional", area_code="E13000002", year=2019)
    assert outer_london["population"].to_list() == [1259382]
    # Bournemouth's 2018 estimate is `x` in the file: absent, not zero.
    assert population.filter(old_la_code="837", year=2018).height == 0


def test_months_use_the_estimate_of_their_financial_year():
    population = pl.DataFrame({"year": [2018, 2019, 2024], "population": [73451, 73165, 73457]})
    out = population_for_periods(population, ["2019-03", "2019-04", "2020-03", "2021-06", "2025-04", "2026-03", "2017-12"])
    assert out.rows() == [
        ("2019-03", 73451, 2018, False),
        ("2019-04", 73165, 2019, False),
        ("2020-03", 73165, 2019, False),
        ("2021-06", None, 2021, False),  # no 2021 estimate in this frame: null, not a neighbour's figure
        ("2025-04", 73457, 2024, True),
        ("2026-03", 73457, 2024, True),
        ("2017-12", None, 2017, False),
    ]


# --- statistical neighbours -------------------------------------------------------


def test_neighbours_from_either_layout():
    assert statistical_neighbours(SN_2021, BROMLEY_OLD) == [
        "358", "919", "867", "319", "356", "822", "931", "334", "850", "823"
    ]
    assert statistical_neighbours(SN_2025, BROMLEY_OLD) == [
        "919", "358", "825", "869", "867", "931", "850", "868", "334", "936"
    ]


def test_neighbours_reject_an_unknown_layout_and_an_unknown_la(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("la,n1\n305,358\n")
    with pytest.raises(ValueError, match="not a statistical neighbour file"):
        statistical_neighbours(other, "305")
    grouping = tmp_path / "sn.csv"
    grouping.write_text("old_la_code," + ",".join(f"SN_{i}" for i in range(1, 11)) + "\n301" + ",1" * 10 + "\n")
    with pytest.raises(ValueError, match="0 rows for LA 305"):
        statistical_neighbours(grouping, "305")


# --- extract from the real files ------------------------------------------------


def test_extract_schema(benchmarks):
    assert benchmarks.schema == BENCHMARK_SCHEMA
    assert set(benchmarks["level"]) == {"national", "regional", "la"}


def test_bromley_2019_20_counts(benchmarks):
    assert value(benchmarks, "cin_open", 2020, BROMLEY) == (2419.0, None)
    assert value(benchmarks, "cpp_open", 2020, BROMLEY) == (294.0, None)
    assert value(benchmarks, "cpp_started", 2020, BROMLEY) == (414.0, None)
    assert value(benchmarks, "cpp_second_subsequent", 2020, BROMLEY) == (63.0, None)
    assert value(benchmarks, "cpp_repeat_rate", 2020, BROMLEY) == (15.2, None)
    assert value(benchmarks, "mash_referrals", 2020, BROMLEY) == (3829.0, None)


def test_rates_use_the_mid_year_before_31_march(benchmarks):
    # 2419 children in need / 73,165 children (mid-2019) x 10,000
    assert value(benchmarks, "cin_rate", 2020, BROMLEY)[0] == pytest.approx(330.6226, abs=1e-4)
    # 294 plans / 73,165 x 10,000; the annual report (population 75,055) says 39
    assert value(benchmarks, "cpp_rate", 2020, BROMLEY)[0] == pytest.approx(40.1831, abs=1e-4)
    # England: 51,510 plans / 11,790,492; Outer London: 39,470 children in need / 1,259,382
    assert value(benchmarks, "cpp_rate", 2020, "E92000001")[0] == pytest.approx(43.6877, abs=1e-4)
    assert value(benchmarks, "cin_rate", 2020, "E13000002")[0] == pytest.approx(313.4077, abs=1e-4)


def test_looked_after_children_start_in_2021(benchmarks):
    # The CLA file covers 2021-2025 only: Bromley's 331 at March 2020 is not in it.
    assert benchmarks.filter(indicator="cla_open", year=2020).height == 0
    assert value(benchmarks, "cla_open", 2021, BROMLEY) == (341.0, None)
    assert value(benchmarks, "cla_rate", 2021, BROMLEY) == (47.0, None)
    assert value(benchmarks, "cla_rate", 2021, "E92000001") == (69.0, None)
    assert value(benchmarks, "cla_placement_instability", 2021, BROMLEY) == (7.0, None)
    assert value(benchmarks, "cla_placement_instability", 2021, "E92000001") == (9.0, None)


def test_real_suppression_symbols_are_kept(benchmarks):
    # City of London, 31 March 2025: children_count `c`; Hackney 2021 (d3): `x`.
    assert value(benchmarks, "cla_open", 2025, "E09000001") == (None, "c")
    assert value(benchmarks, "cla_rate", 2025, "E09000001") == (None, "c")
    assert value(benchmarks, "cpp_repeat_rate", 2021, "E09000012") == (None, "x")


def test_quoted_empty_region_on_the_national_row(benchmarks):
    # d3's national rows have region_code "" and la_name "".
    row = benchmarks.filter(indicator="cpp_started", year=2020, level="national")
    assert row.select("area_code", "area_name", "region_code", "value").row(0) == ("E92000001", "England", None, 66380.0)


def test_bromley_comparison_2019_20(benchmarks):
    neighbours = statistical_neighbours(SN_2021, BROMLEY_OLD)
    table = benchmark_comparison(benchmarks, BROMLEY, BROMLEY_OLD, neighbours, "2020-03")
    repeat = table.filter(indicator="cpp_repeat_rate").row(0, named=True)
    # Neighbours' 2020 percentages: Trafford 19.7, Hertfordshire 17.3, Bracknell Forest 23.9,
    # Sutton 23.9, Stockport 21.1, Bedford 28.4, Oxfordshire 24.8, Solihull 18,
    # Hampshire 23.9, Central Bedfordshire 18.1 -> sorted middle pair 21.1, 23.9 -> 22.5
    assert repeat == {
        "indicator": "cpp_repeat_rate", "year": 2020, "la_value": 15.2, "la_symbol": None,
        "national": 21.9, "regional": 17.6, "region": "Outer London", "sn_median": 22.5, "sn_count": 10,
    }
    cin = table.filter(indicator="cin_open").row(0, named=True)
    assert (cin["la_value"], cin["national"], cin["regional"]) == (2419.0, 389260.0, 39470.0)


# --- extract and comparison on small frames ----------------------------------------


def ees_frame(rows: list[tuple], measure: str = "count") -> pl.DataFrame:
    columns = ["time_period", "geographic_level", "country_code", "region_code", "new_la_code", "old_la_code", measure]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_row_index("source_row", offset=2).with_columns(pl.col("source_row").cast(pl.Int64))


def small_population() -> pl.DataFrame:
    return pl.DataFrame(
        {"level": ["national", "la"], "area_code": ["E92000001", "E09000006"], "year": [2019, 2019],
         "population": [1_000_000, 50_000]},
    )


def rate_mapping() -> BenchmarkMapping:
    return BenchmarkMapping(sources=(
        BenchmarkSource(indicator="cin_rate", file="b1_*.csv", measure="count", kind="rate_per_10k",
                        rate_from_population=True),
    ))


def test_rate_from_a_suppressed_count_or_without_population():
    frame = ees_frame([
        ("2020", "National", "E92000001", None, None, None, "30000"),
        ("2020", "Local authority", "E92000001", "E13000002", "E09000006", "305", "c"),
        ("2020", "Local authority", "E92000001", "E13000002", "E09000007", "306", "120"),
        ("2021", "Local authority", "E92000001", "E13000002", "E09000006", "305", "1500"),
    ])
    out = extract({"b1_small.csv": frame}, rate_mapping(), small_population())
    assert out.select("year", "area_code", "value", "symbol").rows() == [
        (2020, "E09000006", None, "c"),  # suppressed count: suppressed rate
        (2020, "E09000007", None, "x"),  # no population for this LA: not available
        (2020, "E92000001", 300.0, None),  # 30,000 / 1,000,000 x 10,000
        (2021, "E09000006", None, "x"),  # no mid-2020 estimate
    ]


def test_a_later_release_replaces_the_years_it_shares():
    old = ees_frame([("2020", "National", "E92000001", None, None, None, "100")])
    new = ees_frame([("2020", "National", "E92000001", None, None, None, "110"),
                     ("2021", "National", "E92000001", None, None, None, "120")])
    mapping = BenchmarkMapping(sources=(
        BenchmarkSource(indicator="cin_open", file="b1_*.csv", measure="count", kind="count"),
    ))
    out = extract({"b1_2013_to_2026.csv": new, "b1_2013_to_2025.csv": old, "c1_other.csv": old}, mapping,
                  small_population())
    assert out.select("year", "value").rows() == [(2020, 110.0), (2021, 120.0)]


def test_problems_of_every_source_are_reported_together():
    frame = ees_frame([("2020", "National", "E92000001", None, None, None, "oops")])
    mapping = BenchmarkMapping(sources=(
        BenchmarkSource(indicator="cin_open", file="b1_*.csv", measure="count", kind="count"),
        BenchmarkSource(indicator="cpp_open", file="b1_*.csv", measure="CPP_At31", kind="count"),
        BenchmarkSource(indicator="cla_open", file="b1_*.csv", measure="count", kind="count",
                        filters={"population_type": "Children looked after on 31 March each year"}),
    ))
    with pytest.raises(EESError) as caught:
        extract({"b1_small.csv": frame}, mapping, small_population())
    assert [(p.file, p.row, p.column) for p in caught.value.problems] == [
        ("b1_small.csv", 2, "count"),
        ("b1_small.csv", None, "cpp_at31"),
        ("b1_small.csv", None, "population_type"),
    ]


def benchmark_rows(rows: list[tuple]) -> pl.DataFrame:
    """Rows of (year, level, area_code, old_la_code, region_code, value, symbol) for cin_rate."""
    frame = pl.DataFrame(rows, schema=["year", "level", "area_code", "old_la_code", "region_code", "value", "symbol"],
                         orient="row")
    return frame.with_columns(indicator=pl.lit("cin_rate"), area_name=pl.lit("")).select(list(BENCHMARK_SCHEMA)).cast(
        BENCHMARK_SCHEMA
    )


def test_comparison_median_ignores_suppressed_neighbours_and_picks_the_own_region():
    table = benchmark_rows([
        (2020, "national", "E92000001", None, None, 330.0, None),
        (2020, "regional", "E13000002", None, "E13000002", 313.0, None),
        (2020, "regional", "E13000001", None, "E13000001", 400.0, None),
        (2020, "la", "E09000006", "305", "E13000002", 331.0, None),
        (2020, "la", "A", "358", "E12000002", 300.0, None),
        (2020, "la", "B", "919", "E12000006", 250.0, None),
        (2020, "la", "C", "867", "E12000008", None, "c"),
        (2020, "la", "D", "319", "E13000002", 280.0, None),
        (2020, "la", "E", "999", "E13000002", 1.0, None),  # not a neighbour
        (2021, "la", "E09000006", "305", "E13000002", 323.0, None),
        (2021, "la", "A", "358", "E12000002", None, "x"),
    ])
    neighbours = ["358", "919", "867", "319"]
    [row2020] = benchmark_comparison(table, "E09000006", "305", neighbours, "2020-03").rows(named=True)
    # numbers 300, 250, 280 (867 suppressed) -> median 280 over 3
    assert row2020 == {"indicator": "cin_rate", "year": 2020, "la_value": 331.0, "la_symbol": None,
                       "national": 330.0, "regional": 313.0, "region": "", "sn_median": 280.0, "sn_count": 3}
    years = benchmark_comparison(table, "E09000006", "305", neighbours, None)
    assert years["year"].to_list() == [2020, 2021]
    assert years.row(1, named=True) == {"indicator": "cin_rate", "year": 2021, "la_value": 323.0, "la_symbol": None,
                                        "national": None, "regional": None, "region": None, "sn_median": None,
                                        "sn_count": 0}


def test_the_comparator_year_is_the_one_whose_31_march_falls_in_the_months_year_or_the_latest_before():
    assert comparator_year([2019, 2020, 2025], "2020-03") == 2020  # March 2020 is in 2019-20, not the latest 2025
    assert comparator_year([2019, 2020, 2025], "2019-04") == 2020  # April 2019 starts 2019-20
    assert comparator_year([2019, 2025], "2020-03") == 2019  # 2019-20 unpublished: the year before, never a later one
    assert comparator_year([2025], "2020-03") is None
