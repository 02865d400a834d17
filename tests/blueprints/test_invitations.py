"""My invitations: listed, accepted, declined, and answered only once."""

import pytest

from chatapp.extensions import db
from chatapp.models import Invitation
from tests.support import (
    HTMX,
    accept_invitation,
    create_room,
    pending_invitation_id,
    press,
    signed_up,
    text,
)


@pytest.fixture
def invited(app):
    """alice's browser and bob's, with bob invited into alice's private room "kitchen"."""
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    create_room(alice, "kitchen", invite="bob")
    return alice, bob


def invitation_status(app, invitation_id):
    """The stored status of an invitation."""
    with app.app_context():
        return db.session.get(Invitation, invitation_id).status


def test_my_invitations_are_listed_with_who_sent_them(invited):
    _, bob = invited
    page = text(bob.get("/chat/invitations/"))
    assert "kitchen" in page
    assert "from <bdi>alice</bdi>" in page
    assert "Accept" in page


def test_nobody_else_sees_an_invitation(app, invited):
    alice, _ = invited
    assert "No invitations are waiting for you." in text(alice.get("/chat/invitations/"))
    carol = signed_up(app, "carol")
    assert "kitchen" not in text(carol.get("/chat/invitations/"))


def test_accepting_opens_the_room_as_a_member(app, invited):
    _, bob = invited
    invitation_id = pending_invitation_id(app, "kitchen", "bob")
    response = press(bob, f"/chat/invitations/{invitation_id}/accept", headers=HTMX)
    assert response.headers["HX-Redirect"] == "/chat/room/kitchen/"
    page = text(bob.get("/chat/room/kitchen/"))
    assert "Leave the room" in page
    assert 'href="/chat/users/bob/"' in page
    assert invitation_status(app, invitation_id) == "accepted"
    assert "kitchen" in text(bob.get("/chat/room/")).partition('id="my-rooms"')[2]


def test_declining_with_htmx_removes_the_invitation_in_place(app, invited):
    _, bob = invited
    invitation_id = pending_invitation_id(app, "kitchen", "bob")
    response = press(bob, f"/chat/invitations/{invitation_id}/decline", headers=HTMX)
    assert response.status_code == 200
    assert text(response) == ""
    assert invitation_status(app, invitation_id) == "declined"
    assert bob.get("/chat/room/kitchen/").status_code == 404


def test_declining_without_javascript_goes_back_where_i_was(app, invited):
    _, bob = invited
    invitation_id = pending_invitation_id(app, "kitchen", "bob")
    data = {"next": "/chat/room/"}
    response = press(bob, f"/chat/invitations/{invitation_id}/decline", data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/room/"


def test_declining_never_goes_to_another_site(app, invited):
    _, bob = invited
    invitation_id = pending_invitation_id(app, "kitchen", "bob")
    data = {"next": "https://evil.example/"}
    response = press(bob, f"/chat/invitations/{invitation_id}/decline", data)
    assert response.headers["Location"] == "/chat/invitations/"


@pytest.mark.parametrize(
    ("first", "second", "status", "message"),
    [
        ("accept", "accept", "accepted", "You accepted this invitation already."),
        ("accept", "decline", "accepted", "You accepted this invitation already."),
        ("decline", "accept", "declined", "You declined this invitation already."),
    ],
)
def test_an_invitation_is_answered_once(app, invited, first, second, status, message):
    _, bob = invited
    invitation_id = pending_invitation_id(app, "kitchen", "bob")
    press(bob, f"/chat/invitations/{invitation_id}/{first}")
    response = press(bob, f"/chat/invitations/{invitation_id}/{second}", headers=HTMX)
    assert response.status_code == 409
    assert message in text(response)
    assert invitation_status(app, invitation_id) == status


def test_someone_invited_again_after_declining_gets_a_new_invitation(app, invited):
    alice, bob = invited
    first_id = pending_invitation_id(app, "kitchen", "bob")
    press(bob, f"/chat/invitations/{first_id}/decline")
    response = press(alice, "/chat/room/kitchen/edit/invite", {"username": "bob"})
    assert response.status_code == 303
    assert pending_invitation_id(app, "kitchen", "bob") != first_id
    assert accept_invitation(app, bob, "kitchen", "bob").status_code == 303


def test_an_invitee_opening_the_room_sees_the_invitation_and_no_messages(invited):
    _, bob = invited
    page = text(bob.get("/chat/room/kitchen/"))
    assert "<bdi>alice</bdi> invited you to this room." in page
    assert 'id="messages"' not in page
    assert "Leave the room" not in page
