"""The sample-data generator: series arithmetic, the file contract, calibration and bad files.

The calibration figures are the BSCP annual report 2019-20's (see
radar/synth/calibration.py); the generated CSVs are read back with polars, as
the pipeline would read them, and compared with those figures.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from radar.core.catalogue import load_catalogue
from radar.core.periods import financial_year, month_range, parse_period, shift
from radar.synth import BAD_FILES, generate
from radar.synth.months import fy_months
from radar.synth.series import Flow, Ratio, Stock, allocate, nearest

CATALOGUE = load_catalogue()
AGGREGATE_SCHEMA = {"period": pl.String, "indicator": pl.String, "breakdown": pl.String, "value": pl.Int64}
FY2019 = fy_months(2019)


def feed_of(path: Path) -> str:
    return path.name.split("__")[0]


def read_aggregate(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, schema=AGGREGATE_SCHEMA).with_columns(pl.col("breakdown").fill_null(""))


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    calls: list[tuple[int, int]] = []
    paths = generate(out, CATALOGUE, progress=lambda done, total: calls.append((done, total)))
    return out, paths, calls


@pytest.fixture(scope="module")
def aggregates(default_run) -> pl.DataFrame:
    out = default_run[0]
    return pl.concat([read_aggregate(p) for p in sorted(out.glob("*.csv"))
                      if CATALOGUE.feed_by_id[feed_of(p)].kind == "aggregate"])


@pytest.fixture(scope="module")
def records(default_run) -> dict[str, pl.DataFrame]:
    """Each record feed's rows, all as text, with the period of the file they came from."""
    out = default_run[0]
    return {
        feed.id: pl.concat([
            pl.read_csv(p, infer_schema=False).with_columns(file_period=pl.lit(p.stem.split("__")[1]))
            for p in sorted(out.glob(f"{feed.id}__*.csv"))
        ])
        for feed in CATALOGUE.feeds if feed.kind == "records"
    }


def total(agg: pl.DataFrame, indicator: str, months: list[str] = FY2019, breakdown: str | None = None) -> int:
    rows = agg.filter(pl.col("indicator") == indicator, pl.col("period").is_in(months))
    if breakdown is not None:
        rows = rows.filter(pl.col("breakdown") == breakdown)
    return rows["value"].sum()


def monthly(agg: pl.DataFrame, indicator: str, months: list[str] = FY2019) -> dict[str, int]:
    rows = agg.filter(pl.col("indicator") == indicator, pl.col("period").is_in(months))
    return dict(rows.group_by("period").agg(pl.col("value").sum()).iter_rows())


def in_year(frame: pl.DataFrame, months: list[str] = FY2019) -> pl.DataFrame:
    return frame.filter(pl.col("file_period").is_in(months))


# --- Pure pieces --------------------------------------------------------------------


def test_month_arithmetic():
    assert financial_year("2020-03") == 2019
    assert financial_year("2019-04") == 2019
    assert shift("2019-12", 1) == "2020-01"
    assert shift("2020-01", -2) == "2019-11"
    assert month_range("2019-11", "2020-02") == ["2019-11", "2019-12", "2020-01", "2020-02"]
    assert fy_months(2019)[0] == "2019-04" and fy_months(2019)[-1] == "2020-03"
    assert month_range("2020-03", "2020-01") == []
    with pytest.raises(ValueError):
        parse_period("2019-13")


def test_allocate_largest_remainder_pins_and_caps():
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(10, [1, 1, 1], pinned={0: 6}) == [6, 2, 2]
    assert allocate(7, [1, 3]) == [2, 5]  # 1.75 and 5.25: the larger remainder gets the unit
    assert allocate(5, [1, 1], caps=[1, 9]) == [1, 4]
    with pytest.raises(ValueError):
        allocate(3, [0, 0])
    with pytest.raises(ValueError):
        allocate(5, [1, 1], caps=[2, 2])


def test_nearest_year_falls_back_to_the_closest_figure():
    figures = {2017: "a", 2019: "b"}
    assert nearest(figures, 2019) == "b"
    assert nearest(figures, 2018) == "a"  # a tie goes to the earlier year
    assert nearest(figures, 2025) == "b"


def test_stock_runs_straight_between_anchors_and_hits_them():
    stock = Stock({"2019-01": 100, "2019-04": 130})
    assert stock.level("2019-02") == 110
    assert stock.level("2018-06") == 100
    assert stock.level("2021-01") == 130
    months = Stock({"2019-06": 50, "2020-03": 80}, noise=0.2).months(2019, random.Random(1))
    assert months[2] == 50 and months[11] == 80


def test_flow_and_ratio_hit_the_year_exactly():
    flow = Flow({2019: 120}, noise=0.3, pins={"2019-07": 30}).months(2019, random.Random(1))
    assert sum(flow) == 120 and flow[3] == 30
    assert sum(Flow({2017: 12}).months(2021, random.Random(1))) == 12  # nearest year's total
    share = Ratio("x", {2019: 0.9}, noise=0.5).months(2019, random.Random(1), [10] * 12)
    assert sum(share) == 108 and max(share) <= 10
    days = Ratio("x", {2019: 374}).months(2019, random.Random(1), [0, 2, 0, 1] + [0] * 8)
    assert sum(days) == 3 * 374 and days[0] == 0


# --- The run and the file contract ---------------------------------------------------


def test_default_run_writes_every_expected_file_and_reports_progress(default_run):
    """Every feed and due month, and nothing else (bad files only when asked)."""
    out, paths, calls = default_run
    expected = {f"{feed.id}__{period}.csv" for period in month_range("2017-04", "2020-03")
                for feed in CATALOGUE.feeds if feed.expects(period)}
    assert len(expected) == 13 * 36 + 12
    assert {p.name for p in out.iterdir()} == expected == {p.name for p in paths}
    assert calls[-1] == (len(expected), len(expected)) and len(calls) == len(expected)


def test_aggregate_files_follow_the_contract(default_run):
    out = default_run[0]
    for path in sorted(out.glob("*.csv")):
        feed = CATALOGUE.feed_by_id[feed_of(path)]
        if feed.kind != "aggregate":
            continue
        period = path.stem.split("__")[1]
        cells = pl.read_csv(path, infer_schema=False).with_columns(pl.col("breakdown").fill_null(""))
        assert cells.columns == ["period", "indicator", "breakdown", "value"], path.name
        expected = [(i.id, b) for i in CATALOGUE.sent_indicators(feed.id) for b in CATALOGUE.breakdown_values(i) or ("",)]
        assert list(zip(cells["indicator"], cells["breakdown"], strict=True)) == expected, path.name
        assert set(cells["period"]) == {period}, path.name
        assert cells["value"].str.contains(r"^\d+$").all(), path.name


def test_record_files_follow_the_contract(default_run, records):
    out = default_run[0]
    for feed in (f for f in CATALOGUE.feeds if f.kind == "records"):
        header = [c.name for c in feed.columns]
        for path in sorted(out.glob(f"{feed.id}__*.csv")):
            assert path.read_text(encoding="utf-8").split("\n", 1)[0] == ",".join(header), path.name
        rows = records[feed.id]
        assert rows.group_by("file_period").agg(pl.col(feed.key).is_duplicated().any())[feed.key].sum() == 0
        for column in feed.columns:
            values = rows[column.name]
            if column.type == "date":
                values.drop_nulls().str.to_date("%Y-%m-%d", strict=True)  # raises on a non-ISO date
            if column.in_period:
                assert (values.str.slice(0, 7) == rows["file_period"]).all(), column.name
            if column.type == "boolean":
                assert set(values) <= {"true", "false"}, column.name
            if column.type == "category":
                assert set(values) <= set(CATALOGUE.column_values(column)), column.name
            if column.required:
                assert values.null_count() == 0, column.name


def test_record_values_look_like_case_system_references(records):
    mash, missing, lado = records["mash_contacts"], records["missing_episodes"], records["lado_referrals"]
    assert mash["contact_id"].str.contains(r"^MC-\d{4}-\d{2}-\d{6}$").all()
    assert pl.concat([mash["child_ref"], missing["child_ref"]]).str.contains(r"^LCS\d{7}$").all()
    assert lado["setting_ref"].str.contains(r"^SET-\d{4}$").all()
    # A setting keeps its type.
    assert lado.group_by("setting_ref").agg(pl.col("setting_type").n_unique())["setting_type"].max() == 1
    # Children recur within a month and across months.
    per_month = mash.group_by("file_period").agg(contacts=pl.len(), children=pl.col("child_ref").n_unique())
    assert (per_month["children"] < per_month["contacts"]).all()
    months_seen = mash.group_by("child_ref").agg(pl.col("file_period").n_unique())["file_period"]
    assert (months_seen > 1).sum() > 1000


def test_missing_episodes_are_consistent(records):
    rows = records["missing_episodes"]
    returned = rows.filter(pl.col("end_date").is_not_null())
    assert (returned["end_date"] >= returned["start_date"]).all()
    assert 0 < rows["end_date"].null_count() < rows.height * 0.05
    assert rows.filter(pl.col("rhi_completed") == "true", pl.col("rhi_offered") == "false").height == 0


def test_numerators_never_exceed_denominators(aggregates):
    pairs = [(i.derived.numerator, i.derived.denominator) for i in CATALOGUE.indicators
             if i.derived and i.unit == "percent" and CATALOGUE.indicator_by_id[i.derived.denominator].is_sent]
    assert ("swa_within_45_days", "swa_completed") in pairs and ("board_seats_filled", "board_seats") in pairs
    for numerator, denominator in pairs:
        joined = aggregates.filter(pl.col("indicator") == numerator).join(
            aggregates.filter(pl.col("indicator") == denominator), on=["period", "breakdown"], suffix="_den")
        assert joined.height > 0, numerator
        assert (joined["value"] <= joined["value_den"]).all(), f"{numerator} > {denominator}"


# --- Calibration to the annual report 2019-20 --------------------------------------------

YEAR_TOTALS = [  # indicator, breakdown, 2019-20 figure, tolerance
    ("swa_completed", None, 3588, 0.01),
    ("strategy_discussions", None, 1166, 0.01),
    ("s47_enquiries", None, 814, 0.01),
    ("icpc_held", None, 446, 0.01),
    ("cpp_ceased_over_2y", None, 10, 0.1),
    ("adoptions", None, 8, 0.0),
    ("adoption_placements", None, 9, 0.0),
    ("care_leavers", None, 169, 0.03),
    ("private_fostering_notifications", None, 29, 0.05),
    ("mega_new_cases", None, 73, 0.03),
    ("camhs_referrals_to_csc", None, 86, 0.05),
    ("camhs_children_seen", None, 1030, 0.03),
    ("da_offences", None, 3037, 0.03),
    ("da_incidents", None, 4776, 0.03),
    ("sexual_offences", None, 506, 0.03),
    ("first_time_entrants", None, 54, 0.05),
    ("reoffending_cohort", None, 182, 0.03),
    ("custodial_sentences", None, 4, 0.0),
    ("substance_misuse_referrals", None, 221, 0.03),
    ("family_centre_visits", None, 97232, 0.01),
    ("idva_referrals", None, 466, 0.02),
    ("cme_referrals", "schools", 468, 0.02),
    ("cme_referrals", "other_agencies", 62, 0.05),
    ("child_deaths", "expected", 11, 0.0),
    ("child_deaths", "unexpected", 6, 0.0),
    ("elearning_completions", None, 3179, 0.01),
    ("training_attendance", None, 967, 0.02),
]


@pytest.mark.parametrize(("indicator", "breakdown", "figure", "tolerance"), YEAR_TOTALS)
def test_year_totals_match_the_report(aggregates, indicator, breakdown, figure, tolerance):
    assert total(aggregates, indicator, breakdown=breakdown) == pytest.approx(figure, rel=tolerance, abs=0.5)


MARCH_STOCKS = [  # indicator, breakdown, month end, figure
    ("cin_open", None, "2020-03", 2419),
    ("cpp_open", None, "2020-03", 294),
    ("cpp_open", "neglect", "2020-03", 194),
    ("cpp_open", "emotional_abuse", "2020-03", 95),
    ("cla_open", None, "2020-03", 331),
    ("cla_open", None, "2019-03", 348),
    ("cla_uasc", None, "2020-03", 22),
    ("cla_uasc", None, "2019-03", 50),
    ("cla_3plus_placements", None, "2020-03", 33),
    ("private_fostering_open", None, "2020-03", 10),
    ("ehe_registered", None, "2020-03", 314),
    ("ehe_registered", None, "2019-07", 317),
    ("ehe_registered", None, "2019-03", 287),
    ("ehcp_total", None, "2020-03", 2544),
    ("mappa_offenders", "category_1", "2020-03", 50),
    ("mappa_offenders", "category_2", "2020-03", 64),
    ("mappa_offenders", "category_3", "2020-03", 1),
    ("young_carers", None, "2020-03", 260),
]


@pytest.mark.parametrize(("indicator", "breakdown", "month", "figure"), MARCH_STOCKS)
def test_stocks_match_the_report(aggregates, indicator, breakdown, month, figure):
    assert total(aggregates, indicator, [month], breakdown) == figure


RATES = [  # numerator, denominator, months, figure (share), tolerance (points)
    ("swa_within_45_days", "swa_completed", FY2019, 0.87, 0.01),
    ("swa_within_45_days", "swa_completed", fy_months(2018), 0.81, 0.01),
    ("icpc_within_15_days", "icpc_held", FY2019, 0.79, 0.01),
    ("icpc_to_plan", "icpc_held", FY2019, 0.87, 0.01),
    ("cpp_second_subsequent", "cpp_started", FY2019, 0.15, 0.01),
    ("cla_health_on_time", "cla_health_due", FY2019, 0.91, 0.01),
    ("care_leavers_in_touch", "care_leavers", FY2019, 0.83, 0.01),
    ("care_leavers_suitable_accommodation", "care_leavers", FY2019, 0.78, 0.01),
    ("care_leavers_eet", "care_leavers", FY2019, 0.47, 0.01),
    ("reoffenders", "reoffending_cohort", FY2019, 0.37, 0.01),
]


@pytest.mark.parametrize(("numerator", "denominator", "months", "figure", "tolerance"), RATES)
def test_rates_match_the_report(aggregates, numerator, denominator, months, figure, tolerance):
    share = total(aggregates, numerator, months) / total(aggregates, denominator, months)
    assert share == pytest.approx(figure, abs=tolerance)


def test_adoption_timeliness_and_yearly_comparisons(aggregates):
    assert total(aggregates, "adoption_days_total") / total(aggregates, "adoption_placements") == pytest.approx(374, abs=1)
    assert total(aggregates, "swa_completed", fy_months(2018)) == 2957
    assert total(aggregates, "s47_enquiries", fy_months(2018)) > total(aggregates, "s47_enquiries") * 1.15
    assert total(aggregates, "cpp_open", ["2019-03"]) < 294
    ehe = [total(aggregates, "ehe_registered", [m]) for m in ("2018-03", "2019-03", "2020-03")]
    assert ehe == sorted(ehe) and ehe[0] < ehe[2]
    elearning = [total(aggregates, "elearning_completions", fy_months(fy)) for fy in (2017, 2018, 2019)]
    assert elearning == [1896, 2370, 3179]
    assert total(aggregates, "ehcp_total", ["2020-03"]) / total(aggregates, "ehcp_total", ["2019-03"]) == pytest.approx(1.14, abs=0.005)


def test_icpcs_range_from_22_in_january_to_49_in_june(aggregates):
    icpc = monthly(aggregates, "icpc_held")
    assert min(icpc.values()) == icpc["2020-01"] == 22
    assert max(icpc.values()) == icpc["2019-06"] == 49
    assert sum(icpc.values()) / 12 == pytest.approx(37, abs=0.5)


def test_family_centre_visits_drop_sharply_in_march_2020(aggregates):
    visits = monthly(aggregates, "family_centre_visits", ["2020-02", "2020-03"])
    assert visits["2020-03"] < 0.6 * visits["2020-02"]
    assert [total(aggregates, "family_centre_visits", fy_months(fy)) for fy in (2017, 2018)] == [94709, 99982]


def test_training_and_board_attendance(aggregates):
    attendance = aggregates.filter(pl.col("indicator") == "training_attendance", pl.col("period").is_in(FY2019))
    by_agency = dict(attendance.group_by("breakdown").agg(pl.col("value").sum()).iter_rows())
    assert by_agency["police"] < 10 and by_agency["health"] < by_agency["social_care"] / 2
    assert 0 < total(aggregates, "training_no_shows") < 100
    for member, share in (("cafcass", 0.25), ("youth_offending", 0.5), ("police", 1.0), ("social_care", 0.75)):
        filled = total(aggregates, "board_seats_filled", breakdown=member)
        seats = total(aggregates, "board_seats", breakdown=member)
        assert seats == 4 and filled / seats == share, member


def test_child_deaths_are_small_counts_with_empty_months(aggregates):
    deaths = monthly(aggregates, "child_deaths")
    assert sum(deaths.values()) == 17
    assert list(deaths.values()).count(0) >= 2 and max(deaths.values()) <= 5


def test_mash_peaks_in_july_and_converts_44_percent(records):
    mash = in_year(records["mash_contacts"])
    months = mash.group_by("file_period").agg(
        contacts=pl.len(), conversion=(pl.col("outcome") == "referral_to_csc").mean()).sort("file_period")
    contacts = dict(zip(months["file_period"], months["contacts"], strict=True))
    conversion = dict(zip(months["file_period"], months["conversion"], strict=True))
    assert max(contacts, key=contacts.get) == "2019-07" and 840 <= contacts["2019-07"] <= 900
    assert 0.42 <= (mash["outcome"] == "referral_to_csc").mean() <= 0.46
    assert max(conversion, key=conversion.get) == "2019-10" and conversion["2019-10"] == pytest.approx(0.53, abs=0.005)
    assert min(conversion, key=conversion.get) == "2020-03" and conversion["2020-03"] == pytest.approx(0.33, abs=0.005)


def test_mash_sources_and_school_holidays(records):
    mash = in_year(records["mash_contacts"])
    shares = dict(mash["source"].value_counts(normalize=True).iter_rows())
    assert shares["police"] == pytest.approx(0.43, abs=0.015)
    assert shares["health"] == pytest.approx(0.19, abs=0.015)
    assert shares["schools"] == pytest.approx(0.14, abs=0.015)
    school = mash.group_by("file_period").agg((pl.col("source") == "schools").mean())
    school = dict(school.iter_rows())
    assert school["2019-08"] < school["2019-07"] / 2 and school["2019-08"] < school["2019-09"] / 2
    assert school["2019-12"] < school["2019-11"] and school["2019-04"] < school["2019-05"]


def test_missing_episodes_and_return_home_interviews(records):
    missing = records["missing_episodes"]
    completed = [(in_year(missing, fy_months(fy))["rhi_completed"] == "true").sum() for fy in (2018, 2019)]
    assert completed == [453, 633]
    year = in_year(missing)
    assert year.height == pytest.approx(900, rel=0.05)
    assert (year["rhi_offered"] == "true").mean() == pytest.approx(0.90, abs=0.02)
    assert year["child_ref"].n_unique() < year.height


def test_lado_referrals_come_mostly_from_schools_and_early_years(records):
    lado = in_year(records["lado_referrals"])
    assert lado.height == pytest.approx(206, rel=0.03)
    assert lado["setting_type"].is_in(["school", "early_years"]).mean() > 0.5


# --- Determinism and bad files -------------------------------------------------------


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_bytes_and_a_month_does_not_depend_on_the_range(tmp_path, default_run):
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        generate(tmp_path / name, CATALOGUE, start="2019-06", end="2019-07", seed=seed, with_bad_files=True)
        runs[name] = _contents(tmp_path / name)
    assert runs["a"] == runs["b"]
    assert runs["a"].keys() == runs["c"].keys()
    assert runs["a"]["mash_contacts__2019-07.csv"] != runs["c"]["mash_contacts__2019-07.csv"]
    assert runs["a"]["csc_monthly__2019-07.csv"] != runs["c"]["csc_monthly__2019-07.csv"]
    generate(tmp_path / "short", CATALOGUE, start="2019-07", end="2019-07")
    default = default_run[0]
    for name in ("mash_contacts__2019-07.csv", "csc_monthly__2019-07.csv", "missing_episodes__2019-07.csv"):
        assert (tmp_path / "short" / name).read_bytes() == (default / name).read_bytes()


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_bad")
    return out, generate(out, CATALOGUE, start="2020-02", end="2020-03", with_bad_files=True)


def test_bad_files_are_added_when_asked(bad_run):
    out, paths = bad_run
    bad_names = {b.file_name("2020-03") for b in BAD_FILES}
    assert len(BAD_FILES) == len(bad_names) == 5 and all(b.problem for b in BAD_FILES)
    good = {f"{feed.id}__{period}.csv" for period in ("2020-02", "2020-03") for feed in CATALOGUE.feeds
            if feed.expects(period)}
    assert {p.name for p in out.iterdir()} == good | bad_names
    assert [p.name for p in paths[-5:]] == [b.file_name("2020-03") for b in BAD_FILES]


def test_each_bad_file_has_its_problem(bad_run):
    out = bad_run[0]
    csc = pl.read_excel(out / "csc_monthly__2020-03.xlsx")
    assert "cin_open" not in csc["indicator"].to_list()
    assert csc.filter(pl.col("indicator") == "cla_uasc")["value"].to_list() == [-22]
    assert (out / "csc_monthly__2020-03.csv").exists()
    mash = pl.read_excel(out / "mash_contacts__2020-03.xlsx")
    assert (~mash["received_date"].str.starts_with("2020-03")).sum() == 1
    assert set(mash["source"]) - set(CATALOGUE.dimensions["mash_source"]) == {"GP"}
    assert (out / "police_monthly__2020-03.csv").read_text().startswith("period;indicator;breakdown;value\n")
    assert "mash_contact" not in CATALOGUE.feed_by_id
    assert set(read_aggregate(out / "health_monthly__2020-03.csv")["period"]) == {"2020-02"}


def test_validation_accepts_good_files_and_rejects_bad_ones(bad_run):
    from radar.validation.feeds import validate_file

    out = bad_run[0]
    bad_names = {b.file_name("2020-03") for b in BAD_FILES}
    for path in sorted(out.iterdir()):
        result = validate_file(path, CATALOGUE, max_bytes=150 * 1024 * 1024)
        assert result.ok == (path.name not in bad_names), (path.name, result.problems[:3])


def test_files_carry_plausible_arrival_times(default_run):
    """Modification times (Radar's arrival times) fall around the due day of the following month."""
    files = default_run[1]
    arrivals = {}
    for path in files[:480]:
        _feed_id, period = path.stem.split("__")
        year, month = (int(x) for x in period.split("-"))
        nxt = date(year + month // 12, month % 12 + 1, 1)
        arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
        assert nxt <= arrived <= nxt + timedelta(days=27 + 12), (path.name, arrived)
        arrivals[path.name] = arrived
    due = {f.id: f.due_day for f in CATALOGUE.feeds}
    late = sum(a.day > due[name.split("__")[0]] for name, a in arrivals.items())
    assert 0.02 < late / len(arrivals) < 0.2  # most on time, some late
