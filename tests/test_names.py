"""The naming rule shared by usernames and room names."""

import pytest

from chatapp.names import InvalidName, name_key, normalise_name

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
