"""Rooms through the API: lists with counts, creating, changing, deleting, members, invitations."""

import os

import pytest

from tests.api.support import error_of, program
from tests.support import make_admin


@pytest.fixture
def people(app):
    """alice, bob and carol as programs."""
    return [program(app, name) for name in ("alice", "bob", "carol")]


def accept(guest, room_name):
    """Accept the guest's invitation into the room."""
    invitations = guest.get("/invitations").get_json()["invitations"]
    [invitation] = [each for each in invitations if each["room"] == room_name]
    return guest.post(f"/invitations/{invitation['id']}/accept")


def names(response):
    """The names of the rooms in a list."""
    return [room["name"] for room in response.get_json()["rooms"]]


def log_file(app, name):
    """The path of a room's log file."""
    return f"{app.config['LOG_DIR']}/chatroom{name}.txt"


def test_my_rooms_come_with_counts_and_then_the_public_ones(app, people):
    alice, bob, carol = people
    alice.post("/rooms", {"name": "kitchen", "invite": ["bob"]})
    accept(bob, "kitchen")
    carol.post("/rooms", {"name": "hall", "visibility": "public"})
    carol.post("/rooms", {"name": "attic"})
    bob.post("/rooms/kitchen/messages", {"body": "hi"})
    rooms = alice.get("/rooms").get_json()["rooms"]
    assert rooms == [
        {"name": "kitchen", "visibility": "private", "direct": False, "member_count": 2,
         "role": "owner", "unread": 1},
        {"name": "hall", "visibility": "public", "direct": False, "member_count": 1,
         "role": None, "unread": None},
    ]  # fmt: skip
    make_admin(app, "bob")
    assert names(bob.get("/rooms")) == ["kitchen", "attic", "hall"]


def test_a_new_room_invites_the_people_named(app, people):
    alice, bob, _ = people
    response = alice.post("/rooms", {"name": "kitchen", "invite": ["bob", "Carol", "bob"]})
    assert response.status_code == 201
    room = response.get_json()
    assert (room["name"], room["visibility"], room["role"]) == ("kitchen", "private", "owner")
    invited = alice.get("/rooms/kitchen/invitations").get_json()["invitations"]
    assert [(i["invitee"], i["inviter"], i["status"]) for i in invited] == [
        ("bob", "alice", "pending"),
        ("carol", "alice", "pending"),
    ]
    assert bob.get("/rooms/kitchen").get_json()["role"] is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "KITCHEN"}, 409, "name_taken"),
        ({"name": "hall", "invite": ["bob", "nobody"]}, 422, "unknown_user"),
        ({"name": "hall", "invite": ["alice"]}, 422, "invalid"),
        ({"name": "hall", "visibility": "secret"}, 422, "invalid"),
        ({"name": "a/b"}, 422, "invalid"),
        ({"name": "hall", "invite": "bob"}, 422, "invalid"),
    ],
)
def test_a_refused_room_is_not_made(people, body, status, code):
    alice, bob, _ = people
    alice.post("/rooms", {"name": "kitchen"})
    response = alice.post("/rooms", body)
    assert response.status_code == status
    assert error_of(response)[0] == code
    assert names(alice.get("/rooms")) == ["kitchen"]
    assert bob.get("/invitations").get_json()["invitations"] == []


def test_renaming_moves_the_log_and_visibility_changes(app, people):
    alice, bob, _ = people
    alice.post("/rooms", {"name": "kitchen"})
    alice.post("/rooms/kitchen/messages", {"body": "hi"})
    response = alice.patch("/rooms/kitchen", {"name": "pantry", "visibility": "public"})
    assert response.status_code == 200
    assert (response.get_json()["name"], response.get_json()["visibility"]) == ("pantry", "public")
    with open(log_file(app, "pantry"), encoding="utf-8") as log:
        assert log.read().endswith(" alice: hi\n")
    assert bob.get("/rooms/pantry").status_code == 200
    bob.post("/rooms", {"name": "hall"})
    assert alice.patch("/rooms/pantry", {"name": "Hall"}).status_code == 409


def test_deleting_sets_the_log_aside(app, people):
    alice, _, _ = people
    alice.post("/rooms", {"name": "kitchen"})
    alice.post("/rooms/kitchen/messages", {"body": "hi"})
    assert alice.delete("/rooms/kitchen").status_code == 204
    assert alice.get("/rooms/kitchen").status_code == 404
    folder = app.config["LOG_DIR"]
    assert [name for name in os.listdir(folder) if name.startswith("chatroomkitchen.deleted-")]
    assert not os.path.exists(log_file(app, "kitchen"))


def test_joining_and_leaving_a_public_room(people):
    alice, bob, _ = people
    alice.post("/rooms", {"name": "hall", "visibility": "public"})
    joined = bob.post("/rooms/hall/join")
    assert joined.status_code == 200 and joined.get_json()["role"] == "member"
    assert joined.get_json()["member_count"] == 2
    assert bob.post("/rooms/hall/leave").status_code == 204
    assert bob.get("/rooms/hall").get_json()["role"] is None
    refused = alice.post("/rooms/hall/leave")
    assert refused.status_code == 409
    assert "hand it to a member or delete it first" in error_of(refused)[1]


def test_members_are_invited_removed_and_handed_the_room(people):
    alice, bob, _ = people
    alice.post("/rooms", {"name": "kitchen"})
    invited = alice.post("/rooms/kitchen/invitations", {"username": "bob"})
    assert invited.status_code == 201 and invited.get_json()["invitee"] == "bob"
    again = alice.post("/rooms/kitchen/invitations", {"username": "bob"})
    assert again.status_code == 409 and error_of(again)[1] == "bob is already invited."
    assert accept(bob, "kitchen").status_code == 200
    handed = alice.put("/rooms/kitchen/owner", {"username": "bob"})
    assert [(m["username"], m["role"]) for m in handed.get_json()["members"]] == [
        ("alice", "member"),
        ("bob", "owner"),
    ]
    assert alice.delete("/rooms/kitchen/members/bob").status_code == 404
    assert bob.delete("/rooms/kitchen/members/bob").status_code == 409
    assert bob.delete("/rooms/kitchen/members/alice").status_code == 204
    assert bob.delete("/rooms/kitchen/members/carol").status_code == 409
    assert alice.get("/rooms/kitchen").status_code == 404


def test_an_invitation_is_revoked_declined_or_answered_once(people):
    alice, bob, carol = people
    alice.post("/rooms", {"name": "kitchen", "invite": ["bob", "carol"]})
    bob_id = alice.post("/rooms/kitchen/invitations", {"username": "bob"})
    assert bob_id.status_code == 409
    [bob_invitation] = bob.get("/invitations").get_json()["invitations"]
    assert alice.delete(f"/rooms/kitchen/invitations/{bob_invitation['id']}").status_code == 204
    assert bob.get("/invitations").get_json()["invitations"] == []
    gone = bob.post(f"/invitations/{bob_invitation['id']}/accept")
    assert gone.status_code == 409 and error_of(gone)[1] == "This invitation was taken back."
    [carol_invitation] = carol.get("/invitations").get_json()["invitations"]
    assert carol.post(f"/invitations/{carol_invitation['id']}/decline").status_code == 204
    assert carol.get("/rooms/kitchen").status_code == 404
