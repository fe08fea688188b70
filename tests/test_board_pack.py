"""The Board pack: the heat map and submission counts, publication's disclosure control (and the internal pack left
alone), the HTML and the PDF (page count, text, an SPC chart drawn), attribution, and no child identifier."""

import copy
import re
from datetime import date

import polars as pl
import pytest
import typst
import vl_convert
from typer.testing import CliRunner

from radar.cli import app
from radar.core.catalogue import load_catalogue
from radar.core.config import get_context
from radar.pipelines.charts import spc_chart
from radar.models.register import load_matrix
from radar.pipelines import board_pack
from radar.pipelines.threats import StaInputs, report

CATALOGUE = load_catalogue()
CONFIG = get_context().config
MATRIX = load_matrix(CONFIG)
UNITS = {i.id: i.unit for i in CATALOGUE.indicators}


def risk(rid: str, likelihood: int, impact: int, status: str = "open", category: str = "strategic",
         indicator: str = "da_offences") -> dict:
    score = likelihood * impact
    return {"id": rid, "title": f"Risk {rid}", "status": status, "category": category, "subgroup": "pci",
            "owner": "Independent Chair", "linked_indicators": [indicator], "confidence": "high",
            "current": {"likelihood": likelihood, "impact": impact, "score": score}, "actions": [],
            "appetite": MATRIX.appetite[category], "out_of_appetite": MATRIX.out_of_appetite(category, score),
            "trend": "steady"}


def inputs() -> StaInputs:
    """Twelve risks (eleven open) and a year of files from two feeds, one agency often late."""
    months = [f"2019-{m:02d}" for m in range(4, 13)] + ["2020-01", "2020-02", "2020-03"]
    return StaInputs(
        catalogue=CATALOGUE, themes=[], period="2020-03", as_of=date(2020, 4, 30), board_dates=[date(2020, 3, 11)],
        series=pl.DataFrame({"indicator": ["da_offences", "lado_referrals"], "latest_period": ["2020-03", "2020-03"],
                             "latest_value": [208.0, 3.0], "variation": ["special_cause_concern_high", "common_cause"]}),
        comparison=pl.DataFrame({"indicator": ["da_offences"], "year": [2019], "la_value": [30.0], "national": [25.0],
                                 "sn_median": [28.0]}),
        alerts=pl.DataFrame(schema={"key": pl.String, "ref": pl.String, "rule": pl.String, "indicator": pl.String,
                                    "feed": pl.String, "status": pl.String, "severity": pl.String,
                                    "message": pl.String, "first_period": pl.String, "raised_on": pl.Date,
                                    "cleared_period": pl.String}),
        risks=[risk("R01", 4, 4)] + [risk(f"R{n:02d}", 3, 3) for n in range(2, 10)] + [risk("R10", 2, 4, indicator="lado_referrals"),
               risk("R11", 2, 4), risk("R12", 5, 5, status="closed")],
        score_changes=[], severity_at_board={},
        feed_status=pl.DataFrame({
            "feed_id": ["police_monthly"] * 12 + ["csc_monthly"] * 12, "period": months * 2,
            "due_date": [date(2020, 4, 12)] * 24,
            "status": ["late"] * 3 + ["on_time"] * 9 + ["on_time"] * 11 + ["missing"]}),
    )


IMPACT = [{"id": "IL01", "date": date(2020, 1, 9), "subgroup": "pci", "challenge": "Why is MASH health so busy?",
           "action": "Review the health workload", "owner": "Designated Nurse", "status": "open", "evidence": ""}]


@pytest.fixture(scope="module")
def pack() -> dict:
    i = inputs()
    return board_pack.build_pack(CONFIG, i, report(i), IMPACT, MATRIX, UNITS)


def test_heat_map_counts_open_risks_per_cell_highest_impact_first(pack):
    cells = pack["heat_map"]
    assert len(cells) == 5 and all(len(row) == 5 for row in cells)
    assert cells[5 - 4][4 - 1] == 1  # R01 at likelihood 4, impact 4
    assert cells[5 - 3][3 - 1] == 8 and cells[5 - 4][2 - 1] == 2
    assert sum(map(sum, cells)) == 11  # the closed R12 is not counted
    assert [r["id"] for r in pack["out_of_appetite"]] == [r["id"] for r in inputs().risks
                                                         if r["status"] == "open" and r["out_of_appetite"]]


def test_submission_performance_counts_each_agencys_files(pack):
    by_agency = {s["agency"]: s for s in pack["submissions"]}
    police = by_agency[CONFIG.agencies[next(f.agency for f in CATALOGUE.feeds if f.id == "police_monthly")].name]
    assert (police["on_time"], police["late"], police["total"]) == (9, 3, 12)
    assert sum(s["missing"] for s in pack["submissions"]) == 1


def test_publication_hides_small_counts_and_leaves_the_internal_pack_alone(pack):
    before = copy.deepcopy(pack)
    published = board_pack.publish(pack)
    assert pack == before
    heat = published["heat_map"]
    assert heat[2][2] == "8"  # eight risks at 3 x 3: shown
    assert (heat[1][1], heat[1][3]) == ("c", "c")  # 2 and 1 at impact 4: a row of 3 in all, every part hidden
    assert all(cell in ("0", "c") or int(cell) > 5 for row in heat for cell in row)
    police = next(s for s in published["submissions"] if s["total"] == "12" and s["late"] == "c")
    assert (police["on_time"], police["missing"]) == ("c", "0")  # 3 late is hidden, and the 9 it is recoverable from
    assert {e["indicator"]: e["shown"] for e in published["indicators"]}["lado_referrals"] == "c"
    internal = board_pack.internal(pack)
    assert internal["heat_map"][2][2] == "8" and internal["heat_map"][1][1] == "2"
    assert {e["indicator"]: e["shown"] for e in internal["indicators"]}["lado_referrals"] == "3"
    html = board_pack.to_html(pack, {}, publication=True)
    assert board_pack.PUBLICATION_NOTE in html
    assert board_pack.PUBLICATION_NOTE not in board_pack.to_html(pack, {})


def chart() -> str:
    points = pl.DataFrame({"period": ["2020-01", "2020-02", "2020-03"], "value": [200.0, 210.0, 208.0],
                           "reported": [200.0, 210.0, 208.0], "mean": [206.0] * 3, "lower": [180.0] * 3,
                           "upper": [230.0] * 3, "signal": [None, None, "outside_limits"],
                           "assessment": [None, None, "concern"]})
    return vl_convert.vegalite_to_svg(spc_chart(points, "count", [("England 2019: 25", 25.0)]).to_json())


def test_the_pdf_has_every_section_a_chart_and_the_attribution(pack):
    svg = chart()
    source = board_pack.to_typst(pack, {"da_offences": svg})
    pdf = typst.compile(source.encode(), format="pdf")
    assert pdf.startswith(b"%PDF")
    pages = typst.compile(source.encode(), format="png", ppi=20)
    assert len(pages) >= 6  # cover, threats, register, indicators, Impact Log, agencies and methods
    html = board_pack.to_html(pack, {"da_offences": svg})
    for section in ("1. The threat assessment", "2. The risk register", "3. Key indicators", "4. The Impact Log",
                    "5. Agencies", "6. Methods and sources"):
        assert section in source and section.replace("'", "&#39;") in html
    assert "<svg" in html and board_pack.ATTRIBUTION in html and "Open Government Licence v3.0" in source


def test_radar_report_writes_html_and_pdf_for_a_seeded_store(store_url, tmp_path, monkeypatch):
    """A new store (the register seeded on first use, no files yet): both formats render, with the seed's risks,
    the Impact Log, attribution, and nothing that looks like a child's identifier."""
    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    html_path, pdf_path = tmp_path / "pack.html", tmp_path / "pack.pdf"
    out = CliRunner().invoke(app, ["report", "--period", "2020-03", "--format", "html", "--out", str(html_path),
                                   "--as-of", "2020-04-30"])
    assert out.exit_code == 0, out.output
    html = html_path.read_text()
    assert "Board pack: strategic threat assessment, Mar 2020" in html and "IL01" in html
    assert "R03" in html and "Open Government Licence v3.0" in html
    assert not re.search(r"\b(child_id|upn|nhs_number|[A-Z]\d{12})\b", html, re.IGNORECASE)
    out = CliRunner().invoke(app, ["report", "--period", "2020-03", "--format", "pdf", "--out", str(pdf_path),
                                   "--publication"])
    assert out.exit_code == 0, out.output
    assert pdf_path.read_bytes().startswith(b"%PDF")
    bad = CliRunner().invoke(app, ["report", "--period", "March", "--out", str(pdf_path)])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
