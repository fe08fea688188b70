"""Publication-mode disclosure control (pipelines.disclosure): DfE's primary and secondary suppression, on counts of
children only, with which figures count children read from the catalogue."""

import polars as pl
import pytest
import yaml

from radar.core.catalogue import CATALOGUE_FILE, Catalogue, load_catalogue
from radar.pipelines.disclosure import names_few_children, resting_on_few, suppress_parts

CATALOGUE = load_catalogue()


def test_counts_from_one_to_five_are_c_and_zero_is_shown():
    assert suppress_parts([0, 6, 12], 18) == (["0", "6", "12"], "18")
    assert suppress_parts([3, 5, 40, 12], 60) == (["c", "c", "40", "12"], "60")


def test_a_lone_hidden_part_takes_the_smallest_other_with_it():
    # 4 alone would be 60 - 40 - 16; hiding 16 too leaves two unknowns.
    assert suppress_parts([4, 40, 16], 60) == (["c", "40", "c"], "60")


def test_hidden_parts_that_could_be_solved_for_take_more_with_them():
    # 10, c, 0, c, 12: two hidden parts of at least 1 summing to 2 are both 1; hiding 10 leaves 12 across three.
    assert suppress_parts([10, 1, 0, 1], 12) == (["c", "c", "0", "c"], "12")
    # Two hidden parts summing to 5 (60 - 40 - 15) are a small count together: 15 goes too.
    assert suppress_parts([40, 2, 3, 15], 60) == (["40", "c", "c", "c"], "60")
    # Hidden parts summing to more than the threshold (2 + 4 = 6) are safe as they are: each lies from 1 to 5.
    assert suppress_parts([40, 2, 4, 14], 60) == (["40", "c", "c", "14"], "60")
    # Seven parts of 1: their sum, 7, is above the threshold but pins each of them to 1, so 50 goes too.
    assert suppress_parts([50, 1, 1, 1, 1, 1, 1, 1], 57)[0] == ["c"] * 8


def test_the_threshold_is_the_partnerships():
    assert suppress_parts([7, 40], 47, threshold=10) == (["c", "c"], "47")
    assert suppress_parts([7, 40], 47, threshold=5) == (["7", "40"], "47")


def test_a_small_total_hides_every_nonzero_part_and_the_input_is_untouched():
    parts = [0, 2, 1]
    assert suppress_parts(parts, 3) == (["0", "c", "c"], "c")
    assert parts == [0, 2, 1]
    assert suppress_parts([None, 7], None) == (["x", "7"], "x")


def test_which_figures_rest_on_children_comes_from_the_catalogue():
    """A count of children or of events about one child rests on itself; a rate per 10,000 on its count (not the
    population); an average of days on its children; crimes, allegations against adults and seats on none."""
    assert CATALOGUE.child_bases("custodial_sentences") == ("value",)
    assert CATALOGUE.child_bases("cla_open") == ("value",)
    assert CATALOGUE.child_bases("cin_rate") == ("numerator",)
    assert CATALOGUE.child_bases("adoption_timeliness") == ("denominator",)
    assert CATALOGUE.child_bases("cpp_repeat_rate") == ("numerator", "denominator")
    assert [CATALOGUE.child_bases(i) for i in ("da_offences", "lado_referrals", "board_attendance_rate")] == [(), (), ()]
    rows = [("custodial_sentences", "", "2020-02", 0.0, None, None), ("custodial_sentences", "", "2020-03", 1.0, None, None),
            ("custodial_sentences", "x", "2020-01", 2.0, None, None),  # a breakdown: judged with its total
            ("da_offences", "", "2020-03", 2.0, None, None), ("cin_rate", "", "2020-03", 0.4, 3.0, 74000.0),
            ("adoption_timeliness", "", "2020-03", 476.0, 476.0, 1.0), ("cpp_repeat_rate", "", "2020-03", 10.0, 6.0, 60.0)]
    values = pl.DataFrame(rows, schema=["indicator", "breakdown", "period", "value", "numerator", "denominator"],
                          orient="row")
    few = resting_on_few(values, CATALOGUE, 5)
    assert sorted(few.iter_rows()) == [("adoption_timeliness", "2020-03"), ("cin_rate", "2020-03"),
                                       ("custodial_sentences", "2020-03")]


def test_every_counted_indicator_says_what_it_counts_and_a_derived_one_does_not():
    raw = yaml.safe_load(CATALOGUE_FILE.read_text())
    counted = next(i for i in raw["indicators"] if i["id"] == "custodial_sentences")
    del counted["counts"]
    with pytest.raises(ValueError, match="custodial_sentences: a counted indicator says what it counts"):
        Catalogue.model_validate(raw)
    counted["counts"] = "sentences"  # not a kind the catalogue knows
    with pytest.raises(ValueError):
        Catalogue.model_validate(raw)
    counted["counts"] = "child_events"
    next(i for i in raw["indicators"] if i["id"] == "cin_rate")["counts"] = "children"
    with pytest.raises(ValueError, match="cin_rate"):
        Catalogue.model_validate(raw)


def test_a_sentence_naming_few_children_is_found():
    assert names_few_children("Average days stood at 476 days in Mar 2020, based on 1 child.", 5)
    assert names_few_children("3 children went missing three times or more in 90 days.", 5)
    assert not names_few_children("12 children went missing three times in the 90 days to 31 Mar 2020.", 5)
