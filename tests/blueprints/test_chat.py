"""A room from the inside: its page, joining and leaving."""

from chatapp.extensions import db
from chatapp.models import User
from tests.support import HTMX, accept_invitation, create_room, press, signed_up, text

SCRIPT = "<script>alert(1)</script>"


def test_a_member_sees_the_room_and_its_members(app):
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(app, bob, "kitchen", "bob")
    page = text(bob.get("/chat/room/kitchen/"))
    assert "<h1>kitchen</h1>" in page
    assert 'id="messages"' in page
    members = page.partition('id="members-title"')[2]
    assert members.index("alice") < members.index("owner") < members.index("bob")
    assert "Edit the room" not in page


def test_a_public_room_offers_others_a_join_button(app):
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    create_room(alice, "porch", visibility="public")
    page = text(bob.get("/chat/room/porch/"))
    assert "Join porch" in page
    assert 'id="messages"' not in page
    response = press(bob, "/chat/room/porch/join", headers=HTMX)
    assert response.headers["HX-Redirect"] == "/chat/room/porch/"
    assert "Leave the room" in text(bob.get("/chat/room/porch/"))


def test_leaving_takes_me_back_to_the_lobby_without_the_room(app):
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(app, bob, "kitchen", "bob")
    response = press(bob, "/chat/room/kitchen/leave")
    assert response.headers["Location"] == "/chat/room/"
    lobby = text(bob.get("/chat/room/"))
    assert "You left kitchen." in lobby
    assert "kitchen</a>" not in lobby
    assert bob.get("/chat/room/kitchen/").status_code == 404


def test_an_owner_is_told_to_hand_over_before_leaving(app):
    alice = signed_up(app, "alice")
    create_room(alice, "kitchen")
    response = press(alice, "/chat/room/kitchen/leave", headers=HTMX)
    assert response.status_code == 409
    assert text(response).lstrip().startswith('<form id="leave-room"')
    assert "hand it to a member or delete it first" in text(response)
    assert alice.get("/chat/room/kitchen/").status_code == 200


def test_a_display_name_is_escaped_in_member_lists(app):
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    with app.app_context():
        User.find("bob").display_name = SCRIPT
        db.session.commit()
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(app, bob, "kitchen", "bob")
    press(alice, "/chat/users/bob/message")
    for page in (alice.get("/chat/room/kitchen/"), alice.get("/chat/room/")):
        assert SCRIPT not in text(page)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text(page)
