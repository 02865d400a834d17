"""Who may do what to a room: owner, member, invitee, stranger, admin and a logged-out visitor."""

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from chatapp import access
from chatapp.extensions import db
from chatapp.models import PUBLIC, Invitation, Membership, Room, User
from tests.support import create_room, make_admin, press, signed_up, submit, text

PEOPLE = {
    "owner": "olga",
    "member": "mark",
    "fellow": "nina",
    "invitee": "ivan",
    "stranger": "sam",
    "admin": "ada",
}
OUTSIDERS = ("member", "invitee", "stranger")
LEAVE_REFUSAL = "You own this room: hand it to a member or delete it first."

REQUESTS = {
    "rename": ("/chat/room/kitchen/edit/", {"name": "pantry", "visibility": "private"}),
    "invite": ("/chat/room/kitchen/edit/invite", {"username": "sam"}),
    "revoke": ("/chat/room/kitchen/edit/invitations/{invitation}/revoke", {}),
    "remove": ("/chat/room/kitchen/edit/members/nina/remove", {}),
    "hand-over": ("/chat/room/kitchen/edit/members/nina/owner", {}),
    "delete": ("/chat/room/kitchen/edit/delete", {"confirm_name": "kitchen"}),
    "join": ("/chat/room/kitchen/join", {}),
    "leave": ("/chat/room/kitchen/leave", {}),
    "accept": ("/chat/invitations/{invitation}/accept", {}),
    "decline": ("/chat/invitations/{invitation}/decline", {}),
}

KITCHEN = {
    "kitchen is private",
    "olga is owner",
    "mark is member",
    "nina is member",
    "mark's invitation is accepted",
    "nina's invitation is accepted",
    "ivan's invitation is pending",
}

MANAGED = {
    "rename": ({"pantry is private"}, {"kitchen is private"}),
    "invite": ({"sam's invitation is pending"}, set()),
    "revoke": ({"ivan's invitation is revoked"}, {"ivan's invitation is pending"}),
    "remove": (set(), {"nina is member"}),
    "hand-over": ({"nina is owner", "olga is member"}, {"nina is member", "olga is owner"}),
    "delete": (set(), KITCHEN),
}
IVAN_JOINS = ({"ivan is member", "ivan's invitation is accepted"}, {"ivan's invitation is pending"})


@dataclass
class Cast:
    """The app, a browser for each role, and the id of ivan's pending invitation."""

    app: Flask
    clients: dict[str, FlaskClient]
    invitation: int

    def ask(self, role, method, path, data=None):
        """Send a request as someone of the cast; a POST carries a form's CSRF token."""
        client = self.clients[role]
        if method == "GET":
            return client.get(path)
        # A logged-out browser finds a form, and so a token, only on the login page.
        page = "/chat/login/" if role == "anonymous" else "/chat/room/"
        return submit(client, page, data or {}, action=path)

    def send(self, role, request):
        """Send one of the named REQUESTS as someone of the cast."""
        path, data = REQUESTS[request]
        return self.ask(role, "POST", path.format(invitation=self.invitation), data)


def invitation_id(app, username):
    """The id of this user's latest invitation."""
    with app.app_context():
        query = (
            select(Invitation.id)
            .join(Invitation.invitee)
            .where(User.username == username)
            .order_by(Invitation.id.desc())
        )
        return db.session.scalars(query).first()


def facts(app):
    """What the database says of its rooms (not conversations), as sentences."""
    with app.app_context():
        rooms = db.session.scalars(select(Room).where(~Room.is_direct))
        members = db.session.execute(
            select(User.username, Membership.role)
            .join(Membership.user)
            .join(Membership.room)
            .where(~Room.is_direct)
        )
        invitations = db.session.execute(
            select(User.username, Invitation.status).join(Invitation.invitee)
        )
        return (
            {f"{room.name} is {room.visibility}" for room in rooms}
            | {f"{name} is {role}" for name, role in members}
            | {f"{name}'s invitation is {status}" for name, status in invitations}
        )


def user_id(app, username):
    """The id of the user with this name."""
    with app.app_context():
        return User.find(username).id


def assert_sent_to_login(response):
    """The response sends the browser to the login page."""
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/chat/login/")


def section(page, element_id):
    """The part of a page from the element with this id to the end of its list."""
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</ul>", start)]


@pytest.fixture
def cast(app):
    """olga's private kitchen with mark and nina in it, ivan invited, and sam, ada and nobody."""
    clients = {role: signed_up(app, name) for role, name in PEOPLE.items()}
    clients["anonymous"] = app.test_client()
    make_admin(app, "ada")
    assert create_room(clients["owner"], "kitchen", invite="mark nina ivan").status_code == 303
    for role in ("member", "fellow"):
        accept = f"/chat/invitations/{invitation_id(app, PEOPLE[role])}/accept"
        assert press(clients[role], accept).status_code == 303
    assert facts(app) == KITCHEN
    return Cast(app, clients, invitation_id(app, "ivan"))


@pytest.fixture
def conversation(cast):
    """The path of mark's direct conversation with nina, started by mark."""
    response = cast.ask("member", "POST", "/chat/users/nina/message")
    assert response.status_code == 303
    return response.headers["Location"]


@pytest.fixture
def porch(cast):
    """olga's public room porch."""
    assert create_room(cast.clients["owner"], "porch", "public").status_code == 303
    return "/chat/room/porch/"


# Pages


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        pytest.param("owner", "/chat/room/kitchen/", 200, id="owner-room"),
        pytest.param("member", "/chat/room/kitchen/", 200, id="member-room"),
        pytest.param("invitee", "/chat/room/kitchen/", 200, id="invitee-room"),
        pytest.param("stranger", "/chat/room/kitchen/", 404, id="stranger-room"),
        pytest.param("admin", "/chat/room/kitchen/", 200, id="admin-room"),
        pytest.param("anonymous", "/chat/room/kitchen/", 302, id="anonymous-room"),
        pytest.param("owner", "/chat/room/kitchen/edit/", 200, id="owner-edit"),
        pytest.param("member", "/chat/room/kitchen/edit/", 404, id="member-edit"),
        pytest.param("invitee", "/chat/room/kitchen/edit/", 404, id="invitee-edit"),
        pytest.param("stranger", "/chat/room/kitchen/edit/", 404, id="stranger-edit"),
        pytest.param("admin", "/chat/room/kitchen/edit/", 200, id="admin-edit"),
        pytest.param("anonymous", "/chat/room/kitchen/edit/", 302, id="anonymous-edit"),
    ],
)
def test_who_may_open_the_room_and_its_edit_page(cast, role, path, status):
    response = cast.ask(role, "GET", path)
    assert response.status_code == status
    if status == 302:
        assert_sent_to_login(response)


@pytest.mark.parametrize(
    ("role", "sees_edit_link"),
    [
        pytest.param("owner", True, id="owner"),
        pytest.param("admin", True, id="admin"),
        pytest.param("member", False, id="member"),
        pytest.param("invitee", False, id="invitee"),
    ],
)
def test_only_managers_see_the_edit_link(cast, role, sees_edit_link):
    page = text(cast.ask(role, "GET", "/chat/room/kitchen/"))
    assert ('href="/chat/room/kitchen/edit/"' in page) is sees_edit_link


def test_an_invitee_sees_the_invitation_with_an_accept_button(cast):
    page = text(cast.ask("invitee", "GET", "/chat/room/kitchen/"))
    assert "<bdi>olga</bdi> invited you to this room." in page
    assert f'action="/chat/invitations/{cast.invitation}/accept"' in page
    assert ">Accept</button>" in page
    assert "Leave the room" not in page


def test_an_admin_who_is_no_member_may_look_in_and_join(cast):
    page = text(cast.ask("admin", "GET", "/chat/room/kitchen/"))
    assert "as an admin you may look in and join" in page
    assert "Join <bdi>kitchen</bdi></button>" in page


# Changing the room


@pytest.mark.parametrize(
    ("role", "request_name", "status", "gained", "lost"),
    [
        *[
            pytest.param(role, name, 303, *change, id=f"{role}-{name}")
            for role in ("owner", "admin")
            for name, change in MANAGED.items()
        ],
        *[
            pytest.param(role, name, 404, set(), set(), id=f"{role}-{name}")
            for role in OUTSIDERS
            for name in MANAGED
        ],
        *[
            pytest.param("anonymous", name, 302, set(), set(), id=f"anonymous-{name}")
            for name in MANAGED
        ],
        pytest.param("owner", "join", 303, set(), set(), id="owner-join"),
        pytest.param("member", "join", 303, set(), set(), id="member-join"),
        pytest.param("invitee", "join", 303, *IVAN_JOINS, id="invitee-join"),
        pytest.param("stranger", "join", 404, set(), set(), id="stranger-join"),
        pytest.param("admin", "join", 303, {"ada is member"}, set(), id="admin-join"),
        pytest.param("anonymous", "join", 302, set(), set(), id="anonymous-join"),
        pytest.param("owner", "leave", 409, set(), set(), id="owner-leave"),
        pytest.param("member", "leave", 303, set(), {"mark is member"}, id="member-leave"),
        pytest.param("invitee", "leave", 404, set(), set(), id="invitee-leave"),
        pytest.param("stranger", "leave", 404, set(), set(), id="stranger-leave"),
        pytest.param("admin", "leave", 404, set(), set(), id="admin-leave"),
        pytest.param("anonymous", "leave", 302, set(), set(), id="anonymous-leave"),
        pytest.param("invitee", "accept", 303, *IVAN_JOINS, id="invitee-accept"),
        pytest.param(
            "invitee",
            "decline",
            303,
            {"ivan's invitation is declined"},
            {"ivan's invitation is pending"},
            id="invitee-decline",
        ),
        *[
            pytest.param(role, name, 404, set(), set(), id=f"{role}-{name}")
            for role in ("owner", "member", "stranger", "admin")
            for name in ("accept", "decline")
        ],
        *[
            pytest.param("anonymous", name, 302, set(), set(), id=f"anonymous-{name}")
            for name in ("accept", "decline")
        ],
    ],
)
def test_who_may_change_the_room(cast, role, request_name, status, gained, lost):
    response = cast.send(role, request_name)
    assert response.status_code == status
    if status == 302:
        assert_sent_to_login(response)
    assert facts(cast.app) == KITCHEN - lost | gained


def test_the_owner_is_told_why_they_cannot_leave(cast):
    response = cast.send("owner", "leave")
    assert response.status_code == 409
    assert LEAVE_REFUSAL in text(response)
    assert "olga is owner" in facts(cast.app)


# Direct conversations


def test_messaging_someone_opens_a_conversation_named_after_both_ids(cast, conversation):
    low, high = sorted(user_id(cast.app, name) for name in ("mark", "nina"))
    assert conversation == f"/chat/room/@{low}-{high}/"


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        pytest.param("member", "GET", "", 200, id="member-page"),
        pytest.param("fellow", "GET", "", 200, id="fellow-page"),
        pytest.param("owner", "GET", "", 404, id="owner-page"),
        pytest.param("stranger", "GET", "", 404, id="stranger-page"),
        pytest.param("admin", "GET", "", 404, id="admin-page"),
        pytest.param("anonymous", "GET", "", 302, id="anonymous-page"),
        pytest.param("member", "GET", "edit/", 404, id="member-edit"),
        pytest.param("fellow", "GET", "edit/", 404, id="fellow-edit"),
        pytest.param("owner", "GET", "edit/", 404, id="owner-edit"),
        pytest.param("stranger", "GET", "edit/", 404, id="stranger-edit"),
        pytest.param("admin", "GET", "edit/", 404, id="admin-edit"),
        pytest.param("member", "POST", "edit/invite", 404, id="member-invite"),
        pytest.param("fellow", "POST", "edit/invite", 404, id="fellow-invite"),
        pytest.param("owner", "POST", "edit/invite", 404, id="owner-invite"),
        pytest.param("stranger", "POST", "edit/invite", 404, id="stranger-invite"),
        pytest.param("admin", "POST", "edit/invite", 404, id="admin-invite"),
    ],
)
def test_a_direct_conversation_is_for_its_two_people_only(
    cast, conversation, role, method, path, status
):
    response = cast.ask(role, method, conversation + path, {"username": "sam"})
    assert response.status_code == status
    if status == 302:
        assert_sent_to_login(response)
    assert "sam's invitation is pending" not in facts(cast.app)


# Public rooms


def test_a_stranger_sees_a_public_room_with_a_join_button_and_no_edit_link(cast, porch):
    response = cast.ask("stranger", "GET", porch)
    assert response.status_code == 200
    page = text(response)
    assert "Join <bdi>porch</bdi></button>" in page
    assert "/chat/room/porch/edit/" not in page
    assert "Edit the room" not in page


def test_a_stranger_who_joins_a_public_room_is_listed_as_a_member(cast, porch):
    response = cast.ask("stranger", "POST", porch + "join")
    assert response.status_code == 303
    assert response.headers["Location"] == porch
    page = text(cast.ask("stranger", "GET", porch))
    assert 'href="/chat/users/sam/"' in section(page, "members-title")
    assert "Join <bdi>porch</bdi>" not in page


# The lobby


def test_the_lobby_hides_a_private_room_from_a_stranger(cast):
    assert "kitchen" not in text(cast.ask("stranger", "GET", "/chat/room/"))


def test_the_lobby_shows_an_admin_every_other_room(cast):
    page = text(cast.ask("admin", "GET", "/chat/room/"))
    assert "All other rooms" in page
    assert 'href="/chat/room/kitchen/"' in section(page, "other-rooms")


def test_the_lobby_shows_an_invitee_the_invitation(cast):
    invitations = section(text(cast.ask("invitee", "GET", "/chat/room/")), "invitations")
    assert "<strong>kitchen</strong>" in invitations
    assert "from <bdi>olga</bdi>" in invitations
    assert f'action="/chat/invitations/{cast.invitation}/accept"' in invitations


def test_a_program_finds_by_name_only_a_room_it_is_a_member_of(app):
    with app.test_request_context():
        olga, sam = User.register("olga", "a password"), User.register("sam", "a password")
        kitchen = Room.create("kitchen", olga, visibility=PUBLIC)
        db.session.commit()
        assert access.joined_room(olga, "kitchen") == kitchen
        # Public, so sam could open it on the site: a program of his must join it first.
        assert access.joined_room(sam, "kitchen") is None
        assert access.joined_room(olga, "pantry") is None
