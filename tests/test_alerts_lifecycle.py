"""Every arrow of the alert lifecycle (pipelines.alerts.lifecycle), human actions and idempotency."""

from datetime import date

import polars as pl
import pytest

from radar.pipelines.alerts.lifecycle import (
    STATE_SCHEMA,
    TRANSITION_SCHEMA,
    acknowledge,
    empty_state,
    reconcile,
    silence,
)
from radar.pipelines.alerts.rule import CANDIDATE_SCHEMA, alert_ref

TODAY = date(2020, 4, 20)
SPC_KEY = "spc_shift|missing_episodes||E09000006"
FEED_KEY = "feed_late|||csc_monthly"


def candidate(key: str = SPC_KEY, message: str = "new words", period: str = "2020-03", since: str | None = None) -> dict:
    rule, indicator, breakdown, scope = key.split("|")
    return {
        "key": key, "rule": rule, "indicator": indicator or None, "breakdown": breakdown if indicator else None,
        "feed": "missing_episodes" if indicator else scope, "scope": scope, "period": period, "since": since or period,
        "severity": "medium", "subgroup": "pci", "message": message, "evidence": '{"value": 1}',
    }


def candidates(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=CANDIDATE_SCHEMA)


def state(status: str, key: str = SPC_KEY, **changes) -> pl.DataFrame:
    """One alert first raised in Jan 2020 and last seen in Feb 2020, in `status`."""
    alert = {column: None for column in STATE_SCHEMA} | candidate(key, message="old words") | {
        "status": status, "first_period": "2020-01", "last_period": "2020-02", "ref": alert_ref(key),
        "raised_on": date(2020, 2, 20),
    }
    alert.pop("period")
    alert.pop("since")
    return pl.DataFrame([alert | changes], schema=STATE_SCHEMA)


def run(existing: pl.DataFrame, *rows: dict, held=()) -> tuple[dict, list[tuple]]:
    new, moves = reconcile(existing, candidates(*rows), "2020-03", TODAY, held)
    assert new.schema == STATE_SCHEMA and moves.schema == TRANSITION_SCHEMA
    assert new.height == 1
    return new.row(0, named=True), moves.rows()


def test_a_new_candidate_opens_an_alert():
    alert, moves = run(empty_state(), candidate())
    assert (alert["status"], alert["first_period"], alert["last_period"], alert["message"]) == (
        "open", "2020-03", "2020-03", "new words",
    )
    assert moves == [(SPC_KEY, None, "open", "raised for 2020-03")]


@pytest.mark.parametrize("status", ["open", "acknowledged"])
def test_a_still_firing_alert_keeps_its_status_and_takes_the_new_text(status):
    alert, moves = run(state(status, acknowledged_by="PCI chair"), candidate())
    assert (alert["status"], alert["message"], alert["first_period"], alert["last_period"]) == (
        status, "new words", "2020-01", "2020-03",
    )
    assert moves == []


@pytest.mark.parametrize("status", ["open", "acknowledged"])
def test_an_alert_that_no_longer_fires_is_resolved(status):
    alert, moves = run(state(status))
    assert (alert["status"], alert["cleared_period"], alert["message"]) == ("resolved", "2020-03", "old words")
    assert moves == [(SPC_KEY, status, "resolved", "no longer fires in 2020-03")]


def test_a_resolved_alert_that_fires_again_reopens_under_the_same_key():
    before = state("resolved", cleared_period="2020-02", acknowledged_by="PCI chair", ack_note="chased")
    alert, moves = run(before, candidate())
    assert (alert["key"], alert["status"], alert["cleared_period"], alert["acknowledged_by"], alert["ack_note"]) == (
        SPC_KEY, "open", None, None, None,
    )
    assert alert["first_period"] == "2020-01"
    assert moves == [(SPC_KEY, "resolved", "open", "fires again in 2020-03")]


def test_a_resolved_alert_that_stays_quiet_is_unchanged():
    before = state("resolved", cleared_period="2020-02")
    alert, moves = run(before)
    assert alert == before.row(0, named=True)
    assert moves == []


@pytest.mark.parametrize("firing", [True, False])
def test_a_silenced_alert_stays_silenced_until_its_date(firing):
    before = state("silenced", silenced_reason="known: new recording system", silenced_until=TODAY)
    alert, moves = run(before, *([candidate()] if firing else []))
    assert (alert["status"], alert["silenced_until"]) == ("silenced", TODAY)
    assert alert["message"] == ("new words" if firing else "old words")
    assert moves == []


def test_after_its_silence_a_firing_alert_is_open_again():
    before = state("silenced", silenced_reason="known", silenced_until=date(2020, 4, 19))
    alert, moves = run(before, candidate())
    assert (alert["status"], alert["silenced_reason"], alert["silenced_until"]) == ("open", None, None)
    assert moves == [(SPC_KEY, "silenced", "open", "silence ended on 2020-04-19")]


def test_after_its_silence_a_quiet_alert_is_resolved():
    before = state("silenced", silenced_reason="known", silenced_until=date(2020, 4, 19))
    alert, moves = run(before)
    assert (alert["status"], alert["cleared_period"]) == ("resolved", "2020-03")
    assert moves == [(SPC_KEY, "silenced", "resolved", "silence ended on 2020-04-19; no longer fires in 2020-03")]


def test_an_alert_on_a_held_feed_is_not_resolved_for_want_of_data():
    alert, moves = run(state("open"), held=["missing_episodes"])
    assert (alert["status"], alert["last_period"]) == ("open", "2020-02")
    assert moves == []


def test_a_feed_alert_is_never_held_by_its_own_feed():
    alert, _moves = run(state("open", key=FEED_KEY), held=["csc_monthly"])
    assert alert["status"] == "resolved"


def test_reconcile_twice_with_the_same_inputs_changes_nothing_the_second_time():
    existing = pl.concat([
        state("open"),
        state("acknowledged", key="spc_trend|missing_episodes||E09000006"),
        state("resolved", key="spc_outside_limits|missing_episodes||E09000006", cleared_period="2020-02"),
        state("silenced", key="target_missed|rhi_completion_rate||E09000006", silenced_reason="r",
              silenced_until=date(2020, 4, 1)),
        state("silenced", key="spc_two_of_three|missing_episodes||E09000006", silenced_reason="r",
              silenced_until=date(2020, 6, 30)),
    ])
    firing = candidates(
        candidate(), candidate("spc_outside_limits|missing_episodes||E09000006"),
        candidate("target_missed|rhi_completion_rate||E09000006"), candidate(FEED_KEY),
    )
    once, moves = reconcile(existing, firing, "2020-03", TODAY)
    assert sorted((k, a, b) for k, a, b, _ in moves.rows()) == [
        (FEED_KEY, None, "open"),
        ("spc_outside_limits|missing_episodes||E09000006", "resolved", "open"),
        ("spc_trend|missing_episodes||E09000006", "acknowledged", "resolved"),
        ("target_missed|rhi_completion_rate||E09000006", "silenced", "open"),
    ]
    twice, moves = reconcile(once, firing, "2020-03", TODAY)
    assert twice.equals(once)
    assert moves.is_empty()


def test_a_rule_raising_the_same_key_twice_is_refused():
    with pytest.raises(ValueError, match="unique keys"):
        reconcile(empty_state(), candidates(candidate(), candidate()), "2020-03", TODAY)


# --- Human actions ---------------------------------------------------------------------------------


def test_acknowledging_an_open_alert_records_who_and_why():
    new, moves = acknowledge(state("open"), SPC_KEY, "PCI chair", "asked police for context")
    alert = new.row(0, named=True)
    assert (alert["status"], alert["acknowledged_by"], alert["ack_note"]) == (
        "acknowledged", "PCI chair", "asked police for context",
    )
    assert moves.rows() == [(SPC_KEY, "open", "acknowledged", "acknowledged by PCI chair: asked police for context")]


@pytest.mark.parametrize("status", ["acknowledged", "resolved", "silenced"])
def test_only_an_open_alert_can_be_acknowledged(status):
    with pytest.raises(ValueError, match=f"is {status}; only an open alert"):
        acknowledge(state(status), SPC_KEY, "PCI chair", "")


@pytest.mark.parametrize("status", ["open", "acknowledged"])
def test_silencing_an_open_or_acknowledged_alert(status):
    others = state("open", key=FEED_KEY)
    new, moves = silence(pl.concat([state(status), others]), SPC_KEY, "seasonal: school holidays", date(2020, 5, 31), TODAY)
    alert = new.filter(pl.col("key") == SPC_KEY).row(0, named=True)
    assert (alert["status"], alert["silenced_reason"], alert["silenced_until"]) == (
        "silenced", "seasonal: school holidays", date(2020, 5, 31),
    )
    assert new.filter(pl.col("key") == FEED_KEY).equals(others)
    assert moves.rows() == [(SPC_KEY, status, "silenced", "silenced until 2020-05-31: seasonal: school holidays")]


def test_invalid_silences_are_refused():
    with pytest.raises(ValueError, match="resolved and needs no silence"):
        silence(state("resolved"), SPC_KEY, "r", date(2020, 5, 31), TODAY)
    with pytest.raises(ValueError, match="already silenced until 2020-05-01"):
        silence(state("silenced", silenced_until=date(2020, 5, 1)), SPC_KEY, "r", date(2020, 5, 31), TODAY)
    with pytest.raises(ValueError, match="needs a reason"):
        silence(state("open"), SPC_KEY, "  ", date(2020, 5, 31), TODAY)


def test_actions_on_an_unknown_alert_or_without_a_name_are_refused():
    with pytest.raises(ValueError, match="no alert with id nope; `radar alerts --status all` lists"):
        acknowledge(state("open"), "nope", "PCI chair", "")
    with pytest.raises(ValueError, match="no alert with id nope; `radar alerts --status all` lists"):
        silence(state("open"), "nope", "r", date(2020, 5, 31), TODAY)
    with pytest.raises(ValueError, match="needs the name"):
        acknowledge(state("open"), SPC_KEY, "", "")


def test_a_new_alert_starts_in_the_month_its_cause_began_and_remembers_the_day_it_was_raised():
    alert, _ = run(empty_state(), candidate(since="2018-06"))
    assert (alert["first_period"], alert["last_period"], alert["raised_on"]) == ("2018-06", "2020-03", TODAY)
    assert alert["ref"] == alert_ref(SPC_KEY)


@pytest.mark.parametrize("status", ["open", "resolved"])
def test_a_still_firing_or_reopened_alert_keeps_when_it_was_first_raised(status):
    alert, _ = run(state(status), candidate(since="2019-11"))
    assert (alert["status"], alert["first_period"], alert["raised_on"]) == ("open", "2020-01", date(2020, 2, 20))


def test_the_short_id_people_type_finds_the_alert():
    ref = alert_ref(SPC_KEY)
    new, moves = acknowledge(state("open"), ref, "PCI chair", "on it")
    assert new.row(0, named=True)["status"] == "acknowledged" and moves["key"].to_list() == [SPC_KEY]
    new, moves = silence(state("open"), ref, "known", date(2020, 4, 21), TODAY)
    assert new.row(0, named=True)["silenced_until"] == date(2020, 4, 21) and moves["key"].to_list() == [SPC_KEY]


@pytest.mark.parametrize("until", [TODAY, date(2020, 4, 19), date(2019, 1, 1)])
def test_a_silence_must_end_in_the_future(until):
    with pytest.raises(ValueError, match=f"a silence must end after today \\(2020-04-20\\); {until.isoformat()}"):
        silence(state("open"), SPC_KEY, "known", until, TODAY)
