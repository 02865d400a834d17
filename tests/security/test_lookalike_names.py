"""Unicode tricks: names that look alike are one name, and nothing invisible hides in a name."""

import flask_migrate
import pytest
from sqlalchemy import text as sql

from chatapp.extensions import db
from chatapp.models import Room, User
from chatapp.names import InvalidName, name_key, normalise_name
from tests.support import AuthActions, create_room, signed_up, stored_user, submit, text

LOOKALIKES_OF_ADMIN = {
    "capitals": "ADMIN",
    "cyrillic a": "\u0430dmin",
    "fullwidth": "\uff41\uff44\uff4d\uff49\uff4e",
    "mathematical bold": "\U0001d41a\U0001d41d\U0001d426\U0001d422\U0001d427",
    "r and n for m": "adrnin",
}

INVISIBLE = {
    "hangul filler": "admin\u3164",
    "zero width space": "ad\u200bmin",
    "zero width joiner": "ad\u200dmin",
    "word joiner": "admin\u2060",
    "byte order mark": "\ufeffadmin",
    "soft hyphen": "ad\u00admin",
    "right-to-left override": "\u202enimda",
    "first strong isolate": "\u2068admin\u2069",
    "left-to-right mark": "admin\u200e",
    "arabic letter mark": "admin\u061c",
    "variation selector": "admin\ufe0f",
    "tag character": "admin\U000e0041",
    "halfwidth hangul filler": "admin\uffa0",
}


@pytest.mark.parametrize("name", LOOKALIKES_OF_ADMIN.values(), ids=LOOKALIKES_OF_ADMIN.keys())
def test_lookalikes_share_the_key_of_the_name_they_imitate(name):
    assert name_key(normalise_name(name)) == name_key("admin")


@pytest.mark.parametrize("name", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_and_direction_characters_are_refused_in_names(name):
    with pytest.raises(InvalidName, match="invisible characters"):
        normalise_name(name)


@pytest.mark.parametrize(("one", "other"), [("zero", "z3ro"), ("Мария", "Марина"), ("a-b", "a_b")])
def test_names_that_look_different_keep_different_keys(one, other):
    assert name_key(one) != name_key(other)


@pytest.mark.parametrize("name", LOOKALIKES_OF_ADMIN.values(), ids=LOOKALIKES_OF_ADMIN.keys())
def test_a_lookalike_of_a_user_cannot_sign_up(app, name):
    signed_up(app, "admin")
    response = AuthActions(app.test_client()).signup(name)
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(sql("SELECT count(*) FROM users")) == 1


def test_the_first_step_with_a_lookalike_asks_for_the_password_of_the_real_name(app):
    signed_up(app, "admin")
    client = app.test_client()
    response = submit(client, "/chat/login/", {"username": "\u0430dmin"})
    assert "Welcome back, <strong><bdi>admin</bdi></strong>" in text(response)


def test_nobody_renames_themselves_into_a_lookalike_of_someone_else(app):
    signed_up(app, "admin")
    mallory = signed_up(app, "mallory")
    data = {"username": LOOKALIKES_OF_ADMIN["fullwidth"]}
    response = submit(mallory, "/chat/profile/", data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "That name is taken." in text(response)
    assert stored_user(app, "mallory").username == "mallory"


def test_a_lookalike_room_name_is_taken(app):
    alice = signed_up(app, "alice")
    create_room(alice, "kitchen")
    response = create_room(signed_up(app, "mallory"), "k\u0456tchen")
    assert response.status_code == 409
    with app.app_context():
        assert Room.find("k\u0456tchen").name == "kitchen"


@pytest.mark.parametrize("display_name", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_refused_in_display_names(app, display_name):
    alice = signed_up(app, "alice")
    data = {"username": "alice", "display_name": display_name}
    response = submit(alice, "/chat/profile/", data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Invisible characters and text direction controls are not allowed." in text(response)
    assert stored_user(app, "alice").display_name == ""


def test_a_display_name_is_always_shown_with_the_username(app):
    alice = signed_up(app, "alice")
    data = {"username": "alice", "display_name": "bob"}
    submit(alice, "/chat/profile/", data, content_type="multipart/form-data")
    create_room(alice, "kitchen")
    submit(alice, "/chat/room/kitchen/", {"body": "hi"}, action="/chat/room/kitchen/messages")
    viewer = signed_up(app, "carol")
    handle = '<bdi>bob</bdi> <span class="handle">@<bdi>alice</bdi></span>'
    assert handle in text(viewer.get("/chat/users/"))
    profile = text(viewer.get("/chat/users/alice/"))
    assert "<h1><bdi>bob</bdi></h1>" in profile
    assert "@<bdi>alice</bdi>" in profile
    room = text(alice.get("/chat/room/kitchen/"))
    assert '<span class="nick">\u2068bob\u2069 (@alice)</span>' in room


def test_the_migration_keys_existing_names_and_renames_later_lookalikes(app):
    logs = app.config["LOG_DIR"]
    with open(f"{logs}/chatroomk\u0456tchen.txt", "w", encoding="utf-8") as log:
        log.write("a line\n")
    with app.app_context():
        flask_migrate.downgrade(revision="0005")
        insert = (
            "INSERT INTO users (id, username, username_key, password_hash, session_nonce,"
            " display_name, email, about, is_admin, created_at, shares_read_state,"
            " shares_typing) VALUES (:id, :name, :key, 'x', 'n', '', '', '', 0,"
            " '2026-01-01', 1, 1)"
        )
        for user_id, name in [(1, "admin"), (2, "\u0430dmin"), (3, "Мария")]:
            db.session.execute(sql(insert), {"id": user_id, "name": name, "key": name.casefold()})
        rooms = (
            "INSERT INTO rooms (id, name, name_key, visibility, is_direct, created_at,"
            " last_activity_at) VALUES (:id, :name, :name, 'private', :direct, '2026-01-01',"
            " '2026-01-01')"
        )
        for room_id, name, direct in [(1, "kitchen", 0), (2, "k\u0456tchen", 0), (3, "@1-2", 1)]:
            db.session.execute(sql(rooms), {"id": room_id, "name": name, "direct": direct})
        db.session.commit()
        flask_migrate.upgrade()
        users = {user.id: (user.username, user.username_key) for user in db.session.query(User)}
        rooms = {room.id: (room.name, room.name_key) for room in db.session.query(Room)}
    assert rooms == {
        1: ("kitchen", name_key("kitchen")),
        2: ("k\u0456tchen-2", name_key("kitchen-2")),
        3: ("@1-2", "@1-2"),
    }
    with open(f"{logs}/chatroomk\u0456tchen-2.txt", encoding="utf-8") as log:
        assert log.read() == "a line\n"
    assert users[1] == ("admin", name_key("admin"))
    assert users[2] == ("\u0430dmin-2", name_key("admin-2"))
    assert users[3] == ("Мария", name_key("Мария"))
