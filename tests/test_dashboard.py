"""The dashboard pages, run with Streamlit's AppTest against a small temporary store.

The store is filled directly with a handful of submissions, indicator
values, SPC points, alerts and DfE benchmarks whose statuses and formatted
numbers are worked out by hand below.  Rows for a second partnership
(E09000007) must never show.
"""

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from radar.actions.register import seed_register
from radar.core.config import get_context
from radar.core.periods import month_range
from radar.dashboard.common import NO_DATA, england_figure, format_published, format_value
from radar.dashboard.signals import alert_line, cycle_month, evidence_table, series_badges
from radar.models.alerts import Alert, PositiveSignal
from radar.models.audit import record_cycle
from radar.models.benchmarks import Benchmark
from radar.models.charts import SeriesStatus, SpcPoint, SpcSegment
from radar.models.engine import get_engine
from radar.models.indicators import IndicatorValue
from radar.models.submissions import Submission
from radar.pipelines.alerts.rule import alert_ref
from radar.pipelines.benchmarks import ATTRIBUTION
from radar.pipelines.charts import spc_chart, y_scale

ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark's escapable ASCII punctuation
APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
LA, OTHER_LA = "E09000006", "E09000007"
RAW_CHILD_REF = "RAW-CHILD-77"
REPORT = "# mash_contacts__2025-03.csv was rejected\n\nRow 7: received_date is not in March 2025.\n"
MASH_PROBLEMS = (
    '[{"row": 4, "column": "child_ref", "value": "' + RAW_CHILD_REF + '", "rule": "unique",'
    ' "message": "child_ref repeats on row 3"},'
    ' {"row": 7, "column": "received_date", "value": "2025-02-28", "rule": "in_period",'
    ' "message": "received_date is not in March 2025"},'
    ' {"row": null, "column": "indicator", "value": null, "rule": "missing_indicator",'
    ' "message": "There is no row for cin_open"}]'
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def submission(la_code: str, feed_id: str, period: str, status: str, received: datetime, **extra) -> Submission:
    return Submission(
        la_code=la_code, feed_id=feed_id, period=period, file_name=f"{feed_id}__{period}.csv",
        file_hash=f"{feed_id}{period}{status}{received:%d}", status=status, received_at=received,
        is_current=status in ("accepted", "replaced") and extra.pop("is_current", True), **extra,
    )


def value(la_code: str, indicator: str, period: str, v: float | None, **extra) -> IndicatorValue:
    return IndicatorValue(la_code=la_code, indicator=indicator, period=period, value=v,
                          computed_at=utc(2025, 5, 1), **extra)


# cpp_repeat_rate (percent, up is bad): twelve months around a mean of 20% with limits 10% to 30%,
# and April 2025 at 34%, above the upper limit: a special cause of concern.
REPEAT_MONTHS = month_range("2024-05", "2025-04")
REPEAT_VALUES = [18.0, 22.0, 19.0, 21.0, 20.0, 17.0, 23.0, 19.0, 21.0, 18.0, 22.0, 34.0]
SPC_MESSAGE = "Second or subsequent plans (%) stood at 34.0% in Apr 2025, above the usual range of 10.0% to 30.0%."
FEED_MESSAGE = "No file has arrived for Mar 2025 from NHS trusts (Health monthly return, due 15 Apr 2025)."
EHE_MESSAGE = "Children electively home educated rose every month from 150 in Oct 2024 to 190 in Apr 2025."
GAP_MESSAGE = "Placement instability stood at 12.0% in 2023-24, worse than both England and similar areas."
ACK_MESSAGE = "Children looked after stayed above average for 7 months running (since Oct 2024)."
RESOLVED_MESSAGE = "Children in need per 10,000 children stayed above average for 7 months running."
SILENCED_MESSAGE = "Unaccompanied asylum-seeking children looked after rose every month for 7 months."
IMPROVEMENT = "Return home interviews completed rose above the usual range in Apr 2025."


def spc_point(indicator: str, period: str, v: float | None, **extra) -> SpcPoint:
    return SpcPoint(la_code=LA, indicator=indicator, period=period, value=v, **extra)


def spc_segment(indicator: str, **extra) -> SpcSegment:
    return SpcSegment(la_code=LA, indicator=indicator, **extra)


def alert(rule: str, indicator: str | None, severity: str, subgroup: str, status: str, message: str,
          first: str, last: str, la_code: str = LA, **extra) -> Alert:
    key = f"{rule}|{indicator or extra.get('feed')}"
    return Alert(la_code=la_code, key=key, ref=alert_ref(key), rule=rule, indicator=indicator,
                 breakdown="" if indicator else None, scope=la_code, severity=severity, subgroup=subgroup,
                 status=status, message=message, first_period=first, last_period=last, **extra)


def benchmark(level: str, area_code: str, v: float | None, year: int = 2024, symbol: str | None = None,
              old_la_code: str | None = None, name: str = "An area") -> Benchmark:
    return Benchmark(indicator="cpp_repeat_rate", year=year, level=level, area_code=area_code,
                     old_la_code=old_la_code, area_name=name, region_code="E13000002" if level == "la" else None,
                     value=v, symbol=symbol, source_file="d3_cpps_subsequent_plan_2013_to_2025.csv")


def signal_rows() -> list:
    """SPC points, series statuses, alerts, an improvement and DfE benchmarks."""
    repeat = [spc_point("cpp_repeat_rate", period, v) for period, v in zip(REPEAT_MONTHS[:-1], REPEAT_VALUES[:-1])]
    return [
        *(value(LA, "cpp_repeat_rate", period, v) for period, v in zip(REPEAT_MONTHS, REPEAT_VALUES)),
        *repeat,
        spc_segment("cpp_repeat_rate", mean=20.0, lower=10.0, upper=30.0),
        spc_point("cpp_repeat_rate", "2025-04", 34.0, signal="outside_limits", direction="high", assessment="concern"),
        SeriesStatus(la_code=LA, indicator="cpp_repeat_rate", latest_period="2025-04", latest_value=34.0,
                     variation="special_cause_concern_high", label="ok"),
        # cin_rate has three months: too short for limits.
        spc_segment("cin_rate", label="too_short"),
        *(spc_point("cin_rate", p, v) for p, v in
          (("2025-01", 322.5), ("2025-02", None), ("2025-04", 330.0))),
        SeriesStatus(la_code=LA, indicator="cin_rate", latest_period="2025-04", latest_value=330.0, label="too_short"),
        # mash_enquiries is seasonal: its chart is of adjusted values (the cycle's), its table as reported.
        value(LA, "mash_enquiries", "2025-04", 700),
        spc_segment("mash_enquiries", label="too_short"),
        spc_point("mash_enquiries", "2025-04", 655.5),
        # Active: open (one high, one medium, one low) or acknowledged (two medium, one of them first
        # raised in April); one resolved and one silenced are not active.
        alert("spc_outside_limits", "cpp_repeat_rate", "high", "pci", "open", SPC_MESSAGE, "2025-04", "2025-04",
              evidence=json.dumps({"value": 34.0, "mean": 20.0, "lower": 10.0, "upper": 30.0,
                                   "signal": "outside_limits", "direction": "high"})),
        alert("feed_late", None, "medium", "pci", "open", FEED_MESSAGE, "2025-03", "2025-04", feed="health_monthly",
              evidence=json.dumps({"feed_id": "health_monthly", "held_back": ["camhs_referrals_to_csc"]})),
        alert("spc_trend", "ehe_registered", "medium", "education", "acknowledged", EHE_MESSAGE, "2025-04", "2025-04",
              acknowledged_by="ESAC chair", ack_note="Asking schools why"),
        alert("benchmark_gap", "cla_placement_instability", "low", "pci", "open", GAP_MESSAGE, "2025-01", "2025-04"),
        alert("spc_shift", "cla_open", "medium", "pci", "acknowledged", ACK_MESSAGE, "2025-02", "2025-04",
              acknowledged_by="PCI chair", ack_note="Placement sufficiency review under way"),
        alert("spc_shift", "cin_rate", "medium", "pci", "resolved", RESOLVED_MESSAGE, "2024-10", "2025-01",
              cleared_period="2025-02"),
        alert("spc_trend", "cla_uasc", "medium", "pci", "silenced", SILENCED_MESSAGE, "2025-03", "2025-04",
              silenced_reason="National transfer scheme arrivals", silenced_until=date(2025, 6, 30)),
        alert("spc_outside_limits", "cpp_repeat_rate", "high", "pci", "open", "OTHER LA ALERT", "2025-04", "2025-04",
              la_code=OTHER_LA),
        PositiveSignal(la_code=LA, key="improvement_outside_limits|rhi_completed||E09000006",
                       rule="improvement_outside_limits", indicator="rhi_completed", period="2025-04",
                       subgroup="pci", message=IMPROVEMENT),
        # Bromley's 2023-24 figure is suppressed; three of its ten neighbours published one (median 22.0).
        benchmark("national", "E92000001", 23.0, name="England"),
        benchmark("regional", "E13000002", 20.5, name="Outer London"),
        benchmark("la", LA, None, symbol="c", old_la_code="305", name="Bromley"),
        benchmark("la", "E06000022", 18.0, old_la_code="358"),
        benchmark("la", "E06000036", 22.0, old_la_code="919"),
        benchmark("la", "E06000037", 26.0, old_la_code="867"),
        benchmark("la", "E06000038", None, symbol="c", old_la_code="319"),
        benchmark("la", "E09000002", 99.0, old_la_code="301"),  # not a neighbour
        # 2022-23: Bromley 19.5%, two neighbours (median 19.0).
        benchmark("national", "E92000001", 22.0, year=2023, name="England"),
        benchmark("regional", "E13000002", 21.0, year=2023, name="Outer London"),
        benchmark("la", LA, 19.5, year=2023, old_la_code="305", name="Bromley"),
        benchmark("la", "E06000022", 17.0, year=2023, old_la_code="358"),
        benchmark("la", "E06000036", 21.0, year=2023, old_la_code="919"),
    ]


def fill(home: Path, loaded: bool = True) -> None:
    """The dashboard tests' store; `loaded`: with the register's files loaded, as the monthly cycle loads them."""
    (home / "reports").mkdir()
    (home / "reports" / "mash_contacts__2025-03.md").write_text(REPORT, encoding="utf-8")
    rows = [
        # Due 10 April: on time.
        submission(LA, "csc_monthly", "2025-03", "accepted", utc(2025, 4, 9, 9)),
        # Due 12 April: late.
        submission(LA, "police_monthly", "2025-03", "accepted", utc(2025, 4, 20, 9)),
        # Due 12 April: on time, then corrected.
        submission(LA, "education_monthly", "2025-03", "accepted", utc(2025, 4, 5, 9), is_current=False),
        submission(LA, "education_monthly", "2025-03", "replaced", utc(2025, 4, 11, 9)),
        submission(LA, "mash_contacts", "2025-03", "rejected", utc(2025, 4, 6, 9), error_count=2,
                   message="2 problems: fix them and send the file again",
                   errors_json=MASH_PROBLEMS, report_path="reports/mash_contacts__2025-03.md"),
        submission(LA, "lado_referrals", "2025-02", "rejected", utc(2025, 3, 2, 9), error_count=1,
                   message="The file has no header row", report_path="reports/removed.md"),
        submission(OTHER_LA, "csc_monthly", "2025-04", "accepted", utc(2025, 5, 9, 9)),
        submission(OTHER_LA, "health_monthly", "2025-04", "rejected", utc(2025, 5, 9, 9), message="OTHER LA FILE"),
        value(LA, "cin_rate", "2025-01", 322.5, numerator=2150, denominator=66667),
        value(LA, "cin_rate", "2025-02", None, note="Population estimate for 2025 not published"),
        value(LA, "cin_rate", "2025-04", 330.0, numerator=2200, denominator=66667),
        value(OTHER_LA, "cin_rate", "2025-01", 999.9),
        value(LA, "cpp_open", "2025-01", 250),
        value(LA, "cpp_open", "2025-01", 120, breakdown="neglect"),
        *signal_rows(),
    ]
    with Session(get_engine(get_context().settings.database_url)) as session:
        session.add_all(rows)
        session.commit()
    engine = get_engine(get_context().settings.database_url)
    with engine.begin() as conn:  # the cycle for April 2025, the latest month here, has run
        record_cycle(conn, LA, "2025-04", {})
    if loaded:  # as that cycle loads the register: as of the end of the month after
        seed_register(engine, get_context(), date(2025, 5, 31))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of its own for this module (contexts and engines are cached per RADAR_HOME)."""
    home = tmp_path_factory.mktemp("radar_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RADAR_HOME", str(home))
        env.delenv("RADAR_DATABASE_URL", raising=False)
        env.delenv("RADAR_CONFIG", raising=False)
        env.setenv("RADAR_DEV_MODE", "1")  # the chair's view without a sign-in provider (test_dashboard_access.py)
        fill(home)
        yield home


def run(page: str | None = None) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def frame(app: AppTest, index: int) -> pl.DataFrame:
    return pl.from_pandas(app.dataframe[index].value)


def shown(markdown: str) -> str:
    """The characters a reader sees for Markdown source: a backslash-escaped punctuation mark shows as itself
    (CommonMark), which is how the dashboard keeps stored text from becoming links or markup."""
    return ESCAPED.sub(r"\1", markdown)


def every_text(app: AppTest) -> str:
    """All text and table content on the page, as a reader sees it, to check what must never appear."""
    texts = [shown(str(getattr(node, "value", ""))) for kind in ("markdown", "caption", "info", "warning", "success",
                                                          "subheader", "title") for node in app.get(kind)]
    tables = [frame(app, i).write_csv() for i in range(len(app.dataframe))]
    return "\n".join(texts + tables)


PAGES = ["views/overview.py", "views/register.py", "views/impact_log.py", "views/alerts.py", "views/indicators.py",
         "views/feed_status.py", "views/upload.py", "views/rejected.py"]


@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_none_or_a_routing_id(store, page):
    """Python's None, a receiver's routing id ("subgroup:pci") or an outbox status never reaches the screen."""
    app = run(page)
    text = every_text(app)
    assert not re.search(r"\bNone\b", text), re.findall(r".{0,60}\bNone\b.{0,20}", text)
    for i in range(len(app.dataframe)):  # the browser's table shows an empty (null) cell as "None"
        table = frame(app, i)
        assert not [c for c in table.columns if table[c].null_count()], (page, table.head(3))
    assert not re.search(r"\b(subgroup|agency|owner):[a-z_]+", text)


def test_the_send_a_file_page_and_the_readme_say_the_same_about_the_inbox(store):
    """One statement of how soon the inbox is read: the service's watcher takes a file within seconds."""
    page = "\n".join(m.value for m in run("views/upload.py").markdown)
    readme = " ".join((APP.parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert "15 minutes" not in page
    assert "read as it arrives" in readme and "within about a minute" in readme
    assert "Radar reads as files arrive" in page and "within about a minute" in page


def test_sidebar_names_the_partnership(store):
    app = run()
    assert "Bromley Safeguarding Children Partnership" in app.sidebar.markdown[0].value


def test_feed_status_grid_shows_each_status_for_the_latest_month(store):
    app = run("views/feed_status.py")
    assert app.title[0].value == "Feed status"
    # The other partnership's April file must not stretch the range, nor the months since: it ends at March.
    slider = app.select_slider(key="months")
    assert slider.value == ("2025-02", "2025-03")
    assert slider.options[-1] == "Mar 2025"
    grid = frame(app, 1)
    assert grid.columns == ["Agency", "Feed", "Due", "Mar 2025", "Feb 2025"]  # the latest month first, never off-screen
    march = dict(zip(grid["Feed"], grid["Mar 2025"]))
    assert march["Children's social care monthly return"] == "On time"
    assert march["Police domestic abuse and sexual offences"] == "Received late"
    assert march["Education welfare monthly return"] == "Corrected"
    assert march["MASH contacts (one row per contact)"] == "Rejected"
    assert march["Health monthly return (CAMHS and acute trust)"] == "Missing"
    assert march["Partnership Board attendance"] == "Missing"
    february = dict(zip(grid["Feed"], grid["Feb 2025"]))
    assert february["LADO referrals (one row per referral)"] == "Rejected"
    assert february["Partnership Board attendance"] == ""  # quarterly: not due in February
    police = grid.filter(pl.col("Feed") == "Police domestic abuse and sexual offences")
    assert police["Agency"].item() == "Metropolitan Police (South BCU)"
    assert police["Due"].item() == "day 12"


def test_feed_status_summary_lists_the_agencies_to_chase(store):
    app = run("views/feed_status.py")
    assert app.subheader[0].value == "Agencies late for Mar 2025"
    chase = frame(app, 0)
    statuses = dict(zip(chase["Feed"], chase["Status"]))
    assert statuses["Police domestic abuse and sexual offences"] == "Received late"
    # Due 12 April, received 20 April.
    assert chase.filter(pl.col("Status") == "Received late")["Days late"].to_list() == ["8"]
    assert set(chase.filter(pl.col("Status") != "Received late")["Days late"]) == {"—"}  # never "None"
    assert statuses["MASH contacts (one row per contact)"] == "Rejected"
    assert statuses["Health monthly return (CAMHS and acute trust)"] == "Missing"
    assert "Children's social care monthly return" not in statuses
    assert "Education welfare monthly return" not in statuses
    # 14 feeds are due for March; only csc (on time) and education (corrected) are not chased.
    assert chase.height == 14 - 2
    assert "data-lead@police.example.org" in chase["Contact"].to_list()


def test_indicator_explorer_shows_values_gaps_and_the_comparator(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cin_rate").run()
    table = frame(app, 0)
    assert table["Month"].to_list() == ["Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025"]
    assert table["Value"].to_list() == ["322.5 per 10,000 children", "—", "—", "330.0 per 10,000 children"]
    assert table["Numerator"].to_list() == ["2,150", "—", "—", "2,200"]
    assert table["Denominator"].to_list()[0] == "66,667"
    assert table["Note"].to_list()[1:3] == ["Population estimate for 2025 not published", "No value stored for this month."]
    markdown = [m.value for m in app.markdown]
    # DfE publishes nothing for it in this store, so the catalogue's figure is England's, with its source.
    assert ("**England:** 334.0 per 10,000 children in 2018-19 "
            "(England average quoted in the BSCP annual report 2019-20).") in markdown
    assert "999.9" not in every_text(app)


def test_indicator_explorer_breakdown_and_local_target(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cpp_open").run()
    assert app.selectbox(key="breakdown").options == ["Total", "Neglect"]
    assert frame(app, 0)["Value"].to_list() == ["250"]
    app.selectbox(key="breakdown").set_value("neglect").run()
    assert frame(app, 0)["Value"].to_list() == ["120"]

    app.selectbox(key="indicator").set_value("swa_timeliness").run()
    assert "**Local target:** 87.0% (2019-20)." in [m.value for m in app.markdown]
    assert "No values are stored for this indicator yet" in app.info[0].value


def test_rejected_files_show_message_report_and_problems_without_child_refs(store):
    app = run("views/rejected.py")
    listing = frame(app, 0)
    assert listing["File"].to_list() == ["mash_contacts__2025-03.csv", "lado_referrals__2025-02.csv"]
    assert listing["Message"][0] == "2 problems: fix them and send the file again"
    assert listing["Problems"].to_list() == [2, 1]
    assert "OTHER LA FILE" not in every_text(app)
    assert "Row 7: received_date is not in March 2025." in "\n".join(m.value for m in app.markdown)
    problems = frame(app, 1)
    assert problems["Column"].to_list() == ["child_ref", "received_date", "indicator"]
    assert problems["Value"].to_list() == ["(withheld)", "2025-02-28", ""]
    assert problems["Row"].to_list() == ["4", "7", "whole file"]  # a problem with the whole file: never "Row None"
    assert RAW_CHILD_REF not in every_text(app)


def test_rejected_file_without_its_report_says_so(store):
    app = run("views/rejected.py")
    chosen = next(i for i in app.selectbox(key="submission").options if i.startswith("lado_referrals"))
    app.selectbox(key="submission").select(chosen).run()
    assert "The report for this file is not available" in app.warning[-1].value
    assert "No row-level problems were recorded" in app.main.markdown[-1].value


@pytest.fixture
def empty_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RADAR_HOME", str(tmp_path))
    monkeypatch.delenv("RADAR_DATABASE_URL", raising=False)
    monkeypatch.setenv("RADAR_DEV_MODE", "1")
    return tmp_path


@pytest.mark.parametrize("page", [None, "views/feed_status.py", "views/indicators.py", "views/rejected.py"])
def test_an_empty_store_says_how_to_load_data(empty_store, page):
    app = run(page)
    assert app.info[0].value == NO_DATA
    assert "radar ingest PATH" in NO_DATA and "make demo" in NO_DATA


def test_an_empty_store_has_no_open_alerts_and_says_when_they_appear(empty_store):
    app = run("views/alerts.py")
    assert app.info[0].value == "No active alerts"
    assert "radar cycle" in app.caption[0].value
    assert "No improvement has been signalled" in app.main.caption[-1].value


def chart_points(values: list[float | None], **columns) -> pl.DataFrame:
    """An SPC frame for consecutive months from Jan 2025, limits and signals null unless given."""
    n = len(values)
    spc = {"mean": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "signal": pl.String, "assessment": pl.String}
    return pl.DataFrame(
        {"period": month_range("2025-01", f"2025-{n:02d}"), "value": values, "reported": values}
        | {name: columns.get(name, [None] * n) for name in spc},
        schema={"period": pl.String, "value": pl.Float64, "reported": pl.Float64} | spc,
    )


def test_a_missing_value_is_a_gap_in_the_chart_not_a_zero():
    points = chart_points([322.5, None])
    spec = spc_chart(points, "rate_per_10k", [("England 2018-19: 334.0 per 10,000 children", 334.0)]).to_dict()
    limits, mean, line, _dots, rule, label = spec["layer"]
    for layer in (limits, mean, line):
        assert layer["mark"]["invalid"] == "break-paths-show-domains"
    assert [row["value"] for row in spec["datasets"][line["data"]["name"]]] == [322.5, None]
    assert spec["datasets"][rule["data"]["name"]] == [{"label": "England 2018-19: 334.0 per 10,000 children", "value": 334.0}]
    assert label["encoding"]["text"]["field"] == "label"


def test_a_count_axis_starts_at_zero_and_never_draws_a_limit_below_it():
    # A child-deaths chart: limits computed below zero (from an older cycle) are clipped at the axis.
    points = chart_points([0.0, 2.0, 1.0], mean=[1.0] * 3, lower=[-1.7] * 3, upper=[3.7] * 3)
    assert y_scale(points, "count", []).to_dict() == {"domainMin": 0.0, "nice": True}
    spec = spc_chart(points, "count", []).to_dict()
    assert all(layer["mark"]["clip"] for layer in spec["layer"][:5])
    assert spec["layer"][0]["encoding"]["y"]["scale"] == {"domainMin": 0.0, "nice": True}


def test_a_percentage_axis_stays_within_0_and_100():
    points = chart_points([96.0, 99.0], mean=[97.5] * 2, lower=[93.0] * 2, upper=[102.1] * 2)
    assert y_scale(points, "percent", [("Target", 95.0)]).to_dict() == {"domain": [0.0, 100.0], "nice": True}
    low = chart_points([18.0, 22.0], upper=[30.0] * 2)
    assert y_scale(low, "percent", [("England", 23.0)]).to_dict()["domain"] == [0.0, 30.0]


def test_a_negative_charted_value_extends_the_axis_below_zero():
    # A seasonally adjusted count can fall below zero; hiding it would be worse than a lower axis.
    assert y_scale(chart_points([-4.0, 3.0]), "count", []).to_dict()["domainMin"] == -4.0


def test_spc_chart_colours_points_by_special_cause_and_dashes_the_limits():
    points = chart_points(
        [20.0, 34.0, 5.0, 40.0], mean=[20.0] * 4, lower=[10.0] * 4, upper=[30.0] * 4,
        signal=[None, "outside_limits", "outside_limits", "outside_limits"],
        assessment=[None, "concern", "improvement", None],
    )
    spec = spc_chart(points, "percent", []).to_dict()
    limits, mean, _line, dots, *_ = spec["layer"]
    rows = spec["datasets"][dots["data"]["name"]]
    assert [r["variation"] for r in rows] == [
        "Common cause", "Special cause: concern", "Special cause: improvement",
        "Special cause: neither better nor worse",
    ]
    scale = dots["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"]))
    assert colours["Special cause: concern"] == "#f28e2b"
    assert colours["Special cause: improvement"] == "#1f6fb4"
    assert colours["Special cause: neither better nor worse"] == "#a0a0a0"
    assert mean["encoding"]["y"]["field"] == "mean" and "strokeDash" not in mean["mark"]
    assert limits["mark"]["strokeDash"] == [6, 4]
    levels = {(r["limit"], r["level"]) for r in spec["datasets"][limits["data"]["name"]]}
    assert levels == {("Lower process limit", 10.0), ("Upper process limit", 30.0)}


def test_the_chart_legend_names_every_kind_of_variation_in_full():
    """Drawn as the Board pack draws it (vl-convert): no legend label cut to "Special cause: improvem…"."""
    import vl_convert

    points = chart_points(
        [20.0, 34.0, 5.0, 40.0], mean=[20.0] * 4, lower=[10.0] * 4, upper=[30.0] * 4,
        signal=[None, "outside_limits", "outside_limits", "outside_limits"],
        assessment=[None, "concern", "improvement", None],
    )
    svg = vl_convert.vegalite_to_svg(spc_chart(points, "count", []).properties(width=400, height=200).to_json())
    for label in ["Special cause: concern", "Special cause: improvement", "Special cause: neither better nor worse"]:
        assert f">{label}</text>" in svg, label
    assert "…" not in svg


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(87.0, "percent", "87.0%"), (86.96, "percent", "87.0%"), (322.5, "rate_per_10k", "322.5 per 10,000 children"),
     (12345.67, "rate_per_10k", "12,345.7 per 10,000 children"), (426.4, "days", "426 days"), (1234, "count", "1,234"),
     (0, "count", "0"), (None, "percent", "—")],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


# --- Signals: SPC chart, benchmarks, alerts, overview ---------------------------------------


def chart_data(app: AppTest) -> dict[str, pl.DataFrame]:
    """The chart's datasets (Streamlit sends them as Arrow), keyed by their columns."""
    import pyarrow as pa

    chart = app.get("vega_lite_chart")[0].proto
    frames = [pl.from_arrow(pa.ipc.open_stream(d.data.data).read_all()) for d in chart.datasets]
    return {",".join(f.columns): f for f in frames}


def markdowns(app: AppTest) -> list[str]:
    return [shown(m.value) for m in app.markdown]


def table_with(app: AppTest, column: str) -> pl.DataFrame:
    return next(frame(app, i) for i in range(len(app.dataframe)) if column in frame(app, i).columns)


def test_spc_chart_shows_mean_limits_and_the_variation_badge(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cpp_repeat_rate").run()
    assert ":orange-badge[Special cause — concerning high]" in markdowns(app)
    assert "**Usual range:** 10.0% to 30.0% around a mean of 20.0% (process limits in Apr 2025)." in markdowns(app)
    evidence = pl.from_pandas(app.table[0].value)
    assert evidence["Measure"].to_list()[:4] == ["Value", "Mean", "Lower process limit", "Upper process limit"]
    points = next(f for columns, f in chart_data(app).items() if "variation" in columns)
    assert points.height == 12
    assert points["mean"].unique().to_list() == [20.0]
    assert points["upper"].unique().to_list() == [30.0]
    april = points.filter(pl.col("period") == "2025-04").row(0, named=True)
    assert (april["value"], april["variation"]) == (34.0, "Special cause: concern")
    assert points.filter(pl.col("period") == "2025-03")["variation"].item() == "Common cause"
    assert not app.info  # a full chart needs no note


def test_a_short_series_says_it_has_no_limits_and_lists_a_recently_resolved_alert(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cin_rate").run()
    assert app.info[0].value.startswith("Fewer than 12 months of data: no process limits yet")
    assert not any(m.startswith("**Usual range:**") for m in markdowns(app))
    assert not any(c.value.startswith("Solid grey line: the mean") for c in app.caption)
    # Resolved in Feb 2025, within three months of the series' last month (Apr 2025).
    assert RESOLVED_MESSAGE in markdowns(app)
    assert ":gray-badge[Resolved]" in next(m for m in markdowns(app) if "Children in need per 10,000 children" in m)


def test_a_series_the_cycle_has_not_charted_says_when_limits_appear(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cpp_open").run()
    captions = [c.value for c in app.caption]
    assert "Limits and signals appear once the monthly cycle (`radar cycle`) has charted this series." in captions
    assert "No open or recently resolved alerts for this series." in captions
    assert not any("badge[" in m for m in markdowns(app))


def test_a_seasonal_indicator_shows_the_reported_value_and_names_the_adjusted_one(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("mash_enquiries").run()
    assert any("shows seasonally adjusted values" in c.value for c in app.caption)
    assert "**Apr 2025:** 700 reported (656 seasonally adjusted, as charted)." in markdowns(app)
    table = frame(app, 0)
    assert table["Value"].to_list() == ["700"]
    assert table["Seasonally adjusted (charted)"].to_list() == ["656"]  # a count of children: whole
    points = next(f for columns, f in chart_data(app).items() if "variation" in columns)
    assert points.select("reported", "value").row(0) == (700.0, 655.5)
    assert app.get("vega_lite_chart")[0].proto.spec.count("count, seasonally adjusted") >= 1


def test_a_series_that_is_not_seasonal_shows_its_reported_value_alone(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cpp_repeat_rate").run()
    assert "**Apr 2025:** 34.0% reported." in markdowns(app)
    assert "seasonally adjusted" not in every_text(app)


def test_indicator_alerts_show_their_message_and_evidence(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cpp_repeat_rate").run()
    ref = alert_ref("spc_outside_limits|cpp_repeat_rate")
    assert (f":red-badge[High] :gray-badge[Open] **Second or subsequent plans (%)** · Raised Apr 2025 · id `{ref}`"
            in markdowns(app))
    assert SPC_MESSAGE in markdowns(app)
    assert "OTHER LA ALERT" not in every_text(app)
    evidence = pl.from_pandas(app.table[0].value)
    assert dict(zip(evidence["Measure"], evidence["Value"]))["Upper process limit"] == "30.0"


def test_benchmarks_show_a_suppressed_figure_as_its_symbol_and_the_attribution(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cpp_repeat_rate").run()
    table = table_with(app, "Similar areas (median)")
    assert table.columns == ["Year", "Bromley", "England", "Outer London", "Similar areas (median)", "Neighbours"]
    assert table.row(0) == ("2023-24", "c (suppressed)", "23.0%", "20.5%", "22.0%", "3 of 10")
    assert table.row(1) == ("2022-23", "19.5%", "22.0%", "21.0%", "19.0%", "2 of 10")
    assert ATTRIBUTION in [c.value for c in app.caption]
    assert "99.0" not in table.write_csv()  # not a neighbour


def test_england_has_one_figure_on_the_indicator_page_from_dfe_with_its_year(store):
    # The catalogue quotes 21% for 2018-19 from the annual report; DfE's imported figures win everywhere.
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cpp_repeat_rate").run()
    assert "**England:** 23.0% in 2023-24 (Department for Education)." in markdowns(app)
    rules = next(f for columns, f in chart_data(app).items() if columns == "label,value")
    assert rules.rows() == [("England 2023-24: 23.0%", 23.0)]
    assert table_with(app, "Similar areas (median)").row(0)[2] == "23.0%"
    words = markdowns(app) + [c.value for c in app.caption]
    assert not any("21.0%" in text or "BSCP annual report" in text for text in words)
    assert ATTRIBUTION in [c.value for c in app.caption]


def test_england_figure_is_for_the_year_of_the_latest_month_or_the_one_before():
    published = pl.DataFrame({"year": [2019, 2020, 2021, 2022], "national": [21.9, 20.8, None, 22.1]})
    assert england_figure(published, "2020-03") == (2020, 20.8)  # March 2020 is in 2019-20
    assert england_figure(published, "2020-04") == (2020, 20.8)  # 2020-21 has no England figure
    assert england_figure(published, "2017-06") is None  # nothing that early: a later year never stands in
    assert england_figure(published, None) == (2022, 22.1)
    assert england_figure(published.clear(), "2020-03") is None


def test_no_benchmark_table_without_published_figures(store):
    app = run("views/indicators.py")
    app.selectbox(key="indicator").set_value("cin_rate").run()
    assert "Published benchmarks" not in [h.value for h in app.subheader]
    assert ATTRIBUTION not in [c.value for c in app.caption]


def test_alerts_page_lists_active_alerts_under_their_subgroup(store):
    app = run("views/alerts.py")
    headings = [h.value for h in app.subheader]
    assert headings == ["Performance, Challenge & Impact (4)", "Education Safeguarding Advisory Committee (1)"]
    assert "Chair: Chair, Performance Challenge and Impact · [pci-chair@bscp.example.org](mailto:pci-chair@bscp.example.org)" in [m.value for m in app.markdown]
    text = markdowns(app)
    for message in (SPC_MESSAGE, FEED_MESSAGE, GAP_MESSAGE, EHE_MESSAGE, ACK_MESSAGE):
        assert message in text
    # Most severe first within the subgroup.
    assert text.index(SPC_MESSAGE) < text.index(FEED_MESSAGE) < text.index(GAP_MESSAGE)
    assert RESOLVED_MESSAGE not in text and SILENCED_MESSAGE not in text
    captions = [c.value for c in app.caption]
    assert "Being handled by PCI chair: Placement sufficiency review under way" in captions
    assert "Being handled by ESAC chair: Asking schools why" in captions
    assert "OTHER LA ALERT" not in every_text(app)
    improvements = table_with(app, "Improvement")
    assert improvements.row(0) == ("Apr 2025", "Performance, Challenge & Impact", IMPROVEMENT)


def test_every_alert_card_shows_the_id_a_chair_types(store):
    app = run("views/alerts.py")
    cards = [m for m in markdowns(app) if "· Raised " in m]
    assert len(cards) == 5
    for key in ("spc_outside_limits|cpp_repeat_rate", "feed_late|health_monthly", "spc_trend|ehe_registered",
                "benchmark_gap|cla_placement_instability", "spc_shift|cla_open"):
        assert sum(m.endswith(f"· id `{alert_ref(key)}`") for m in cards) == 1, key


def test_silenced_alerts_are_listed_apart_with_reason_and_expiry(store):
    app = run("views/alerts.py")
    assert "silenced" not in app.multiselect(key="status").options
    assert "Silenced" in [h.value for h in app.header]
    silenced = table_with(app, "Silenced until")
    assert silenced.rows() == [(alert_ref("spc_trend|cla_uasc"), "Unaccompanied asylum-seeking children looked after",
                                "National transfer scheme arrivals", "30 Jun 2025")]


def test_alerts_page_filters_by_status_and_severity(store):
    app = run("views/alerts.py")
    app.multiselect(key="status").set_value(["resolved"]).run()
    text = markdowns(app)
    assert RESOLVED_MESSAGE in text and ACK_MESSAGE not in text and SPC_MESSAGE not in text
    app.multiselect(key="status").set_value(["open"]).run()
    app.multiselect(key="severity").set_value(["low"]).run()
    assert [h.value for h in app.subheader] == ["Performance, Challenge & Impact (1)"]
    assert GAP_MESSAGE in markdowns(app) and SPC_MESSAGE not in markdowns(app)
    app.multiselect(key="status").set_value(["resolved"]).run()
    assert app.info[0].value == "No alerts match these filters"
    assert "Silenced" not in [h.value for h in app.header]  # the silenced alert is medium


def test_overview_counts_acknowledged_alerts_as_active(store):
    app = run()
    assert app.title[0].value == "Strategic threat assessment"
    assert {m.label: m.value for m in app.metric} == {"Active alerts": "5", "High": "1", "Medium": "3", "Low": "1"}
    by_subgroup = table_with(app, "Subgroup")
    assert by_subgroup.columns[-2:] == ["Total", "Being handled"]
    assert by_subgroup.rows() == [
        ("Performance, Challenge & Impact", "Chair, Performance Challenge and Impact", 1, 2, 1, 4, 1),
        ("Education Safeguarding Advisory Committee", "Secondary School DSL (ESAC)", 0, 1, 0, 1, 1),
    ]


def test_overview_shows_what_is_worse_new_late_silenced_and_improving(store):
    app = run()
    sections = [h.value for h in app.subheader]
    assert sections == ["What changed since the last Board", "Top threats", "The risk register",
                        "Agencies' files over the last year",  # the threat assessment first, then the alerts
                        "Active alerts by subgroup", "Getting worse", "New in Apr 2025",
                        "Agencies late with their data for Mar 2025", "Silenced", "Improvements"]
    worse, new, improvements = [shown(m.value) for m in app.main.markdown][-3:]  # the alert sections come last
    # Acknowledged alerts stay in "Getting worse" and "New in", saying who is handling them.
    assert SPC_MESSAGE in worse and EHE_MESSAGE in worse and ACK_MESSAGE in worse and FEED_MESSAGE not in worse
    assert "Being handled by PCI chair: Placement sufficiency review under way" in worse
    assert SPC_MESSAGE in new and EHE_MESSAGE in new
    assert "Being handled by ESAC chair: Asking schools why" in new
    assert f"`{alert_ref('spc_trend|ehe_registered')}`" in new
    # Only alerts whose cause began in April are new.
    assert FEED_MESSAGE not in new and GAP_MESSAGE not in new and ACK_MESSAGE not in new
    assert "*(Education Safeguarding Advisory Committee)*" in new
    late = table_with(app, "Days late")
    police = late.filter(pl.col("Feed") == "Police domestic abuse and sexual offences").row(0, named=True)
    assert (police["Status"], police["Days late"], police["Alert id"]) == ("Received late", "8", "—")  # not None
    health = late.filter(pl.col("Agency") == "Oxleas NHS FT, King's College Hospital and Bromley Healthcare")
    assert health.select("Status", "Days late", "Alert id", "Contact").row(0) == (
        "Missing", "—", alert_ref("feed_late|health_monthly"), "data-lead@health.example.org")
    assert "Children's social care monthly return" not in late["Feed"].to_list()  # on time
    silenced = table_with(app, "Silenced until")
    assert silenced["Reason"].to_list() == ["National transfer scheme arrivals"]
    assert SILENCED_MESSAGE not in every_text(app)
    assert IMPROVEMENT in improvements
    assert "OTHER LA ALERT" not in every_text(app)


def test_an_empty_overview_says_how_to_load_data(empty_store):
    app = run()
    assert app.info[0].value == NO_DATA


@pytest.mark.parametrize(
    ("value", "symbol", "text"),
    [(None, "c", "c (suppressed)"), (None, "x", "x (not available)"), (None, "low", "low (rounds to zero)"),
     (None, "q", "q (not published)"), (23.04, None, "23.0%"), (None, None, "—")],
)
def test_format_published_never_turns_a_symbol_into_a_number(value, symbol, text):
    assert format_published(value, symbol, "percent") == text


def test_evidence_table_reads_as_words_and_withholds_child_references():
    evidence = json.dumps({"held_back": ["cpp_open", "cin_rate"], "mean": 20.0, "child_ref": "RAW-1",
                           "looked_after": True, "note": None})
    table = evidence_table(evidence, {"child_ref"})
    assert table.rows() == [("Mean", "20.0"), ("Indicators held back", "cpp open, cin rate"),
                            ("Child ref", "(withheld)"), ("Looked after", "yes"), ("Note", "—")]
    assert evidence_table("{}", set()).is_empty()


def test_series_badges():
    assert series_badges({"variation": "special_cause_improvement_low", "assurance": "consistently_failing"}) == (
        ":blue-badge[Special cause — improving low] :orange-badge[Consistently failing the target]"
    )
    assert series_badges({"variation": None, "assurance": None}) == ""


def test_cycle_month_is_the_latest_month_seen_or_cleared():
    alerts = pl.DataFrame({"last_period": ["2025-02", "2025-03"], "cleared_period": ["2025-04", None]})
    assert cycle_month(alerts) == "2025-04"
    assert cycle_month(alerts.clear()) is None


def test_stored_text_is_shown_literally_never_as_links_images_or_markup():
    """A setting's reference or a typed note reaches the screen as its characters, not as a link or an image."""
    hostile = "LADO referrals about setting [click here](http://evil.example) ![x](http://evil.example/i.png) <b>"
    alert = {"severity": "high", "message": hostile, "subgroup": "pci", "ref": "lado-abcdefgh",
             "status": "acknowledged", "acknowledged_by": "[me](http://evil.example)", "ack_note": "<script>"}
    line = alert_line(get_context(), alert)
    for live in ("[click here](", "![x](", "<b>", "[me](", "<script>"):
        assert live not in line
    assert hostile in shown(line) and "<script>" in shown(line)
