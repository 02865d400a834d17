"""Each user's event stream, read by a real SSE client from gunicorn on loopback."""

import re
import time

import pytest

from tests.live import live_server, unique

GRACE = 0.5


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database, live_database):
    """One live server for the module, on SQLite then on PostgreSQL; each test makes its
    own people and rooms."""
    folder = tmp_path_factory.mktemp("events")
    settings = {
        "PRESENCE_GRACE_SECONDS": GRACE,
        "FLOOD_LIMIT": "off",
        "EVENTS_KEEPALIVE_SECONDS": 0.3,
        **live_database,
    }
    with live_server(folder, migrated_database, **settings) as running:
        yield running


@pytest.fixture(autouse=True)
def close_streams(server):
    """Close what a test opened."""
    yield
    server.close_browsers()


def user_id(server, browser):
    """The id the database gave the browser's user."""
    (row,) = server.sql("SELECT id FROM users WHERE username = ?", browser.username)
    return row[0]


def room_id(server, name):
    """The id of the room with this name."""
    (row,) = server.sql("SELECT id FROM rooms WHERE name = ?", name)
    return row[0]


def wait_for_read_mark(server, browser, message_id, timeout=5):
    """Wait until the browser's user has read up to message_id somewhere, as saved."""
    deadline = time.monotonic() + timeout
    query = (
        "SELECT 1 FROM memberships JOIN users ON users.id = memberships.user_id"
        " WHERE users.username = ? AND memberships.last_read_message_id >= ?"
    )
    while time.monotonic() < deadline:
        if server.sql(query, browser.username, message_id):
            return
        time.sleep(0.05)
    raise AssertionError(f"{browser.username} has not read {message_id} after {timeout} s")


def badge(count):
    """The invitation badge as the stream sends it."""
    hidden = "" if count else " hidden"
    return f'<span id="invitation-badge" class="count-badge" hx-swap-oob="true"{hidden}>{count}<'


def test_the_stream_starts_at_once_and_keeps_alive(server):
    (alice,) = server.people("alice")
    stream = alice.events()
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers["Cache-Control"] == "no-cache"
    assert stream.headers["X-Accel-Buffering"] == "no"
    first = stream.wait_for("invitation-badge", timeout=2)
    assert first.name == "update"
    assert first.id is not None
    assert '<span id="unread-total" data-count="0"' in first.data
    stream.drain(1)
    assert ": keepalive" in stream.comments


def test_only_a_logged_in_user_from_this_site_gets_a_stream(server):
    assert server.browser().events().status in (302, 401)
    (alice,) = server.people("alice")
    assert alice.events(origin="http://evil.example").status == 403


def test_an_invitation_arrives_live_and_the_owner_sees_the_answer(server):
    alice, bob = server.people("alice", "bob")
    alice_stream, bob_stream = alice.events(), bob.events()
    bob_stream.wait_for(badge(0))
    room = unique("room")
    alice.create_room(room, bob)
    bob_stream.wait_for(badge(1))
    bob_stream.wait_for("changed", name="invitations")
    bob_stream.forget()
    bob.accept_invitation(room)
    notice = alice_stream.wait_for(f"{bob.username} accepted your invitation to {room}.")
    assert notice.data.startswith('<div id="live-notices" hx-swap-oob="beforeend">')
    bob_stream.wait_for(badge(0))


def test_a_declined_invitation_is_told_to_the_owner(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with()
    alice_stream = alice.events()
    alice.post(f"/chat/room/{room}/edit/invite", {"username": bob.username})
    _, _, lobby = bob.get("/chat/room/")
    invitation = re.search(r"/chat/invitations/(\d+)/decline", lobby).group(1)
    bob.post(f"/chat/invitations/{invitation}/decline")
    alice_stream.wait_for(f"{bob.username} declined your invitation to {room}.")


def test_a_public_room_appears_for_everyone_and_a_private_one_does_not(server):
    alice, carol = server.people("alice", "carol")
    carol_stream = carol.events()
    carol_stream.wait_for("invitation-badge")
    alice.room_with()
    public = alice.room_with(visibility="public")
    carol_stream.wait_for("changed", name="rooms")
    assert public in carol.get("/chat/room/lists")[2]
    # The private room was made first: had it been told, it would have come first.
    assert len([e for e in carol_stream.events if e.name == "rooms"]) == 1


def test_a_rename_reaches_members_and_moves_open_room_pages(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    bob_stream, bob_socket = bob.events(), bob.socket(room)
    bob_stream.wait_for("invitation-badge")
    renamed = unique("renamed")
    alice.post(f"/chat/room/{room}/edit/", {"name": renamed, "visibility": "private"})
    bob_stream.wait_for("changed", name="rooms")
    moved = bob_socket.wait_for('id="room-moved"')
    new_address = f"/chat/room/{renamed}/?renamed="
    assert f'data-url="{new_address}"' in moved
    assert f"This room is now called {renamed}." in bob.get(new_address)[2]
    assert "This room is now called" not in bob.get(f"/chat/room/{renamed}/")[2]


def test_a_deletion_and_a_removal_are_told(server):
    alice, bob, carol = server.people("alice", "bob", "carol")
    kept, deleted = alice.room_with(bob, carol), alice.room_with(bob)
    bob_stream, carol_stream = bob.events(), carol.events()
    carol_stream.wait_for("invitation-badge")
    alice.post(f"/chat/room/{deleted}/edit/delete", {"confirm_name": deleted})
    bob_stream.wait_for(f"The room {deleted} was deleted.")
    alice.post(f"/chat/room/{kept}/edit/members/{carol.username}/remove")
    carol_stream.wait_for(f"You were removed from {kept}.")
    carol_stream.wait_for("changed", name="rooms")


def test_an_admin_announcement_reaches_everyone_connected(server):
    bob, carol = server.people("bob", "carol")
    streams = [bob.events(), carol.events()]
    server.sql("UPDATE users SET is_admin = true WHERE username = ?", bob.username)
    bob.post("/chat/announcements", {"text": "<b>Lunch</b> at noon"})
    for stream in streams:
        frame = stream.wait_for("Lunch")
        assert "&lt;b&gt;Lunch&lt;/b&gt; at noon" in frame.data
        assert frame.data.startswith('<div id="announcements" hx-swap-oob="afterbegin">')


def test_only_an_admin_may_announce(server):
    (bob,) = server.people("bob")
    assert bob.post("/chat/announcements", {"text": "hi"})[0] == 404


def unread_count(stream, room_id, count):
    """Wait for the stream to say the room has this many unread messages."""
    hidden = "" if count else " hidden"
    pattern = f'<span id="unread-room-{room_id}" class="count-badge" hx-swap-oob="true"{hidden}>'
    return stream.wait_for(f"{pattern}{count}<", name="unread")


def test_unread_counts_follow_new_messages_and_reading(server):
    alice, bob, carol = server.people("alice", "bob", "carol")
    room = alice.room_with(bob, carol)
    other = carol.room_with(bob)
    rid = room_id(server, room)
    bob_stream = bob.events()
    alice_socket = alice.socket(room)
    carol.socket(other).say("elsewhere")
    alice_socket.say("one")
    alice_socket.say("two")
    unread_count(bob_stream, rid, 2)
    bob_stream.wait_for('<span id="unread-total" data-count="3"')
    _, _, lobby = bob.get("/chat/room/")
    assert re.search(rf'id="unread-room-{rid}" class="count-badge">2<', lobby)
    _, _, page = bob.get(f"/chat/room/{room}/")
    assert re.search(r'id="new-line".*?</div>\s*<article id="msg-(\d+)"', page, re.DOTALL)
    first_unread = re.search(r'id="new-line".*?<article id="msg-(\d+)"', page, re.DOTALL)
    bob_socket = bob.socket(room)
    last = int(re.findall(r'<article id="msg-(\d+)"', page)[-1])
    assert int(first_unread.group(1)) < last
    bob_stream.forget()
    bob_socket.send_json({"type": "read", "id": last})
    unread_count(bob_stream, rid, 0)
    bob_stream.wait_for('<span id="unread-total" data-count="1"')
    assert "new-line" not in bob.get(f"/chat/room/{room}/")[2]
    for socket in (alice_socket, bob_socket):
        assert "unread" not in socket.drain()[-1] + "".join(socket.frames)


def test_the_author_sees_how_many_have_read_each_message(server):
    alice, bob, carol = server.people("alice", "bob", "carol")
    room = alice.room_with(bob, carol)
    alice_socket, bob_socket, carol_socket = (b.socket(room) for b in (alice, bob, carol))
    alice_socket.say("did you read this")
    message_id = int(re.search(r'id="msg-(\d+)"', bob_socket.wait_for("did you read")).group(1))
    bob_socket.send_json({"type": "read", "id": message_id})
    receipt = f'<span id="receipt-{message_id}" class="receipt" hx-swap-oob="true">'
    alice_socket.wait_for(f"{receipt}read by 1</span>")
    carol_socket.send_json({"type": "read", "id": message_id})
    alice_socket.wait_for(f"{receipt}read by 2</span>")
    assert "receipt-" not in bob_socket.text().replace(
        f'id="receipt-{message_id}" class="receipt"></span>', ""
    )
    _, _, page = alice.get(f"/chat/room/{room}/")
    assert f'<span id="receipt-{message_id}" class="receipt">read by 2</span>' in page
    _, _, bobs_page = bob.get(f"/chat/room/{room}/")
    assert f'<span id="receipt-{message_id}" class="receipt"></span>' in bobs_page


@pytest.mark.parametrize(
    "spelling",
    ['{{"type":"read","id":{}}}', '{{ "id": {},\n "type": "read" }}'],
    ids=["as-the-page-sends-it", "any-json"],
)
def test_a_read_frame_counts_however_its_json_is_spelled(server, spelling):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_socket, bob_socket = alice.socket(room), bob.socket(room)
    alice_socket.say("read me")
    message_id = int(re.search(r'id="msg-(\d+)"', bob_socket.wait_for("read me")).group(1))
    bob_socket.client.send(spelling.format(message_id))
    receipt = f'<span id="receipt-{message_id}" class="receipt" hx-swap-oob="true">'
    alice_socket.wait_for(f"{receipt}read by 1</span>")
    wait_for_read_mark(server, bob, message_id)


def test_a_conversation_says_read_and_a_private_reader_is_never_counted(server):
    alice, bob = server.people("alice", "bob")
    _, url, _ = alice.post(f"/chat/users/{bob.username}/message", page="/chat/users/")
    conversation = url.rstrip("/").rsplit("/", 1)[1]
    alice_socket, bob_socket = alice.socket(conversation), bob.socket(conversation)
    alice_socket.say("first")
    first = int(re.search(r'id="msg-(\d+)"', bob_socket.wait_for("first")).group(1))
    bob_socket.send_json({"type": "read", "id": first})
    alice_socket.wait_for(f'<span id="receipt-{first}" class="receipt" hx-swap-oob="true">read<')
    profile = {"username": bob.username, "shares_typing": "y"}
    bob.post("/chat/profile/", profile, page="/chat/profile/")
    alice_socket.say("second")
    second = int(re.search(r'id="msg-(\d+)"', bob_socket.wait_for("second")).group(1))
    bob_socket.send_json({"type": "read", "id": second})
    wait_for_read_mark(server, bob, second)
    # Nothing tells alice when bob read, not even an empty receipt: once bob shares again,
    # his next read is told, and nothing about "second" came before it.
    bob.post("/chat/profile/", {**profile, "shares_read_state": "y"}, page="/chat/profile/")
    alice_socket.say("third")
    third = int(re.search(r'id="msg-(\d+)"', bob_socket.wait_for("third")).group(1))
    bob_socket.send_json({"type": "read", "id": third})
    alice_socket.wait_for(f'<span id="receipt-{third}" class="receipt" hx-swap-oob="true">read<')
    assert f'id="receipt-{second}" class="receipt" hx-swap-oob' not in alice_socket.text()


def test_online_status_is_live(server):
    alice, bob = server.people("alice", "bob")
    alice_stream = alice.events()
    bob_id = user_id(server, bob)
    marker = f'.status[data-user-id="{bob_id}"]'
    assert marker not in alice_stream.wait_for("online-users").data
    bob_stream = bob.events()
    came = alice_stream.wait_for(marker)
    assert came.data.startswith('<div id="online-users" hx-swap-oob="beforeend">')
    _, _, directory = alice.get("/chat/users/")
    assert f'<span class="status" data-user-id="{bob_id}"></span>' in directory
    assert marker in directory.partition('<div id="online-users" hidden>')[2]
    bob_stream.close()
    alice_stream.wait_for(
        f'<style id="online-{bob_id}" hx-swap-oob="delete"></style>', timeout=GRACE + 3
    )


def test_typing_is_shown_throttled_and_can_be_switched_off(server):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    alice_socket, bob_socket = alice.socket(room), bob.socket(room)
    bob_socket.send_json({"type": "typing"})
    bob_socket.send_json({"type": "typing"})
    bob_socket.say("after typing twice")
    alice_socket.wait_for("after typing twice")
    assert alice_socket.text().count("is typing") == 1
    bob.post("/chat/profile/", {"username": bob.username}, page="/chat/profile/")
    quiet = bob.socket(room)
    quiet.send_json({"type": "typing"})
    quiet.say("typed quietly")
    alice_socket.wait_for("typed quietly")
    assert alice_socket.text().count("is typing") == 1


def test_a_reconnect_with_last_event_id_gets_a_fresh_snapshot(server):
    alice, bob = server.people("alice", "bob")
    first = bob.events()
    last_id = first.wait_for("invitation-badge").id
    first.close()
    alice.create_room(unique("room"), bob)
    again = bob.events(last_event_id=last_id)
    snapshot = again.wait_for(badge(1))
    assert int(snapshot.id) > int(last_id)
    again.wait_for("changed", name="rooms")
    again.wait_for("changed", name="invitations")


def test_logging_out_ends_the_stream(server):
    (alice,) = server.people("alice")
    stream = alice.events()
    stream.wait_for("invitation-badge")
    alice.post("/chat/logout/")
    stream.drain(1)
    assert stream.ended


def test_many_readers_make_exact_counts_and_few_receipts(server):
    author, *readers = server.people("author", *(f"reader{n}" for n in range(8)))
    room = author.room_with(*readers)
    author_socket = author.socket(room)
    reader_sockets = [reader.socket(room) for reader in readers]
    said = []
    for number in range(10):
        author_socket.say(f"read me {number}")
        frame = author_socket.wait_for(f"read me {number}<")
        said.append(int(re.search(r'id="msg-(\d+)"', frame).group(1)))
        for socket in reader_sockets:
            socket.wait_for(f"read me {number}<")
            socket.send_json({"type": "read", "id": said[-1]})
    receipt = f'<span id="receipt-{said[-1]}" class="receipt" hx-swap-oob="true">'
    author_socket.wait_for(f"{receipt}read by 8</span>")
    # 80 read frames came in; the author heard of them a few times a second, not 80 times.
    pushes = author_socket.text().count('class="receipt" hx-swap-oob="true"')
    assert pushes < 40
    _, _, page = author.get(f"/chat/room/{room}/")
    assert page.count("read by 8</span>") == 10
    unread = server.sql(
        "SELECT rooms.message_count - read_position + personal_unread FROM memberships"
        " JOIN rooms ON rooms.id = memberships.room_id WHERE rooms.name = ?",
        room,
    )
    assert unread == [(0,)] * 9
