"""What a profile may hold: the same limits for the profile form and the API."""

import re

MAX_DISPLAY_NAME_LENGTH = 64
MAX_ABOUT_LENGTH = 2000
MAX_EMAIL_LENGTH = 254
NOT_AN_EMAIL = "That is not an email address."

# No two neighbouring parts can take the same character, so matching stays linear.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def email_problem(text):
    """Why the text is not an email address we keep, or None when it is one."""
    if len(text) > MAX_EMAIL_LENGTH:
        return f"An email address has at most {MAX_EMAIL_LENGTH} characters."
    if not _EMAIL.fullmatch(text):
        return NOT_AN_EMAIL
    return None
