"""The strategic threat assessment, pure: every theme and every open risk scored, ranked and explained.

In the spirit of MoRiLE (the method UK police use for strategic
assessments), each threat is scored as harm x likelihood on the register's
1-5 scales, so a threat's score reads like a risk score:

- **harm** is the theme's judgement (radar/core/partnerships/*_threats.yaml),
  or the higher current impact of an open register risk sharing its
  indicators; for a register risk, its current impact;
- **likelihood** starts from the theme's judgement (or the higher current
  likelihood of a linked open risk: the register sets a floor) and the data
  moves it by the **trend**, clamped to 1-5;
- the **trend** is the weighted mean of each indicator's *pressure*:
  +1 for a concerning special cause on its SPC chart or a concern from the
  early warning (pipelines/early_warning.py; -1 for an improving special
  cause), the detectors named in the evidence, +1 for an open alert on it, +0.5 more when the oldest has been open
  3 months or longer, and +0.5 when it is worse than both England and the
  statistical neighbours (-0.5 when better than both).

A **confidence** rating says how far the data can be trusted: the mean of
completeness (the share of the threat's indicators with a value for the
month) and timeliness (its feeds' files for the month: on time 1, late 0.5,
missing or rejected 0); a register risk's own stated confidence caps it.

The same inputs always give the same ranking: score, then trend, then
confidence, then id.  Nothing here reads the store; flows and the CLI
gather `StaInputs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from radar.core import periods
from radar.core.catalogue import Catalogue
from radar.core.config import PartnershipConfig
from radar.core.register import Matrix
from radar.core.threats import Theme
from radar.pipelines import messages
from radar.pipelines.benchmarks import comparison
from radar.pipelines.feed_status import expected_submissions, feed_status
from radar.pipelines.messages import plural
from radar.pipelines.register import risk_view

ACTIVE = ("open", "acknowledged")
PERSISTING_MONTHS = 3  # an alert open this long adds to the pressure: it has not been dealt with
FEED_CREDIT = {"on_time": 1.0, "replaced": 1.0, "not_due": 1.0, "late": 0.5, "missing": 0.0, "rejected": 0.0}
LATE = ("late", "missing", "rejected")
STATUS_WORDS = {"late": "came late", "missing": "has not arrived", "rejected": "was rejected"}
CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}
STEADY = 0.25  # a trend smaller than this either way reads as steady


@dataclass(frozen=True)
class StaInputs:
    """What the assessment reads for one month (gathered from the store by radar.dashboard.board_pack.assessment)."""

    catalogue: Catalogue
    themes: Sequence[Theme]
    period: str
    as_of: date  # the day the assessment is made: overdue actions and the last Board are judged on it
    board_dates: Sequence[date]
    series: pl.DataFrame  # series totals: indicator, latest_period, latest_value, variation
    comparison: pl.DataFrame  # pipelines.benchmarks.comparison: indicator, year, la_value, national, sn_median
    alerts: pl.DataFrame  # key, ref, rule, indicator, feed, status, severity, message, first_period, raised_on, cleared_period
    risks: Sequence[dict]  # pipelines.register.risk_view rows
    score_changes: Sequence[dict]  # risk, on (date), by, from [l, i], to [l, i]: every re-score of a risk
    severity_at_board: Mapping[str, str]  # alert key -> its severity as last recorded on or before the last Board
    feed_status: pl.DataFrame  # pipelines.feed_status.feed_status: feed_id, period, due_date, status


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
        comparator = None
        if c.get("national") is not None or c.get("sn_median") is not None:
            parts = [f"{name} {value:g}" for name, value in (("here", c.get("la_value")), ("England", c.get("national")),
                                                             ("statistical neighbours", c.get("sn_median")))
                     if value is not None]
            comparator = f"{c['year']}: {', '.join(parts)}"
        found[indicator.id] = {
            "indicator": indicator.id, "name": indicator.name, "latest_period": s.get("latest_period"),
            "latest_value": s.get("latest_value"), "signal": words, "detectors": detectors, "comparator": comparator,
            "alerts": [a["ref"] for a in mine], "oldest_alert": oldest,
            "pressure": signal + (1.0 if mine else 0.0) + (0.5 if persisting else 0.0) + gap,
            "concern": signal > 0, "feed": indicator.feed,
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


def _reason(t: dict, concerns: int, alerts: int, oldest: str | None, floor_from: list[str], weak: list[str]) -> str:
    """At most two plain sentences: what the score rests on, then what the register or the data add."""
    drivers = []
    if concerns:
        drivers.append(f"{plural(concerns, 'indicator', 'indicators')} of {t['indicators']} showing a concerning special cause")
    if alerts:
        drivers.append(f"{plural(alerts, 'open alert', 'open alerts')}" + (f", the oldest since {periods.label(oldest)}" if oldest else ""))
    data = "; ".join(drivers) if drivers else "no concerning signal in its indicators"
    first = (f"Harm {t['harm']} of 5 and likelihood {t['likelihood']:g} of 5 give {t['score']:g}, "
             f"with {data}.")
    second = []
    if floor_from:
        second.append(f"its likelihood starts from {t['base']}, the register's score for {', '.join(floor_from)}")
    if t["confidence"] != "high":
        why = f" ({', '.join(weak)})" if weak else ""
        second.append(f"confidence is {t['confidence']}{why}")
    return first if not second else f"{first} {second[0][0].upper()}{second[0][1:]}{'; ' + second[1] if len(second) > 1 else ''}."


def _threat(key: str, theme: str, title: str, harm: int, base: int, weights: dict[str, float],
            evidence: dict[str, dict], risks: list[dict], i: StaInputs, floor_from: list[str],
            cap: str | None = None) -> dict:
    rows = [evidence[ind] for ind in weights]
    total = sum(weights.values())
    trend = round(sum(w * evidence[ind]["pressure"] for ind, w in weights.items()) / total, 2) if rows else 0.0
    likelihood = round(min(5.0, max(1.0, base + trend)), 2)
    confidence, confidence_value, weak = _confidence(rows, i, cap) if rows else (cap or "low", 0.0, [])
    t = {"id": key, "theme": theme, "title": title, "harm": harm, "base": base, "likelihood": likelihood,
         "score": round(harm * likelihood, 2), "trend": trend,
         "direction": "rising" if trend >= STEADY else "falling" if trend <= -STEADY else "steady",
         "confidence": confidence, "confidence_value": confidence_value, "indicators": len(rows)}
    active = [r for r in rows if r["alerts"]]
    oldest = min((r["oldest_alert"] for r in active), default=None)
    t["reason"] = _reason(t, sum(r["concern"] for r in rows), sum(len(r["alerts"]) for r in rows), oldest,
                          floor_from, weak)
    t["evidence"] = [{k: r[k] for k in ("indicator", "name", "latest_period", "latest_value", "signal",
                                        "comparator", "alerts", "pressure")} for r in rows]
    t["risks"] = [r["id"] for r in risks]
    t["open_actions"] = [{"risk": r["id"], "description": a["description"], "owner": a["owner"], "due": a["due"],
                          "overdue": a["due"] < i.as_of}
                         for r in risks for a in r["actions"] if a["status"] == "open"]
    t["feeds"] = sorted({r["feed"] for r in rows})
    return t


def assess(i: StaInputs) -> list[dict]:
    """Every theme and every open register risk as a threat, ranked (rank 1 first), each with what changed."""
    evidence = indicator_evidence(i)
    open_risks = [r for r in i.risks if r["status"] != "closed"]
    threats = []
    for theme in i.themes:
        weights = {ti.indicator: ti.weight for ti in theme.indicators}
        linked = [r for r in open_risks if set(r["linked_indicators"]) & weights.keys()]
        floor = max([theme.likelihood, *(r["current"]["likelihood"] for r in linked)])
        harm = max([theme.harm, *(r["current"]["impact"] for r in linked)])
        floor_from = [r["id"] for r in linked if r["current"]["likelihood"] == floor and floor > theme.likelihood]
        threats.append(_threat(theme.id, theme.id, theme.title, harm, floor, weights, evidence, linked, i, floor_from))
    for risk in open_risks:
        weights = dict.fromkeys(risk["linked_indicators"], 1.0)
        threats.append(_threat(risk["id"], "register", f"{risk['id']}: {risk['title']}", risk["current"]["impact"],
                               risk["current"]["likelihood"], weights, evidence, [risk], i, [],
                               cap=risk["confidence"]))
    changes = changes_since_last_board(i)
    for t in threats:
        t["changed"] = _touching(t, changes, i)
    threats.sort(key=lambda t: (-t["score"], -t["trend"], CONFIDENCE_ORDER[t["confidence"]], t["id"]))
    return [{"rank": n} | t for n, t in enumerate(threats, 1)]


def changes_since_last_board(i: StaInputs) -> dict:
    """What the Board has not yet seen: alerts new, escalated, de-escalated or resolved since it met, risks
    re-scored, actions overdue and agencies late.  Empty lists before the first Board."""
    board = last_board(i.board_dates, i.as_of)
    found = {"last_board": board, "new_alerts": [], "escalated": [], "de_escalated": [], "resolved": [],
             "risk_score_changes": [], "overdue_actions": [], "late_agencies": []}
    if board is None:
        return found
    agencies = {f.id: f.agency for f in i.catalogue.feeds}
    for a in i.alerts.filter(~pl.col("rule").str.starts_with("improvement_")).sort("key").to_dicts():
        row = {k: a[k] for k in ("ref", "indicator", "feed", "severity", "message")}
        if a["status"] in ACTIVE and a["raised_on"] is not None and a["raised_on"] > board:
            found["new_alerts"].append(row)
        elif a["status"] == "resolved" and a["cleared_period"] and a["cleared_period"] >= periods.of_date(board):
            found["resolved"].append(row)
        elif a["status"] in ACTIVE and a["key"] in i.severity_at_board:
            before, now = SEVERITY_RANK[i.severity_at_board[a["key"]]], SEVERITY_RANK[a["severity"]]
            if now != before:
                found["escalated" if now > before else "de_escalated"].append(row | {"was": i.severity_at_board[a["key"]]})
    for c in sorted(i.score_changes, key=lambda c: (c["on"], c["risk"])):
        if c["on"] > board and c["from"] != c["to"]:
            found["risk_score_changes"].append(c)
    for r in i.risks:
        for a in r["actions"]:
            if r["status"] != "closed" and a["status"] == "open" and a["due"] < i.as_of:
                found["overdue_actions"].append({"risk": r["id"], "description": a["description"],
                                                 "owner": a["owner"], "due": a["due"]})
    late = i.feed_status.filter(pl.col("status").is_in(LATE) & (pl.col("due_date") > board))
    for row in late.sort("feed_id", "period").to_dicts():
        found["late_agencies"].append({"agency": agencies.get(row["feed_id"]), "feed": row["feed_id"],
                                       "period": row["period"], "status": row["status"]})
    return found


def _touching(t: dict, changes: dict, i: StaInputs) -> list[str]:
    """The changes since the last Board that bear on one threat, each as a short phrase."""
    indicators = {e["indicator"] for e in t["evidence"]}
    said = []
    for kind, words in (("new_alerts", "new alert"), ("escalated", "escalated"), ("de_escalated", "de-escalated"),
                        ("resolved", "resolved")):
        said += [f"{words} {a['ref']} on {a['indicator']}" for a in changes[kind] if a["indicator"] in indicators]
    said += [f"{c['risk']} re-scored {c['from'][0]}x{c['from'][1]} → {c['to'][0]}x{c['to'][1]} on {c['on']}"
             for c in changes["risk_score_changes"] if c["risk"] in t["risks"]]
    said += [f"overdue action on {a['risk']} (due {a['due']})" for a in changes["overdue_actions"]
             if a["risk"] in t["risks"]]
    late = sorted({f"{_feed_words(i, a['feed'])} {STATUS_WORDS.get(a['status'], a['status'])} for "
                   f"{periods.label(a['period'])}" for a in changes["late_agencies"] if a["feed"] in t["feeds"]})
    return said + late


def build_inputs(catalogue: Catalogue, config: PartnershipConfig, themes: Sequence[Theme], matrix: Matrix | None,
                 period: str, as_of: date, sources: dict) -> StaInputs:
    """StaInputs from what radar.models.threat_sources.read_sources read, judged as of `as_of`.

    Only what was known at the end of `period` counts: alerts raised for a
    later month and files for later months are left out, so an assessment
    for an earlier month is the same whenever it is asked for.
    """
    la_code = config.partnership.la_code
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
        comparison=comparison(sources["benchmarks"], la_code, config.partnership.old_la_code, sources["neighbours"]),
        alerts=sources["alerts"].filter(pl.col("first_period") <= period),
        risks=[risk_view(r, matrix, as_of) for r in sources["risks"]] if matrix else [],
        score_changes=[c for c in sources["score_changes"] if c["on"] <= as_of],
        severity_at_board=severity_at_board, feed_status=status,
    )


def report(i: StaInputs) -> dict:
    """The assessment as `radar sta --json` prints it and the Board pack and dashboard show it."""
    changes = changes_since_last_board(i)
    threats = [{k: t[k] for k in ("rank", "theme", "title", "score", "harm", "likelihood", "trend", "direction",
                                  "confidence", "reason", "evidence", "risks", "open_actions", "changed")}
               for t in assess(i)]
    return {"period": i.period, "as_of": i.as_of, "last_board": changes.pop("last_board"), "threats": threats,
            "changes_since_last_board": changes}
