"""The Board pack, pure: the month's threat assessment, register, indicators, Impact Log and agencies' data on paper.

`build_pack` turns what the threat assessment already computed (its inputs
and report), the Impact Log and the stored indicator values into one plain
dict; `publish` makes the copy for publication under disclosure control
(pipelines.disclosure): a figure about 1 to the partnership's threshold of
children is `c`, and so is every rate, percentage, average, chart and
sentence resting on one, while counts of risks, files and agencies are shown
in full.  `to_html` and `to_typst` lay the same dict out, so the HTML and the
PDF can never say different things.  Charts arrive as SVG text rendered by
the caller (the pack only places them).  Nothing here reads the store or
writes a file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import jinja2
import polars as pl

from radar.core import periods
from radar.core.catalogue import Catalogue
from radar.core.config import PartnershipConfig
from radar.core.register import STATUS_NAMES, Matrix
from radar.pipelines import disclosure, messages
from radar.pipelines.benchmarks import ATTRIBUTION
from radar.pipelines.charts import SEASONALLY_ADJUSTED
from radar.pipelines.messages import number
from radar.pipelines.notify import safe_sentence
from radar.pipelines.threats import StaInputs, grouped_changes

TOP_THREATS = 10  # the threats the pack explains; the rest are listed by rank only
KEY_INDICATORS = 6  # the most pressing indicators (from the top threats' evidence) charted in full
PERFORMANCE_MONTHS = 12  # agency submission performance looks back a year
FEED_OUTCOMES = {"on_time": "On time", "late": "Late", "missing": "Missing", "rejected": "Rejected"}
OUTCOME_OF = {"replaced": "on_time"}  # a corrected file had arrived on time; not_due months are not counted
OGL = ("Open Government Licence v3.0: "
       "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")
METHODS = [
    ("Each threat is scored as harm × likelihood on the register's 1–5 scales, in the spirit of MoRiLE. The data "
    "moves likelihood by its trend: special causes on each indicator's SPC chart, open alerts and how long they "
    "have been open, and how the partnership compares with England and its statistical neighbours."),
    ("Confidence is the share of each threat's indicators with a value for the month and whether its agencies' "
    "files arrived on time; a register risk's own stated confidence caps it."),
    ("SPC charts are Making Data Count XmR charts: the solid line is the mean, the dashed lines the process limits "
    "within which month-to-month variation usually stays. Orange points are a special cause of concern, blue an "
    "improvement."),
    ("“What changed since the last Board” compares the alerts, risk scores, actions and files known on the day of "
    "this pack with those on the day of the last Board meeting."),
]
PUBLICATION_NOTE = ("Published version: counts of children from 1 to {threshold}, and any figure from which one could "
                    "be worked out, are shown as c (Department for Education convention), and no rate, percentage, "
                    "average, chart or sentence resting on one is published; x means not available. Counts of risks, "
                    "files and agencies are shown in full.")
WINDOW_MONTHS = 12  # an alert's sentence may quote its indicator's figures from the year to the pack's month


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


def key_indicators(sta: dict, limit: int | None = None) -> list[dict]:
    """The indicators the top threats rest on, most pressing threat first, each once (KEY_INDICATORS of them)."""
    limit = KEY_INDICATORS if limit is None else limit
    found: dict[str, dict] = {}
    for threat in sta["threats"]:
        for e in threat["evidence"]:
            if e["latest_value"] is not None and len(found) < limit:
                found.setdefault(e["indicator"], e | {"threat": threat["title"]})
    return list(found.values())


def breakdown_parts(values: pl.DataFrame, catalogue: Catalogue, indicator: str, period: str | None) -> dict:
    """A counted indicator's stored parts in `period` in the catalogue's order, as [label, count], and their stored
    total (no parts without a breakdown or a stored part)."""
    names = catalogue.breakdown_values(catalogue.indicator_by_id[indicator])
    if catalogue.indicator_by_id[indicator].unit != "count" or not names or period is None:
        return {"parts": [], "parts_total": None}
    found = {r["breakdown"]: None if r["value"] is None else int(r["value"]) for r in values.filter(
        pl.col("indicator") == indicator, pl.col("period") == period).to_dicts()}
    if not found.keys() - {""}:
        return {"parts": [], "parts_total": None}
    return {"parts": [[messages.label(b), found.get(b)] for b in names], "parts_total": found.get("")}


def _alert_change(change: dict, scopes: Mapping[str, str], la_code: str, catalogue: Catalogue) -> dict:
    """An alert among the changes, naming no setting or child (its scope becomes "one setting", as in the
    e-mails), with whether its indicator rests on children (so publication can judge its line)."""
    scope = scopes.get(change["alert"] or "")
    line = safe_sentence({"message": change["line"], "scope": scope, "evidence": None}, la_code, ())
    indicator = catalogue.indicator_by_id.get(change.get("indicator") or "")
    children = indicator is not None and bool(catalogue.child_bases(indicator.id))
    about = f"An alert on {indicator.name}" if indicator else "An alert"
    return change | {"line": line, "children": children, "about": about}


def build_pack(config: PartnershipConfig, inputs: StaInputs, sta: dict, impact: Sequence[dict], matrix: Matrix,
               units: Mapping[str, str], values: pl.DataFrame) -> dict:
    """The internal Board pack for `sta`'s month; `units` gives each indicator's unit (so counts are known) and
    `values` the stored indicator values (indicator_value rows: indicator, breakdown, period, value, numerator,
    denominator), from which breakdowns are shown and publication knows which figures rest on few children."""
    catalogue, la_code = inputs.catalogue, config.partnership.la_code
    agencies = {f.id: config.agencies[f.agency].name for f in catalogue.feeds}
    subgroups = {s.id: s.name for s in catalogue.subgroups}  # names, not ids, on every page
    open_risks = [r | {"subgroup": subgroups.get(r["subgroup"], r["subgroup"])} for r in inputs.risks
                  if r["status"] != "closed"]
    values = values.filter(pl.col("period") <= sta["period"])
    threshold = config.disclosure.threshold
    few = disclosure.resting_on_few(values, catalogue, threshold)
    scopes = {a["ref"]: a["key"].rsplit("|", 1)[-1] for a in inputs.alerts.select("ref", "key").to_dicts()}
    changes = [_alert_change(c, scopes, la_code, catalogue) if "alert" in c else c
               for c in sta["changes_since_last_board"]]
    as_told = {raw["line"]: n for n, raw in enumerate(sta["changes_since_last_board"])}
    threats = [t | {"changed": [as_told[line] for line in t["changed"]]} for t in sta["threats"]]  # by position
    indicators = [e | {"unit": units[e["indicator"]], "children": bool(catalogue.child_bases(e["indicator"])),
                       "by": messages.label((catalogue.dimension_of[e["indicator"]] or "").split("_", 1)[-1])}
                  | breakdown_parts(values, catalogue, e["indicator"], e["latest_period"])
                  for e in key_indicators(sta)]
    return {
        "partnership": config.partnership.name, "la_name": config.partnership.la_name,
        "period": sta["period"], "month": periods.label(sta["period"]), "as_of": sta["as_of"],
        "last_board": sta["last_board"], "published": False,
        "threats": threats[:TOP_THREATS], "other_threats": threats[TOP_THREATS:],
        "changes": changes,
        "matrix": {"likelihood": [lv.name for lv in matrix.likelihood], "impact": [lv.name for lv in matrix.impact]},
        "heat_map": heat_map(open_risks, matrix),
        "out_of_appetite": [r for r in open_risks if r["out_of_appetite"]],
        "indicators": indicators,
        "impact": [i | {"subgroup": subgroups.get(i["subgroup"], i["subgroup"]), "date": periods.day_label(i["date"]),
                        "status": STATUS_NAMES[i["status"]]} for i in impact],
        "submissions": submission_performance(inputs.feed_status, agencies, sta["period"]),
        "methods": METHODS, "attribution": ATTRIBUTION, "licence": OGL,
        "disclosure": {"threshold": threshold, "few": sorted(map(list, few.iter_rows()))},
    }


def shown_value(value: float | None, unit: str) -> str:
    """A key indicator's figure for people: a count as a whole number, a rate or percentage to one decimal."""
    if value is None:
        return disclosure.NOT_AVAILABLE
    return f"{value:,.0f}" if unit == "count" else number(value, unit)


def _shown(pack: dict) -> dict:
    """Every figure the layouts print, formatted for people (the internal pack: nothing hidden)."""
    out = copy.deepcopy(pack)
    out["heat_map"] = [[f"{n:,}" for n in row] for row in pack["heat_map"]]
    for s in out["submissions"]:
        s.update({k: f"{s[k]:,}" for k in (*FEED_OUTCOMES, "total")})
    for t in out["threats"]:  # each threat's changes, as the pack's own list words them
        t["changed"] = [out["changes"][n]["line"] for n in t["changed"]]
    for e in out["indicators"]:
        e["shown"] = shown_value(e["latest_value"], e["unit"])  # as reported (pipelines.threats.latest_figures)
        if e["adjustment"] == "seasonal":
            e["shown"] += f" ({number(e['adjusted_value'], e['unit'])} {SEASONALLY_ADJUSTED}, as charted)"
        e["parts"] = [[name, disclosure.NOT_AVAILABLE if n is None else f"{n:,}"] for name, n in e["parts"]]
        e["chart"] = True
    return out


def publish(pack: dict) -> dict:
    """The pack as published, the internal pack untouched: every figure, chart and sentence resting on 1 to the
    threshold's children hidden (pipelines.disclosure); risks, files and agencies' counts shown in full."""
    threshold = pack["disclosure"]["threshold"]
    few = {tuple(row) for row in pack["disclosure"]["few"]}
    window = {periods.shift(pack["period"], -k) for k in range(WINDOW_MONTHS)}
    out = _shown(pack | {"changes": [_published_change(c, few, window, threshold) for c in pack["changes"]]})
    out["published"] = True
    out["publication_note"] = PUBLICATION_NOTE.format(threshold=threshold)
    for e, raw in zip(out["indicators"], pack["indicators"], strict=True):
        if not e["children"]:
            continue
        e["chart"] = not any(indicator == e["indicator"] for indicator, _ in few)  # its SVG holds every month exactly
        if (e["indicator"], e["latest_period"]) in few:
            e["shown"] = disclosure.SUPPRESSED
        if raw["parts"]:  # checked against their stored total: the figure printed above them is that total
            parts, _ = disclosure.suppress_parts([n for _, n in raw["parts"]], raw["parts_total"], threshold)
            e["parts"] = [[name, n] for (name, _), n in zip(raw["parts"], parts, strict=True)]
    return out


def _published_change(change: dict, few: set[tuple[str, str]], window: set[str], threshold: int) -> dict:
    """An alert's line as published: withheld when it names 1 to the threshold's children, or when its
    indicator rests on children and any month it may quote (the year to the pack's month) rests on few."""
    if "alert" not in change:
        return change
    quoted = change["children"] and any((change["indicator"], month) in few for month in window)
    if quoted or disclosure.names_few_children(change["line"], threshold):
        return change | {"line": disclosure.withheld_sentence(change["about"], threshold)}
    return change


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


def indicator_line(e: dict) -> str:
    """A key indicator's one line: its threat, month, figure, signal and published comparison."""
    month = periods.label(e["latest_period"]) if e["latest_period"] else "no month"
    comparison = f" · Published comparison {e['comparator']}" if e["comparator"] else ""
    return f"{e['threat']} · {month}: {e['shown']} · {e['signal']}{comparison}"


def parts_line(e: dict) -> str:
    """A counted key indicator's breakdown in its month: "By source: police 120 · health c · ..."."""
    return f"By {e['by']}: " + " · ".join(f"{name} {n}" for name, n in e["parts"])


def chart_withheld(p: dict) -> str:
    return (f"The monthly chart is not published: some of its months rest on too few children "
            f"(from 1 to {p['disclosure']['threshold']}).")


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
{% if p.published %}<p class="note">{{ p.publication_note }}</p>{% endif %}
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
<p>{{ indicator_line(e) }}</p>
{% if e.parts %}<p>{{ parts_line(e) }}</p>{% endif %}
{% if not e.chart %}<p class="note">{{ chart_withheld(p) }}</p>
{% elif charts.get(e.indicator) %}<figure>{{ charts[e.indicator]|safe }}<figcaption class="note">{{ e.name }} by month with its mean and process limits.</figcaption></figure>{% endif %}
{% else %}<p>No indicator has a value for this month yet.</p>{% endfor %}
<p class="note">{{ p.attribution }} {{ p.licence }}</p>
<h2>4. The Impact Log</h2>
<table><thead><tr><th>Id</th><th>Date</th><th>Subgroup</th><th>Challenge</th><th>Action</th><th>Owner</th><th>Status</th><th>Evidence of impact</th></tr></thead><tbody>
{% for i in p.impact %}<tr><td>{{ i.id }}</td><td>{{ i.date }}</td><td>{{ i.subgroup }}</td><td>{{ i.challenge }}</td><td>{{ i.action }}</td><td>{{ i.owner }}</td><td>{{ i.status }}</td><td>{{ i.evidence }}</td></tr>
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
                       indicator_line=indicator_line, parts_line=parts_line, chart_withheld=chart_withheld)


def _t(text: object) -> str:
    """Text as a Typst string literal (every character literal, nothing read as markup)."""
    return '"' + str(text).translate(BIDI_CONTROLS).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


THREAT_COLUMNS = ("1cm", "4.6cm", "1.4cm", "1.7cm", "2.2cm", "1fr", "6cm")
IMPACT_COLUMNS = ("1.2cm", "2.1cm", "3.2cm", "1fr", "1fr", "3.1cm", "1.9cm", "0.8fr")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[str]) -> str:
    """A table whose header repeats on every page it runs over; `widths` are Typst track sizes, one a column,
    fixed where a column's words are short and known (so they never wrap one word a line) and `fr` shares for
    the prose columns."""
    header_cells = ", ".join(f"[*#{_t(h)}*]" for h in header)
    cells = ", ".join(f"[#{_t(c)}]" for row in rows for c in row)
    return (f"#table(columns: ({', '.join(widths)},), inset: 4pt, stroke: 0.5pt + gray, align: left + top, "
            f"table.header({header_cells}), {cells})\n")


def _page(landscape: bool) -> str:
    """Start a page in the orientation a section needs (Typst starts a new page when the orientation changes)."""
    return f"#set page(flipped: {'true' if landscape else 'false'})\n#pagebreak(weak: true)\n"


def to_typst(pack: dict, charts: Mapping[str, str], publication: bool = False) -> str:
    """The pack as Typst source for the PDF: the same sections as the HTML, each starting a page, with a contents
    list and page numbers; the two wide tables (threats, Impact Log) on landscape pages."""
    p = publish(pack) if publication else internal(pack)
    day = _ENV.filters["day"]
    title = p["partnership"] + " · Board pack " + p["month"]
    out = [('#set page(paper: "a4", margin: (x: 1.6cm, y: 1.8cm), numbering: "1", footer: context [#set text(8pt); '
            f'#{_t(title)} #h(1fr) #{_t("Page ")}#counter(page).display()#{_t(" of ")}'
            '#counter(page).final().first()])\n'),
           ('#set text(size: 10pt)\n#set table(fill: none)\n#set par(justify: false)\n'
            '#show heading: set block(above: 1.2em, below: 0.6em)\n'),
           f'#v(4cm)\n#text(12pt)[#{_t(p["la_name"] + " · " + ("Published version" if p["published"] else "Internal: for the Board"))}]\n\n',
           f'#text(26pt, weight: "bold")[#{_t(p["partnership"])}]\n\n',
           f'#text(18pt)[#{_t("Board pack: strategic threat assessment, " + p["month"])}]\n\n#v(1cm)\n',
           f'#{_t("Prepared by Radar on " + day(p["as_of"]) + ". Last Board meeting: " + day(p["last_board"]) + ".")}\n\n']
    if p["published"]:
        out.append(f"#{_t(p['publication_note'])}\n\n")
    out.append(f"#v(1cm)\n#outline(title: {_t('Contents')}, depth: 2)\n")
    out.append(_page(landscape=True) + "= 1. The threat assessment\n")
    out.append("#text(9pt)[" + _table(
        ["Rank", "Threat", "Score", "Trend", "Confidence", "Why it ranks here", "Changed since the last Board"],
        [[t["rank"], t["title"], f"{t['score']:g}", t["direction"], t["confidence"], t["reason"],
          "; ".join(t["changed"]) or "No change"] for t in p["threats"]], THREAT_COLUMNS) + "]\n")
    out.append(_page(landscape=False) + "== What changed since the last Board\n")
    lines = change_lines(p["changes"])
    for title_, items in lines:
        out.append(f"*#{_t(title_)}*\n" + "".join(f"- #{_t(i)}\n" for i in items) + "\n")
    if not lines:
        out.append(f"#{_t('Nothing has changed since the last Board.')}\n")
    out.append("#pagebreak()\n= 2. The risk register\n#" + _t("Open risks by current likelihood and impact (counts per cell).") + "\n\n")
    size = len(p["matrix"]["impact"])
    out.append(_table(["Impact / Likelihood", *[f"{n + 1} {name}" for n, name in enumerate(p["matrix"]["likelihood"])]],
                      [[f"{size - n} {p['matrix']['impact'][size - n - 1]}", *row] for n, row in enumerate(p["heat_map"])],
                      ["3.4cm"] + ["1fr"] * len(p["matrix"]["likelihood"])))
    out.append("== Risks outside the partnership's appetite\n")
    out.append(_table(["Risk", "Subgroup", "Owner", "Current score", "Appetite", "Trend"],
                      [[f"{r['id']} {r['title']}", r["subgroup"], r["owner"],
                        f"{r['current']['likelihood']} × {r['current']['impact']} = {r['current']['score']}",
                        r["appetite"], r["trend"]] for r in p["out_of_appetite"]],
                      ["1fr", "3.6cm", "3cm", "2.4cm", "1.8cm", "1.6cm"]) if p["out_of_appetite"]
               else f"#{_t('Every open risk is within appetite.')}\n")
    out.append("#pagebreak()\n= 3. Key indicators\n")
    for e in p["indicators"]:
        out.append(f"== #{_t(e['name'])}\n#{_t(indicator_line(e))}\n\n")
        if e["parts"]:
            out.append(f"#{_t(parts_line(e))}\n\n")
        if charts.get(e["indicator"]) and e["chart"]:
            out.append(f"#image(bytes({_t(charts[e['indicator']])}), format: \"svg\", width: 85%)\n\n")
        elif not e["chart"]:
            out.append(f"#text(9pt)[#{_t(chart_withheld(p))}]\n\n")
    out.append(f"#text(8pt)[#{_t(p['attribution'] + ' ' + p['licence'])}]\n")
    out.append(_page(landscape=True) + "= 4. The Impact Log\n")
    out.append("#text(9pt)[" + _table(
        ["Id", "Date", "Subgroup", "Challenge", "Action", "Owner", "Status", "Evidence of impact"],
        [[i["id"], i["date"], i["subgroup"], i["challenge"], i["action"], i["owner"], i["status"],
          i["evidence"]] for i in p["impact"]], IMPACT_COLUMNS) + "]\n")
    out.append(_page(landscape=False) + "= 5. Agencies' data: submission performance\n")
    out.append(f"#{_t('Files due for the twelve months to ' + p['month'] + ', by how they arrived.')}\n\n")
    out.append(_table(["Agency", *FEED_OUTCOMES.values(), "Files due"],
                      [[s["agency"], *(s[o] for o in FEED_OUTCOMES), s["total"]] for s in p["submissions"]],
                      ["1fr"] + ["2cm"] * (len(FEED_OUTCOMES) + 1)))
    out.append("= 6. Methods and sources\n" + "".join(f"#{_t(m)}\n\n" for m in p["methods"]))
    out.append(f"#{_t(p['attribution'] + ' ' + p['licence'])}\n")
    return "".join(out)
