"""Direct conversations: "Message" opens the one conversation two people share."""

from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import Room
from tests.support import (
    HTMX,
    at_once,
    create_room,
    form_token,
    press,
    signed_up,
    text,
)


def direct_rooms(app):
    """How many direct conversations exist."""
    with app.app_context():
        return db.session.scalar(select(func.count(Room.id)).where(Room.is_direct))


def test_message_buttons_are_on_the_directory_and_profiles_but_not_for_me(app):
    alice = signed_up(app, "alice")
    signed_up(app, "bob")
    directory = text(alice.get("/chat/users/"))
    assert 'action="/chat/users/bob/message"' in directory
    assert 'action="/chat/users/alice/message"' not in directory
    assert 'aria-label="Message bob"' in text(alice.get("/chat/users/bob/"))
    assert "/message" not in text(alice.get("/chat/users/alice/"))


def test_message_opens_one_conversation_for_both_people(app):
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    first = press(alice, "/chat/users/bob/message")
    assert first.status_code == 303
    again = press(alice, "/chat/users/BOB/message", headers=HTMX)
    back = press(bob, "/chat/users/alice/message")
    assert first.headers["Location"] == again.headers["HX-Redirect"] == back.headers["Location"]
    assert direct_rooms(app) == 1
    assert "Conversation with bob" in text(alice.get(first.headers["Location"]))
    assert "Conversation with alice" in text(bob.get(first.headers["Location"]))
    conversations = text(alice.get("/chat/room/")).partition('id="conversations"')[2]
    assert f'href="{first.headers["Location"]}"><bdi>bob</bdi></a>' in conversations


def test_both_clicking_at_once_still_makes_one_conversation(app):
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    tokens = {"alice": form_token(alice, "/chat/users/"), "bob": form_token(bob, "/chat/users/")}
    responses = at_once(
        lambda: alice.post("/chat/users/bob/message", data={"csrf_token": tokens["alice"]}),
        lambda: bob.post("/chat/users/alice/message", data={"csrf_token": tokens["bob"]}),
    )
    assert [r.status_code for r in responses] == [303, 303]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert direct_rooms(app) == 1


def test_a_conversation_stays_between_its_two_people(app):
    alice, carol = signed_up(app, "alice"), signed_up(app, "carol")
    signed_up(app, "bob")
    location = press(alice, "/chat/users/bob/message").headers["Location"]
    name = location.split("/")[3]
    assert carol.get(location).status_code == 404
    assert alice.get(f"/chat/room/{name}/edit/").status_code == 404
    assert press(alice, f"/chat/room/{name}/edit/invite", {"username": "carol"}).status_code == 404
    assert press(alice, f"/chat/room/{name}/leave").status_code == 409
    assert press(carol, f"/chat/room/{name}/join").status_code == 404
    assert "Leave the room" not in text(alice.get(location))


def test_a_room_cannot_take_a_conversation_name(app):
    alice = signed_up(app, "alice")
    signed_up(app, "bob")
    location = press(alice, "/chat/users/bob/message").headers["Location"]
    name = location.split("/")[3]
    response = create_room(alice, name)
    assert response.status_code == 422
    assert direct_rooms(app) == 1


def test_messaging_myself_is_refused(app):
    alice = signed_up(app, "alice")
    response = press(alice, "/chat/users/alice/message")
    assert response.status_code == 400
    assert "A conversation needs someone else" in text(response)
    assert direct_rooms(app) == 0


def test_messaging_an_unknown_name_is_not_found(app):
    alice = signed_up(app, "alice")
    assert press(alice, "/chat/users/nobody/message").status_code == 404
    assert direct_rooms(app) == 0
