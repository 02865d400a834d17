"""Every field of every form, sent huge and pathological to the live server, is answered
within a second: no validator's cost grows faster than the input, and none stalls others."""

import inspect
import sqlite3
import time
import urllib.parse
import urllib.request

import pytest
from flask_wtf import FlaskForm
from wtforms.fields.core import UnboundField

from chatapp import forms
from tests.live import live_server
from tests.support import CSRF_FIELD, PASSWORD

SECONDS = 1.0
ASCII = 30_000  # characters: well inside the form caps, far beyond any field's length
WIDE = 9_000  # three-byte characters, nine bytes each once URL-encoded
VALUES = {
    "huge": "a" * ASCII,
    "email dots": "a@" + "." * ASCII + "@",
    "separators": ", " * (ASCII // 2) + "a",
    "nested": "(" * ASCII + "a" * 10 + ")" * 10,
    "spaces": "a" + " " * ASCII + "!",
    "nfkc expansion": "\ufdfa" * WIDE,
    "case expansion": "\u0390" * WIDE,
    "combining marks": "a" + "\u0301" * WIDE,
    "invisible": "\u200b" * WIDE,
}

# Each form: the page holding it, where it posts, whether it is multipart, who sends it,
# and what its other fields hold.
FORMS = {
    forms.UsernameForm: ("/chat/login/", "/chat/login/", False, "stranger", {"username": "x"}),
    forms.SetPasswordForm: (
        "/chat/login/",
        "/chat/login/",
        False,
        "stranger",
        {"username": "newcomer", "password": PASSWORD, "password_confirm": PASSWORD},
    ),
    forms.PasswordForm: (
        "/chat/login/",
        "/chat/login/",
        False,
        "stranger",
        {"username": "nobody", "password": "not it"},
    ),
    forms.ProfileForm: ("/chat/profile/", "/chat/profile/", True, "owner", {}),
    forms.ChangePasswordForm: (
        "/chat/profile/",
        "/chat/profile/password",
        False,
        "owner",
        {"current_password": "not it", "password": "a new one", "password_confirm": "a new one"},
    ),
    forms.DeleteAccountForm: (
        "/chat/profile/",
        "/chat/profile/delete",
        False,
        "owner",
        {"confirm_password": "not it"},
    ),
    forms.RoomForm: ("/chat/room/", "/chat/room/", False, "owner", {"name": "x", "invite": ""}),
    forms.RoomSettingsForm: (
        "/chat/room/kitchen/edit/",
        "/chat/room/kitchen/edit/",
        False,
        "owner",
        {"name": "kitchen", "visibility": "private"},
    ),
    forms.InviteForm: (
        "/chat/room/kitchen/edit/",
        "/chat/room/kitchen/edit/invite",
        False,
        "owner",
        {"username": "nobody"},
    ),
    forms.DeleteRoomForm: (
        "/chat/room/kitchen/edit/",
        "/chat/room/kitchen/edit/delete",
        False,
        "owner",
        {"confirm_name": "not the name"},
    ),
    forms.AnnouncementForm: ("/chat/room/", "/chat/announcements", False, "owner", {"text": "x"}),
    forms.TokenForm: ("/chat/profile/", "/chat/profile/tokens", False, "owner", {"name": "x"}),
}
# Fields read straight from the request, without a form class.
PLAIN_FIELDS = [
    ("/chat/room/kitchen/", "/chat/room/kitchen/messages", "body"),
    ("/chat/invitations/", "/chat/invitations/1/decline", "next"),
    ("/chat/profile/", "/chat/profile/sessions/end", "session_id"),
]


def form_classes():
    """Every form the app defines."""
    return {
        value
        for value in vars(forms).values()
        if inspect.isclass(value) and issubclass(value, FlaskForm) and value is not FlaskForm
    }


def field_names(form_class):
    """The fields a form class declares, its own and inherited."""
    names = dir(form_class)
    return sorted(name for name in names if isinstance(getattr(form_class, name), UnboundField))


CASES = [(form_class, field) for form_class in FORMS for field in field_names(form_class)]


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server, as deployed."""
    with live_server(tmp_path_factory.mktemp("form-cost"), migrated_database) as running:
        yield running


@pytest.fixture(scope="module")
def people(server):
    """An admin who owns the room kitchen, and a browser that is not logged in."""
    (owner,) = server.people("owner")
    owner.create_room("kitchen")
    with sqlite3.connect(server.database) as database:
        database.execute("UPDATE users SET is_admin = 1 WHERE username = ?", (owner.username,))
    return {"owner": owner, "stranger": server.browser()}


def post(browser, page, action, fields, multipart):
    """Send a form with the page's token; (status, seconds the answer took)."""
    _, _, html = browser.get(page)
    fields = {"csrf_token": CSRF_FIELD.search(html).group(1), **fields}
    if multipart:
        boundary = "----chatapp-cost"
        body = (
            "".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                for name, value in fields.items()
            )
            + f"--{boundary}--\r\n"
        )
        request = urllib.request.Request(browser.base_url + action, body.encode())
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    else:
        body = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(browser.base_url + action, body)
    started = time.perf_counter()
    status, _, _ = browser._open(request)
    return status, time.perf_counter() - started


def test_every_form_of_the_app_is_tried():
    assert form_classes() == set(FORMS)


@pytest.mark.parametrize(
    ("form_class", "field"), CASES, ids=[f"{c.__name__}.{f}" for c, f in CASES]
)
def test_every_field_of_every_form_answers_pathological_values_at_once(people, form_class, field):
    page, action, multipart, who, others = FORMS[form_class]
    if field == "username" and who == "owner":
        others = {**others, "username": people["owner"].username}
    answers = {
        label: post(people[who], page, action, {**others, field: value}, multipart)
        for label, value in VALUES.items()
    }
    slow = {label: answer for label, answer in answers.items() if answer[1] >= SECONDS}
    assert slow == {}
    assert all(status < 500 for status, _ in answers.values()), answers


@pytest.mark.parametrize(("page", "action", "field"), PLAIN_FIELDS)
def test_fields_read_without_a_form_answer_pathological_values_at_once(people, page, action, field):
    answers = {
        label: post(people["owner"], page, action, {field: value}, False)
        for label, value in VALUES.items()
    }
    assert {label: a for label, a in answers.items() if a[1] >= SECONDS} == {}
    assert all(status < 500 for status, _ in answers.values()), answers
