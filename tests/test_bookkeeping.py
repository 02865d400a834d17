"""The bookkeeper's arithmetic: which messages moving read marks passed over."""

from chatapp.bookkeeping import PassedOver


def test_the_ids_passed_over_are_each_marks_span_after_its_old_mark_up_to_its_new():
    passed = PassedOver([(10, 20), (5, 8), (15, 30), (40, 41), (30, 32)])
    assert [each for each in range(50) if each in passed] == [*range(6, 9), *range(11, 33), 41]
    assert (passed.start, passed.end) == (5, 41)


def test_a_span_inside_another_passes_over_nothing_more():
    passed = PassedOver([(0, 100), (12, 14)])
    assert all(each in passed for each in range(1, 101))
    assert (0 in passed, 101 in passed, passed.end) == (False, False, 100)


def test_no_moves_pass_over_nothing():
    assert not PassedOver([])
    assert 1 not in PassedOver([])
