"""Properties of the naming rule, tried on many generated names (hypothesis)."""

import unicodedata
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from chatapp.names import (
    MAX_NAME_LENGTH,
    InvalidName,
    _prototypes,
    has_hidden_characters,
    name_key,
    normalise_name,
    skeleton,
)

# Letters and digits of several scripts, and the characters that must never get in.
TRICKY = (
    "\u00ad\u034f\u061c\u115f\u1160\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b"
    "\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\u3164\ufe0f\ufeff\uffa0"
    "\x00\x07\x1b\x7f\x85\u2028\u2029\ue000\U000e0041"
)
names = st.text(
    alphabet=st.one_of(
        st.characters(categories=["L", "N"]),
        st.sampled_from("_-./\\ @<>&"),
        st.sampled_from(TRICKY),
    ),
    max_size=MAX_NAME_LENGTH + 4,
)


def accepted(raw):
    """The normalised name, or None when the rule refuses it."""
    try:
        return normalise_name(raw)
    except InvalidName:
        return None


def lookalikes():
    """Characters that look alike, grouped by the skeleton they share."""
    groups = defaultdict(set)
    for char in list(_prototypes()) + [chr(c) for c in range(0x21, 0x7F)]:
        if len(char) == 1:
            groups[skeleton(char)].add(char)
    return {key: sorted(chars) for key, chars in groups.items() if len(chars) > 1}


LOOKALIKES = lookalikes()
ASCII_WITH_LOOKALIKES = sorted(
    c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if skeleton(c) in LOOKALIKES
)


@settings(max_examples=400)
@given(names)
def test_normalising_twice_changes_nothing(raw):
    name = accepted(raw)
    if name is not None:
        assert normalise_name(name) == name


@settings(max_examples=400)
@given(st.text(max_size=3 * MAX_NAME_LENGTH))
def test_the_skeleton_of_a_skeleton_is_itself(raw):
    assert skeleton(skeleton(raw)) == skeleton(raw)


@settings(max_examples=400)
@given(names)
def test_no_accepted_name_holds_a_control_bidi_or_invisible_character(raw):
    name = accepted(raw)
    if name is not None:
        assert not has_hidden_characters(name)
        assert not any(char in TRICKY for char in name)
        assert all(unicodedata.category(char)[0] in "LN" or char in "_-" for char in name)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(ASCII_WITH_LOOKALIKES), min_size=1, max_size=20), st.data())
def test_a_name_and_its_lookalike_never_both_register(letters, data):
    original = "".join(letters)
    variant = "".join(data.draw(st.sampled_from(LOOKALIKES[skeleton(c)])) for c in letters)
    one, other = accepted(original), accepted(variant)
    if one is not None and other is not None:
        assert name_key(one) == name_key(other)
