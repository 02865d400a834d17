"""What a profile may hold: the same limits for the profile form and the API."""

from email_validator import EmailNotValidError, validate_email

from chatapp.names import has_hidden_characters

MAX_DISPLAY_NAME_LENGTH = 64
MAX_ABOUT_LENGTH = 2000
MAX_EMAIL_LENGTH = 254
NOT_AN_EMAIL = "That is not an email address."
HIDDEN_CHARACTERS = "Invisible characters and text direction controls are not allowed."


def email_problem(text):
    """Why the text is not an email address we keep, or None when it is one."""
    # The length first: no parser ever runs on a field of megabytes.
    if len(text) > MAX_EMAIL_LENGTH:
        return f"An email address has at most {MAX_EMAIL_LENGTH} characters."
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return NOT_AN_EMAIL
    return None


def display_name_problem(text):
    """Why the text cannot be a display name, or None when it can."""
    if len(text) > MAX_DISPLAY_NAME_LENGTH:
        return f"A display name has at most {MAX_DISPLAY_NAME_LENGTH} characters."
    if has_hidden_characters(text):
        return HIDDEN_CHARACTERS
    return None
