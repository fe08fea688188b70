"""Golden tests for how alerts write numbers and months, and for the alert settings file."""

from datetime import date

import pytest
from pydantic import ValidationError

from radar.core.alert_settings import ALERTS_FILE, parse_alert_settings
from radar.pipelines import messages


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (53.0, "percent", "53.0%"),
        (52.96, "percent", "53.0%"),
        (39.24, "rate_per_10k", "39.2 per 10,000 children"),
        (426.4, "days", "426 days"),
        (1234.0, "count", "1,234"),
        (41.25, "count", "41"),  # a count of children is whole, even as a mean or a limit
        (3726.1, "count", "3,726"),
        (7.0, "count", "7"),
    ],
)
def test_numbers_carry_their_unit(value, unit, text):
    assert messages.number(value, unit) == text


def test_a_usual_range_writes_the_unit_once_and_never_goes_below_zero():
    assert messages.value_range(-2.4, 35.0, "count") == "0 to 35"
    assert messages.value_range(6254.0, 9951.4, "count") == "6,254 to 9,951"
    assert messages.value_range(40.0, 60.25, "percent") == "40.0% to 60.2%"
    assert messages.value_range(30.12, 50.2, "rate_per_10k") == "30.1 to 50.2 per 10,000 children"
    assert messages.value_range(300.0, 420.0, "days") == "300 to 420 days"


def test_names_breakdowns_and_lists():
    assert messages.series_name("Child deaths", "") == "Child deaths"
    assert messages.series_name("Plans", "emotional_abuse") == "Plans (emotional abuse)"
    assert messages.feed_title("MASH contacts (one row per contact)") == "MASH contacts"
    assert messages.indicator_list(["A"]) == "A"
    assert messages.indicator_list(["A", "B"]) == "A and B"
    assert messages.indicator_list(["A", "B", "C"]) == "A, B and C"
    assert messages.indicator_list(["A", "B", "C", "D", "E"]) == "A, B and 3 other indicators"
    assert messages.plural(1, "child", "children") == "1 child"
    assert messages.plural(1200, "child", "children") == "1,200 children"


def test_evidence_is_stable_json_with_sorted_keys():
    text = messages.evidence(upper=31.32823, value=40.0, when=date(2020, 3, 1), p=0.000001234567, ids=("a", "b"))
    assert text == '{"ids": ["a", "b"], "p": 1.23457e-06, "upper": 31.3282, "value": 40.0, "when": "2020-03-01"}'


def test_the_packaged_settings_file_is_valid_and_says_what_the_brief_says():
    settings = parse_alert_settings(ALERTS_FILE.read_text(encoding="utf-8"))
    # Severities are the rules' own defaults (pipelines.alerts.registry); the file overrides none.
    assert settings.severity == {}
    assert settings.benchmark_gap.margin == 0.10
    assert settings.setting_concentration.window_months == 6
    assert settings.setting_concentration.min_referrals == 3
    assert settings.repeat_missing.window_days == 90
    assert settings.small_numbers.min_children == 10
    assert settings.spc_settings().run_length == 7


def test_a_typo_or_a_bad_severity_in_the_settings_is_an_error():
    text = ALERTS_FILE.read_text(encoding="utf-8")
    with pytest.raises(ValidationError, match="extra_forbidden"):
        parse_alert_settings(text.replace("margin: 0.10", "margn: 0.10"))
    with pytest.raises(ValidationError, match="small_numbers"):
        parse_alert_settings(text.replace("small_numbers:\n  min_children: 10\n", ""))
    with pytest.raises(ValidationError, match="literal_error"):
        parse_alert_settings(text.replace("severity: {}", "severity: {benchmark_gap: urgent}"))
