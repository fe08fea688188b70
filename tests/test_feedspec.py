"""The feed specification (docs/feeds.md) says everything the catalogue and Bromley's config say, and is current."""

from datetime import date

import pytest
from feedfiles import PROJECT_ROOT

from radar.core.catalogue import load_catalogue
from radar.core.config import DEFAULT_CONFIG, load_config
from radar.feedspec import _due_date, render_feed_spec

COMMITTED = PROJECT_ROOT / "docs" / "feeds.md"


@pytest.fixture(scope="module")
def spec():
    return render_feed_spec(load_catalogue(), load_config(DEFAULT_CONFIG))


def section(spec: str, heading: str) -> str:
    """The text under one `## ` heading, up to the next one."""
    start = spec.index(f"\n## {heading}")
    end = spec.find("\n## ", start + 1)
    return spec[start: end if end != -1 else None]


def code_block(text: str, after: str) -> list[str]:
    """The lines of the first ``` block following `after`."""
    rest = text[text.index(after):]
    opening = rest.index("```\n") + 4
    return rest[opening: rest.index("\n```", opening)].splitlines()


def test_every_feed_has_its_own_section(spec, catalogue):
    for feed in catalogue.feeds:
        assert f"\n## `{feed.id}`: {feed.name}\n" in spec


def test_every_sent_indicator_is_listed_in_its_feed_with_its_breakdown_values(spec, catalogue):
    for feed in catalogue.feeds:
        text = section(spec, f"`{feed.id}`")
        for ind in catalogue.sent_indicators(feed.id):
            values = catalogue.breakdown_values(ind)
            shown = ", ".join(f"`{v}`" for v in values) if values else "none — leave breakdown empty"
            assert f"| `{ind.id}` | {ind.name} | {ind.definition} | {shown} |" in text


def test_aggregate_feeds_give_the_exact_header_and_row_count(spec):
    csc = section(spec, "`csc_monthly`")
    assert code_block(csc, "### Header") == ["period,indicator,breakdown,value"]
    # 30 indicators: cpp_open has 5 breakdown values, the other 29 one row each.
    assert "34 rows in all" in csc
    assert "1 row in all" in section(spec, "`substance_misuse_monthly`")
    assert "30 rows in all" in section(spec, "`board_attendance`")  # 2 indicators x 15 board members


def test_every_record_column_is_in_the_header_and_the_column_table(spec, catalogue):
    for feed in (f for f in catalogue.feeds if f.kind == "records"):
        text = section(spec, f"`{feed.id}`")
        assert code_block(text, "### Header") == [",".join(c.name for c in feed.columns)]
        for col in feed.columns:
            assert f"| `{col.name}` |" in text


def test_record_rules_name_the_key_period_dates_order_and_implication(spec):
    missing = section(spec, "`missing_episodes`")
    assert "- One row per `episode_id`: each value appears once in the file." in missing
    assert "- `start_date` falls inside the file's month." in missing
    assert "- `end_date`, when given, is not before `start_date`." in missing
    assert "- `rhi_completed` can be `true` only when `rhi_offered` is `true`." in missing
    assert ("- Never empty: `episode_id`, `child_ref`, `start_date`, `looked_after`, `rhi_offered`, "
            "`rhi_completed`.") in missing
    assert "`received_date` falls inside the file's month." in section(spec, "`lado_referrals`")


def test_bromley_due_days_come_from_the_partnership_config(spec):
    # bromley.toml: mash_contacts 7, health_monthly 15, cdop_monthly 20 (the catalogue default is 10).
    mash, health = section(spec, "`mash_contacts`"), section(spec, "`health_monthly`")
    assert "day 7 of the following month, e.g. the March 2024 file by 7 April 2024" in mash
    assert "day 15 of the following month, e.g. the March 2024 file by 15 April 2024" in health
    assert "day 20 of the following month" in section(spec, "`cdop_monthly`")
    assert "| `education_monthly` | Education welfare monthly return | Education and education welfare: " \
           "Bromley Education Welfare Service | monthly | 12 |" in spec


def test_due_date_rolls_into_the_next_year():
    assert _due_date("2024-12", 7) == "7 January 2025"
    assert _due_date("2024-03", 20) == "20 April 2024"


def test_part_and_whole_pairs_are_the_percentages_of_two_sent_figures(spec):
    csc = section(spec, "`csc_monthly`")
    assert "`swa_within_45_days` may not be above `swa_completed`" in csc
    assert "`care_leavers_eet` may not be above `care_leavers`" in csc
    assert "`adoption_days_total` may not be above" not in csc  # an average in days: total days exceed placements
    assert "`cin_open` may not be above" not in csc  # a rate per population
    assert "`board_seats_filled` may not be above `board_seats` (for each `board_member` value)" in section(
        spec, "`board_attendance`")
    assert "may not be above" not in section(spec, "`police_monthly`")


def test_aggregate_examples_use_sent_indicators_and_valid_breakdowns(spec, catalogue):
    for feed in (f for f in catalogue.feeds if f.kind == "aggregate"):
        rows = code_block(section(spec, f"`{feed.id}`"), "### Example")
        assert rows[0] == "period,indicator,breakdown,value"
        sent = {i.id: i for i in catalogue.sent_indicators(feed.id)}
        assert 1 <= len(rows) - 1 <= 3
        for row in rows[1:]:
            period, indicator, breakdown, value = row.split(",")
            assert period == "2024-03" and int(value) >= 0
            assert breakdown in (catalogue.breakdown_values(sent[indicator]) or ("",))
    assert code_block(section(spec, "`training_monthly`"), "### Example")[1:] == [
        "2024-03,elearning_completions,,40",
        "2024-03,training_attendance,social_care,25",
        "2024-03,training_attendance,police,10",
    ]


def test_record_examples_pass_the_feeds_own_rules(spec, catalogue):
    for feed in (f for f in catalogue.feeds if f.kind == "records"):
        lines = code_block(section(spec, f"`{feed.id}`"), "### Example")
        names = lines[0].split(",")
        rows = [dict(zip(names, line.split(","))) for line in lines[1:]]
        assert len({r[feed.key] for r in rows}) == len(rows) == 3
        for row in rows:
            for col in feed.columns:
                value = row[col.name]
                assert value or not col.required
                if col.in_period:
                    assert value.startswith("2024-03-")
                if col.not_before and value:
                    assert date.fromisoformat(value) >= date.fromisoformat(row[col.not_before])
                if col.implies and value == "true":
                    assert row[col.implies] == "true"
                if col.dimension:
                    assert value in catalogue.column_values(col)
    last_episode = code_block(section(spec, "`missing_episodes`"), "### Example")[3]
    assert last_episode == "EPISODE1003,CHILD1003,2024-03-22,,true,true,true"


def test_computed_indicators_show_their_formula_and_counting(spec):
    computed = section(spec, "Indicators Radar computes")
    assert "| `cin_rate` | Children in need per 10,000 children | `csc_monthly` | " \
           "`cin_open` ÷ children aged 0-17 (ONS mid-year estimate) × 10,000 | per 10,000 children |" in computed
    assert "`swa_within_45_days` ÷ `swa_completed` × 100 | percent |" in computed
    assert "`adoption_days_total` ÷ `adoption_placements` | days (average) |" in computed
    assert "`mash_referrals` ÷ `mash_enquiries` × 100, for each `mash_source` value" in computed
    assert "rows in the month's file where `outcome` is `referral_to_csc`, by `source` |" in computed
    assert "distinct pseudonymised `child_ref` values in the month's file |" in computed
    assert "rows in the month's file where `looked_after` is `true` |" in computed


def test_intro_states_the_file_contract_and_the_arrival_promises(spec):
    intro = spec[: spec.index("\n## Feeds")]
    for promise in ("`<feed_id>__<YYYY-MM>.csv`", "UTF-8 with a byte-order mark", "Windows-1252",
                    "only the first sheet is read", "accepted whole or rejected whole",
                    "Sending the same file twice changes nothing", "replaces the earlier one",
                    "keyed pseudonym on arrival and never stored", "Formulas are stored as text",
                    "held for 30 days", "at most 150 MB"):
        assert promise in intro


def test_committed_feed_spec_is_current(spec):
    """docs/feeds.md is what agencies receive: regenerate it with `radar docs` after changing the catalogue."""
    assert COMMITTED.read_text(encoding="utf-8") == spec


def test_examples_pass_radars_own_validation(spec, catalogue, tmp_path):
    """A data lead copying an example gets no problem but the rows an aggregate example leaves out."""
    from radar.validation.feeds import validate_file

    for feed in catalogue.feeds:
        path = tmp_path / f"{feed.id}__2024-03.csv"
        path.write_text("\n".join(code_block(section(spec, f"`{feed.id}`"), "### Example")) + "\n", encoding="utf-8")
        result = validate_file(path, catalogue, max_bytes=1024 * 1024)
        rows_due = sum(len(catalogue.breakdown_values(i)) or 1 for i in catalogue.sent_indicators(feed.id))
        complete = feed.kind == "records" or rows_due <= 3  # e.g. health_monthly: 3 indicators, 3 rows
        assert set(result.problem_counts) == (set() if complete else {"missing_indicator"}), feed.id
