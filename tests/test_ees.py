"""Reading DfE Explore Education Statistics files and the benchmark mapping."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from radar.validation.ees import (
    BENCHMARKS_FILE,
    EESError,
    load_benchmark_mapping,
    measure,
    one_row_per_area,
    read_ees,
    read_text_csv,
    resolve_column,
    snake_case,
    with_areas,
)

HEADER = "time_period,geographic_level,country_code,region_code,new_la_code,old_la_code,la_name,At31_episodes"


def write(tmp_path: Path, text: str, name: str = "b1_test.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_snake_case_spellings():
    assert snake_case("At31_episodes") == "at31_episodes"
    assert snake_case("\ufeffLA num") == "la_num"
    assert snake_case(" CPP_subsequent_percent ") == "cpp_subsequent_percent"


def test_bom_is_stripped_and_columns_snake_cased(tmp_path):
    path = write(tmp_path, HEADER + "\n2020,Local authority,E92000001,E13000002,E09000006,305,Bromley,2419\n", bom=True)
    frame = read_ees(path)
    assert frame.columns[:2] == ["source_row", "time_period"]
    assert "at31_episodes" in frame.columns
    assert frame["at31_episodes"].to_list() == ["2419"]
    assert frame.schema["at31_episodes"] == pl.String


def test_quoted_empty_and_blank_cells_are_null(tmp_path):
    path = write(tmp_path, HEADER + '\n2020,National,E92000001,"",,"", ,389260\n')
    row = read_ees(path).row(0, named=True)
    assert row["region_code"] is None
    assert row["new_la_code"] is None
    assert row["old_la_code"] is None
    assert row["la_name"] is None


def test_source_row_is_the_spreadsheet_row(tmp_path):
    path = write(tmp_path, HEADER + "\n2020,National,E92000001,,,,,1\n2020,National,E92000001,,,,,2\n")
    assert read_ees(path)["source_row"].to_list() == [2, 3]


def test_trailing_comma_column_is_dropped(tmp_path):
    path = write(tmp_path, "a,b,\n1,2,\n")
    assert read_text_csv(path).columns == ["a", "b"]


def test_missing_geography_columns_are_all_named(tmp_path):
    path = write(tmp_path, "time_period,la_name,value\n2020,Bromley,1\n")
    with pytest.raises(EESError) as caught:
        read_ees(path)
    assert [(p.file, p.column) for p in caught.value.problems] == [
        ("b1_test.csv", "geographic_level"),
        ("b1_test.csv", "new_la_code or old_la_code"),
    ]
    assert "b1_test.csv, column geographic_level: required column is missing" in str(caught.value)


def test_time_period_must_be_a_year(tmp_path):
    path = write(tmp_path, HEADER + "\n201920,National,E92000001,,,,,1\n")
    with pytest.raises(EESError) as caught:
        read_ees(path)
    assert str(caught.value) == "b1_test.csv, row 2, column time_period: is not a four-digit year (found '201920')"


def test_measure_keeps_symbols_and_never_invents_a_number(tmp_path):
    rows = [f"2020,Local authority,E92000001,E1,E0600000{i},80{i},LA,{v}"
            for i, v in enumerate(["12", "c", "x", "z", "low", "k", "u", "LOW", "", "12.5"])]
    frame = measure(read_ees(write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")), "at31_episodes", "f.csv")
    assert frame["value"].to_list() == [12.0, None, None, None, None, None, None, None, None, 12.5]
    assert frame["symbol"].to_list() == [None, "c", "x", "z", "low", "k", "u", "low", None, None]
    assert frame.schema["value"] == pl.Float64


def test_measure_reports_every_bad_cell_with_its_row(tmp_path):
    text = HEADER + "\n2020,National,E92000001,,,,,1\n2020,Regional,E92000001,E1,,,,n/a\n2021,National,E92000001,,,,,NaN\n"
    with pytest.raises(EESError) as caught:
        measure(read_ees(write(tmp_path, text)), "at31_episodes", "b1_test.csv")
    assert [(p.row, p.value) for p in caught.value.problems] == [(3, "n/a"), (4, "NaN")]
    assert str(caught.value.problems[0]) == (
        "b1_test.csv, row 3, column at31_episodes: is neither a number nor a symbol (c, x, z, low, k, u) (found 'n/a')"
    )


def test_unknown_measure_column_names_the_file_and_its_columns(tmp_path):
    frame = read_ees(write(tmp_path, HEADER + "\n2020,National,E92000001,,,,,1\n"))
    with pytest.raises(EESError) as caught:
        resolve_column(frame, ["at31_children", "at31_kids"], "b1_test.csv")
    message = str(caught.value)
    assert message.startswith("b1_test.csv, column at31_children: measure column not found (also tried: at31_kids)")
    assert "at31_episodes" in message and "source_row" not in message


def test_renamed_measure_is_found_through_an_alias(tmp_path):
    frame = read_ees(write(tmp_path, "time_period,geographic_level,new_la_code,number\n2020,National,,80080\n"))
    assert resolve_column(frame, ["children_count", "number"], "cla.csv") == "number"


def test_duplicated_area_and_year_is_reported_with_both_rows(tmp_path):
    text = (HEADER + ",cla_group\n"
            "2021,Local authority,E92000001,E13000002,E09000006,305,Bromley,341,CLA on 31 March\n"
            "2021,National,E92000001,,,,,80780,CLA on 31 March\n"
            "2021,Local authority,E92000001,E13000002,E09000006,305,Bromley,237,CLA 2 years on 31 March\n")
    with pytest.raises(EESError) as caught:
        one_row_per_area(read_ees(write(tmp_path, text)), "stability.csv")
    [problem] = caught.value.problems
    assert (problem.file, problem.row) == ("stability.csv", 2)
    assert "rows 2, 4 are the same area and year" in problem.message
    assert "add a filter" in problem.message


def test_with_areas_gives_each_level_its_code_and_name(tmp_path):
    text = (HEADER + ",country_name,region_name\n"
            "2020,National,E92000001,,,,,1,England,\n"
            "2020,Regional,E92000001,E13000002,,,,2,England,Outer London\n"
            "2020,Local authority,E92000001,E13000002,E09000006,305,Bromley,3,England,Outer London\n"
            "2020,Local authority district,E92000001,E13000002,E07000001,,Somewhere,4,England,Outer London\n")
    frame = with_areas(read_ees(write(tmp_path, text)))
    assert frame.select("year", "level", "area_code", "area_name", "region_code", "old_la_code").rows() == [
        (2020, "national", "E92000001", "England", None, None),
        (2020, "regional", "E13000002", "Outer London", "E13000002", None),
        (2020, "la", "E09000006", "Bromley", "E13000002", "305"),
    ]


# --- the mapping -------------------------------------------------------------


def mapping_file(tmp_path: Path, **source) -> Path:
    entry = {"indicator": "cin_open", "file": "b1_*.csv", "measure": "At31_episodes", "kind": "count"} | source
    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}))
    return path


def test_packaged_mapping_loads_and_covers_the_brief():
    mapping = load_benchmark_mapping(BENCHMARKS_FILE)
    assert {s.indicator for s in mapping.sources} >= {
        "cin_open", "cin_rate", "mash_referrals", "cpp_started", "cpp_second_subsequent", "cpp_repeat_rate",
        "cpp_open", "cpp_rate", "cla_open", "cla_rate", "cla_placement_instability",
    }
    cin_rate = next(s for s in mapping.sources if s.indicator == "cin_rate")
    assert (cin_rate.measure, cin_rate.rate_from_population) == ("at31_episodes", True)


def test_mapping_snake_cases_columns(tmp_path):
    path = mapping_file(tmp_path, filters={"Population_Type": "x"}, aliases=["Number"])
    [source] = load_benchmark_mapping(path).sources
    assert source.columns == ["at31_episodes", "number"]
    assert source.filters == {"population_type": "x"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"indicator": "cin_opne"}, "cin_opne: not an indicator in the catalogue"),
        ({"kind": "percent"}, "cin_open: kind percent but the catalogue's unit is count"),
        ({"rate_from_population": True}, "rate_from_population needs kind rate_per_10k"),
        ({"meassure": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_mapping_mistakes_are_errors(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        load_benchmark_mapping(mapping_file(tmp_path, **change))
