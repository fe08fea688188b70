"""The Board pack: the heat map and submission counts, publication's disclosure control (and the internal pack left
alone), the HTML and the PDF (page count, text, an SPC chart drawn), attribution, and no child identifier."""

import copy
import html
import re
import subprocess
from datetime import date

import polars as pl
import pytest
import typst
import vl_convert
from typer.testing import CliRunner

from radar.cli import app
from radar.core.catalogue import load_catalogue
from radar.core.config import get_context
from radar.pipelines import board_pack
from radar.pipelines.charts import spc_chart
from radar.pipelines.threats import StaInputs, report

CATALOGUE = load_catalogue()
CONFIG = get_context().config
MATRIX = get_context().register.matrix
UNITS = {i.id: i.unit for i in CATALOGUE.indicators}


def risk(rid: str, likelihood: int, impact: int, status: str = "open", category: str = "strategic",
         indicator: str = "da_offences") -> dict:
    score = likelihood * impact
    return {"id": rid, "title": f"Risk {rid}", "status": status, "category": category, "subgroup": "pci",
            "owner": "Independent Chair", "linked_indicators": [indicator], "confidence": "high",
            "current": {"likelihood": likelihood, "impact": impact, "score": score}, "actions": [],
            "appetite": MATRIX.appetite[category], "out_of_appetite": MATRIX.out_of_appetite(category, score),
            "trend": "steady"}


# Raised since the last Board: a LADO setting's alert (scoped to the setting's reference) and one resting on 1 child.
ALERTS = [
    ("setting_concentration|lado_referrals|school|SET-0042", "setting-aaaaaaaa", "setting_concentration",
     "lado_referrals", "lado_referrals", "open", "high",
     "LADO referrals about setting SET-0042 (school): 4 in the 6 months to Mar 2020, where 0.5 would be usual.",
     "2020-03", date(2020, 4, 25), None),
    ("target_missed|adoption_timeliness||E09000006", "target-bbbbbbbb", "target_missed", "adoption_timeliness",
     "csc_monthly", "open", "medium",
     ("Average days from care to adoptive placement stood at 476 days in Mar 2020, missing the 2019-20 target of "
      "426 days, based on 1 child."), "2020-03", date(2020, 4, 25), None),
]


def inputs() -> StaInputs:
    """Twelve risks (eleven open) and a year of files from two feeds, one agency often late."""
    months = [f"2019-{m:02d}" for m in range(4, 13)] + ["2020-01", "2020-02", "2020-03"]
    return StaInputs(
        catalogue=CATALOGUE, themes=[], period="2020-03", as_of=date(2020, 4, 30), board_dates=[date(2020, 3, 11)],
        series=pl.DataFrame({"indicator": ["da_offences", "lado_referrals", "custodial_sentences", "cpp_open",
                                           "adoption_timeliness"], "latest_period": ["2020-03"] * 5,
                             "latest_value": [208.0, 3.0, 1.0, 60.0, 476.0],
                             "variation": ["special_cause_concern_high"] + ["common_cause"] * 4}),
        comparison=pl.DataFrame({"indicator": ["da_offences"], "year": [2019], "la_value": [30.0], "national": [25.0],
                                 "sn_median": [28.0]}),
        alerts=pl.DataFrame(ALERTS, schema={"key": pl.String, "ref": pl.String, "rule": pl.String,
                                            "indicator": pl.String, "feed": pl.String, "status": pl.String,
                                            "severity": pl.String, "message": pl.String, "first_period": pl.String,
                                            "raised_on": pl.Date, "cleared_period": pl.String}, orient="row"),
        risks=[risk("R01", 4, 4)] + [risk(f"R{n:02d}", 3, 3) for n in range(2, 7)]
              + [risk("R07", 3, 3, indicator="custodial_sentences"), risk("R08", 3, 3, indicator="adoption_timeliness"),
                 risk("R09", 3, 3, indicator="cpp_open"), risk("R10", 2, 4, indicator="lado_referrals"),
                 risk("R11", 2, 4), risk("R12", 5, 5, status="closed")],
        score_changes=[], severity_at_board={},
        feed_status=pl.DataFrame({
            "feed_id": ["police_monthly"] * 12 + ["csc_monthly"] * 12, "period": months * 2,
            "due_date": [date(2020, 4, 12)] * 24,
            "status": ["late"] * 3 + ["on_time"] * 9 + ["on_time"] * 11 + ["missing"]}),
    )


def values() -> pl.DataFrame:
    """Stored values: domestic abuse offences (crimes) and LADO referrals (allegations about adults) small but never
    hidden; custodial sentences of 0 and 1 in the last two months; the month's 5 children on plans by category."""
    rows = [("da_offences", "", "2020-03", 208.0, None, None), ("lado_referrals", "", "2020-03", 3.0, None, None),
            ("custodial_sentences", "", "2020-02", 0.0, None, None), ("custodial_sentences", "", "2020-03", 1.0, None, None),
            ("cpp_open", "", "2020-03", 60.0, None, None), ("cpp_open", "neglect", "2020-03", 40.0, None, None),
            ("cpp_open", "emotional_abuse", "2020-03", 16.0, None, None),
            ("cpp_open", "physical_abuse", "2020-03", 4.0, None, None),
            ("cpp_open", "sexual_abuse", "2020-03", 0.0, None, None), ("cpp_open", "multiple", "2020-03", 0.0, None, None),
            ("adoption_timeliness", "", "2020-03", 476.0, 476.0, 1.0)]
    return pl.DataFrame(rows, schema=["indicator", "breakdown", "period", "value", "numerator", "denominator"],
                        orient="row")


IMPACT = [{"id": "IL01", "date": date(2020, 1, 9), "subgroup": "pci", "challenge": "Why is MASH health so busy?",
           "action": "Review the health workload", "owner": "Designated Nurse", "status": "open", "evidence": ""}]


@pytest.fixture(scope="module")
def pack() -> dict:
    i = inputs()
    return board_pack.build_pack(CONFIG, i, report(i), IMPACT, MATRIX, UNITS, values())


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


def test_publication_hides_counts_of_children_only_and_leaves_the_internal_pack_alone(pack):
    before = copy.deepcopy(pack)
    published = board_pack.publish(pack)
    assert pack == before
    # Risks and files are no children: every cell of the heat map and every agency's files are shown.
    assert published["heat_map"] == board_pack.internal(pack)["heat_map"]
    assert published["heat_map"][1][1] == "2" and published["heat_map"][1][3] == "1"
    police = next(s for s in published["submissions"] if s["late"] == "3")
    assert (police["on_time"], police["missing"], police["total"]) == ("9", "0", "12")
    shown = {e["indicator"]: e for e in published["indicators"]}
    # Crimes and allegations against adults are no children either; 1 custodial sentence and an average over
    # 1 child are, and their charts (whose SVG holds every month) go with them.
    assert (shown["da_offences"]["shown"], shown["lado_referrals"]["shown"]) == ("208", "3")
    assert (shown["custodial_sentences"]["shown"], shown["custodial_sentences"]["chart"]) == ("c", False)
    assert (shown["adoption_timeliness"]["shown"], shown["adoption_timeliness"]["chart"]) == ("c", False)
    assert shown["da_offences"]["chart"] and shown["cpp_open"]["chart"]
    # 60 children on plans: 4 for physical abuse is hidden, and so is 16, or 4 would be 60 - 40 - 0 - 0.
    assert shown["cpp_open"]["shown"] == "60"
    assert shown["cpp_open"]["parts"] == [["neglect", "40"], ["emotional abuse", "c"], ["physical abuse", "c"],
                                          ["sexual abuse", "0"], ["multiple", "0"]]
    internal = {e["indicator"]: e for e in board_pack.internal(pack)["indicators"]}
    assert internal["custodial_sentences"]["shown"] == "1" and internal["cpp_open"]["parts"][2] == ["physical abuse", "4"]
    html = board_pack.to_html(pack, {}, publication=True)
    assert published["publication_note"] in html and "from 1 to 5" in published["publication_note"]
    assert "Published version: counts" not in board_pack.to_html(pack, {})
    assert "based on 1 child" not in html and "based on 1 child" in board_pack.to_html(pack, {})


def test_no_setting_reference_is_printed_in_either_pack(pack):
    """A LADO alert is scoped to the setting's reference; both packs say "one setting", as the e-mails do."""
    for publication in (False, True):
        html = board_pack.to_html(pack, {}, publication=publication)
        source = board_pack.to_typst(pack, {}, publication=publication)
        assert "SET-0042" not in html and "SET-0042" not in source
        assert "LADO referrals about one setting (school)" in html


def test_the_threshold_comes_from_the_partnership_file(pack):
    """A partnership with a threshold of 20 hides more: 16 and 4 children on plans are both at most 20, and together
    (60 - 40) they make 20, itself no more than 20, so 40 is hidden too."""
    assert CONFIG.disclosure.threshold == 5
    i = inputs()
    stricter = CONFIG.model_copy(update={"disclosure": CONFIG.disclosure.model_copy(update={"threshold": 20})})
    published = board_pack.publish(board_pack.build_pack(stricter, i, report(i), IMPACT, MATRIX, UNITS, values()))
    shown = {e["indicator"]: e for e in published["indicators"]}
    assert [n for _, n in shown["cpp_open"]["parts"]] == ["c", "c", "c", "0", "0"]
    assert "from 1 to 20" in published["publication_note"]
    with pytest.raises(ValueError):
        type(CONFIG.disclosure).model_validate({"threshold": 0})
    with pytest.raises(ValueError):
        type(CONFIG.disclosure).model_validate({"threshold": 5, "thresold": 6})


def html_text(page: str) -> str:
    """What a reader of an HTML page sees, one block (heading, paragraph, list item, table row) a line."""
    page = re.sub(r"<(?:h\d|p|li|tr|figure|figcaption|header|table|title)\b[^>]*>", "\n", page)
    page = re.sub(r"</(?:h\d|p|li|tr|figcaption)>", "\n", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


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


def test_the_impact_log_reads_as_on_screen(pack):
    """The pack's Impact Log names its dates and statuses as the dashboard's Impact Log page does (one wording:
    periods.day_label, core.register.STATUS_NAMES), not as the store keeps them (2020-01-09, in_progress)."""
    html = board_pack.to_html(pack, {})
    assert "<td>9 Jan 2020</td>" in html and "<td>Open</td>" in html
    assert "2020-01-09" not in html


def test_radar_report_writes_html_and_pdf_for_a_seeded_store(register_store, tmp_path):
    """A new store (the register seeded as the first cycle seeds it, no files yet): both formats render, with the
    seed's risks, the Impact Log, attribution, and nothing that looks like a child's identifier."""
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


def test_bidi_controls_never_reach_the_pack():
    """A right-to-left override (or any bidi embedding or isolate) in a setting's reference or other text would
    print the rest of its line reversed: the HTML and the PDF's source drop them and keep the text."""
    hostile = "URN-104233 \u202eloohcS elpmaxE\u202c \u2067isolated\u2069 \u202aembedded\u202c"
    impact = [IMPACT[0] | {"challenge": hostile}]
    i = inputs()
    i.risks[0]["title"] = hostile
    pack = board_pack.build_pack(CONFIG, i, report(i), impact, MATRIX, UNITS, values())
    source, html = board_pack.to_typst(pack, {}), board_pack.to_html(pack, {})
    controls = re.compile("[\u202a-\u202e\u2066-\u2069]")
    assert not controls.search(source) and not controls.search(html)
    assert "URN-104233 loohcS elpmaxE isolated embedded" in source and "URN-104233 loohcS elpmaxE" in html
    assert typst.compile(source.encode(), format="pdf").startswith(b"%PDF")


# --- Publication on a store seeded with small numbers ----------------------------------------------------------

SMALL_MONTHS = [f"2019-{m:02d}" for m in range(2, 13)] + ["2020-01", "2020-02", "2020-03"]
SETTING = "SET-TEST-0001"  # the LADO setting drawing the referrals: its reference is never printed


def seed_small_numbers(folder):
    """Fourteen months of files in which every count of children is 1 to 5: children's social care (every figure 5,
    a plan category 1 so 5 in all, an adoption of 1 child taking 476 days), youth offending (custodial sentences 0 and
    1) and LADO referrals (two a month, then four about one setting, which raises a setting alert)."""
    from tests.feedfiles import aggregate_rows, record_rows, write_aggregate, write_records

    csc = {(r["indicator"], r["breakdown"]): "1" for r in aggregate_rows(CATALOGUE, "csc_monthly", "2020-03")
           if r["breakdown"]} | {("adoption_placements", ""): "1", ("adoption_days_total", ""): "476"}
    yos = {("first_time_entrants", ""): "2", ("reoffending_cohort", ""): "4", ("reoffenders", ""): "1"}
    for n, month in enumerate(SMALL_MONTHS):
        write_aggregate(folder, "csc_monthly", month, CATALOGUE, csc)
        write_aggregate(folder, "yos_monthly", month, CATALOGUE, yos | {("custodial_sentences", ""): str(n % 2)})
        rows = record_rows("lado_referrals", month, 4 if month == SMALL_MONTHS[-1] else 2)
        for i, row in enumerate(rows):
            row |= {"referral_id": f"LADO-{month}-{i}",
                    "setting_ref": SETTING if month == SMALL_MONTHS[-1] else f"SET-{month}-{i}"}
        write_records(folder, "lado_referrals", month, rows)


def key_indicator_blocks(text: str, names: list[str]) -> dict[str, str]:
    """Each named key indicator's block of the pack's text: from its heading to the next indicator or section."""
    every = [i.name for i in CATALOGUE.indicators]
    stops = sorted({text.find(f"\n{n}\n") for n in every if f"\n{n}\n" in text} | {text.rfind("4. The Impact Log")})  # rfind: the contents list names it first
    blocks = {}
    for name in names:
        at = text.find(f"\n{name}\n")
        if at >= 0:
            blocks[name] = text[at:next(s for s in stops if s > at)]
    return blocks


def few_children_figures(text: str, catalogue, threshold: int) -> list[str]:
    """Every figure in a pack's text that is about 1 to `threshold` children: a sentence naming so few children,
    a setting's reference, and any key indicator resting on children whose figure, breakdown or chart is printed
    (every count of children in the seeded store is that small, so none may be)."""
    found = [m.group(0) for m in re.finditer(r"\b(\d+) (?:child|children)\b", text) if 1 <= int(m.group(1)) <= threshold]
    found += re.findall(r"SET-[\w-]+", text)
    children = [i.name for i in catalogue.indicators if catalogue.child_bases(i.id)]
    for name, block in key_indicator_blocks(text, children).items():
        figure = re.search(r"\w{3} \d{4}: (\S+) ·", block)
        if figure and figure.group(1) != "c":
            found.append(f"{name}: {figure.group(1)}")
        for line in (line.strip() for line in block.splitlines() if line.strip().startswith("By ")):
            found += [f"{name} {part}" for part in line.split(":", 1)[1].split(" · ")
                      if part.split()[-1] not in ("c", "0", "x")]
        if "Common cause" in block or "by month with its mean" in block:  # the chart's legend or caption
            found.append(f"{name}: chart")
    return found


def test_publication_prints_no_figure_about_few_children_in_any_output(radar_store, prefect, tmp_path, monkeypatch):
    """A store of real files whose every count of children is 1 to 5: the published HTML and PDF (as pdftotext reads
    it) print none of them, nor any rate, average, chart, breakdown or sentence resting on them, nor the LADO
    setting's reference; the internal pack of the same store does print them (so the scan has something to find)."""
    from radar.flows.cycle import monthly_cycle
    from radar.flows.ingest import ingest_files

    monkeypatch.setattr(board_pack, "KEY_INDICATORS", 100)  # every indicator the threats rest on, not only six
    monkeypatch.setenv("RADAR_PSEUDONYM_KEY", "test-key-not-secret")
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    seed_small_numbers(feeds)
    assert {r["status"] for r in ingest_files([feeds])} == {"accepted"}
    monthly_cycle("2020-03", today=date(2020, 4, 25))
    threshold = CONFIG.disclosure.threshold
    texts = {}
    for mode in ("internal", "publication"):
        extra = ["--publication"] if mode == "publication" else []
        for fmt in ("html", "pdf"):
            out = tmp_path / f"{mode}.{fmt}"
            result = CliRunner().invoke(app, ["report", "--period", "2020-03", "--format", fmt, "--out", str(out),
                                              "--as-of", "2020-04-30", *extra])
            assert result.exit_code == 0, result.output
            texts[mode, fmt] = (html_text(out.read_text()) if fmt == "html" else
                                subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True,
                                               capture_output=True, text=True).stdout)
    for fmt in ("html", "pdf"):
        assert (fmt, few_children_figures(texts["publication", fmt], CATALOGUE, threshold)) == (fmt, [])
        assert "not published" in texts["publication", fmt]
        internal = few_children_figures(texts["internal", fmt], CATALOGUE, threshold)
        assert any("Custodial sentences" in f for f in internal) and any("1 child" in f for f in internal), internal


# --- The PDF's layout -------------------------------------------------------------------------------------------

def bromley_impact_log() -> list[dict]:
    """Bromley's Impact Log as the seed file holds it: long challenges and actions, as the Board reads them."""
    from radar.core.register import ImpactFile, load_yaml

    entries = load_yaml(CONFIG.resolve_path(CONFIG.risk_register.impact_log), ImpactFile).entries
    return [e.model_dump() | {"subgroup": e.subgroup} for e in entries]


def pdf_words(pdf: bytes, tmp_path) -> list[tuple[int, float, float, float, float, float, str]]:
    """Every word pdftotext finds: (page, page width, xMin, yMin, xMax, yMax, text)."""
    path = tmp_path / "layout.pdf"
    path.write_bytes(pdf)
    boxes = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True).stdout
    words, page, width = [], 0, 0.0
    for line in boxes.splitlines():
        if m := re.search(r'<page width="([\d.]+)"', line):
            page, width = page + 1, float(m.group(1))
        elif m := re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line):
            words.append((page, width, *map(float, m.groups()[:4]), html.unescape(m.group(5))))
    return words


def longest_run(sentence: str, lines: list[str]) -> int:
    """The most consecutive words of `sentence` printed together on one line of `lines`."""
    words = sentence.split()
    return max((n for line in lines for start in range(len(words)) for n in range(1, len(words) - start + 1)
                if " ".join(words[start:start + n]) in " ".join(line.split())), default=0)


def test_the_impact_log_reads_in_lines_on_pages_with_a_contents_list_and_numbers(tmp_path):
    """The PDF's Impact Log (Bromley's own entries) reads as sentences, not one word a line: every challenge and
    action has at least four of its words together on a line; headers stand apart ("Owner", "Status"); no word
    runs past the page's margin or lies over another on the threat and Impact Log pages; a contents list and
    "Page N of M" on every page."""
    i = inputs()
    impact = bromley_impact_log()
    pack = board_pack.build_pack(CONFIG, i, report(i), impact, MATRIX, UNITS, values())
    pdf = typst.compile(board_pack.to_typst(pack, {}).encode(), format="pdf")
    (tmp_path / "pack.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "pack.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages = text.split("\f")[:-1]
    log = text[text.rfind("4. The Impact Log"):text.rfind("5. Agencies")].splitlines()
    for entry in impact:
        for field in ("challenge", "action"):
            assert longest_run(entry[field], log) >= 4, (entry["id"], field)
    header = next(line for line in log if "Challenge" in line)
    assert re.search(r"Owner\s+Status\s+Evidence", header) and re.search(r"Subgroup\s+Challenge\s+Action", header)
    assert "Contents" in pages[0] and "4. The Impact Log" in pages[0]
    assert all(re.search(rf"Page {n} of {len(pages)}\s*$", page) for n, page in enumerate(pages, 1))
    words = pdf_words(pdf, tmp_path)
    margin = 1.6 / 2.54 * 72 - 2  # the pack's side margin in points, less a little for rounding
    assert [w[6] for w in words if w[4] > w[1] - margin or w[2] < margin] == []
    tables = {w[0] for w in words if w[6] in ("Rank", "Challenge")}
    boxes = [w for w in words if w[0] in tables]
    overlapping = [(a[6], b[6]) for n, a in enumerate(boxes) for b in boxes[n + 1:]
                   if a[0] == b[0] and min(a[4], b[4]) - max(a[2], b[2]) > 1 and min(a[5], b[5]) - max(a[3], b[3]) > 1]
    assert overlapping == []
