"""The live room over real WebSockets, against gunicorn's gevent worker on loopback."""

import base64
import contextlib
import os
import re
import signal
import socket
import threading
import time

import pytest
import simple_websocket
from markupsafe import escape
from wsproto.frame_protocol import FrameProtocol, Opcode

from tests.live import live_server, stored_bodies

GRACE = 0.5
ALLOWED_ORIGIN = "https://chat.example.org"
MESSAGE_ID = re.compile(r'<article id="msg-(\d+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database, live_database):
    """One live server for the module, on SQLite then on PostgreSQL; each test makes its
    own people and rooms."""
    folder = tmp_path_factory.mktemp("live")
    settings = {
        "PRESENCE_GRACE_SECONDS": GRACE,
        "FLOOD_LIMIT": "off",
        "ALLOWED_ORIGINS": ALLOWED_ORIGIN,
        "MAX_MESSAGE_LENGTH": 200,
        **live_database,
    }
    with live_server(folder, migrated_database, **settings) as running:
        yield running


@pytest.fixture(autouse=True)
def close_sockets(request):
    """Close the sockets a test opened on the module's server."""
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").close_browsers()


def message_ids(frames):
    """The message ids in frames, in the order they arrived."""
    return [int(found) for frame in frames for found in MESSAGE_ID.findall(frame)]


def user_id(server, browser):
    """The id of the browser's user."""
    (row,) = server.sql("SELECT id FROM users WHERE username = ?", browser.username)
    return row[0]


def log_lines(server, room):
    """The lines of the room's log file."""
    path = server.logs / f"chatroom{room}.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_a_message_reaches_every_member_as_the_same_bytes(server):
    alice, bob, carol = server.people("alice", "bob", "carol")
    room = alice.room_with(bob, carol)
    sockets = [browser.socket(room) for browser in (alice, bob, carol)]
    sockets[1].say("hello everyone")
    frames = [ws.wait_for("hello everyone") for ws in sockets]
    assert frames[0] == frames[1] == frames[2]
    assert frames[0].startswith('<div id="messages" hx-swap-oob="beforeend" data-new-messages>')
    assert f'<span class="nick">{bob.username}</span>' in frames[0]
    assert stored_bodies(server, room) == ["hello everyone"]


def test_a_message_is_logged_as_one_line_as_it_is_saved(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    ws = alice.socket(room)
    ws.say("hi\n2020-01-01 00:00:00 mallory: forged\r\nand a \\ backslash")
    ws.wait_for("forged")
    (line,) = log_lines(server, room)
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {alice.username}: "
        r"hi\\n2020-01-01 00:00:00 mallory: forged\\nand a \\\\ backslash",
        line,
    )


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "http://127.0.0.1:1"],
    ids=["other-site", "null", "other-port"],
)
def test_a_socket_from_a_foreign_origin_is_refused(server, origin):
    (alice,) = server.people("alice")
    room = alice.room_with()
    with pytest.raises(simple_websocket.ConnectionError, match="403"):
        alice.socket(room, origin=origin)


def test_allowed_origins_and_non_browsers_may_connect(server):
    (alice,) = server.people("alice")
    room = alice.room_with()
    alice.socket(room, origin=ALLOWED_ORIGIN).say("from the other origin")
    alice.socket(room, origin=None).wait_for("from the other origin")


def test_a_visitor_who_is_not_logged_in_is_refused(server):
    (alice,) = server.people("alice")
    room = alice.room_with()
    with pytest.raises(simple_websocket.ConnectionError, match="403"):
        server.browser().socket(room)


def test_a_user_who_is_not_a_member_is_refused(server):
    alice, mallory = server.people("alice", "mallory")
    for visibility in ("private", "public"):
        room = alice.room_with(visibility=visibility)
        with pytest.raises(simple_websocket.ConnectionError, match="403"):
            mallory.socket(room)


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '</article><div id="messages" hx-swap-oob="innerHTML">gone</div>',
    "<a href='javascript:alert(1)'>click</a>",
    '"><svg onload=alert(1)>',
    "{{ 7*7 }} &lt;already escaped&gt;",
]


def test_message_text_is_always_escaped(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws, bob_ws = alice.socket(room), bob.socket(room)
    for payload in XSS_PAYLOADS:
        alice_ws.say(payload)
        frame = bob_ws.wait_for(str(escape(payload)))
        assert payload not in frame
    _, _, page = bob.get(f"/chat/room/{room}/")
    for payload in XSS_PAYLOADS:
        assert str(escape(payload)) in page
        assert payload not in page


def test_a_personal_message_reaches_only_its_two_people(server):
    alice, bob, carol = server.people("alice", "bob", "carol")
    room = alice.room_with(bob, carol)
    alice_ws, bob_ws, bob_second_tab, carol_ws = (
        alice.socket(room),
        bob.socket(room),
        bob.socket(room),
        carol.socket(room),
    )
    alice_ws.say(f"/pm {bob.username} the cake is in the oven")
    alice_ws.say("the presence list's form", to=bob.username)
    alice_ws.say("everyone may read this")
    for ws in (alice_ws, bob_ws, bob_second_tab):
        assert "personal, to" in ws.wait_for("the cake is in the oven")
        ws.wait_for("the presence list&#39;s form")
    carol_ws.wait_for("everyone may read this")
    assert "oven" not in carol_ws.text()
    assert "presence list" not in carol_ws.text()
    assert "oven" not in carol.get(f"/chat/room/{room}/")[2]
    assert "the cake is in the oven" in bob.get(f"/chat/room/{room}/")[2]
    assert log_lines(server, room)[0].endswith(
        f" {alice.username} -> {bob.username} (personal): the cake is in the oven"
    )


def test_a_personal_message_to_someone_outside_the_room_is_refused(server):
    alice, bob, stranger = server.people("alice", "bob", "stranger")
    room = alice.room_with(bob)
    ws = alice.socket(room)
    ws.say(f"/pm {stranger.username} psst")
    assert f"{stranger.username} is not a member of this room." in ws.wait_for("not a member")
    assert stored_bodies(server, room) == []


def test_join_and_leave_are_announced_but_a_reload_is_neither(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws = alice.socket(room)
    bob_ws = bob.socket(room)
    alice_ws.wait_for(f"{bob.username} joined the room.")
    bob_ws.close()
    again = bob.socket(room)
    # Past the grace a leave would have been told; anything said after comes after it.
    time.sleep(GRACE * 2)
    again.say("still here")
    alice_ws.wait_for("still here")
    assert alice_ws.text().count(f"{bob.username} joined") == 1
    assert f"{bob.username} left" not in alice_ws.text()


def test_leaving_is_announced_after_the_grace(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws = alice.socket(room)
    bob.socket(room).close()
    frame = alice_ws.wait_for(f"{bob.username} left the room.", timeout=GRACE + 3)
    assert f'<li id="present-{user_id(server, bob)}" hx-swap-oob="delete"></li>' in frame
    assert stored_bodies(server, room) == []
    assert log_lines(server, room) == []


def test_two_people_online_at_once_have_different_colours(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws, bob_ws = alice.socket(room), bob.socket(room)
    alice_ws.say("mine")
    bob_ws.say("yours")
    colour = re.compile(r'class="message (nick-\d+)"')
    alice_colour = colour.search(bob_ws.wait_for("mine")).group(1)
    bob_colour = colour.search(alice_ws.wait_for("yours")).group(1)
    assert alice_colour != bob_colour
    presence = alice_ws.wait_for(f"{bob.username} joined").partition('<ul id="presence"')[2]
    assert f'class="present {bob_colour}" data-user-id="{user_id(server, bob)}"' in presence


def stored_ids(server, room, after=0):
    """The ids of the room's saved messages after an id, oldest first."""
    rows = server.sql(
        "SELECT messages.id FROM messages JOIN rooms ON rooms.id = messages.room_id"
        " WHERE rooms.name = ? AND messages.id > ? ORDER BY messages.id",
        room,
        after,
    )
    return [row[0] for row in rows]


def test_resume_sends_everything_missed_once_while_live_frames_flow(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws, bob_ws = alice.socket(room), bob.socket(room)
    alice_ws.say("said before the break")
    last_seen = message_ids([bob_ws.wait_for("said before the break")])[-1]
    bob_ws.close()
    for number in range(5):
        alice_ws.say(f"while away {number}")
    alice_ws.wait_for("while away 4")
    stop = threading.Event()

    def keep_talking():
        number = 0
        while not stop.is_set():
            alice_ws.say(f"during the reconnect {number}")
            number += 1
            time.sleep(0.005)

    talker = threading.Thread(target=keep_talking)
    talker.start()
    try:
        bob_again = bob.socket(room, resume_after=last_seen)
        time.sleep(0.3)
    finally:
        stop.set()
        talker.join()
    alice_ws.say("the end")
    bob_again.wait_for("the end")
    received = message_ids(bob_again.frames)
    # Live frames are not held back for the resume: the page puts each in its place.
    assert len(received) == len(set(received))
    assert sorted(received) == stored_ids(server, room, after=last_seen)


def test_messages_sent_between_connecting_and_resuming_arrive_once(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws = alice.socket(room)
    bob_ws = bob.socket(room, resume_after=None)
    for number in range(3):
        alice_ws.say(f"in the gap {number}")
    alice_ws.wait_for("in the gap 2")
    bob_ws.send_json({"type": "resume", "after": 0})
    bob_ws.wait_for("in the gap 2")
    bob_ws.drain()
    assert [f"in the gap {n}" in bob_ws.text() for n in range(3)] == [True] * 3
    assert message_ids(bob_ws.frames) == message_ids(alice_ws.frames)


def test_a_client_without_resume_gets_messages_from_when_it_connected(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws = alice.socket(room)
    alice_ws.say("said before bob came")
    alice_ws.wait_for("said before bob came")
    bob_ws = bob.socket(room, resume_after=None)
    alice_ws.say("said after")
    bob_ws.wait_for("said after", timeout=5)
    assert "said before bob came" not in bob_ws.text()


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("not json", "That was not understood."),
        ("[1, 2]", "That was not understood."),
        ('{"body": 42}', "That was not understood."),
        ('{"body": "   \\n  "}', "Type a message first."),
        ('{"body": "' + "x" * 201 + '"}', "the limit is 200"),
        ('{"body": "a\\u0000b"}', "may not contain NUL characters"),
        ('{"type": "resume", "after": "0"}', "That was not understood."),
        ('{"type": "read", "id": true}', "That was not understood."),
        ('{"type":"read","id":9223372036854775808}', "That was not understood."),
        ('{"type":"read","id":012}', "That was not understood."),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "body-not-text",
        "blank",
        "too-long",
        "nul",
        "resume",
        "read",
        "read-beyond-ids",
        "read-not-json",
    ],
)
def test_a_bad_frame_gets_a_clear_answer_and_saves_nothing(server, frame, message):
    (alice,) = server.people("alice")
    room = alice.room_with()
    ws = alice.socket(room)
    ws.client.send(frame)
    answer = ws.wait_for(message)
    assert answer.startswith('<p id="composer-status"')
    ws.say("still works")
    ws.wait_for("still works")
    assert stored_bodies(server, room) == ["still works"]


def test_a_refused_message_comes_back_into_the_composer(server):
    (alice,) = server.people("alice")
    room = alice.room_with()
    ws = alice.socket(room)
    ws.say("<b>" + "y" * 200)
    answer = ws.wait_for("the limit is 200")
    assert '<textarea id="composer-body"' in answer
    assert "&lt;b&gt;" + "y" * 200 + "</textarea>" in answer


def test_a_frame_over_the_size_cap_closes_the_socket(server):
    (alice,) = server.people("alice")
    room = alice.room_with()
    ws = alice.socket(room)
    ws.say("z" * (65 * 1024))
    assert ws.wait_closed() == 1009
    assert stored_bodies(server, room) == []


def test_a_message_posted_without_javascript_reaches_the_sockets(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    bob_ws = bob.socket(room)
    status, url, page = alice.post(f"/chat/room/{room}/messages", {"body": "no script here"})
    assert status == 200
    assert url.endswith(f"/chat/room/{room}/#composer")
    assert "no script here" in page
    bob_ws.wait_for("no script here")


def test_a_removed_member_is_told_and_the_socket_closes(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    bob_ws = bob.socket(room)
    alice.post(f"/chat/room/{room}/edit/members/{bob.username}/remove")
    assert bob_ws.wait_closed() == 1008
    assert "You were removed from this room." in bob_ws.text()


def test_logging_out_closes_that_sessions_sockets_only(server):
    (alice,) = server.people("alice")
    room = alice.room_with()
    other_session = server.browser()
    other_session.post(
        "/chat/login/",
        {"username": alice.username, "password": "correct horse"},
        page="/chat/login/",
    )
    ws, other_ws = alice.socket(room), other_session.socket(room)
    alice.post("/chat/logout/")
    assert ws.wait_closed() == 1008
    other_ws.say("still here")
    other_ws.wait_for("still here")


def test_deleting_the_room_closes_every_socket_in_it(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    bob_ws = bob.socket(room)
    alice.post(f"/chat/room/{room}/edit/delete", {"confirm_name": room})
    assert bob_ws.wait_closed() == 1008
    assert f"The room {room} was deleted." in bob_ws.text()


def test_flood_control_tells_the_sender(tmp_path, migrated_database):
    with live_server(tmp_path, migrated_database, FLOOD_LIMIT="3/10s") as flood_server:
        (alice,) = [flood_server.browser().sign_up("alice")]
        room = alice.room_with()
        ws = alice.socket(room)
        for number in range(4):
            ws.say(f"message {number}")
        answer = ws.wait_for("You are sending too fast.")
        assert re.search(r"Wait \d+ s and send it again\.", answer)
        assert "message 3</textarea>" in answer
        assert stored_bodies(flood_server, room) == ["message 0", "message 1", "message 2"]
        # Personal messages to names that are nobody's count too: each one costs a lookup.
        other = alice.room_with()
        ws = alice.socket(other)
        for number in range(3):
            ws.say(f"/pm nobody{number} psst")
            ws.wait_for(f"nobody{number} is not a member of this room.")
        ws.say("and now this")
        assert "and now this</textarea>" in ws.wait_for("You are sending too fast.")


def test_stopping_the_server_closes_sockets_with_1012(tmp_path, migrated_database):
    with live_server(tmp_path, migrated_database) as stopping:
        alice = stopping.browser().sign_up("alice")
        room = alice.room_with()
        ws = alice.socket(room)
        ws.say("hello")
        ws.wait_for("hello")
        started = time.monotonic()
        stopping.stop()
        assert ws.wait_closed() == 1012
        assert time.monotonic() - started < 5


def test_a_password_change_closes_the_other_sessions_sockets(server):
    (alice,) = server.people("alice")
    room = alice.room_with()
    elsewhere = server.browser()
    credentials = {"username": alice.username, "password": "correct horse"}
    elsewhere.post("/chat/login/", credentials, page="/chat/login/")
    here, there = alice.socket(room), elsewhere.socket(room)
    change = {
        "current_password": "correct horse",
        "password": "battery staple",
        "password_confirm": "battery staple",
    }
    alice.post("/chat/profile/password", change, page="/chat/profile/")
    assert there.wait_closed() == 1008
    assert "Your password was changed." in there.text()
    here.say("still connected")
    here.wait_for("still connected")


def test_a_second_resume_on_one_socket_is_ignored(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws = alice.socket(room)
    for number in range(3):
        alice_ws.say(f"before {number}")
    alice_ws.wait_for("before 2")
    bob_ws = bob.socket(room, resume_after=0)
    bob_ws.wait_for("before 2")
    bob_ws.send_json({"type": "resume", "after": 0})
    alice_ws.say("after the second resume")
    bob_ws.wait_for("after the second resume")
    assert message_ids(bob_ws.frames) == stored_ids(server, room)


def silent_socket(server, browser, room):
    """A room socket whose client never reads, with a receive window of a few KB."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    client.sendall(
        (
            f"GET /chat/room/{room}/ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {key}\r\nCookie: {browser.cookie_header()}\r\n\r\n"
        ).encode()
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += client.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return client


def received_until_closed(client, timeout=10):
    """Read what the server sent until it hung up; the bytes."""
    client.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := client.recv(65536):
            data += chunk
    return data


def test_a_client_that_stops_reading_is_hung_up_on_and_slows_nobody(tmp_path, migrated_database):
    options = '{"ping_interval": 25, "max_message_size": 65536, "queue_limit": 5}'
    settings = {"FLOOD_LIMIT": "off", "WEBSOCKET_OPTIONS": options}
    with live_server(tmp_path, migrated_database, **settings) as slow_server:
        alice, bob = (slow_server.browser().sign_up(name) for name in ("alice", "bob"))
        room = alice.room_with(bob)
        alice_ws = alice.socket(room)
        stuck = silent_socket(slow_server, bob, room)
        text = "x" * 3990
        count = 1500
        for number in range(count):
            alice_ws.say(f"{number:06d}{text}")
        # Writing to the stuck socket never waits: were it to wait, this would take minutes.
        alice_ws.wait_for(f"{count - 1:06d}", timeout=20)
        with stuck:
            sent_to_bob = received_until_closed(stuck)
        assert 0 < len(sent_to_bob) < count * len(text)
        assert len(stored_bodies(slow_server, room)) == count


def test_a_client_that_never_answers_a_ping_is_dropped_and_one_that_does_stays(
    tmp_path, migrated_database
):
    options = '{"ping_interval": 0.5, "max_message_size": 65536, "queue_limit": 1000}'
    with live_server(tmp_path, migrated_database, WEBSOCKET_OPTIONS=options) as server:
        alice, bob = (server.browser().sign_up(name) for name in ("alice", "bob"))
        room = alice.room_with(bob)
        answering = alice.socket(room)  # simple-websocket's client answers every ping
        with silent_socket(server, bob, room) as mute:
            opened = time.monotonic()
            sent_to_mute = received_until_closed(mute)
            dropped_after = time.monotonic() - opened
        frames = FrameProtocol(client=True, extensions=[])
        frames.receive_bytes(sent_to_mute)
        assert Opcode.PING in [frame.opcode for frame in frames.received_frames()]
        # Pinged after one or two quiet intervals, dropped at the next look.
        assert dropped_after < 5
        time.sleep(1.5)
        answering.say("still here")
        answering.wait_for("still here")


def test_every_message_its_sender_saw_come_back_outlives_a_killed_worker(
    tmp_path, migrated_database
):
    with live_server(tmp_path, migrated_database, FLOOD_LIMIT="off") as doomed:
        people = [doomed.browser().sign_up(f"sender{n}") for n in range(4)]
        room = people[0].room_with(*people[1:])
        sockets = [person.socket(room) for person in people]
        acknowledged = []

        def send_until_killed(index, ws):
            # Once the worker is gone, a send fails as closed, or with the socket's own
            # error when the client's reader closed it first (EBADF).
            with contextlib.suppress(simple_websocket.ConnectionClosed, AssertionError, OSError):
                for number in range(10_000):
                    body = f"from {index} number {number}"
                    ws.say(body)
                    ws.wait_for(f"{body}<", timeout=2)
                    acknowledged.append(body)

        threads = [
            threading.Thread(target=send_until_killed, args=pair) for pair in enumerate(sockets)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1)
        os.kill(doomed.worker_pid(), signal.SIGKILL)
        for thread in threads:
            thread.join(10)
        stored = set(stored_bodies(doomed, room))
        logged = {line.partition(": ")[2] for line in log_lines(doomed, room)}
        assert len(acknowledged) > 20
        assert set(acknowledged) <= stored
        assert set(acknowledged) <= logged


def test_a_socket_sending_too_much_is_read_no_faster(tmp_path, migrated_database):
    settings = {"ROOM_SOCKET_FRAME_LIMIT": "5/2s", "FLOOD_LIMIT": "off"}
    with live_server(tmp_path, migrated_database, **settings) as paced:
        (alice,) = [paced.browser().sign_up("alice")]
        ws = alice.socket(alice.room_with())
        started = time.monotonic()
        for number in range(8):
            ws.send_json({"type": "nonsense", "n": number})
        ws.say("after the nonsense")
        ws.wait_for("after the nonsense<", timeout=10)
        # The resume and five frames went at once; the rest waited for the window to turn.
        assert time.monotonic() - started >= 1.5
        assert ws.text().count("That was not understood.") == 8


def test_one_user_may_hold_only_so_many_sockets_and_streams(tmp_path, migrated_database):
    with live_server(tmp_path, migrated_database, MAX_CONNECTIONS_PER_USER=3) as capped:
        (alice,) = [capped.browser().sign_up("alice")]
        room = alice.room_with()
        first = alice.socket(room)
        first.wait_for('id="presence"')
        stream = alice.events()
        stream.wait_for("invitation-badge")
        alice.socket(room).wait_for('id="presence"')
        with pytest.raises(simple_websocket.ConnectionError) as refused:
            alice.socket(room)
        assert refused.value.status_code == 429
        assert alice.events().status == 429
        first.close()
        time.sleep(0.5)
        alice.socket(room).wait_for('id="presence"')


@pytest.mark.parametrize("personal_between", [False, True], ids=["alone", "personal between"])
def test_a_message_saved_but_never_published_arrives_with_the_next_one(server, personal_between):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_ws, bob_ws = alice.socket(room), bob.socket(room)
    alice_ws.say("first")
    bob_ws.wait_for("first<")
    # As a process that died between saving a message and publishing it leaves things.
    ((room_id, count),) = server.sql("SELECT id, message_count FROM rooms WHERE name = ?", room)
    server.sql(
        "INSERT INTO messages (room_id, author_id, is_personal, kind, body, color,"
        " created_at, position) VALUES (?, ?, false, 'text', 'lost in a crash', 0,"
        " '2026-12-01 00:00:00', ?)",
        room_id,
        user_id(server, alice),
        count + 1,
    )
    server.sql("UPDATE rooms SET message_count = ? WHERE id = ?", count + 1, room_id)
    if personal_between:
        # A personal message is not counted in positions: the gap still starts before it.
        alice_ws.say("just for you", to=bob.username)
        bob_ws.wait_for("just for you<")
    alice_ws.say("second")
    bob_ws.wait_for("second<")
    bob_ws.wait_for("lost in a crash<")
    received = message_ids(bob_ws.frames)
    assert len(received) == len(set(received))
    assert sorted(received) == stored_ids(server, room)
