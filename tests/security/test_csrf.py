"""Every state-changing route refuses a form without its CSRF token, and changes nothing."""

import pytest
from sqlalchemy import inspect, text

from chatapp.extensions import db
from chatapp.models import ApiToken, User
from tests.support import (
    PASSWORD,
    accept_invitation,
    create_room,
    form_token,
    make_admin,
    pending_invitation_id,
    signed_up,
)

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

# For each state-changing endpoint: the URL's arguments and a form that, with its token,
# would change something. Owner alice's room is kitchen (bob in it, carol invited); dave
# owns pantry (alice in it), the public porch, and invited alice into attic.
CASES = {
    "auth.login": ({}, {"username": "alice", "password": PASSWORD}),
    "auth.logout": ({}, {}),
    "rooms.create": ({}, {"name": "cellar", "visibility": "public", "invite": "bob"}),
    "rooms.announce": ({}, {"text": "hello everyone"}),
    "rooms.edit": ({"name": "kitchen"}, {"name": "scullery", "visibility": "public"}),
    "rooms.invite": ({"name": "kitchen"}, {"username": "erin"}),
    "rooms.revoke": ({"name": "kitchen", "invitation_id": "carol"}, {}),
    "rooms.remove_member": ({"name": "kitchen", "username": "bob"}, {}),
    "rooms.hand_over": ({"name": "kitchen", "username": "bob"}, {}),
    "rooms.delete": ({"name": "kitchen"}, {"confirm_name": "kitchen"}),
    "chat.send": ({"name": "kitchen"}, {"body": "hi"}),
    "chat.join": ({"name": "porch"}, {}),
    "chat.leave": ({"name": "pantry"}, {}),
    "invitations.accept": ({"invitation_id": "alice"}, {}),
    "invitations.decline": ({"invitation_id": "alice"}, {}),
    "users.message": ({"username": "bob"}, {}),
    "users.edit_profile": ({}, {"username": "alicia", "display_name": "Alice"}),
    "users.change_password": (
        {},
        {"current_password": PASSWORD, "password": "a new one", "password_confirm": "a new one"},
    ),
    "users.delete_account": ({}, {"confirm_password": PASSWORD}),
    "users.end_session": ({}, {"session_id": "this"}),
    "users.end_all_sessions": ({}, {}),
    "users.create_token": ({}, {"name": "a bot"}),
    "users.revoke_token": ({"token_id": "alice's"}, {}),
}


def state_changing_endpoints(app):
    """Endpoints that accept POST, PUT, PATCH or DELETE, WebSocket routes aside.

    The JSON API is left out: it ignores cookies altogether and takes only bearer
    tokens, which no other site can make a browser send (tests/api/ proves both).
    """
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.methods & STATE_CHANGING
        and not rule.websocket
        and not rule.rule.startswith("/api/")
    }


def snapshot(app):
    """Every row of every table, to compare before and after."""
    with app.app_context():
        tables = inspect(db.engine).get_table_names()
        return {
            table: db.session.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
            for table in tables
            if table != "alembic_version"
        }


@pytest.fixture
def world(app):
    """alice (an admin) in her rooms and others', with bob, carol, dave and erin around."""
    alice = signed_up(app, "alice")
    people = {name: signed_up(app, name) for name in ("bob", "carol", "dave", "erin")}
    make_admin(app, "alice")
    create_room(alice, "kitchen", invite="bob carol")
    accept_invitation(app, people["bob"], "kitchen", "bob")
    create_room(people["dave"], "pantry", invite="alice")
    accept_invitation(app, alice, "pantry", "alice")
    create_room(people["dave"], "porch", visibility="public")
    create_room(people["dave"], "attic", invite="alice")
    invitations = {
        "carol": pending_invitation_id(app, "kitchen", "carol"),
        "alice": pending_invitation_id(app, "attic", "alice"),
    }
    with app.app_context():
        token, _ = ApiToken.issue(User.find("alice"), "a script")
        db.session.commit()
        invitations["alice's"] = token.id
    return alice, invitations


def test_every_state_changing_route_is_in_the_table(app):
    assert state_changing_endpoints(app) == set(CASES)


def request_for(app, world, endpoint):
    """The path and form of an endpoint's case, filled in from the world."""
    alice, invitations = world
    arguments, form = CASES[endpoint]
    for name in ("invitation_id", "token_id"):
        if name in arguments:
            arguments = {**arguments, name: invitations[arguments[name]]}
    if form.get("session_id") == "this":
        with alice.session_transaction() as session:
            form = {"session_id": session["sid"]}
    with app.test_request_context():
        return app.url_for(endpoint, **arguments), form


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_post_without_token_is_refused_and_changes_nothing(app, world, endpoint):
    alice, _ = world
    path, form = request_for(app, world, endpoint)
    before = snapshot(app)
    response = alice.post(path, data=form)
    assert response.status_code == 400
    assert "missing its security token" in response.get_data(as_text=True)
    assert snapshot(app) == before
    assert alice.get("/chat/room/").status_code == 200


# Logging in while logged in only goes to the lobby, and an announcement is only sent to
# who is connected: neither is kept.
@pytest.mark.parametrize("endpoint", sorted(set(CASES) - {"auth.login", "rooms.announce"}))
def test_the_same_post_with_its_token_changes_something(app, world, endpoint):
    alice, _ = world
    path, form = request_for(app, world, endpoint)
    before = snapshot(app)
    response = alice.post(path, data={"csrf_token": form_token(alice, "/chat/room/"), **form})
    assert response.status_code in (200, 303), response.get_data(as_text=True)
    assert snapshot(app) != before
