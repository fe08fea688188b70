"""Inhibition (pipelines.alerts.inhibition) and the alert vocabulary (radar.core.alert_vocabulary), each defined once.

The cycle (hold_back), the lifecycle (reconcile) and notification (plan)
must hold back the same alerts while a feed's file is late or rejected, and
every floor must read an alert's statuses and severity order from the
ground floor rather than spell them out again.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl
from feedfiles import PROJECT_ROOT

from radar.core.alert_settings import ALERTS_FILE, parse_alert_settings
from radar.core.alert_vocabulary import ACTIVE, ALERT_STATUSES, SEVERITIES, severity_rank
from radar.core.catalogue import load_catalogue
from radar.core.config import DEFAULT_CONFIG, load_config
from radar.pipelines import notify
from radar.pipelines import register as register_rules
from radar.pipelines.alerts.feeds import feed_alerts
from radar.pipelines.alerts.inhibition import held_feeds, hold_back, is_held
from radar.pipelines.alerts.lifecycle import empty_state, reconcile
from radar.pipelines.alerts.rule import CANDIDATE_SCHEMA, alert_key
from radar.pipelines.alerts.sources import source_unreachable

SETTINGS = parse_alert_settings(ALERTS_FILE.read_text(encoding="utf-8"))
CATALOGUE = load_catalogue()
CONFIG = load_config(DEFAULT_CONFIG)
LA = "E09000006"
TODAY = date(2020, 4, 20)
# The police file for March 2020 was rejected; health's arrived.
STATUS = pl.DataFrame({"feed_id": ["police_monthly", "health_monthly"], "period": ["2020-03", "2020-03"],
                       "due_date": [date(2020, 4, 10)] * 2, "status": ["rejected", "on_time"]})


def indicator_candidate(rule: str, indicator: str, feed: str | None, subgroup: str) -> dict:
    return {"key": alert_key(rule, indicator, "", LA), "rule": rule, "indicator": indicator, "breakdown": "",
            "feed": feed, "scope": LA, "period": "2020-03", "since": "2020-03", "severity": "medium",
            "subgroup": subgroup, "message": f"{indicator} needs a look.", "evidence": "{}"}


def month_candidates() -> pl.DataFrame:
    """A month's candidates: the police feed's own alerts (rejected file, unreachable source), alerts on its data,
    and alerts on another feed's data and on DfE's (no feed)."""
    return pl.concat([
        feed_alerts(STATUS, CATALOGUE, "2020-03", SETTINGS),
        source_unreachable({"police_monthly": 3}, CATALOGUE, "2020-03", SETTINGS),
        pl.DataFrame([
            indicator_candidate("spc_trend", "sexual_offences", "police_monthly", "spr"),
            indicator_candidate("target_missed", "da_offences", "police_monthly", "spr"),
            indicator_candidate("spc_shift", "self_harm_attendances", "health_monthly", "health"),
            indicator_candidate("benchmark_gap", "cpp_repeat_rate", None, "spr"),
        ], schema=CANDIDATE_SCHEMA),
    ]).sort("key")


def test_an_unreachable_source_is_not_held_back_by_the_late_or_rejected_file_it_explains():
    # The source alert is about the feed's delivery, as feed_late and feed_rejected are: it says what to fix
    # (address, credentials), so holding it back while the file is missing hid the cause exactly when it mattered.
    held = held_feeds(STATUS, "2020-03")
    assert held == ["police_monthly"]
    unreachable = source_unreachable({"police_monthly": 3}, CATALOGUE, "2020-03", SETTINGS)
    assert hold_back(unreachable, held)["rule"].to_list() == ["source_unreachable"]
    # ... and once the source answers again its alert resolves, though the month's file is still missing.
    state, _ = reconcile(empty_state(), unreachable, "2020-03", TODAY)
    state, _ = reconcile(state, unreachable.clear(), "2020-04", TODAY, held)
    assert state["status"].to_list() == ["resolved"]


def test_the_cycle_the_lifecycle_and_notification_hold_back_the_same_alerts():
    candidates = month_candidates()
    held = held_feeds(STATUS, "2020-03")
    raised = set(hold_back(candidates, held)["key"])
    on_police_data = {alert_key("spc_trend", "sexual_offences", "", LA), alert_key("target_missed", "da_offences", "", LA)}
    assert raised == set(candidates["key"]) - on_police_data

    # The lifecycle: alerts open since February that no longer fire resolve, except the held ones.
    state, _ = reconcile(empty_state(), candidates, "2020-02", TODAY)
    later, _ = reconcile(state, candidates.clear(), "2020-03", TODAY, held)
    assert set(later.filter(pl.col("status") == "resolved")["key"]) == raised
    assert set(later.filter(pl.col("status") == "open")["key"]) == on_police_data

    # Notification: of the month's open alerts, the held ones are not sent.
    state, _ = reconcile(empty_state(), candidates, "2020-03", TODAY)
    alerts = state.with_columns(escalated_on=pl.lit(None, pl.Date)).to_dicts()
    messages, _ = notify.plan(alerts, [], {}, held, notify.Context(CONFIG, CATALOGUE, "2020-03", TODAY))
    assert {key for m in messages for key in m["alerts"]} == raised
    assert {a["key"] for a in alerts if not is_held(a, held)} == raised


def test_severity_order_is_one_order_most_severe_first():
    assert SEVERITIES == ("high", "medium", "low")
    assert sorted(SEVERITIES, key=severity_rank) == ["low", "medium", "high"]
    assert severity_rank(None) < severity_rank("low")
    # The register: a higher severity than last seen escalates, a lower one is not news.
    seen = [("R01", "k", "open", "medium")]
    alert = {"key": "k", "indicator": "i", "last_period": "2020-03", "message": "m", "status": "open"}
    assert [e["change"] for e in register_rules.new_evidence({"R01": ["i"]}, [alert | {"severity": "high"}], seen)] \
        == ["escalated"]
    assert register_rules.new_evidence({"R01": ["i"]}, [alert | {"severity": "low"}], seen) == []
    assert set(ACTIVE) < set(ALERT_STATUSES)


SPELT_OUT = {
    "the active set": re.compile(r"""\(\s*["']open["'],\s*["']acknowledged["']\s*\)"""),
    "the severities": re.compile(r"""["']high["'],\s*["']medium["'],\s*["']low["']"""),
    "a severity order": re.compile(r"""\{\s*["'](?:high|low)["']:\s*\d+,\s*["']medium["']"""),
    "the statuses": re.compile(r"""["']resolved["'],\s*["']silenced["']|silenced\s*=\s*["']silenced["']"""),
}


def test_the_alert_vocabulary_is_spelt_out_only_in_the_ground_floor():
    """No module of Radar's spells out the active set, the severities, a severity order or the statuses again."""
    home = PROJECT_ROOT / "radar" / "core" / "alert_vocabulary.py"
    found = []
    for folder in ("radar", "pipelines", "flows", "models", "dashboard", "validation"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            if path == home or "migrations" in path.parts:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            # A risk's confidence is also high, medium or low: it is not a severity.
            text = "\n".join(line for line in lines if "confidence" not in line.lower())
            found += [f"{path.relative_to(PROJECT_ROOT)}: {what}" for what, spelt in SPELT_OUT.items()
                      if spelt.search(text)]
    assert found == []
    # The patterns do find the spellings: the ground floor's own, and the rank the register and the threat
    # assessment each kept (`{"low": 0, "medium": 1, "high": 2}`).
    ground = home.read_text(encoding="utf-8")
    assert all(SPELT_OUT[what].search(ground) for what in ("the active set", "the severities", "the statuses"))
    assert SPELT_OUT["a severity order"].search('SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}')
