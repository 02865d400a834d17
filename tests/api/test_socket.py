"""The event socket for programs against the live server: requests, events, who may do what."""

import pytest
import simple_websocket

from tests.api.support import ProgramSocket, live_token
from tests.live import live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """One live server for the module; each test makes its own people and rooms."""
    folder = tmp_path_factory.mktemp("live-socket")
    with live_server(folder, migrated_database, FLOOD_LIMIT="off") as running:
        yield running


@pytest.fixture
def sockets(server):
    """Open program sockets by username; all closed after the test."""
    opened = []

    def open_socket(username, token=None):
        socket = ProgramSocket(server, token or live_token(server, username))
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        socket.close()
    server.close_browsers()


def test_a_handshake_without_a_valid_token_is_refused_with_401(server):
    for token in (None, "chatapp_not-a-token"):
        with pytest.raises(simple_websocket.ConnectionError) as refused:
            ProgramSocket(server, token)
        assert refused.value.status_code == 401


def test_a_subscriber_hears_messages_from_the_page_and_sends_to_it(server, sockets):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    program = sockets(bob.username)
    program.request("subscribe", room=room)
    assert program.next("subscribed")["room"] == room
    page = alice.socket(room)
    page.say("hello <bot>")
    event = program.next("message")
    assert event["message"]["body"] == "hello <bot>"
    assert event["message"]["author"] == alice.username
    program.request("send", room=room, body="hi <alice>")
    assert "hi &lt;alice&gt;" in page.wait_for("hi &lt;alice&gt;")
    assert program.next("message")["message"]["body"] == "hi <alice>"
