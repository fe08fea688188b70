"""Publication-mode disclosure control (pipelines.disclosure): DfE's primary and secondary suppression."""

from radar.pipelines.disclosure import suppress_parts


def test_counts_from_one_to_five_are_c_and_zero_is_shown():
    assert suppress_parts([0, 6, 12], 18) == (["0", "6", "12"], "18")
    assert suppress_parts([3, 5, 40, 12], 60) == (["c", "c", "40", "12"], "60")


def test_a_lone_hidden_part_takes_the_smallest_other_with_it():
    # 4 alone would be 60 - 40 - 16; hiding 16 too leaves two unknowns.
    assert suppress_parts([4, 40, 16], 60) == (["c", "40", "c"], "60")


def test_a_small_total_hides_every_nonzero_part_and_the_input_is_untouched():
    parts = [0, 2, 1]
    assert suppress_parts(parts, 3) == (["0", "c", "c"], "c")
    assert parts == [0, 2, 1]
    assert suppress_parts([None, 7], None) == (["x", "7"], "x")
