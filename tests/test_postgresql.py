"""The same app on PostgreSQL: migrations, case-insensitive names, races for one name."""

import uuid

import flask_migrate
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chatapp import create_app, messaging, reading
from chatapp.extensions import db
from chatapp.models import Message, Room, User, utcnow
from tests.support import (
    PASSWORD,
    AuthActions,
    accept_invitation,
    at_once,
    create_room,
    create_rooms_at_once,
    form_token,
    sign_up_at_once,
    signed_up,
    submit,
)


@pytest.fixture
def pg_app(postgresql_url, tmp_path):
    """An app on a fresh, migrated PostgreSQL database."""
    name = f"chat_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgresql_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": postgresql_url.rsplit("/", 1)[0] + f"/{name}",
            "LOG_DIR": str(tmp_path / "logs"),
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_app_uses_psycopg_on_postgresql(pg_app):
    with pg_app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.dialect.driver == "psycopg"


def test_migrations_match_the_models_on_postgresql(pg_app):
    with pg_app.app_context(), db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []


def test_sign_up_and_log_in_on_postgresql(pg_app):
    client = pg_app.test_client()
    auth = AuthActions(client)
    assert auth.signup("Мария").status_code == 303
    auth.logout()
    assert auth.login("МАРИЯ").status_code == 303
    assert "Hello, <bdi>Мария</bdi>" in client.get("/chat/room/").get_data(as_text=True)
    with pg_app.app_context():
        assert User.find("мария").check_password(PASSWORD)


def test_two_sign_ups_of_one_name_at_once_make_one_account_on_postgresql(pg_app):
    assert sign_up_at_once(pg_app, "Racer", tries=4) == [303, 409, 409, 409]
    with pg_app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_two_creations_of_one_room_at_once_make_one_room_on_postgresql(pg_app):
    responses = create_rooms_at_once(pg_app, "Кухня", ["alice", "bob", "carol"])
    assert sorted(r.status_code for r in responses) == [303, 409, 409]
    with pg_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Room.id))) == 1


def test_two_people_messaging_each_other_at_once_share_one_conversation_on_postgresql(pg_app):
    alice, bob = signed_up(pg_app, "alice"), signed_up(pg_app, "bob")
    tokens = [form_token(alice, "/chat/users/"), form_token(bob, "/chat/users/")]
    responses = at_once(
        lambda: alice.post("/chat/users/bob/message", data={"csrf_token": tokens[0]}),
        lambda: bob.post("/chat/users/alice/message", data={"csrf_token": tokens[1]}),
    )
    assert {r.headers["Location"] for r in responses} == {responses[0].headers["Location"]}
    with pg_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Room.id)).where(Room.is_direct)) == 1


def test_messages_unread_counts_and_receipts_on_postgresql(pg_app):
    alice, bob = signed_up(pg_app, "alice"), signed_up(pg_app, "bob")
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(pg_app, bob, "kitchen", "bob")
    for body in ("one", "two", "/pm bob three"):
        submit(alice, "/chat/room/kitchen/", {"body": body}, action="/chat/room/kitchen/messages")
    with pg_app.app_context():
        room, bob_user = Room.find("kitchen"), User.find("bob")
        alice_user = User.find("alice")
        assert reading.unread_by_room(bob_user.id) == {room.id: 3}
        assert reading.unread_by_room(alice_user.id) == {room.id: 0}
        newest = db.session.scalar(db.select(db.func.max(Message.id)))
        assert reading.mark_read(room.id, bob_user.id, newest - 1) is not None
        assert reading.total_unread(bob_user.id) == 1
        receipts = reading.receipts(room.id, [newest - 2, newest - 1, newest])
        assert receipts == {newest - 2: 1, newest - 1: 1, newest: 0}
        # What the bookkeeper asks of a room, on the driver's cursor.
        said = reading.said_between(room.id, newest - 2, newest, limit=1)
        assert [(each.id, bool(each.is_personal)) for each in said] == [(newest, True)]
        assert reading.position_before(room.id, utcnow()) == 2
        readers = {reader.user_id: reader for reader in reading.readers_of(room.id)}
        assert readers[bob_user.id].last_read == newest - 1


NUL_FORMS = {
    "login": ("/chat/login/", "/chat/login/", {"username": "ali\x00ce"}),
    "profile": ("/chat/profile/", "/chat/profile/", {"username": "alice", "about": "a\x00b"}),
    "new room": ("/chat/room/", "/chat/room/", {"name": "kitchen", "invite": "bob\x00"}),
    "message": ("/chat/room/kitchen/", "/chat/room/kitchen/messages", {"body": "hi\x00"}),
    "invite": ("/chat/room/kitchen/edit/", "/chat/room/kitchen/edit/invite", {"username": "\x00"}),
}


@pytest.mark.parametrize(("page", "action", "data"), NUL_FORMS.values(), ids=NUL_FORMS.keys())
def test_a_nul_in_any_form_field_is_refused_clearly_on_postgresql(pg_app, page, action, data):
    alice = signed_up(pg_app, "alice")
    create_room(alice, "kitchen")
    client = alice if page != "/chat/login/" else pg_app.test_client()
    response = submit(client, page, data, action=action)
    assert response.status_code == 400
    assert "Form fields may not contain NUL characters. Nothing was changed." in response.get_data(
        as_text=True
    )
    with pg_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Message.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Room.id))) == 1
        assert User.find("alice").about == ""


def test_after_the_database_drops_its_connections_one_message_fails_and_the_next_is_saved(
    pg_app,
):
    with pg_app.app_context():
        Room.create("kitchen", User.register("alice", PASSWORD))
        db.session.commit()
    with pg_app.test_request_context():
        room, alice = Room.find("kitchen"), User.find("alice")
        db.session.close()  # they stay loaded; the message path is the next to connect
        # Two connections in the pool, both about to be cut.
        first, second = db.engine.raw_connection(), db.engine.raw_connection()
        first.close(), second.close()
        url = pg_app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
        with psycopg.connect(url) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        outcomes = []
        for body in ("lost with the connection", "saved on a new one", "and the next"):
            try:
                outcomes.append(messaging.post_message(room, alice, body).body)
            except messaging.MessageRefused as refusal:
                outcomes.append(str(refusal))
    assert outcomes == [
        "The message could not be saved. Send it again.",
        "saved on a new one",
        "and the next",
    ]
