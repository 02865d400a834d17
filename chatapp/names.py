"""The rule for usernames and room names: safe as file names, unique without regard to case."""

import re
import unicodedata

MAX_NAME_LENGTH = 64
NAME_RULE = f"1 to {MAX_NAME_LENGTH} letters, digits, _ or -"

# \w is Unicode-aware: letters and digits of any script, and "_".
_NAME_PATTERN = re.compile(r"[\w-]+")


class InvalidName(ValueError):
    """A name that breaks the naming rule; its message says which way."""


def normalise_name(raw):
    """Return the NFC form of a user-typed name, or raise InvalidName."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise InvalidName(f"A name is required: {NAME_RULE}.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"That name is too long: {NAME_RULE}.")
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidName(f"Only {NAME_RULE} are allowed.")
    return name


def name_key(name):
    """Return the case-insensitive key under which a name must be unique."""
    return unicodedata.normalize("NFC", name.casefold())
