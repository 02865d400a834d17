"""Who may do what to a room through the API: the same matrix as the pages, and on every
refusal nothing changes."""

from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import Invitation, Membership, Message, Room, User
from tests.api.support import Program, program
from tests.support import make_admin

ROLES = ("stranger", "invitee", "member", "owner", "admin", "revoked", "no token")

# (method, path, body) and the status each role gets.
ENDPOINTS = {
    "show": (("GET", "/rooms/kitchen", None), (404, 200, 200, 200, 200)),
    "rename": (("PATCH", "/rooms/kitchen", {"name": "pantry"}), (404, 404, 404, 200, 200)),
    "publish": (("PATCH", "/rooms/kitchen", {"visibility": "public"}), (404, 404, 404, 200, 200)),
    "delete": (("DELETE", "/rooms/kitchen", None), (404, 404, 404, 204, 204)),
    "join": (("POST", "/rooms/kitchen/join", None), (404, 200, 200, 200, 200)),
    "leave": (("POST", "/rooms/kitchen/leave", None), (404, 404, 204, 409, 404)),
    "invitations": (("GET", "/rooms/kitchen/invitations", None), (404, 404, 404, 200, 200)),
    "invite": (
        ("POST", "/rooms/kitchen/invitations", {"username": "zoe"}),
        (404, 404, 404, 201, 201),
    ),
    "revoke": (("DELETE", "/rooms/kitchen/invitations/{ivan}", None), (404, 404, 404, 204, 204)),
    "remove": (("DELETE", "/rooms/kitchen/members/nina", None), (404, 404, 404, 204, 204)),
    "hand over": (("PUT", "/rooms/kitchen/owner", {"username": "nina"}), (404, 404, 404, 200, 200)),
    "messages": (("GET", "/rooms/kitchen/messages", None), (404, 404, 200, 200, 404)),
    "send": (("POST", "/rooms/kitchen/messages", {"body": "hi"}), (404, 404, 201, 201, 404)),
    "read": (("POST", "/rooms/kitchen/read", {"id": "{message}"}), (404, 404, 200, 200, 404)),
    "accept": (("POST", "/invitations/{ivan}/accept", None), (404, 200, 404, 404, 404)),
    "decline": (("POST", "/invitations/{ivan}/decline", None), (404, 204, 404, 404, 404)),
}

# What each allowed request changes, as facts added and taken away.
CHANGES = {
    "rename": ({"pantry is private"}, {"kitchen is private"}),
    "publish": ({"kitchen is public"}, {"kitchen is private"}),
    "invite": ({"zoe's invitation is pending"}, set()),
    "revoke": (
        {"ivan's invitation is revoked"},
        {"ivan's invitation is pending"},
    ),
    "remove": (set(), {"nina is member"}),
    "hand over": (
        {"nina is owner", "olga is member"},
        {"nina is member", "olga is owner"},
    ),
    "send": ({"2 messages"}, {"1 messages"}),
    "leave": (set(), {"mark is member"}),
    "accept": (
        {"ivan is member", "ivan's invitation is accepted"},
        {"ivan's invitation is pending"},
    ),
    "decline": (
        {"ivan's invitation is declined"},
        {"ivan's invitation is pending"},
    ),
}
JOINS = {
    "invitee": (
        {"ivan is member", "ivan's invitation is accepted"},
        {"ivan's invitation is pending"},
    ),
    "admin": ({"ada is member"}, set()),
}


@dataclass
class Cast:
    """The app, a program for each role, and the ids the paths name."""

    app: Flask
    programs: dict[str, Program]
    ids: dict[str, int]

    def send(self, role, endpoint):
        """Send one of the ENDPOINTS as someone of the cast."""
        (method, path, body), _ = ENDPOINTS[endpoint]
        path = path.format(**self.ids)
        if body and body.get("id") == "{message}":
            body = {"id": self.ids["message"]}
        return self.programs[role].call(method, path, body)


@pytest.fixture
def cast(app):
    """olga owns kitchen (private) with mark and nina in it and ivan invited; mark said hi."""
    names = {"owner": "olga", "member": "mark", "invitee": "ivan", "stranger": "sam"}
    programs = {role: program(app, name) for role, name in names.items()}
    programs["admin"] = program(app, "ada")
    make_admin(app, "ada")
    nina, zoe = program(app, "nina"), program(app, "zoe")
    owner = programs["owner"]
    body = {"name": "kitchen", "invite": ["mark", "nina", "ivan"]}
    assert owner.post("/rooms", body).status_code == 201
    for guest in (programs["member"], nina):
        [invitation] = guest.get("/invitations").get_json()["invitations"]
        assert guest.post(f"/invitations/{invitation['id']}/accept").status_code == 200
    [ivan] = programs["invitee"].get("/invitations").get_json()["invitations"]
    message = programs["member"].post("/rooms/kitchen/messages", {"body": "hi"}).get_json()
    revoked = program(app, "rita")
    assert revoked.delete("/tokens/current").status_code == 204
    programs["revoked"] = Program(revoked.client, "mark", revoked.token)
    programs["no token"] = Program(app.test_client(), "nobody", "")
    assert zoe
    return Cast(app, programs, {"ivan": ivan["id"], "message": message["id"]})


def facts(app):
    """The state of rooms, memberships, invitations and messages, as sentences."""
    with app.app_context():
        found = {f"{room.name} is {room.visibility}" for room in db.session.scalars(select(Room))}
        for membership in db.session.scalars(select(Membership)):
            found.add(f"{membership.user.username} is {membership.role}")
        for invitation in db.session.scalars(select(Invitation)):
            name = invitation.invitee.username
            found.add(f"{name}'s invitation is {invitation.status}")
        found.add(f"{db.session.scalar(select(db.func.count(Message.id)))} messages")
        assert db.session.scalar(select(db.func.count(User.id))) == 8
        return found


def expected_change(endpoint, role):
    """The facts a successful request adds and removes."""
    if endpoint == "join":
        return JOINS.get(role, (set(), set()))
    return CHANGES.get(endpoint, (set(), set()))


CASES = [
    (endpoint, role, statuses[ROLES.index(role)] if ROLES.index(role) < 5 else 401)
    for endpoint, (_, statuses) in ENDPOINTS.items()
    for role in ROLES
]


@pytest.mark.parametrize(("endpoint", "role", "status"), CASES)
def test_each_role_gets_what_the_pages_allow_it(cast, endpoint, role, status):
    before = facts(cast.app)
    response = cast.send(role, endpoint)
    assert response.status_code == status, response.get_json()
    after = facts(cast.app)
    if status >= 400:
        assert after == before
        assert set(response.get_json()["error"]) >= {"code", "message"}
        return
    if endpoint == "delete":
        assert after == {"0 messages"}
        return
    added, removed = expected_change(endpoint, role)
    assert after - before == added
    assert before - after == removed
