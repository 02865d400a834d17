"""The rule for usernames and room names: safe as file names, unique by how they look.

Two names that look alike are one name: they share a key, their confusable skeleton
(Unicode TS #39, after NFKC and case folding), so "admin", "Admin", "admin" with a
Cyrillic a, in fullwidth letters or in mathematical bold cannot be taken by different
people.
"""

import functools
import re
import unicodedata
from pathlib import Path

MAX_NAME_LENGTH = 64
MAX_KEY_LENGTH = 256  # the width of the key columns
NAME_RULE = f"1 to {MAX_NAME_LENGTH} letters, digits, _ or -"
CONFUSABLES = Path(__file__).parent / "unicode" / "confusables.txt"

# \w is Unicode-aware: letters and digits of any script, and "_".
_NAME_PATTERN = re.compile(r"[\w-]+")

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt), which includes every bidi
# control: characters that draw nothing, or reorder what is drawn around them. Some are
# letters to \w (U+3164 HANGUL FILLER), so "admin" plus one would be another name.
DEFAULT_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_INVISIBLE = re.compile(f"[{DEFAULT_IGNORABLE}]")
# Categories never shown as text: controls, format characters, surrogates, private
# use, unassigned, and line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Mapping a skeleton again changes it at most this many times more.
_SKELETON_ROUNDS = 4


class InvalidName(ValueError):
    """A name that breaks the naming rule; its message says which way."""


def normalise_name(raw):
    """Return the NFC form of a user-typed name, or raise InvalidName."""
    raw = raw or ""
    # Checked before any work on it: a name is short, whatever a form carries.
    if len(raw) > 4 * MAX_NAME_LENGTH:
        raise InvalidName(f"That name is too long: {NAME_RULE}.")
    name = unicodedata.normalize("NFC", raw.strip())
    if not name:
        raise InvalidName(f"A name is required: {NAME_RULE}.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"That name is too long: {NAME_RULE}.")
    if has_hidden_characters(name):
        raise InvalidName(f"That name has invisible characters: {NAME_RULE}.")
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidName(f"Only {NAME_RULE} are allowed.")
    if len(skeleton(name)) > MAX_KEY_LENGTH:
        raise InvalidName(f"That name is too long: {NAME_RULE}.")
    return name


def has_hidden_characters(text):
    """Whether text holds a character that is invisible or reorders others: any bidi control."""
    return bool(_INVISIBLE.search(text)) or any(
        unicodedata.category(char) in _HIDDEN_CATEGORIES for char in text
    )


def name_key(name):
    """Return the key under which a name must be unique: its confusable skeleton."""
    return skeleton(name)


def lookup_key(raw):
    """The key of a name typed or found in a URL, or None when no name can have it."""
    try:
        return name_key(normalise_name(raw))
    except InvalidName:
        return None


def skeleton(text):
    """What a text looks like: NFKC, case folded, and each character as its prototype."""
    current = _fold(text)
    for _ in range(_SKELETON_ROUNDS):
        mapped = _fold("".join(_prototypes().get(char, char) for char in current))
        if mapped == current:
            break
        current = mapped
    return current


def _fold(text):
    """Compatibility-normalised, case-folded and decomposed, as TS #39 maps characters."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())


@functools.cache
def _prototypes():
    """Each confusable character and the prototype it looks like, from Unicode's table."""
    table = {}
    with CONFUSABLES.open(encoding="utf-8-sig") as lines:
        for line in lines:
            fields = line.split("#", 1)[0].split(";")
            if len(fields) < 2:
                continue
            source, target = (_from_hex(field) for field in fields[:2])
            table[source] = target
    return table


def _from_hex(field):
    """The characters of a field of code points written in hex: "0061 0302"."""
    return "".join(chr(int(code, 16)) for code in field.split())
