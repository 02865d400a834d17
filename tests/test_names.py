"""The naming rule shared by usernames and room names."""

import pytest

from chatapp.names import MAX_NAME_LENGTH, InvalidName, _from_hex, name_key, normalise_name

BAD_NAMES = {
    "empty": "",
    "only spaces": "   ",
    "65 characters": "a" * 65,
    "parent folder": "../x",
    "dot": "a.b",
    "space inside": "a b",
    "control character": "a\x00b",
    "newline": "a\nb",
    "slash": "a/b",
    "backslash": "a\\b",
    "html": "<b>",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_names_are_refused(name):
    with pytest.raises(InvalidName):
        normalise_name(name)


@pytest.mark.parametrize("name", ["alice", "Мария", "user_1", "a-b", "x" * 64, "Zoë", "名前", "٣"])
def test_letters_of_any_script_digits_underscore_and_dash_are_accepted(name):
    assert normalise_name(name) == name


def test_names_are_nfc_normalised():
    decomposed = "Zoe\u0308"
    assert normalise_name(decomposed) == "Zo\u00eb"


def test_surrounding_whitespace_is_dropped():
    assert normalise_name("  alice \n") == "alice"


@pytest.mark.parametrize(
    ("a", "b"), [("Alice", "alice"), ("МАРИЯ", "мария"), ("Straße", "STRASSE")]
)
def test_names_differing_only_in_case_share_a_key(a, b):
    assert name_key(normalise_name(a)) == name_key(normalise_name(b))


def test_a_name_padded_with_spaces_is_read_up_to_four_times_the_longest_name():
    longest = 4 * MAX_NAME_LENGTH
    assert normalise_name("alice" + " " * (longest - 5)) == "alice"
    with pytest.raises(InvalidName, match="too long"):
        normalise_name("alice" + " " * (longest - 4))


def test_confusables_fields_are_read_as_hexadecimal_code_points():
    assert _from_hex("0061") == "a"
    assert _from_hex(" 0072 006E ") == "rn"
    assert _from_hex("1D41A") == "\U0001d41a"


def test_a_name_whose_key_would_not_fit_its_column_is_too_long():
    # U+FDFA is one letter that NFKC writes as 18: a short name with a long key.
    ligature = "\ufdfa"
    fits = ligature * 14 + "aaaa"
    assert len(name_key(normalise_name(fits))) == 256
    with pytest.raises(InvalidName, match="too long"):
        normalise_name(fits + "a")
