"""A room from the inside: its page, joining and leaving."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import Message, User
from tests.support import (
    HTMX,
    PASSWORD,
    accept_invitation,
    create_room,
    press,
    signed_up,
    submit,
    text,
)

SCRIPT = "<script>alert(1)</script>"


def test_a_member_sees_the_room_and_its_members(app):
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(app, bob, "kitchen", "bob")
    page = text(bob.get("/chat/room/kitchen/"))
    assert "<h1><bdi>kitchen</bdi></h1>" in page
    assert 'id="messages"' in page
    members = page.partition('id="members-title"')[2]
    assert members.index("alice") < members.index("owner") < members.index("bob")
    assert "Edit the room" not in page


def test_a_public_room_offers_others_a_join_button(app):
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    create_room(alice, "porch", visibility="public")
    page = text(bob.get("/chat/room/porch/"))
    assert "Join <bdi>porch</bdi>" in page
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


def say(client, room, body, headers=None):
    """Send a message with the composer's form, without JavaScript."""
    return submit(
        client,
        f"/chat/room/{room}/",
        {"body": body},
        action=f"/chat/room/{room}/messages",
        headers=headers,
    )


def shown_messages(page):
    """The bodies of the messages on a page, top to bottom."""
    return re.findall(r'<p class="body">(.*?)</p>', page, re.DOTALL)


@pytest.fixture
def kitchen(app):
    """alice's browser and bob's, both members of the room "kitchen"."""
    alice, bob = signed_up(app, "alice"), signed_up(app, "bob")
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(app, bob, "kitchen", "bob")
    return alice, bob


def test_a_posted_message_is_on_the_page_and_in_the_log(app, kitchen):
    alice, bob = kitchen
    response = say(alice, "kitchen", "  hello\r\nkitchen  ")
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/room/kitchen/#composer"
    assert shown_messages(text(bob.get("/chat/room/kitchen/"))) == ["hello\nkitchen"]
    log = (Path(app.config["LOG_DIR"]) / "chatroomkitchen.txt").read_text(encoding="utf-8")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d alice: hello\\nkitchen\n", log)


def test_the_room_shows_the_latest_messages_oldest_first(make_app):
    app = make_app(HISTORY_SIZE=3)
    alice = signed_up(app, "alice")
    create_room(alice, "kitchen")
    for number in range(5):
        say(alice, "kitchen", f"message {number}")
    page = text(alice.get("/chat/room/kitchen/"))
    assert shown_messages(page) == ["message 2", "message 3", "message 4"]
    earlier = re.search(r'hx-get="(/chat/room/kitchen/messages\?before=\d+)"', page).group(1)
    fragment = text(alice.get(earlier, headers=HTMX))
    assert shown_messages(fragment) == ["message 0", "message 1"]
    assert "<html" not in fragment
    assert "Earlier messages" not in fragment
    assert shown_messages(text(alice.get(earlier))) == ["message 0", "message 1"]


def test_a_refused_message_keeps_its_text_and_saves_nothing(make_app):
    app = make_app(MAX_MESSAGE_LENGTH=10)
    alice = signed_up(app, "alice")
    create_room(alice, "kitchen")
    response = say(alice, "kitchen", "<i>far too long</i>")
    assert response.status_code == 422
    page = text(response)
    assert "the limit is 10. Nothing was sent." in page
    assert "&lt;i&gt;far too long&lt;/i&gt;</textarea>" in page
    assert say(alice, "kitchen", " \n ").status_code == 422
    assert shown_messages(text(alice.get("/chat/room/kitchen/"))) == []


def test_personal_messages_are_in_the_history_of_their_two_people_only(app, kitchen):
    alice, bob = kitchen
    carol = signed_up(app, "carol")
    press(alice, "/chat/room/kitchen/edit/invite", {"username": "carol"})
    accept_invitation(app, carol, "kitchen", "carol")
    say(alice, "kitchen", "/pm bob just for you")
    say(alice, "kitchen", "for all")
    for client in (alice, bob):
        page = text(client.get("/chat/room/kitchen/"))
        assert shown_messages(page) == ["just for you", "for all"]
        assert "personal, to <bdi>bob" in page
    assert shown_messages(text(carol.get("/chat/room/kitchen/"))) == ["for all"]


def test_messages_of_a_deleted_account_stay_and_stay_personal(app, kitchen):
    alice, bob = kitchen
    say(bob, "kitchen", "/pm alice a secret")
    say(bob, "kitchen", "hello all")
    submit(bob, "/chat/profile/", {"confirm_password": PASSWORD}, action="/chat/profile/delete")
    page = text(alice.get("/chat/room/kitchen/"))
    assert shown_messages(page) == ["a secret", "hello all"]
    assert page.count('<span class="nick">deleted user</span>') == 2
    with app.app_context():
        assert db.session.scalar(select(Message).where(Message.body == "a secret")).is_personal


def test_only_members_read_and_post(app, kitchen):
    alice, _ = kitchen
    stranger = signed_up(app, "stranger")
    create_room(alice, "porch", visibility="public")
    for room in ("kitchen", "porch"):
        assert stranger.get(f"/chat/room/{room}/messages?before=99").status_code == 404
        assert press(stranger, f"/chat/room/{room}/messages", {"body": "hi"}).status_code == 404
    with app.app_context():
        assert db.session.scalars(select(Message)).all() == []


def test_someone_who_joins_later_has_nothing_unread(app, kitchen):
    alice, _ = kitchen
    create_room(alice, "porch", visibility="public")
    say(alice, "porch", "before carol came")
    carol = signed_up(app, "carol")
    press(carol, "/chat/room/porch/join")
    lobby = text(carol.get("/chat/room/"))
    assert re.search(r'id="unread-room-\d+" class="count-badge" hidden>0<', lobby)
    assert "new-line" not in text(carol.get("/chat/room/porch/"))
    say(alice, "porch", "after carol came")
    assert re.search(r'id="unread-room-\d+" class="count-badge">1<', text(carol.get("/chat/room/")))
