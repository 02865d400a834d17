"""Resuming on the event socket when a message lands between subscribing and loading.

Served in this process (werkzeug's threaded server, real sockets on loopback), so that a
message can be sent at exactly the moment that matters: after the subscription hears the
room, before the missed messages are loaded. It is then both held live and loaded.
"""

import threading

import pytest
from werkzeug.serving import make_server

from chatapp import messaging
from chatapp.connections import apisocket
from chatapp.models import Room, User
from tests.api.support import ProgramSocket, program


class InProcessServer:
    """The app served on a loopback port from a thread of this process."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Stop serving."""
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def served(app):
    """The test's app, served."""
    server = InProcessServer(app)
    yield server
    server.stop()


def test_a_message_both_held_and_loaded_goes_out_once(app, served, monkeypatch):
    alice, bob = program(app, "alice"), program(app, "bob")
    assert alice.post("/rooms", json={"name": "kitchen", "invite": ["bob"]}).status_code == 201
    invitation = bob.get("/invitations").get_json()["invitations"][0]
    assert bob.post(f"/invitations/{invitation['id']}/accept").status_code == 200
    first = alice.post("/rooms/kitchen/messages", json={"body": "before"}).get_json()["id"]
    load = apisocket.missed_since

    def say_then_load(room_id, user_id, after):
        messaging.post_message(Room.find("kitchen"), User.find("alice"), "landed meanwhile")
        return load(room_id, user_id, after)

    monkeypatch.setattr(apisocket, "missed_since", say_then_load)
    socket = ProgramSocket(served, bob.token)
    try:
        socket.request("subscribe", room="kitchen", after=first - 1)
        socket.next("subscribed")
        socket.next("message", timeout=5)
        socket.next("message", timeout=5)
        socket.drain(0.5)
        received = [event["message"]["body"] for event in socket.of_type("message")]
        assert received == ["before", "landed meanwhile"]
    finally:
        socket.close()
