"""The Board pack, pure: the month's threat assessment, register, indicators, Impact Log and agencies' data on paper.

`build_pack` turns what the threat assessment already computed (its inputs
and report) plus the Impact Log into one plain dict; `publish` makes the
copy for publication, with every count the pack shows passed through
disclosure control (pipelines.disclosure: 1 to 5, and any cell they could be
recovered from, as `c`); `to_html` and `to_typst` lay the same dict out, so
the HTML and the PDF can never say different things.  Charts arrive as SVG
text rendered by the caller (the pack only places them).  Nothing here reads
the store or writes a file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
import jinja2
import polars as pl

from radar.core import periods
from radar.core.config import PartnershipConfig
from radar.core.register import Matrix
from radar.pipelines.benchmarks import ATTRIBUTION
from radar.pipelines.disclosure import suppress_parts
from radar.pipelines.messages import number
from radar.pipelines.threats import StaInputs, grouped_changes

TOP_THREATS = 10  # the threats the pack explains; the rest are listed by rank only
KEY_INDICATORS = 6  # the most pressing indicators (from the top threats' evidence) charted in full
PERFORMANCE_MONTHS = 12  # agency submission performance looks back a year
FEED_OUTCOMES = {"on_time": "On time", "late": "Late", "missing": "Missing", "rejected": "Rejected"}
OUTCOME_OF = {"replaced": "on_time"}  # a corrected file had arrived on time; not_due months are not counted
OGL = ("Open Government Licence v3.0: "
       "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")
METHODS = [
    "Each threat is scored as harm × likelihood on the register's 1–5 scales, in the spirit of MoRiLE. The data "
    "moves likelihood by its trend: special causes on each indicator's SPC chart, open alerts and how long they "
    "have been open, and how the partnership compares with England and its statistical neighbours.",
    "Confidence is the share of each threat's indicators with a value for the month and whether its agencies' "
    "files arrived on time; a register risk's own stated confidence caps it.",
    "SPC charts are Making Data Count XmR charts: the solid line is the mean, the dashed lines the process limits "
    "within which month-to-month variation usually stays. Orange points are a special cause of concern, blue an "
    "improvement.",
    "“What changed since the last Board” compares the alerts, risk scores, actions and files known on the day of "
    "this pack with those on the day of the last Board meeting.",
]
PUBLICATION_NOTE = ("Published version: counts from 1 to 5, and any count from which they could be worked out, "
                    "are shown as c (Department for Education convention); x means not available.")


def heat_map(risks: Sequence[dict], matrix: Matrix) -> list[list[int]]:
    """Open risks per cell by current score: one row per impact level, highest first; one column per likelihood."""
    top_l, top_i = matrix.size
    cells = [[0] * top_l for _ in range(top_i)]
    for r in risks:
        if r["status"] != "closed":
            cells[top_i - r["current"]["impact"]][r["current"]["likelihood"] - 1] += 1
    return cells


def submission_performance(status: pl.DataFrame, agencies: Mapping[str, str], period: str) -> list[dict]:
    """Per agency, how its files for the last year's months arrived: on time, late, missing or rejected."""
    since = periods.shift(period, 1 - PERFORMANCE_MONTHS)
    rows = (status.filter(pl.col("period").is_between(pl.lit(since), pl.lit(period)), pl.col("status") != "not_due")
            .with_columns(outcome=pl.col("status").replace(OUTCOME_OF),
                          agency=pl.col("feed_id").replace_strict(agencies, default=None)))
    found = []
    for agency in sorted(rows["agency"].drop_nulls().unique()):
        mine = rows.filter(pl.col("agency") == agency)
        found.append({"agency": agency, **{o: mine.filter(pl.col("outcome") == o).height for o in FEED_OUTCOMES},
                      "total": mine.height})
    return found


def key_indicators(sta: dict, limit: int = KEY_INDICATORS) -> list[dict]:
    """The indicators the top threats rest on, most pressing threat first, each once."""
    found: dict[str, dict] = {}
    for threat in sta["threats"]:
        for e in threat["evidence"]:
            if e["latest_value"] is not None and len(found) < limit:
                found.setdefault(e["indicator"], e | {"threat": threat["title"]})
    return list(found.values())


def build_pack(config: PartnershipConfig, inputs: StaInputs, sta: dict, impact: Sequence[dict], matrix: Matrix,
               units: Mapping[str, str]) -> dict:
    """The internal Board pack for `sta`'s month; `units` gives each indicator's unit (so counts are known)."""
    agencies = {f.id: config.agencies[f.agency].name for f in inputs.catalogue.feeds}
    subgroups = {s.id: s.name for s in inputs.catalogue.subgroups}  # names, not ids, on every page
    open_risks = [r | {"subgroup": subgroups.get(r["subgroup"], r["subgroup"])} for r in inputs.risks
                  if r["status"] != "closed"]
    return {
        "partnership": config.partnership.name, "la_name": config.partnership.la_name,
        "period": sta["period"], "month": periods.label(sta["period"]), "as_of": sta["as_of"],
        "last_board": sta["last_board"], "published": False,
        "threats": sta["threats"][:TOP_THREATS], "other_threats": sta["threats"][TOP_THREATS:],
        "changes": sta["changes_since_last_board"],
        "matrix": {"likelihood": [lv.name for lv in matrix.likelihood], "impact": [lv.name for lv in matrix.impact]},
        "heat_map": heat_map(open_risks, matrix),
        "out_of_appetite": [r for r in open_risks if r["out_of_appetite"]],
        "indicators": [e | {"unit": units[e["indicator"]]} for e in key_indicators(sta)],
        "impact": [i | {"subgroup": subgroups.get(i["subgroup"], i["subgroup"])} for i in impact],
        "submissions": submission_performance(inputs.feed_status, agencies, sta["period"]),
        "methods": METHODS, "attribution": ATTRIBUTION, "licence": OGL,
    }


def _shown(pack: dict) -> dict:
    """Every figure the layouts print, formatted for people (the internal pack: nothing hidden)."""
    out = copy.deepcopy(pack)
    out["heat_map"] = [[f"{n:,}" for n in row] for row in pack["heat_map"]]
    for s in out["submissions"]:
        s.update({k: f"{s[k]:,}" for k in (*FEED_OUTCOMES, "total")})
    for e in out["indicators"]:
        e["shown"] = "x" if e["latest_value"] is None else number(e["latest_value"], e["unit"])
    return out


def publish(pack: dict) -> dict:
    """The pack as published: every count through disclosure control, the internal pack untouched."""
    out = _shown(pack)
    out["published"] = True
    cells = pack["heat_map"]
    row_totals = [sum(row) for row in cells]
    shown_rows = [suppress_parts(row, total)[0] for row, total in zip(cells, row_totals, strict=True)]
    # Down the columns too: a cell hidden in its row must not be recoverable from its column's total.
    columns = [suppress_parts([row[c] for row in cells], sum(row[c] for row in cells))[0] for c in range(len(cells[0]))]
    out["heat_map"] = [["c" if "c" in (shown_rows[r][c], columns[c][r]) else shown_rows[r][c]
                        for c in range(len(cells[0]))] for r in range(len(cells))]
    for s, raw in zip(out["submissions"], pack["submissions"], strict=True):
        parts, total = suppress_parts([raw[k] for k in FEED_OUTCOMES], raw["total"])
        s.update(dict(zip(FEED_OUTCOMES, parts, strict=True)) | {"total": total})
    for e in out["indicators"]:
        if e["unit"] == "count" and e["latest_value"] is not None:
            e["shown"] = suppress_parts([int(e["latest_value"])], None)[0][0]
    return out


def internal(pack: dict) -> dict:
    """The pack for the Board itself, every figure shown."""
    return _shown(pack)


# Unicode's bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): one in a setting's
# reference or any other text would print the rest of its line reversed.  Ingest refuses them; the pack drops any
# that reach it, in the HTML and the PDF alike.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def plain(value: object) -> object:
    return value.translate(BIDI_CONTROLS) if isinstance(value, str) else value


_ENV = jinja2.Environment(autoescape=jinja2.select_autoescape(default=True), undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True, finalize=plain)
_ENV.filters["day"] = lambda d: "none yet" if d is None else periods.day_label(d)
def change_lines(changes: Sequence[dict]) -> list[tuple[str, list[str]]]:
    """What changed since the last Board (pipelines.threats.changes_since_last_board), as (heading, plain lines)
    for both layouts: the same lines the overview and `radar sta --json` show."""
    return [(title, [c["line"] for c in found]) for title, found in grouped_changes(changes)]


HTML = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ p.partnership }}: Board pack, {{ p.month }}</title>
<style>
body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
h1,h2{color:#0b0c0c}h2{border-top:4px solid #1d70b8;padding-top:.5rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #b1b4b6;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right}.heat td{text-align:center;min-width:3rem}.note{color:#383f43;font-size:.9rem}
.flag{background:#fff2cc}svg{max-width:100%;height:auto}
</style></head><body>
<header>
<p class="note">{{ p.la_name }} · {{ "Published version" if p.published else "Internal: for the Board" }}</p>
<h1>{{ p.partnership }}<br>Board pack: strategic threat assessment, {{ p.month }}</h1>
<p>Prepared by Radar on {{ p.as_of|day }}. Last Board meeting: {{ p.last_board|day }}.</p>
{% if p.published %}<p class="note">{{ publication_note }}</p>{% endif %}
</header>
<h2>1. The threat assessment</h2>
<table><thead><tr><th>Rank</th><th>Threat</th><th>Score</th><th>Trend</th><th>Confidence</th><th>Why it ranks here</th><th>Changed since the last Board</th></tr></thead><tbody>
{% for t in p.threats %}<tr{% if t.changed %} class="flag"{% endif %}><td class="n">{{ t.rank }}</td><td>{{ t.title }}</td><td class="n">{{ "%g"|format(t.score) }}</td><td>{{ t.direction }}</td><td>{{ t.confidence }}</td><td>{{ t.reason }}</td><td>{{ t.changed|join("; ") or "No change" }}</td></tr>
{% endfor %}</tbody></table>
{% if p.other_threats %}<p class="note">Also assessed: {% for t in p.other_threats %}{{ t.rank }}. {{ t.title }}{{ "; " if not loop.last }}{% endfor %}.</p>{% endif %}
<h3>What changed since the last Board</h3>
{% for title, lines in changes %}<h4>{{ title }}</h4><ul>{% for l in lines %}<li>{{ l }}</li>{% endfor %}</ul>
{% else %}<p>Nothing has changed since the last Board{% if not p.last_board %} (no Board has met yet){% endif %}.</p>{% endfor %}
<h2>2. The risk register</h2>
<p>Open risks by current likelihood and impact (counts per cell).</p>
<table class="heat"><thead><tr><th>Impact ↓ / Likelihood →</th>{% for l in p.matrix.likelihood %}<th>{{ loop.index }} {{ l }}</th>{% endfor %}</tr></thead><tbody>
{% for row in p.heat_map %}<tr><th>{{ p.matrix.impact|length - loop.index0 }} {{ p.matrix.impact[p.matrix.impact|length - loop.index] }}</th>{% for n in row %}<td>{{ n }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
<h3>Risks outside the partnership's appetite</h3>
{% if p.out_of_appetite %}<table><thead><tr><th>Risk</th><th>Subgroup</th><th>Owner</th><th>Current score</th><th>Appetite</th><th>Trend</th></tr></thead><tbody>
{% for r in p.out_of_appetite %}<tr><td>{{ r.id }} {{ r.title }}</td><td>{{ r.subgroup }}</td><td>{{ r.owner }}</td><td class="n">{{ r.current.likelihood }} × {{ r.current.impact }} = {{ r.current.score }}</td><td class="n">{{ r.appetite }}</td><td>{{ r.trend }}</td></tr>
{% endfor %}</tbody></table>{% else %}<p>Every open risk is within appetite.</p>{% endif %}
<h2>3. Key indicators</h2>
{% for e in p.indicators %}<h3>{{ e.name }}</h3>
<p>{{ e.threat }} · {{ e.latest_period and periods_label(e.latest_period) or "no month" }}: <strong>{{ e.shown }}</strong> · {{ e.signal }}{% if e.comparator %} · Published comparison {{ e.comparator }}{% endif %}</p>
{% if charts.get(e.indicator) %}<figure>{{ charts[e.indicator]|safe }}<figcaption class="note">{{ e.name }} by month with its mean and process limits.</figcaption></figure>{% endif %}
{% else %}<p>No indicator has a value for this month yet.</p>{% endfor %}
<p class="note">{{ p.attribution }} {{ p.licence }}</p>
<h2>4. The Impact Log</h2>
<table><thead><tr><th>Id</th><th>Date</th><th>Subgroup</th><th>Challenge</th><th>Action</th><th>Owner</th><th>Status</th><th>Evidence of impact</th></tr></thead><tbody>
{% for i in p.impact %}<tr><td>{{ i.id }}</td><td>{{ i.date }}</td><td>{{ i.subgroup }}</td><td>{{ i.challenge }}</td><td>{{ i.action }}</td><td>{{ i.owner }}</td><td>{{ i.status|replace("_", " ") }}</td><td>{{ i.evidence }}</td></tr>
{% endfor %}</tbody></table>
<h2>5. Agencies' data: submission performance</h2>
<p>Files due for the twelve months to {{ p.month }}, by how they arrived.</p>
<table><thead><tr><th>Agency</th>{% for o in outcomes.values() %}<th>{{ o }}</th>{% endfor %}<th>Files due</th></tr></thead><tbody>
{% for s in p.submissions %}<tr><td>{{ s.agency }}</td>{% for o in outcomes %}<td class="n">{{ s[o] }}</td>{% endfor %}<td class="n">{{ s.total }}</td></tr>
{% endfor %}</tbody></table>
<h2>6. Methods and sources</h2>
{% for m in p.methods %}<p>{{ m }}</p>{% endfor %}
<p>{{ p.attribution }} {{ p.licence }}</p>
</body></html>
""")


def to_html(pack: dict, charts: Mapping[str, str], publication: bool = False) -> str:
    """The pack as one self-contained HTML page (charts inline as SVG)."""
    shown = publish(pack) if publication else internal(pack)
    return HTML.render(p=shown, charts=charts, changes=change_lines(shown["changes"]), outcomes=FEED_OUTCOMES,
                       publication_note=PUBLICATION_NOTE, periods_label=periods.label)


def _t(text: object) -> str:
    """Text as a Typst string literal (every character literal, nothing read as markup)."""
    return '"' + str(text).translate(BIDI_CONTROLS).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], widths: str) -> str:
    cells = ", ".join([f"[*#{_t(h)}*]" for h in header] + [f"[#{_t(c)}]" for row in rows for c in row])
    return f"#table(columns: {widths}, inset: 4pt, stroke: 0.5pt + gray, {cells})\n"


def to_typst(pack: dict, charts: Mapping[str, str], publication: bool = False) -> str:
    """The pack as Typst source for the PDF: the same sections as the HTML, each starting a page."""
    p = publish(pack) if publication else internal(pack)
    day = _ENV.filters["day"]
    out = ['#set page(paper: "a4", margin: 1.8cm, footer: context [#set text(8pt); '
           f'#{_t(p["partnership"] + " · Board pack " + p["month"])} #h(1fr) #counter(page).display()])\n',
           '#set text(size: 10pt)\n#set table(fill: none)\n#show heading: set block(above: 1.2em, below: 0.6em)\n',
           f'#v(5cm)\n#text(12pt)[#{_t(p["la_name"] + " · " + ("Published version" if p["published"] else "Internal: for the Board"))}]\n\n',
           f'#text(26pt, weight: "bold")[#{_t(p["partnership"])}]\n\n',
           f'#text(18pt)[#{_t("Board pack: strategic threat assessment, " + p["month"])}]\n\n#v(1cm)\n',
           f'#{_t("Prepared by Radar on " + day(p["as_of"]) + ". Last Board meeting: " + day(p["last_board"]) + ".")}\n\n']
    if p["published"]:
        out.append(f"#{_t(PUBLICATION_NOTE)}\n\n")
    out.append("#pagebreak()\n= 1. The threat assessment\n")
    out.append(_table(["Rank", "Threat", "Score", "Trend", "Confidence", "Why it ranks here", "Changed since the last Board"],
                      [[t["rank"], t["title"], f"{t['score']:g}", t["direction"], t["confidence"], t["reason"],
                        "; ".join(t["changed"]) or "No change"] for t in p["threats"]],
                      "(auto, 1fr, auto, auto, auto, 2fr, 1.4fr)"))
    out.append("== What changed since the last Board\n")
    lines = change_lines(p["changes"])
    for title, items in lines:
        out.append(f"*#{_t(title)}*\n" + "".join(f"- #{_t(i)}\n" for i in items) + "\n")
    if not lines:
        out.append(f"#{_t('Nothing has changed since the last Board.')}\n")
    out.append("#pagebreak()\n= 2. The risk register\n#" + _t("Open risks by current likelihood and impact (counts per cell).") + "\n\n")
    size = len(p["matrix"]["impact"])
    out.append(_table(["Impact / Likelihood", *[f"{n + 1} {name}" for n, name in enumerate(p["matrix"]["likelihood"])]],
                      [[f"{size - n} {p['matrix']['impact'][size - n - 1]}", *row] for n, row in enumerate(p["heat_map"])],
                      f"({', '.join(['auto'] + ['1fr'] * len(p['matrix']['likelihood']))})"))
    out.append("== Risks outside the partnership's appetite\n")
    out.append(_table(["Risk", "Subgroup", "Owner", "Current score", "Appetite", "Trend"],
                      [[f"{r['id']} {r['title']}", r["subgroup"], r["owner"],
                        f"{r['current']['likelihood']} × {r['current']['impact']} = {r['current']['score']}",
                        r["appetite"], r["trend"]] for r in p["out_of_appetite"]],
                      "(2fr, auto, 1fr, auto, auto, auto)") if p["out_of_appetite"]
               else f"#{_t('Every open risk is within appetite.')}\n")
    out.append("#pagebreak()\n= 3. Key indicators\n")
    for e in p["indicators"]:
        month = periods.label(e["latest_period"]) if e["latest_period"] else "no month"
        out.append(f"== #{_t(e['name'])}\n#{_t(e['threat'] + ' · ' + month + ': ' + e['shown'] + ' · ' + e['signal'] + (' · Published comparison ' + e['comparator'] if e['comparator'] else ''))}\n\n")
        if charts.get(e["indicator"]):
            out.append(f"#image(bytes({_t(charts[e['indicator']])}), format: \"svg\", width: 85%)\n\n")
    out.append(f"#text(8pt)[#{_t(p['attribution'] + ' ' + p['licence'])}]\n")
    out.append("#pagebreak()\n= 4. The Impact Log\n")
    out.append(_table(["Id", "Date", "Subgroup", "Challenge", "Action", "Owner", "Status", "Evidence of impact"],
                      [[i["id"], i["date"], i["subgroup"], i["challenge"], i["action"], i["owner"],
                        i["status"].replace("_", " "), i["evidence"]] for i in p["impact"]],
                      "(auto, auto, auto, 2fr, 2fr, 1fr, auto, 2fr)"))
    out.append("#pagebreak()\n= 5. Agencies' data: submission performance\n")
    out.append(f"#{_t('Files due for the twelve months to ' + p['month'] + ', by how they arrived.')}\n\n")
    out.append(_table(["Agency", *FEED_OUTCOMES.values(), "Files due"],
                      [[s["agency"], *(s[o] for o in FEED_OUTCOMES), s["total"]] for s in p["submissions"]],
                      "(2fr, 1fr, 1fr, 1fr, 1fr, 1fr)"))
    out.append("= 6. Methods and sources\n" + "".join(f"#{_t(m)}\n\n" for m in p["methods"]))
    out.append(f"#{_t(p['attribution'] + ' ' + p['licence'])}\n")
    return "".join(out)
