"""People through the API: signing up, the directory with who is online, profiles, mine."""

import time

import pytest

from chatapp.live.presence import SITE, get_presence
from tests.api.support import API, error_of, program, sign_up
from tests.support import PASSWORD, AuthActions, stored_user, text


def test_signing_up_makes_an_account_the_login_form_knows(app, client):
    response = sign_up(client, "Алиса")
    assert response.get_json()["username"] == "Алиса"
    assert AuthActions(app.test_client()).login("алиса", PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"username": "ALICE", "password": PASSWORD}, 409, None),
        ({"username": "bad name", "password": PASSWORD}, 422, "username"),
        ({"username": "x" * 65, "password": PASSWORD}, 422, "username"),
        ({"username": "bob", "password": "short"}, 422, "password"),
        ({"username": "bob"}, 422, "password"),
    ],
)
def test_a_refused_sign_up_makes_no_account(app, client, body, status, field):
    sign_up(client, "alice")
    response = client.post(f"{API}/users", json=body)
    assert response.status_code == status
    if field:
        assert field in response.get_json()["error"]["fields"]
    else:
        assert error_of(response) == ("name_taken", "That name is taken.")
    assert stored_user(app, "bob") is None


def test_the_directory_says_who_has_a_page_open(app):
    alice, bob = program(app, "alice"), program(app, "bob")
    with app.app_context():
        get_presence().arrive(SITE, stored_user(app, "bob").id)
    users = alice.get("/users").get_json()["users"]
    assert [(u["username"], u["online"]) for u in users] == [("alice", False), ("bob", True)]
    assert bob.get("/me").get_json()["online"] is True


def test_a_profile_shows_what_the_profile_page_shows(app):
    alice, bob = program(app, "alice"), program(app, "bob")
    bob.patch("/me", {"display_name": "Bobby", "about": "<b>hi</b>", "email": "bob@example.org"})
    profile = alice.get("/users/BOB").get_json()
    assert profile["display_name"] == "Bobby" and profile["about"] == "<b>hi</b>"
    assert profile["email"] == "bob@example.org" and profile["avatar"] is None
    assert "shares_typing" not in profile
    assert alice.get("/users/nobody").status_code == 404


def test_my_profile_changes_show_on_the_pages(app, client, auth):
    auth.signup("alice")
    alice = program(app, "bob")
    changes = {"display_name": "  Robert ", "shares_read_state": False, "shares_typing": False}
    response = alice.patch("/me", changes)
    assert response.status_code == 200
    me = response.get_json()
    assert (me["display_name"], me["shares_read_state"], me["shares_typing"]) == (
        "Robert",
        False,
        False,
    )
    assert "<h1><bdi>Robert</bdi></h1>" in text(client.get("/chat/users/bob/"))
    assert alice.patch("/me", {"display_name": ""}).get_json()["display_name"] == ""


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "not-an-email"},
        {"email": "a@" + "." * 60_000 + "@"},
        {"display_name": "x" * 65},
        {"about": "x" * 2001},
        {"shares_typing": "false"},
        {"shares_typing": 0},
        {"display_name": None},
        {"username": "mallory"},
        {"is_admin": True},
    ],
)
def test_a_refused_profile_change_changes_nothing(app, changes):
    alice = program(app, "alice")
    alice.patch("/me", {"display_name": "Alice"})
    started = time.monotonic()
    response = alice.patch("/me", {"about": "changed", **changes})
    assert time.monotonic() - started < 1
    assert response.status_code == 422
    user = stored_user(app, "alice")
    assert (user.username, user.display_name, user.about, user.is_admin) == (
        "alice",
        "Alice",
        "",
        False,
    )


def test_a_conversation_is_started_once_and_then_opened(app):
    alice, bob = program(app, "alice"), program(app, "bob")
    first = alice.post("/users/bob/conversation")
    assert first.status_code == 201
    room = first.get_json()
    assert room["direct"] is True and room["name"].startswith("@")
    assert sorted(m["username"] for m in room["members"]) == ["alice", "bob"]
    again = bob.post("/users/alice/conversation")
    assert again.status_code == 200 and again.get_json()["name"] == room["name"]
    assert room["name"] in [r["name"] for r in bob.get("/rooms").get_json()["rooms"]]
    assert alice.post("/users/alice/conversation").status_code == 422
    assert alice.post("/users/nobody/conversation").status_code == 404
