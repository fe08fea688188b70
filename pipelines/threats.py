"""The strategic threat assessment, pure: every subject scored, ranked and explained, once.

A threat is a *subject*: a theme of the partnership's `*_threats.yaml` with
the register risks it lists (radar.core.threats checks they are about it),
or a register risk that no theme lists.  A subject is ranked once, with its
indicators (the theme's and its risks'), their alerts and its risks' actions.

In the spirit of MoRiLE (the method UK police use for strategic
assessments), each threat is scored as the 5x5 register scores a risk:
harm x likelihood, both whole numbers from 1 to 5, so a score is a whole
number from 1 to 25:

- **harm** is the theme's judgement (radar/core/partnerships/*_threats.yaml)
  or the higher current impact of a risk it lists; for a risk of its own, its
  current impact;
- **likelihood** starts from the theme's judgement (or the higher current
  likelihood of a risk it lists: the register sets a floor; for a risk of its
  own, its current likelihood) and the data moves it by the **trend**
  rounded to a whole step (half a step or more counts), clamped to 1-5;
- the **trend** is the weighted mean of each indicator's *pressure*, kept to
  one decimal: +1 for a concerning special cause on its SPC chart or a
  concern from the early warning (pipelines/early_warning.py; the detectors
  are named in the evidence; -1 for an improving special cause), +1 for an
  open alert on it, +0.5 more when the oldest has
  been open 3 months or longer, and +0.5 when it is worse than both England
  and the statistical neighbours (-0.5 when better than both).

A **confidence** rating says how far the data can be trusted: the mean of
completeness (the share of the threat's indicators with a value for the
month) and timeliness (its feeds' files for the month: on time 1, late 0.5,
missing or rejected 0); a register risk's own stated confidence caps it.

The same inputs always give the same ranking: score, then trend, then
confidence, then id.  Nothing here reads the store; the actions floor
(radar.actions.board_pack.assessment) gathers `StaInputs`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from radar.core import periods
from radar.core.alert_vocabulary import ACTIVE, severity_rank
from radar.core.catalogue import Catalogue
from radar.core.config import PartnershipConfig
from radar.core.register import Matrix
from radar.core.threats import Theme
from radar.pipelines import messages
from radar.pipelines.alerts.feeds import FEED_RULE_IDS
from radar.pipelines.benchmarks import benchmark_comparison
from radar.pipelines.feed_status import expected_submissions, feed_status
from radar.pipelines.messages import plural
from radar.pipelines.register import risk_view

PERSISTING_MONTHS = 3  # an alert open this long adds to the pressure: it has not been dealt with
FEED_CREDIT = {"on_time": 1.0, "replaced": 1.0, "not_due": 1.0, "late": 0.5, "missing": 0.0, "rejected": 0.0}
LATE = ("late", "missing", "rejected")
STATUS_WORDS = {"late": "came late", "missing": "has not arrived", "rejected": "was rejected"}
CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}
STEADY = 0.25  # a trend smaller than this either way reads as steady


@dataclass(frozen=True)
class StaInputs:
    """What the assessment reads for one month (gathered from the store by radar.actions.board_pack.assessment)."""

    catalogue: Catalogue
    themes: Sequence[Theme]
    period: str
    as_of: date  # the day the assessment is made: overdue actions and the last Board are judged on it
    board_dates: Sequence[date]
    series: pl.DataFrame  # series totals: indicator, latest_period, latest_value (charted), reported_value, variation
    comparison: pl.DataFrame  # pipelines.benchmarks.benchmark_comparison at `period`: one row per indicator
    alerts: pl.DataFrame  # key, ref, rule, indicator, feed, status, severity, message, first_period, raised_on, cleared_period
    risks: Sequence[dict]  # pipelines.register.risk_view rows
    score_changes: Sequence[dict]  # risk, on (date), by, from [l, i], to [l, i]: every re-score of a risk
    severity_at_board: Mapping[str, str]  # alert key -> its severity as last recorded on or before the last Board
    feed_status: pl.DataFrame  # pipelines.feed_status.feed_status: feed_id, period, due_date, status
    risks_added: Sequence[dict] = ()  # risk, on (date), by, score [l, i]: risks added after the register was loaded
    agency_names: Mapping[str, str] = field(default_factory=dict)  # agency id -> its name, for the change lines


def last_board(board_dates: Sequence[date], as_of: date) -> date | None:
    """The latest Board meeting on or before `as_of` (None before the first)."""
    held = [d for d in board_dates if d <= as_of]
    return max(held) if held else None


def signal_words(variation: str | None) -> str:
    if variation is None:
        return "no chart yet"
    if variation == "common_cause":
        return "common cause (within its usual range)"
    kind = "concerning" if "_concern_" in variation else "improving" if "_improvement_" in variation else "neutral"
    return f"{kind} special cause ({variation.rsplit('_', 1)[-1]})"


def _gap(polarity: str, la: float | None, national: float | None, neighbours: float | None) -> float:
    """+0.5 worse than both England and the neighbours, -0.5 better than both, else 0 (polarity decides worse)."""
    if polarity not in ("up_is_bad", "down_is_bad") or None in (la, national, neighbours):
        return 0.0
    sign = 1 if polarity == "up_is_bad" else -1
    if sign * (la - national) > 0 and sign * (la - neighbours) > 0:
        return 0.5
    if sign * (la - national) < 0 and sign * (la - neighbours) < 0:
        return -0.5
    return 0.0


def comparator_words(row: Mapping, unit: str) -> str | None:
    """A comparison row as people read it, labelled with its DfE year: "2019-20: here 41.4, England 43.7,
    statistical neighbours 32.8" (one decimal for a rate or percentage, a count as a whole number); None when
    there is neither an England nor a neighbours' figure."""
    if row.get("national") is None and row.get("sn_median") is None:
        return None
    shown = (lambda v: f"{v:,.0f}") if unit in ("count", "days") else (lambda v: f"{v:,.1f}")
    parts = [f"{name} {shown(row[key])}" for name, key in (("here", "la_value"), ("England", "national"),
                                                         ("statistical neighbours", "sn_median"))
             if row.get(key) is not None]
    return f"{periods.financial_year_label(row['year'])}: {', '.join(parts)}"


def latest_figures(series: Mapping, seasonal: bool) -> dict:
    """An indicator's latest month as people read it: `latest_value` the figure reported, and for an indicator
    charted seasonally adjusted, the adjusted figure its SPC chart (and so the signal) rests on, named beside it
    (`adjusted_value`, `adjustment`), as the dashboard's indicator page shows them.  A series read without its
    reported figure (none stored) falls back to the charted one only where no adjustment was made."""
    charted, reported = series.get("latest_value"), series.get("reported_value")
    if not seasonal:
        return {"latest_value": charted if reported is None else reported, "adjusted_value": None,
                "adjustment": None}
    return {"latest_value": reported, "adjusted_value": charted, "adjustment": None if charted is None else "seasonal"}


def indicator_evidence(i: StaInputs) -> dict[str, dict]:
    """Each indicator's evidence row and pressure (see the module's docstring), for every catalogue indicator."""
    series = {r["indicator"]: r for r in i.series.to_dicts()}
    comparison = {r["indicator"]: r for r in i.comparison.to_dicts()}
    active = i.alerts.filter(pl.col("status").is_in(ACTIVE) & pl.col("indicator").is_not_null())
    alerts: dict[str, list[dict]] = {}
    for alert in active.sort("key").to_dicts():
        alerts.setdefault(alert["indicator"], []).append(alert)
    found = {}
    for indicator in i.catalogue.indicators:
        s, c, mine = series.get(indicator.id, {}), comparison.get(indicator.id, {}), alerts.get(indicator.id, [])
        variation = s.get("variation")
        signal = 1.0 if variation and "_concern_" in variation else -1.0 if variation and "_improvement_" in variation else 0.0
        detectors = ["mdc"] if signal > 0 else []
        words = signal_words(variation)
        if s.get("early_flag") == "concern":  # the early warning is evidence like a special cause, named as such
            signal, detectors = 1.0, [*detectors, "early_warning"]
            words += f"; early warning: above what its history predicts since {periods.label(s['early_since'])}"
        oldest = min((a["first_period"] for a in mine), default=None)
        persisting = oldest is not None and oldest <= periods.shift(i.period, -PERSISTING_MONTHS)
        gap = _gap(indicator.polarity, c.get("la_value"), c.get("national"), c.get("sn_median"))
        comparator = comparator_words(c, indicator.unit)
        found[indicator.id] = {
            "indicator": indicator.id, "name": indicator.name, "latest_period": s.get("latest_period"),
            **latest_figures(s, indicator.seasonal), "signal": words, "detectors": detectors, "comparator": comparator,
            "alerts": [a["ref"] for a in mine], "oldest_alert": oldest,
            "pressure": signal + (1.0 if mine else 0.0) + (0.5 if persisting else 0.0) + gap,
            "concern": signal > 0, "improving": signal < 0, "gap": gap, "feed": indicator.feed,
        }
    return found


def _feed_words(i: StaInputs, feed_id: str) -> str:
    """A feed as the Chair reads it: "the Education welfare monthly return", not its id."""
    feed = i.catalogue.feed_by_id.get(feed_id)
    return f"the {messages.feed_title(feed.name)}" if feed else feed_id


def _confidence(evidence: list[dict], i: StaInputs, cap: str | None = None) -> tuple[str, float, list[str]]:
    """(rating, value, the feeds that lowered it) from completeness and timeliness at the cycle month."""
    completeness = sum(e["latest_period"] == i.period for e in evidence) / len(evidence)
    status = {r["feed_id"]: r["status"] for r in i.feed_status.filter(pl.col("period") == i.period).to_dicts()}
    feeds = sorted({e["feed"] for e in evidence})
    timeliness = sum(FEED_CREDIT.get(status.get(f, "missing"), 0.0) for f in feeds) / len(feeds)
    value = round((completeness + timeliness) / 2, 2)
    rating = "high" if value >= 0.8 else "medium" if value >= 0.5 else "low"
    weak = [f"{_feed_words(i, f)} {STATUS_WORDS[status.get(f, 'missing')]}" for f in feeds
            if status.get(f, "missing") in LATE]
    if cap and CONFIDENCE_ORDER[cap] > CONFIDENCE_ORDER[rating]:
        rating, weak = cap, [*weak, "the register's own confidence"]
    return rating, value, weak


def whole_step(trend: float) -> int:
    """The trend as whole steps of the 1-5 scale: half a step or more counts, either way (2.3 -> 2, -0.5 -> -1)."""
    return int(math.copysign(math.floor(abs(trend) + 0.5), trend))


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _reason(t: dict, source: str, counts: dict, oldest: str | None, weak: list[str]) -> str:
    """One plain sentence: the score, where its likelihood starts, how the data moved it and on what evidence,
    and why confidence is not high when it is not."""
    moved = t["likelihood"] - t["base"]
    how = f"raised {moved}" if moved > 0 else f"lowered {-moved}" if moved < 0 else "unchanged"
    if t["base"] + whole_step(t["trend"]) != t["likelihood"]:  # the data would move it past the scale's end
        end = "top" if t["likelihood"] == 5 else "bottom"
        how = f"{how} to the {end} of the scale" if moved else f"kept at the {end} of the scale"
    of = f"of {plural(t['indicators'], 'indicator', 'indicators')}"
    drivers = []
    if counts["concerns"]:
        drivers.append(f"{counts['concerns']} {of} showing a concerning special cause")
    if counts["improving"]:
        drivers.append(f"{counts['improving']} {of} improving")
    if counts["alerts"]:
        drivers.append(plural(counts["alerts"], "open alert", "open alerts")
                       + (f" (the oldest since {periods.label(oldest)})" if oldest else ""))
    if counts["gaps"]:
        drivers.append(f"{counts['gaps']} {of} worse than both England and the statistical neighbours")
    data = ("no indicator to evidence it" if not t["indicators"] else _and(drivers) if drivers
            else f"no concerning signal in its {plural(t['indicators'], 'indicator', 'indicators')}")
    sentence = (f"Score {t['score']} (harm {t['harm']} × likelihood {t['likelihood']}): likelihood {t['base']} "
                f"{source}, {how} by the data with {data}")
    if t["confidence"] != "high":
        sentence += f"; confidence is {t['confidence']}" + (f" ({', '.join(weak)})" if weak else "")
    return sentence + "."


def _threat(key: str, theme: str, title: str, harm: int, base: int, weights: dict[str, float],
            evidence: dict[str, dict], risks: list[dict], i: StaInputs, source: str,
            cap: str | None = None) -> dict:
    rows = [evidence[ind] for ind in weights]
    total = sum(weights.values())
    trend = round(sum(w * evidence[ind]["pressure"] for ind, w in weights.items()) / total, 1) if rows else 0.0
    likelihood = min(5, max(1, base + whole_step(trend)))
    confidence, confidence_value, weak = _confidence(rows, i, cap) if rows else (cap or "low", 0.0, [])
    t = {"id": key, "subject": key, "theme": theme, "title": title, "harm": harm, "base": base,
         "likelihood": likelihood, "score": harm * likelihood, "trend": trend,
         "direction": "rising" if trend >= STEADY else "falling" if trend <= -STEADY else "steady",
         "confidence": confidence, "confidence_value": confidence_value, "indicators": len(rows)}
    active = [r for r in rows if r["alerts"]]
    oldest = min((r["oldest_alert"] for r in active), default=None)
    counts = {"concerns": sum(r["concern"] for r in rows), "improving": sum(r["improving"] for r in rows),
              "alerts": sum(len(r["alerts"]) for r in rows), "gaps": sum(r["gap"] > 0 for r in rows)}
    t["reason"] = _reason(t, source, counts, oldest, weak)
    t["evidence"] = [{k: r[k] for k in ("indicator", "name", "latest_period", "latest_value", "adjusted_value",
                                        "adjustment", "signal", "comparator", "alerts", "pressure")} for r in rows]
    t["risks"] = [r["id"] for r in risks]
    t["open_actions"] = [{"risk": r["id"], "description": a["description"], "owner": a["owner"], "due": a["due"],
                          "overdue": a["due"] < i.as_of}
                         for r in risks for a in r["actions"] if a["status"] == "open"]
    t["feeds"] = sorted({r["feed"] for r in rows})
    return t


def assess(i: StaInputs) -> list[dict]:
    """Every subject as one threat, ranked (rank 1 first), each with the changes since the last Board that bear
    on it: each theme with the open risks it lists, then each open risk no theme lists."""
    evidence = indicator_evidence(i)
    open_risks = {r["id"]: r for r in i.risks if r["status"] != "closed"}
    threats, claimed = [], set()
    for theme in i.themes:
        linked = [open_risks[rid] for rid in theme.risks if rid in open_risks]
        claimed.update(theme.risks)
        weights = {ti.indicator: ti.weight for ti in theme.indicators}
        for r in linked:
            weights |= {ind: 1.0 for ind in r["linked_indicators"] if ind in evidence and ind not in weights}
        floor = max([theme.likelihood, *(r["current"]["likelihood"] for r in linked)])
        harm = max([theme.harm, *(r["current"]["impact"] for r in linked)])
        floor_from = [r["id"] for r in linked if r["current"]["likelihood"] == floor]
        source = (f"as for {' and '.join(floor_from)} in the register" if floor > theme.likelihood
                  else "as the partnership judged it")
        threats.append(_threat(theme.id, theme.id, theme.title, harm, floor, weights, evidence, linked, i, source))
    for risk in (r for rid, r in open_risks.items() if rid not in claimed):
        weights = dict.fromkeys((ind for ind in risk["linked_indicators"] if ind in evidence), 1.0)
        threats.append(_threat(risk["id"], "register", f"{risk['id']}: {risk['title']}", risk["current"]["impact"],
                               risk["current"]["likelihood"], weights, evidence, [risk], i,
                               "as in the register", cap=risk["confidence"]))
    changes = changes_since_last_board(i)
    for t in threats:
        t["changed"] = _touching(t, changes)
    threats.sort(key=lambda t: (-t["score"], -t["trend"], CONFIDENCE_ORDER[t["confidence"]], t["id"]))
    return [{"rank": n} | t for n, t in enumerate(threats, 1)]


# Each kind of change since the last Board, in the order the Board reads them, with its heading and the
# dashboard page (its url path) where it is dealt with.
CHANGE_KINDS = {
    "alert_raised": ("Alerts new to the Board", "alerts"),
    "alert_escalated": ("Alerts escalated", "alerts"),
    "alert_de_escalated": ("Alerts de-escalated", "alerts"),
    "alert_resolved": ("Alerts resolved", "alerts"),
    "risk_added": ("Risks added", "register"),
    "risk_outside_appetite": ("Risks re-scored outside appetite", "register"),
    "risk_rescored": ("Risks re-scored", "register"),
    "action_overdue": ("Actions overdue", "register"),
    "feed_late": ("Files newly late", "feed_status"),
}


def _change(kind: str, line: str, **about) -> dict:
    return {"kind": kind, "line": line, "page": CHANGE_KINDS[kind][1]} | about


def _alert_words(i: StaInputs, a: dict) -> str:
    """An alert's message, led by what it is about (the indicator's or the feed's name) unless it says so itself."""
    indicator = i.catalogue.indicator_by_id.get(a["indicator"] or "")
    feed = i.catalogue.feed_by_id.get(a["feed"] or "")
    name = indicator.name if indicator else feed.name if feed else None
    message = a["message"].rstrip(".")
    return message if name is None or message.startswith(name) else f"{name}: {message}"


def _score_words(score: Sequence[int]) -> str:
    return f"{score[0]} × {score[1]} = {score[0] * score[1]}"


def changes_since_last_board(i: StaInputs) -> list[dict]:
    """What the Board has not yet seen, one line each with the page that deals with it: alerts raised (saying when
    their cause began), escalated, de-escalated or resolved since it met; risks added, re-scored or moved outside
    appetite since it met; actions overdue; files late that fell due after it (an alert on such a file is told as
    the file, once).  Nothing before the first Board.

    Alerts and files are as known at the end of the month assessed; the register is the register as it stands
    (the assessment ranks its current scores), so an edit made after the Board shows whatever day is asked.
    """
    board = last_board(i.board_dates, i.as_of)
    if board is None:
        return []
    found = []
    late = i.feed_status.filter(pl.col("status").is_in(LATE) & (pl.col("due_date") > board))
    told = (pl.col("rule").is_in(FEED_RULE_IDS) & pl.col("feed").is_in(late["feed_id"].implode())).fill_null(False)
    for a in i.alerts.filter(~pl.col("rule").str.starts_with("improvement_") & ~told).sort("key").to_dicts():
        about = {"alert": a["ref"], "indicator": a["indicator"], "feed": a["feed"], "severity": a["severity"]}
        what = _alert_words(i, a)
        if a["status"] in ACTIVE and a["raised_on"] is not None and a["raised_on"] > board:
            found.append(_change("alert_raised", f"{what}: new to the Board; {a['severity']} since "
                                                 f"{periods.label(a['first_period'])}", **about,
                                 since=a["first_period"]))
        elif a["status"] == "resolved" and a["cleared_period"] and a["cleared_period"] >= periods.of_date(board):
            found.append(_change("alert_resolved", f"{what}: resolved in {periods.label(a['cleared_period'])}",
                                 **about))
        elif a["status"] in ACTIVE and a["key"] in i.severity_at_board:
            was = i.severity_at_board[a["key"]]
            before, now = severity_rank(was), severity_rank(a["severity"])
            if now != before:
                found.append(_change("alert_escalated" if now > before else "alert_de_escalated",
                                     f"{what}: {was} at the last Board, {a['severity']} now", **about, was=was))
    risks = {r["id"]: r for r in i.risks}
    for c in sorted(i.risks_added, key=lambda c: (c["on"], c["risk"])):
        r = risks.get(c["risk"])
        if c["on"] > board and r is not None:
            outside = c["score"][0] * c["score"][1] > r["appetite"]
            found.append(_change("risk_added", f"{r['id']} {r['title']}: added on {periods.day_label(c['on'])} by "
                                 f"{c['by']}, scored {_score_words(c['score'])}"
                                 + (f", outside the appetite of {r['appetite']}" if outside else ""),
                                 risk=r["id"], on=c["on"], by=c["by"], score=c["score"], outside_appetite=outside))
    for c in sorted(i.score_changes, key=lambda c: (c["on"], c["risk"])):
        r = risks.get(c["risk"])
        if c["on"] <= board or c["from"] == c["to"] or r is None:
            continue
        was_out, now_out = (s[0] * s[1] > r["appetite"] for s in (c["from"], c["to"]))
        moved = (f", moving it outside the appetite of {r['appetite']}" if now_out and not was_out else
                 f", back within the appetite of {r['appetite']}" if was_out and not now_out else "")
        found.append(_change("risk_outside_appetite" if now_out and not was_out else "risk_rescored",
                             f"{r['id']} {r['title']}: re-scored from {_score_words(c['from'])} to "
                             f"{_score_words(c['to'])} on {periods.day_label(c['on'])} by {c['by']}{moved}",
                             risk=r["id"], on=c["on"], by=c["by"], was=c["from"], now=c["to"]))
    for r in i.risks:
        for a in r["actions"]:
            if r["status"] != "closed" and a["status"] == "open" and a["due"] < i.as_of:
                found.append(_change("action_overdue", f"{r['id']} {r['title']}: {a['description'].rstrip('.')} "
                                     f"({a['owner']}) was due on {periods.day_label(a['due'])}",
                                     risk=r["id"], owner=a["owner"], due=a["due"]))
    agencies = {f.id: f.agency for f in i.catalogue.feeds}
    for row in late.sort("feed_id", "period").to_dicts():
        agency = agencies.get(row["feed_id"])
        found.append(_change("feed_late", f"{i.agency_names.get(agency, agency)}: {_feed_words(i, row['feed_id'])} "
                             f"{STATUS_WORDS[row['status']]} for {periods.label(row['period'])}",
                             feed=row["feed_id"], agency=agency, period=row["period"], status=row["status"]))
    order = list(CHANGE_KINDS)
    return sorted(found, key=lambda c: order.index(c["kind"]))  # stable: each kind keeps its own order


def grouped_changes(changes: Sequence[dict]) -> list[tuple[str, list[dict]]]:
    """The changes under their headings, in CHANGE_KINDS's order, kinds with none left out."""
    return [(title, found) for kind, (title, _page) in CHANGE_KINDS.items()
            if (found := [c for c in changes if c["kind"] == kind])]


def _touching(t: dict, changes: Sequence[dict]) -> list[str]:
    """The lines of the changes since the last Board that bear on one threat: its indicators' alerts, its risks,
    its feeds."""
    indicators = {e["indicator"] for e in t["evidence"]}
    return [c["line"] for c in changes
            if (c["kind"].startswith("alert_") and c["indicator"] in indicators) or c.get("risk") in t["risks"]
            or (c["kind"] == "feed_late" and c["feed"] in t["feeds"])]


def build_inputs(catalogue: Catalogue, config: PartnershipConfig, themes: Sequence[Theme], matrix: Matrix | None,
                 period: str, as_of: date, sources: dict) -> StaInputs:
    """StaInputs from what radar.models.threat_sources.read_sources read, judged as of `as_of`.

    Only what was known at the end of `period` counts for the data: alerts
    raised for a later month and files for later months are left out, so an
    assessment for an earlier month reads its data the same whenever it is
    asked for.  The register is the register as it stands (its current
    scores are ranked), with every edit made to it.
    """
    submissions = sources["submissions"].filter(pl.col("period") <= period)
    first = submissions["period"].drop_nulls().min() or period
    due_days = {f.id: config.due_day(catalogue, f.id) for f in catalogue.feeds}
    status = feed_status(expected_submissions(catalogue, due_days, first, period), submissions, as_of)
    board = last_board(config.threat_assessment.board_dates if config.threat_assessment else [], as_of)
    severity_at_board = {}
    for row in sources["attached"]:  # oldest first: the last one on or before the Board wins
        if board is not None and row["at"].date() <= board:
            severity_at_board[row["alert_key"]] = row["severity"]
    return StaInputs(
        catalogue=catalogue, themes=themes, period=period, as_of=as_of,
        board_dates=config.threat_assessment.board_dates if config.threat_assessment else [],
        series=sources["series"].filter(pl.col("latest_period") <= period),
        comparison=benchmark_comparison(**sources["comparison"], period=period),
        alerts=sources["alerts"].filter(pl.col("first_period") <= period),
        risks=[risk_view(r, matrix, as_of) for r in sources["risks"]] if matrix else [],
        score_changes=sources["score_changes"], risks_added=sources["risks_added"],
        severity_at_board=severity_at_board, feed_status=status,
        agency_names={key: agency.name for key, agency in config.agencies.items()},
    )


def report(i: StaInputs) -> dict:
    """The assessment as `radar sta --json` prints it and the Board pack and dashboard show it."""
    threats = [{k: t[k] for k in ("rank", "subject", "theme", "title", "score", "harm", "likelihood", "trend",
                                  "direction", "confidence", "reason", "evidence", "risks", "open_actions", "changed")}
               for t in assess(i)]
    return {"period": i.period, "as_of": i.as_of, "last_board": last_board(i.board_dates, i.as_of),
            "threats": threats, "changes_since_last_board": changes_since_last_board(i)}
