"""Two gunicorn processes on one PostgreSQL and one Redis: one chat, whichever process a
browser reaches."""

import re
import threading
import time
import uuid

import flask_migrate
import psycopg
import pytest

from chatapp import create_app
from chatapp.extensions import db
from tests.live import live_server
from tests.services import postgresql_server, redis_server

GRACE = 0.5
MESSAGE_ID = re.compile(r'<article id="msg-(\d+)"')


@pytest.fixture(scope="module")
def services():
    """PostgreSQL and Redis for the module: (database server URL, Redis URL)."""
    with postgresql_server() as postgresql, redis_server() as redis_url:
        yield postgresql, redis_url


def postgresql_database(server_url, tmp_path):
    """A fresh database on the server, brought up to date; its URL."""
    name = f"chat_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "LOG_DIR": str(tmp_path)})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="module")
def pair(services, tmp_path_factory, migrated_database):
    """Two processes serving one chat: (first, second), sharing their logs' folder."""
    postgresql, redis_url = services
    folder = tmp_path_factory.mktemp("pair")
    settings = {
        "DATABASE_URL": postgresql_database(postgresql, folder),
        "REDIS_URL": redis_url,
        "LOG_DIR": str(folder / "logs"),
        "PRESENCE_GRACE_SECONDS": GRACE,
        "FLOOD_LIMIT": "off",
    }
    # live_server copies the SQLite template in, unused: these servers are on PostgreSQL.
    with (
        live_server(folder / "first", migrated_database, **settings) as first,
        live_server(folder / "second", migrated_database, **settings) as second,
    ):
        yield first, second


@pytest.fixture(autouse=True)
def close_sockets(request):
    """Close what a test opened on the pair."""
    yield
    if "pair" in request.fixturenames:
        for server in request.getfixturevalue("pair"):
            server.close_browsers()


def on(server, browser):
    """The same person (their cookies) in a browser aimed at another process."""
    other = server.browser()
    other.cookies = browser.cookies
    other.opener = browser.opener
    other.username = browser.username
    return other


def message_ids(frames):
    """The message ids in frames, in the order they arrived."""
    return [int(found) for frame in frames for found in MESSAGE_ID.findall(frame)]


def test_members_on_either_process_get_every_message_once(pair):
    first, second = pair
    alice, bob = first.people("alice", "bob")
    (carol,) = second.people("carol")
    room = alice.room_with(bob, on(first, carol))
    sockets = [alice.socket(room), on(second, bob).socket(room), carol.socket(room)]

    def talk(ws, name):
        for number in range(15):
            ws.say(f"{name} says {number}")

    talkers = [
        threading.Thread(target=talk, args=(ws, name))
        for ws, name in zip(sockets[:2], ("alice", "bob"), strict=True)
    ]
    for thread in talkers:
        thread.start()
    for thread in talkers:
        thread.join()
    for ws in sockets:
        ws.wait_for("alice says 14", timeout=10)
        ws.wait_for("bob says 14", timeout=10)
    expected = None
    for ws in sockets:
        ids = message_ids(ws.frames)
        assert len(ids) == len(set(ids)) == 30
        expected = expected or sorted(ids)
        assert sorted(ids) == expected
    log = (first.folder.parent / "logs" / f"chatroom{room}.txt").read_text().splitlines()
    assert len(log) == 30


def test_joins_typing_and_receipts_cross_processes(pair):
    first, second = pair
    (alice,) = first.people("alice")
    (bob,) = second.people("bob")
    room = alice.room_with(on(first, bob))
    alice_ws = alice.socket(room)
    bob_ws = bob.socket(room)
    alice_ws.wait_for(f"{bob.username} joined the room.")
    bob_ws.send_json({"type": "typing"})
    alice_ws.wait_for(f"{bob.username} is typing")
    alice_ws.say("across")
    message_id = message_ids([bob_ws.wait_for("across<")])[0]
    bob_ws.send_json({"type": "read", "id": message_id})
    alice_ws.wait_for(
        f'<span id="receipt-{message_id}" class="receipt" hx-swap-oob="true">read by 1<'
    )


def test_someone_on_both_processes_joins_once(pair):
    first, second = pair
    alice, bob = first.people("alice", "bob")
    room = alice.room_with(bob)
    bob_ws = bob.socket(room)
    alice.socket(room)
    on(second, alice).socket(room)
    bob_ws.say("both of her are here")
    bob_ws.wait_for("both of her are here<")
    time.sleep(0.5)
    bob_ws.say("still")
    bob_ws.wait_for("still<")
    assert bob_ws.text().count(f"{alice.username} joined the room.") == 1


def test_a_removal_on_one_process_closes_the_socket_on_the_other(pair):
    first, second = pair
    alice, carol = first.people("alice", "carol")
    room = alice.room_with(carol)
    carol_ws = on(second, carol).socket(room)
    carol_ws.wait_for('id="presence"')
    alice.post(f"/chat/room/{room}/edit/members/{carol.username}/remove")
    assert carol_ws.wait_closed() == 1008
    assert "You were removed from" in carol_ws.text()


def test_a_logout_on_one_process_closes_that_session_on_the_other(pair):
    first, second = pair
    (alice,) = first.people("alice")
    room = alice.room_with()
    elsewhere = on(second, alice).socket(room)
    elsewhere.wait_for('id="presence"')
    alice.post("/chat/logout/")
    assert elsewhere.wait_closed() == 1008


def test_unread_counts_reach_a_stream_on_the_other_process(pair):
    first, second = pair
    (alice,) = first.people("alice")
    (bob,) = second.people("bob")
    room = alice.room_with(on(first, bob))
    stream = bob.events()
    stream.wait_for("invitation-badge")
    alice.socket(room).say("count me")
    stream.wait_for('<span id="unread-total" data-count="1"', timeout=10)
