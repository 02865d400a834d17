"""Who may send what on a room socket: every role, every frame type, and any frame at all.

Against the live server: the handshake admits members only, every frame type does what
it says for a member, and a socket whose user just lost the room (removed, left, the room
deleted, logged out) makes nothing of the frames it still sends. Hypothesis sends
arbitrary frames: none saves a message that is not one, none breaks the socket.
"""

import contextlib
import json
import time

import pytest
import simple_websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from tests.live import live_server, stored_bodies, unique

MAX_LENGTH = 200
SETTINGS = {
    "PRESENCE_GRACE_SECONDS": 0.3,
    "FLOOD_LIMIT": "off",
    "ROOM_SOCKET_FRAME_LIMIT": "off",
    "MAX_MESSAGE_LENGTH": MAX_LENGTH,
}
FRAME_TYPES = ["message", "personal", "typing", "resume", "read"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """One live server for the module."""
    with live_server(tmp_path_factory.mktemp("frames"), migrated_database, **SETTINGS) as running:
        yield running


@pytest.fixture(autouse=True)
def close_sockets(server):
    """Close what a test opened."""
    yield
    server.close_browsers()


def newest_id(server, room):
    """The id of the room's newest message."""
    ((newest,),) = server.sql(
        "SELECT max(messages.id) FROM messages JOIN rooms ON rooms.id = messages.room_id"
        " WHERE rooms.name = ?",
        room,
    )
    return newest


def read_mark(server, browser, room):
    """The id up to which the browser's user has read the room, as saved (None: no row)."""
    rows = server.sql(
        "SELECT last_read_message_id FROM memberships"
        " JOIN rooms ON rooms.id = memberships.room_id"
        " JOIN users ON users.id = memberships.user_id"
        " WHERE rooms.name = ? AND users.username = ?",
        room,
        browser.username,
    )
    return rows[0][0] if rows else None


def eventually(condition, timeout=5):
    """Wait until condition() holds; fail after timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def send_frame(ws, kind, to, message_id, body):
    """Send one frame of a kind, as the page would; a closed socket sends nothing."""
    frames = {
        "message": {"body": body},
        "personal": {"body": body, "to": to},
        "typing": {"type": "typing"},
        "resume": {"type": "resume", "after": 0},
        "read": {"type": "read", "id": message_id},
    }
    with contextlib.suppress(simple_websocket.ConnectionClosed):
        ws.send_json(frames[kind])


def refused_handshake(browser, room):
    """The status that refused the browser's socket, or None when it opened."""
    try:
        browser.socket(room)
    except simple_websocket.ConnectionError as refusal:
        return refusal.status_code
    return None


@pytest.mark.parametrize(
    "role", ["stranger", "invitee", "admin", "logged out", "removed", "left", "owner of another"]
)
def test_only_members_may_open_the_socket(server, role):
    olga, bob = server.people("olga", "bob")
    room = olga.room_with()
    if role == "invitee":
        olga.post(f"/chat/room/{room}/edit/invite", {"username": bob.username})
    elif role == "admin":
        server.sql("UPDATE users SET is_admin = true WHERE username = ?", bob.username)
    elif role == "logged out":
        olga.post(f"/chat/room/{room}/edit/invite", {"username": bob.username})
        bob.accept_invitation(room)
        bob.post("/chat/logout/")
    elif role == "removed":
        olga.post(f"/chat/room/{room}/edit/invite", {"username": bob.username})
        bob.accept_invitation(room)
        olga.post(f"/chat/room/{room}/edit/members/{bob.username}/remove")
    elif role == "left":
        olga.post(f"/chat/room/{room}/edit/invite", {"username": bob.username})
        bob.accept_invitation(room)
        bob.post(f"/chat/room/{room}/leave")
    elif role == "owner of another":
        bob.room_with()
    assert refused_handshake(bob, room) == 403


@pytest.mark.parametrize("role", ["member", "owner"])
@pytest.mark.parametrize("kind", FRAME_TYPES)
def test_every_frame_type_works_for_members(server, role, kind):
    olga, bob = server.people("olga", "bob")
    room = olga.room_with(bob)
    sender, witness = (bob, olga) if role == "member" else (olga, bob)
    witness_ws = witness.socket(room)
    witness_ws.say("earlier")
    witness_ws.wait_for("earlier<")
    earlier = newest_id(server, room)
    # Opened without the page's resume frame, which is one of the frames under test: what
    # was said before it opened reaches it only through a resume.
    sender_ws = sender.socket(room, resume_after=None)
    body = unique("hello-")
    send_frame(sender_ws, kind, witness.username, earlier, body)
    if kind in ("message", "personal"):
        witness_ws.wait_for(f"{body}<")
        assert stored_bodies(server, room) == ["earlier", body]
    elif kind == "typing":
        witness_ws.wait_for(f"{sender.username} is typing")
    elif kind == "resume":
        sender_ws.wait_for("earlier<")
    else:
        eventually(lambda: read_mark(server, sender, room) == earlier)


@pytest.mark.parametrize("loss", ["removed", "left", "room deleted", "logged out"])
def test_losing_the_room_closes_the_socket_and_what_it_sends_later_does_nothing(server, loss):
    olga, bob = server.people("olga", "bob")
    room = olga.room_with(bob)
    olga_ws, bob_ws = olga.socket(room), bob.socket(room)
    olga_ws.say("before")
    bob_ws.wait_for("before<")
    if loss == "removed":
        olga.post(f"/chat/room/{room}/edit/members/{bob.username}/remove")
    elif loss == "left":
        bob.post(f"/chat/room/{room}/leave")
    elif loss == "room deleted":
        olga.post(f"/chat/room/{room}/edit/delete", {"confirm_name": room})
    else:
        bob.post("/chat/logout/")
    body = unique("too-late-")
    for kind in FRAME_TYPES:
        send_frame(bob_ws, kind, olga.username, 1, body)
    assert bob_ws.wait_closed() == 1008
    if loss != "room deleted":
        olga_ws.say("after")
        olga_ws.wait_for("after<")
        assert "after<" not in bob_ws.text()
        assert body not in olga_ws.text()
        assert f"{bob.username} is typing" not in olga_ws.text()
        assert stored_bodies(server, room) == ["before", "after"]


@pytest.mark.parametrize("kind", FRAME_TYPES)
def test_each_frame_checks_membership_again(server, kind):
    olga, bob = server.people("olga", "bob")
    room = olga.room_with(bob)
    # Without the page's resume frame: a socket acts on its first resume only.
    olga_ws, bob_ws = olga.socket(room), bob.socket(room, resume_after=None)
    olga_ws.say("before")
    bob_ws.wait_for("before<")
    # Taken away behind the socket's back: no close order is published, so only the
    # checks each frame makes stand between bob and the room.
    server.sql(
        "DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE username = ?)"
        " AND room_id = (SELECT id FROM rooms WHERE name = ?)",
        bob.username,
        room,
    )
    body = unique("too-late-")
    send_frame(bob_ws, kind, olga.username, newest_id(server, room), body)
    if kind in ("message", "personal"):
        bob_ws.wait_for("no longer a member")
    elif kind == "resume":
        assert bob_ws.wait_closed() == 1008
    else:
        # Frames are acted on in turn: once this is answered, typing would have been
        # published, ahead of olga's next message. (A read frame has no membership row
        # left to move: for it, this shows only that nothing anyone sees changes.)
        bob_ws.send_json({"type": "nonsense"})
        bob_ws.wait_for("That was not understood.")
    olga_ws.say("after")
    olga_ws.wait_for("after<")
    assert body not in olga_ws.text()
    assert f"{bob.username} is typing" not in olga_ws.text()
    assert stored_bodies(server, room) == ["before", "after"]


def text_frames():
    """Frames a member might send: JSON near the real shapes, any JSON, any text."""
    ids = st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=5), st.none())
    near = st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["resume", "read", "typing", "nonsense", ""]) | st.text(),
            "after": ids,
            "id": ids,
            "to": st.text(max_size=70) | st.integers() | st.none(),
            "HEADERS": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=2),
        },
    )
    anything = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=10,
    )
    as_json = (near | anything).map(json.dumps)
    return as_json | st.text(max_size=300)


@pytest.fixture
def member_socket(server):
    """A member alone in a room, with the room's socket open for every example of a test."""
    (alice,) = server.people("alice")
    room = alice.room_with()
    return room, alice.socket(room)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=text_frames())
def test_no_frame_but_a_message_saves_anything_or_breaks_the_socket(server, member_socket, frame):
    room, ws = member_socket
    try:
        sent = json.loads(frame)
    except ValueError:
        sent = None
    if isinstance(sent, dict) and sent.get("type") is None and isinstance(sent.get("body"), str):
        return  # a message: the next test holds its rules
    saved = stored_bodies(server, room)
    printed = len(server.output())
    ws.frames.clear()
    ws.client.send(frame)
    # Frames are acted on in order: once this one comes back, the one before was handled.
    check = unique("check-")
    ws.say(check)
    ws.wait_for(f"{check}<")
    assert stored_bodies(server, room) == [*saved, check]
    assert "Traceback" not in server.output()[printed:]


def kept(body):
    """The text of a message as it is kept: line ends made one, spaces around taken off."""
    return body.replace("\r\n", "\n").strip()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.text(min_size=1, max_size=MAX_LENGTH).filter(
        lambda text: kept(text) and "\x00" not in text and not text.lstrip().startswith("/pm")
    )
)
def test_a_message_is_saved_as_sent_and_shown_escaped(server, member_socket, body):
    room, ws = member_socket
    saved = stored_bodies(server, room)
    ws.frames.clear()
    ws.say(body)
    ws.wait_for(f'<p class="body">{escape(kept(body))}</p>')
    assert stored_bodies(server, room) == [*saved, kept(body)]
