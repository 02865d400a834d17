"""What a program may send on its event socket: each request type, its fields, and refusals.

A request is a JSON object with a "type" and the fields of that type, no others, each of
its kind; anything else is refused with an error event that names the request's type.
"""

import json
from typing import NamedTuple

from chatapp.models import MAX_ID


class Refusal(Exception):
    """A request that changes nothing; the program is told why in an error event."""

    def __init__(self, code, message, kind=None, room=None, **extra):
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.room = room
        self.extra = extra

    def fields(self):
        """The error event's fields, beside its type."""
        fields = {"code": self.code, "message": str(self), "for": self.kind, **self.extra}
        if self.room is not None:
            fields["room"] = self.room
        return fields


class Field(NamedTuple):
    """One field of a request: whether it must be there, and what it must be."""

    required: bool
    check: object  # value -> whether it is acceptable
    expected: str


def is_text(value):
    """Whether a value is a string."""
    return isinstance(value, str)


def is_name(value):
    """Whether a value can name a room or a user."""
    return isinstance(value, str) and value != ""


def is_message_id(value):
    """Whether a value can be a message id."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def is_name_or_null(value):
    """Whether a value names someone, or is null."""
    return value is None or is_name(value)


ROOM = Field(True, is_name, "a room's name")
REQUESTS = {
    "subscribe": {"room": ROOM, "after": Field(False, is_message_id, "a message id")},
    "unsubscribe": {"room": ROOM},
    "send": {
        "room": ROOM,
        "body": Field(True, is_text, "the message's text"),
        "to": Field(False, is_name_or_null, "a username, or null"),
    },
    "typing": {"room": ROOM},
    "read": {"room": ROOM, "id": Field(True, is_message_id, "a message id")},
}


def read_request(text):
    """(type, fields) of a request, or a Refusal saying what is wrong with it."""
    try:
        request = json.loads(text)
    except (ValueError, RecursionError):
        raise Refusal("bad_request", "Send each request as a JSON object.") from None
    if not isinstance(request, dict):
        raise Refusal("bad_request", "Send each request as a JSON object.")
    kind = request.pop("type", None)
    if kind not in REQUESTS:
        known = ", ".join(REQUESTS)
        raise Refusal("unknown_type", f"A request's type is one of {known}.", shown(kind))
    room = request.get("room") if is_name(request.get("room")) else None
    problems = field_problems(request, REQUESTS[kind])
    if problems:
        message = "; ".join(f"{name}: {problem}" for name, problem in problems.items())
        raise Refusal("invalid", message, kind, room, fields=problems)
    return kind, request


def field_problems(request, fields):
    """{field: what is wrong} for missing, unknown and mistyped fields."""
    problems = {name: "Unknown field." for name in request if name not in fields}
    for name, field in fields.items():
        if name not in request:
            if field.required:
                problems[name] = "Missing."
        elif not field.check(request[name]):
            problems[name] = f"Must be {field.expected}."
    return problems


def shown(kind):
    """A request's type as an error names it: the string it was, or null."""
    return kind if isinstance(kind, str) and len(kind) <= 64 else None
