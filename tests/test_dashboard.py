"""The dashboard pages, run with Streamlit's AppTest against a small temporary store.

The store is filled directly with a handful of submissions and indicator
values whose statuses and formatted numbers are worked out by hand below.
Rows for a second partnership (E09000007) must never show.
"""

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from dashboard.charts import series_chart
from dashboard.common import NO_DATA, format_value, period_label
from models.engine import get_engine
from models.tables import IndicatorValue, Submission
from radar.config import get_context

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
LA, OTHER_LA = "E09000006", "E09000007"
RAW_CHILD_REF = "RAW-CHILD-77"
REPORT = "# mash_contacts__2025-03.csv was rejected\n\nRow 7: received_date is not in March 2025.\n"
MASH_PROBLEMS = (
    '[{"row": 4, "column": "child_ref", "value": "' + RAW_CHILD_REF + '", "rule": "unique",'
    ' "message": "child_ref repeats on row 3"},'
    ' {"row": 7, "column": "received_date", "value": "2025-02-28", "rule": "in_period",'
    ' "message": "received_date is not in March 2025"}]'
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def submission(la_code: str, feed_id: str, period: str, status: str, received: datetime, **extra) -> Submission:
    return Submission(
        la_code=la_code, feed_id=feed_id, period=period, file_name=f"{feed_id}__{period}.csv",
        file_hash=f"{feed_id}{period}{status}{received:%d}", status=status, received_at=received,
        is_current=status in ("accepted", "replaced") and extra.pop("is_current", True), **extra,
    )


def value(la_code: str, indicator: str, period: str, v: float | None, **extra) -> IndicatorValue:
    return IndicatorValue(la_code=la_code, indicator=indicator, period=period, value=v,
                          computed_at=utc(2025, 5, 1), **extra)


def fill(home: Path) -> None:
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
    ]
    with Session(get_engine(get_context().settings.database_url)) as session:
        session.add_all(rows)
        session.commit()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of its own for this module (contexts and engines are cached per RADAR_HOME)."""
    home = tmp_path_factory.mktemp("radar_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RADAR_HOME", str(home))
        env.delenv("RADAR_DATABASE_URL", raising=False)
        env.delenv("RADAR_CONFIG", raising=False)
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


def every_text(app: AppTest) -> str:
    """All text and table content on the page, to check what must never appear."""
    texts = [str(getattr(node, "value", "")) for kind in ("markdown", "caption", "info", "warning", "success",
                                                          "subheader", "title") for node in app.get(kind)]
    tables = [frame(app, i).write_csv() for i in range(len(app.dataframe))]
    return "\n".join(texts + tables)


def test_sidebar_names_the_partnership(store):
    app = run()
    assert "Bromley Safeguarding Children Partnership" in app.sidebar.markdown[0].value


def test_feed_status_grid_shows_each_status_for_the_latest_month(store):
    app = run()
    assert app.title[0].value == "Feed status"
    # The other partnership's April file must not stretch the range: it ends at March.
    assert app.select_slider(key="months").value == ("2025-02", "2025-03")
    grid = frame(app, 1)
    assert grid.columns == ["Agency", "Feed", "Due", "Feb 2025", "Mar 2025"]
    march = dict(zip(grid["Feed"], grid["Mar 2025"]))
    assert march["Children's social care monthly return"] == "On time"
    assert march["Police domestic abuse and sexual offences"] == "Late"
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
    app = run()
    assert app.subheader[0].value == "Agencies late for Mar 2025"
    chase = frame(app, 0)
    statuses = dict(zip(chase["Feed"], chase["Status"]))
    assert statuses["Police domestic abuse and sexual offences"] == "Late"
    assert statuses["MASH contacts (one row per contact)"] == "Rejected"
    assert statuses["Health monthly return (CAMHS and acute trust)"] == "Missing"
    assert "Children's social care monthly return" not in statuses
    assert "Education welfare monthly return" not in statuses
    # 14 feeds are due for March; only csc (on time) and education (corrected) are not chased.
    assert chase.height == 14 - 2
    assert "data-lead@police.example.org" in chase["Contact"].to_list()


def test_indicator_explorer_shows_values_gaps_and_the_comparator(store):
    app = run("pages/indicators.py")
    app.selectbox(key="indicator").set_value("cin_rate").run()
    table = frame(app, 0)
    assert table["Month"].to_list() == ["Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025"]
    assert table["Value"].to_list() == ["322.5 per 10,000", "—", "—", "330.0 per 10,000"]
    assert table["Numerator"].to_list() == ["2,150", "—", "—", "2,200"]
    assert table["Denominator"].to_list()[0] == "66,667"
    assert table["Note"].to_list()[1:3] == ["Population estimate for 2025 not published", "No value stored for this month."]
    markdown = [m.value for m in app.markdown]
    assert "**National comparator:** 334.0 per 10,000 (2018-19). England average quoted in the BSCP annual report 2019-20." in markdown
    assert "999.9" not in every_text(app)


def test_indicator_explorer_breakdown_and_local_target(store):
    app = run("pages/indicators.py")
    app.selectbox(key="indicator").set_value("cpp_open").run()
    assert app.selectbox(key="breakdown").options == ["Total", "Neglect"]
    assert frame(app, 0)["Value"].to_list() == ["250"]
    app.selectbox(key="breakdown").set_value("neglect").run()
    assert frame(app, 0)["Value"].to_list() == ["120"]

    app.selectbox(key="indicator").set_value("swa_timeliness").run()
    assert "**Local target:** 87.0% (2019-20)." in [m.value for m in app.markdown]
    assert "No values are stored for this indicator yet" in app.info[0].value


def test_rejected_files_show_message_report_and_problems_without_child_refs(store):
    app = run("pages/rejected.py")
    listing = frame(app, 0)
    assert listing["File"].to_list() == ["mash_contacts__2025-03.csv", "lado_referrals__2025-02.csv"]
    assert listing["Message"][0] == "2 problems: fix them and send the file again"
    assert listing["Problems"].to_list() == [2, 1]
    assert "OTHER LA FILE" not in every_text(app)
    assert "Row 7: received_date is not in March 2025." in "\n".join(m.value for m in app.markdown)
    problems = frame(app, 1)
    assert problems["Column"].to_list() == ["child_ref", "received_date"]
    assert problems["Value"].to_list() == ["(withheld)", "2025-02-28"]
    assert RAW_CHILD_REF not in every_text(app)


def test_rejected_file_without_its_report_says_so(store):
    app = run("pages/rejected.py")
    chosen = next(i for i in app.selectbox(key="submission").options if i.startswith("lado_referrals"))
    app.selectbox(key="submission").select(chosen).run()
    assert "The report for this file is not available" in app.warning[0].value
    assert "No row-level problems were recorded" in app.markdown[-1].value


@pytest.mark.parametrize("page", [None, "pages/indicators.py", "pages/rejected.py"])
def test_an_empty_store_says_how_to_load_data(tmp_path, monkeypatch, page):
    monkeypatch.setenv("RADAR_HOME", str(tmp_path))
    monkeypatch.delenv("RADAR_DATABASE_URL", raising=False)
    app = run(page)
    assert app.info[0].value == NO_DATA
    assert "radar ingest PATH" in NO_DATA and "make demo" in NO_DATA


def test_a_missing_value_is_a_gap_in_the_chart_not_a_zero():
    series = pl.DataFrame({"period": ["2025-01", "2025-02"], "value": [322.5, None], "note": ["", "why"]})
    spec = series_chart(series, "rate_per_10k", [("England 2018-19: 334.0 per 10,000", 334.0)]).to_dict()
    line, rule, label = spec["layer"]
    assert line["mark"]["invalid"] == "break-paths-show-domains"
    assert [row["value"] for row in spec["datasets"][line["data"]["name"]]] == [322.5, None]
    assert spec["datasets"][rule["data"]["name"]] == [{"label": "England 2018-19: 334.0 per 10,000", "value": 334.0}]
    assert label["encoding"]["text"]["field"] == "label"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(87.0, "percent", "87.0%"), (86.96, "percent", "87.0%"), (322.5, "rate_per_10k", "322.5 per 10,000"),
     (12345.67, "rate_per_10k", "12,345.7 per 10,000"), (426.4, "days", "426 days"), (1234, "count", "1,234"),
     (0, "count", "0"), (None, "percent", "—")],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def test_period_label():
    assert period_label("2025-03") == "Mar 2025"
    assert period_label("2024-12") == "Dec 2024"
