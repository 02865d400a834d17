"""The API against the live server: its messages reach browsers' sockets, and theirs it lists."""

import http.client
import json
import re

import pytest

from tests.api.support import call_live, live_token
from tests.live import live_server

MESSAGE_ID = re.compile(r'<article id="msg-(\d+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """One live server for the module; each test makes its own people and rooms."""
    folder = tmp_path_factory.mktemp("live-api")
    with live_server(folder, migrated_database, FLOOD_LIMIT="off") as running:
        yield running


@pytest.fixture(autouse=True)
def close_sockets(server):
    """Close the sockets a test opened."""
    yield
    server.close_browsers()


def log_lines(server, room):
    """The lines of the room's log file."""
    path = server.logs / f"chatroom{room}.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_a_message_sent_through_the_api_reaches_the_room_socket_and_the_log(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    ws = bob.socket(room)
    token = live_token(server, alice.username)
    status, message = call_live(
        server, "POST", f"/rooms/{room}/messages", {"body": "<hi> bob"}, token
    )
    assert status == 201
    frame = ws.wait_for("&lt;hi&gt; bob")
    assert f'<article id="msg-{message["id"]}"' in frame
    assert f'<span class="nick">{alice.username}</span>' in frame
    assert log_lines(server, room)[-1].endswith(f" {alice.username}: <hi> bob")


def test_a_message_from_a_room_socket_is_listed_by_the_api(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    ws = alice.socket(room)
    ws.say("from the page")
    message_id = int(MESSAGE_ID.search(ws.wait_for("from the page")).group(1))
    status, page = call_live(
        server, "GET", f"/rooms/{room}/messages", token=live_token(server, bob.username)
    )
    assert status == 200
    [message] = page["messages"]
    assert (message["id"], message["author"], message["body"]) == (
        message_id,
        alice.username,
        "from the page",
    )


def test_removing_a_member_through_the_api_closes_their_socket(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    ws = bob.socket(room)
    ws.drain(0.3)
    token = live_token(server, alice.username)
    status, _ = call_live(server, "DELETE", f"/rooms/{room}/members/{bob.username}", token=token)
    assert status == 204
    assert ws.wait_closed() == 1008
    assert "You were removed from this room." in ws.text()


def test_a_browser_cookie_does_not_open_the_api(server):
    [alice] = server.people("alice")
    status, _, body = alice.get("/api/v1/me")
    assert status == 401
    assert '"code":"unauthorized"' in body.replace(" ", "")


def test_a_chunked_body_over_the_limit_is_refused_not_cut_short(server):
    [alice] = server.people("alice")
    token = live_token(server, alice.username)
    chunks = (b'{"body": "' + b"x" * 8192 for _ in range(16))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("PATCH", "/api/v1/me", chunks, headers, encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "too_large"
    connection.close()
    small = (part for part in (b'{"about": ', b'"chunked"}'))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("PATCH", "/api/v1/me", small, headers, encode_chunked=True)
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())["about"]) == (200, "chunked")
    connection.close()
