"""The event socket for programs against the live server: requests, events, who may do what.

Every event a test receives is checked against docs/asyncapi.yaml as it arrives.
"""

import json
import sqlite3
import threading
import time

import pytest
import simple_websocket

from tests.api.support import ProgramSocket, add_messages, call_live, live_token
from tests.live import live_server, unique
from tests.support import PASSWORD

MAX_SUBSCRIPTIONS = 3
REQUEST_LIMIT = 30
FLOOD_LIMIT = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """One live server for the module; each test makes its own people and rooms."""
    folder = tmp_path_factory.mktemp("live-socket")
    settings = {
        "FLOOD_LIMIT": f"{FLOOD_LIMIT}/m",
        "PRESENCE_GRACE_SECONDS": 1,
        "API_SOCKET_MAX_SUBSCRIPTIONS": MAX_SUBSCRIPTIONS,
        "API_SOCKET_REQUEST_LIMIT": f"{REQUEST_LIMIT}/10s",
    }
    with live_server(folder, migrated_database, **settings) as running:
        yield running


@pytest.fixture
def program(server):
    """Open program sockets for people (by their browsers); all closed after the test."""
    opened = []

    def open_socket(person, token=None):
        socket = ProgramSocket(server, token or live_token(server, person.username))
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        socket.close()
    server.close_browsers()


def api(server, person, method, path, body=None):
    """(status, answer) of an API call made with a fresh token of the person's."""
    return call_live(server, method, path, body, live_token(server, person.username))


def bodies(server, person, room):
    """The bodies of the room's newest messages, as the person reads them through the API."""
    status, page = api(server, person, "GET", f"/rooms/{room}/messages")
    assert status == 200, page
    return [message["body"] for message in page["messages"]]


def make_admin(server, person):
    """Make someone an admin, as `flask create-admin` does."""
    with sqlite3.connect(server.database) as database:
        database.execute("UPDATE users SET is_admin = 1 WHERE username = ?", (person.username,))


def subscribed(socket, room, **fields):
    """Subscribe and wait for the acknowledgement."""
    socket.request("subscribe", room=room, **fields)
    return socket.next("subscribed", room=room)


# The handshake and the token


def test_a_handshake_without_a_valid_token_is_refused_with_401(server):
    for token in (None, "chatapp_not-a-token"):
        with pytest.raises(simple_websocket.ConnectionError) as refused:
            ProgramSocket(server, token)
        assert refused.value.status_code == 401


def test_revoking_the_token_closes_its_socket_and_no_other(server, program):
    [alice] = server.people("alice")
    token, other_token = live_token(server, alice.username), live_token(server, alice.username)
    socket, other = program(alice, token), program(alice, other_token)
    assert call_live(server, "DELETE", "/tokens/current", token=token)[0] == 204
    assert socket.wait_closed() == 1008
    room = alice.room_with()
    subscribed(other, room)
    with pytest.raises(simple_websocket.ConnectionError) as refused:
        ProgramSocket(server, token)
    assert refused.value.status_code == 401


def test_a_token_revoked_on_the_profile_page_closes_its_socket(server, program):
    [alice] = server.people("alice")
    socket = program(alice)
    _, _, page = alice.get("/chat/profile/")
    token_id = page.split("/chat/profile/tokens/")[1].split("/revoke")[0]
    alice.post(f"/chat/profile/tokens/{token_id}/revoke", page="/chat/profile/")
    assert socket.wait_closed() == 1008


def test_deleting_the_account_closes_its_program_sockets(server, program):
    [alice] = server.people("alice")
    socket = program(alice)
    data = {"confirm_password": PASSWORD}
    alice.post("/chat/profile/delete", data, page="/chat/profile/")
    assert socket.wait_closed() == 1008


def test_logging_out_everywhere_leaves_program_sockets_open(server, program):
    [alice] = server.people("alice")
    room = alice.room_with()
    socket = program(alice)
    alice.post("/chat/profile/sessions/end-all", page="/chat/profile/")
    status, _ = api(server, alice, "POST", f"/rooms/{room}/messages", {"body": "still here"})
    assert status == 201
    assert subscribed(socket, room)["room"] == room


# Messages both ways


def test_a_message_from_the_socket_reaches_pages_and_the_log_and_back(server, program):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    socket = program(bob)
    subscribed(socket, room)
    page = alice.socket(room)
    socket.request("send", room=room, body="hi <alice>")
    assert f'<span class="nick">{bob.username}</span>' in page.wait_for("hi &lt;alice&gt;")
    event = socket.next("message")["message"]
    assert (event["room"], event["author"], event["body"]) == (room, bob.username, "hi <alice>")
    log = (server.logs / f"chatroom{room}.txt").read_text(encoding="utf-8").splitlines()
    assert log[-1].endswith(f" {bob.username}: hi <alice>")
    page.say("hello <bot>")
    event = socket.next("message")["message"]
    assert (event["author"], event["body"], event["recipient"]) == (
        alice.username,
        "hello <bot>",
        None,
    )
    _, listed = api(server, bob, "GET", f"/rooms/{room}/messages?after={event['id'] - 1}")
    assert listed["messages"] == [event]


def test_personal_messages_reach_their_two_people_only(server, program):
    alice, bob, carol = server.people("alice", "bob", "carol")
    room = alice.room_with(bob, carol)
    bot, carols = program(bob), program(carol)
    subscribed(bot, room)
    subscribed(carols, room)
    bot.request("send", room=room, body="psst", to=alice.username)
    mine = bot.next("message")["message"]
    assert (mine["recipient"], mine["body"]) == (alice.username, "psst")
    bot.request("send", room=room, body=f"/pm {alice.username} again")
    assert bot.next("message")["message"]["body"] == "again"
    alice.socket(room).say("to all")
    assert carols.next("message")["message"]["body"] == "to all"
    assert [e["message"]["body"] for e in carols.of_type("message")] == ["to all"]


# Resuming


def test_a_reconnect_with_after_gets_every_missed_message_once_in_order(server, program):
    alice, bob, carol = server.people("alice", "bob", "carol")
    room = alice.room_with(bob, carol)
    socket = program(bob)
    subscribed(socket, room)
    page = alice.socket(room)
    page.say("before")
    last = socket.next("message")["message"]["id"]
    socket.close()
    page.say("missed one")
    page.say("for carol", to=carol.username)
    page.say("for bob", to=bob.username)
    page.say("missed two")
    page.wait_for("missed two")
    again = program(bob)
    sender = threading.Thread(target=say_many, args=(page, "live", 10))
    sender.start()
    ack = subscribed(again, room, after=last)
    sender.join()
    assert (ack["after"], ack["truncated"]) == (last, False)
    wanted = ["missed one", "for bob", "missed two", *(f"live {n}" for n in range(10))]
    for _ in wanted:
        again.next("message", timeout=5)
    again.drain(0.5)
    received = [event["message"] for event in again.of_type("message")]
    assert [message["body"] for message in received] == wanted
    ids = [message["id"] for message in received]
    assert ids == sorted(set(ids)) and ids[0] > last


def say_many(page, prefix, count):
    """Say numbered messages from a page as fast as it can."""
    for n in range(count):
        page.say(f"{prefix} {n}")


def test_more_than_500_missed_send_the_newest_500_and_say_so(server, program):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    page = alice.socket(room)
    page.say("first")
    page.wait_for("first")
    _, listed = api(server, bob, "GET", f"/rooms/{room}/messages")
    first = listed["messages"][-1]["id"]
    add_messages(server, room, alice, [f"saved {n}" for n in range(600)])
    socket = program(bob)
    assert subscribed(socket, room, after=first - 1)["truncated"] is True
    for _ in range(500):
        socket.next("message")
    received = [event["message"]["body"] for event in socket.of_type("message")]
    assert received == [f"saved {n}" for n in range(100, 600)]
    assert [event for event in socket.drain(0.3) if event["type"] == "message"] == []


# Subscriptions that end


def test_a_removal_ends_that_subscription_and_leaves_the_others(server, program):
    alice, bob = server.people("alice", "bob")
    kitchen, garden = alice.room_with(bob), alice.room_with(bob)
    socket = program(bob)
    subscribed(socket, kitchen)
    subscribed(socket, garden)
    status, _ = api(server, alice, "DELETE", f"/rooms/{kitchen}/members/{bob.username}")
    assert status == 204
    removed = socket.next("member", room=kitchen)
    assert (removed["user"], removed["change"], removed["by"]) == (
        bob.username,
        "removed",
        alice.username,
    )
    assert socket.next("unsubscribed", room=kitchen)["reason"] == "not_a_member"
    alice.socket(kitchen).say("after bob left")
    alice.socket(garden).say("in the garden")
    assert socket.next("message")["message"]["body"] == "in the garden"
    assert socket.drain(0.3) == []
    assert [e["message"]["body"] for e in socket.of_type("message")] == ["in the garden"]


def test_leaving_and_deletion_end_subscriptions_with_an_event(server, program):
    alice, bob = server.people("alice", "bob")
    kitchen, garden = alice.room_with(bob), alice.room_with(bob)
    socket = program(bob)
    subscribed(socket, kitchen)
    subscribed(socket, garden)
    assert api(server, bob, "POST", f"/rooms/{kitchen}/leave")[0] == 204
    assert socket.next("member", room=kitchen)["change"] == "left"
    assert socket.next("unsubscribed", room=kitchen)["reason"] == "not_a_member"
    assert api(server, alice, "DELETE", f"/rooms/{garden}")[0] == 204
    assert socket.next("unsubscribed", room=garden)["reason"] == "room_deleted"
    assert socket.next("room_deleted")["room"] == garden
    socket.request("unsubscribe", room=garden)
    assert socket.next("error")["code"] == "not_found"


def test_unsubscribing_stops_a_rooms_events(server, program):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    socket = program(bob)
    subscribed(socket, room)
    socket.request("unsubscribe", room=room)
    assert socket.next("unsubscribed", room=room)["reason"] == "requested"
    alice.socket(room).say("unheard")
    socket.request("unsubscribe", room=room)
    assert socket.next("error")["code"] == "not_subscribed"
    assert socket.of_type("message") == []


# Who may do what


@pytest.fixture(scope="module")
def cast(server):
    """A private room with its owner, a member, an invitee, a removed member, and outsiders."""
    owner, member, invitee, removed, stranger, admin = server.people(
        "owner", "member", "invitee", "removed", "stranger", "admin"
    )
    room = unique("room")
    owner.create_room(room, member, invitee, removed)
    member.accept_invitation(room)
    removed.accept_invitation(room)
    api(server, owner, "DELETE", f"/rooms/{room}/members/{removed.username}")
    make_admin(server, admin)
    people = {
        "owner": owner,
        "member": member,
        "invitee": invitee,
        "removed": removed,
        "stranger": stranger,
        "admin": admin,
    }
    return room, people


@pytest.mark.parametrize("role", ["stranger", "invitee", "admin", "removed"])
def test_those_who_are_not_members_get_not_found_and_change_nothing(server, program, cast, role):
    room, people = cast
    person, owner = people[role], people["owner"]
    watcher = owner.socket(room)
    watcher.drain(0.3)
    socket = program(person)
    requests = [
        {"type": "subscribe", "room": room, "after": 0},
        {"type": "send", "room": room, "body": f"from the {role}"},
        {"type": "typing", "room": room},
        {"type": "read", "room": room, "id": 1},
        {"type": "unsubscribe", "room": room},
    ]
    for request in requests:
        socket.send_text(json.dumps(request))
        error = socket.next("error")
        assert (error["code"], error["for"], error["room"]) == ("not_found", request["type"], room)
    assert f"from the {role}" not in bodies(server, owner, room)
    assert "is typing" not in "".join(watcher.drain(0.3))
    assert [event["type"] for event in socket.events] == ["error"] * len(requests)


@pytest.mark.parametrize("role", ["owner", "member"])
def test_members_subscribe_send_type_and_read(server, program, cast, role):
    room, people = cast
    person = people[role]
    other = people["member" if role == "owner" else "owner"]
    watcher = other.socket(room)
    socket = program(person)
    subscribed(socket, room)
    socket.request("send", room=room, body=f"from the {role}")
    said = socket.next("message")["message"]
    assert said["body"] == f"from the {role}"
    assert watcher.wait_for(f"from the {role}")
    socket.request("typing", room=room)
    assert person.username in watcher.wait_for("is typing")
    watcher.say(f"for the {role} to read")
    heard = socket.next("message", timeout=5)["message"]
    assert unread_in(server, person, room) == 1
    socket.request("read", room=room, id=heard["id"])
    deadline = time.monotonic() + 3
    while unread_in(server, person, room) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert unread_in(server, person, room) == 0
    assert socket.of_type("error") == []


def unread_in(server, person, room):
    """The person's unread count in the room, through the API."""
    _, unread = api(server, person, "GET", "/unread")
    return next(entry["unread"] for entry in unread["rooms"] if entry["room"] == room)


# Requests out of bounds


@pytest.mark.parametrize(
    ("frame", "code", "kind"),
    [
        ("not json", "bad_request", None),
        ("[1, 2]", "bad_request", None),
        ('{"room": "x"}', "unknown_type", None),
        ('{"type": "shout", "room": "x"}', "unknown_type", "shout"),
        ('{"type": "subscribe"}', "invalid", "subscribe"),
        ('{"type": "subscribe", "room": 5}', "invalid", "subscribe"),
        ('{"type": "subscribe", "room": "ROOM", "after": -1}', "invalid", "subscribe"),
        ('{"type": "subscribe", "room": "ROOM", "after": true}', "invalid", "subscribe"),
        ('{"type": "send", "room": "ROOM", "body": ["hi"]}', "invalid", "send"),
        ('{"type": "send", "room": "ROOM", "body": "hi", "colour": 1}', "invalid", "send"),
        ('{"type": "send", "room": "ROOM", "body": "hi", "to": 7}', "invalid", "send"),
        ('{"type": "read", "room": "ROOM", "id": "7"}', "invalid", "read"),
        ('{"type": "read", "room": "ROOM", "id": 9223372036854775808}', "invalid", "read"),
        ('{"type": "send", "room": "ROOM", "body": "   "}', "message_refused", "send"),
        ('{"type": "send", "room": "ROOM", "body": "a\\u0000b"}', "message_refused", "send"),
        (
            '{"type": "send", "room": "ROOM", "body": "x", "to": "nobody"}',
            "message_refused",
            "send",
        ),
        ('{"type": "typing", "room": "nowhere"}', "not_found", "typing"),
        ("[" * 100_000 + "]" * 100_000, None, None),
    ],
)
def test_a_bad_request_is_answered_with_an_error_and_changes_nothing(
    server, program, frame, code, kind
):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    socket = program(bob)
    socket.send_text(frame.replace("ROOM", room))
    if code is None:
        # Past 64 KiB: the socket is closed, as a page's is.
        assert socket.wait_closed() == 1009
        return
    error = socket.next("error")
    assert (error["code"], error["for"]) == (code, kind)
    assert error["message"]
    assert bodies(server, alice, room) == []
    subscribed(socket, room)


def test_an_invalid_request_names_each_wrong_field(server, program):
    [alice] = server.people("alice")
    socket = program(alice)
    socket.request("read", room="", id="x", extra=1)
    error = socket.next("error")
    assert error["fields"] == {
        "room": "Must be a room's name.",
        "id": "Must be a message id.",
        "extra": "Unknown field.",
    }


def test_a_binary_frame_closes_the_socket(server, program):
    [alice] = server.people("alice")
    socket = program(alice)
    socket.client.send(b"\x00\x01")
    assert socket.wait_closed() == 1003


def test_requests_beyond_the_rate_are_refused_with_retry_after(server, program):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    socket = program(bob)
    for _ in range(REQUEST_LIMIT):
        socket.request("typing", room=room)
    socket.request("send", room=room, body="one too many")
    error = socket.next("error")
    assert (error["code"], error["for"]) == ("too_many_requests", None)
    assert 1 <= error["retry_after"] <= 10
    assert len(socket.of_type("error")) == 1
    assert "one too many" not in bodies(server, alice, room)


def test_subscriptions_per_socket_are_capped(server, program):
    [alice] = server.people("alice")
    rooms = [alice.room_with() for _ in range(MAX_SUBSCRIPTIONS + 1)]
    socket = program(alice)
    for room in rooms[:MAX_SUBSCRIPTIONS]:
        subscribed(socket, room)
    socket.request("subscribe", room=rooms[-1])
    assert socket.next("error")["code"] == "too_many_subscriptions"
    socket.request("subscribe", room=rooms[0])
    assert socket.next("error")["code"] == "already_subscribed"
    socket.request("unsubscribe", room=rooms[0])
    socket.next("unsubscribed")
    assert subscribed(socket, rooms[-1])["room"] == rooms[-1]


def test_sending_past_the_flood_limit_is_refused_with_retry_after(server, program):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    socket = program(bob)
    for n in range(FLOOD_LIMIT):
        socket.request("send", room=room, body=f"flood {n}")
    socket.request("send", room=room, body="one too many")
    error = socket.next("error")
    assert (error["code"], error["for"], error["room"]) == ("too_fast", "send", room)
    assert 1 <= error["retry_after"] <= 60
    assert "one too many" not in bodies(server, alice, room)


def test_a_message_too_long_is_refused(server, program):
    [alice] = server.people("alice")
    room = alice.room_with()
    socket = program(alice)
    socket.request("send", room=room, body="x" * 4001)
    error = socket.next("error")
    assert error["code"] == "message_refused"
    assert "the limit is 4000" in error["message"]


# The room's events


def test_presence_typing_and_receipts_of_my_messages(server, program):
    alice, bob, carol = server.people("alice", "bob", "carol")
    room = alice.room_with(bob, carol)
    assert api(server, carol, "PATCH", "/me", {"shares_read_state": False})[0] == 200
    socket = program(bob)
    subscribed(socket, room)
    page = alice.socket(room)
    assert socket.next("join", user=bob.username)["room"] == room
    assert socket.next("join", user=alice.username)["room"] == room
    page.send_json({"type": "typing"})
    assert socket.next("typing", room=room)["user"] == alice.username
    socket.request("send", room=room, body="read me")
    mine = socket.next("message")["message"]
    carols = carol.socket(room)
    carols.send_json({"type": "read", "id": mine["id"]})
    time.sleep(0.8)
    assert socket.of_type("receipts") == []
    page.send_json({"type": "read", "id": mine["id"]})
    receipt = socket.next("receipts", room=room)
    assert receipt["messages"] == [{"id": mine["id"], "readers": 1}]
    page.close()
    carols.close()
    assert socket.next("leave", user=alice.username, timeout=5)["room"] == room


def test_others_see_a_program_come_type_and_go(server, program):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(bob)
    page = alice.socket(room)
    page.drain(0.3)
    socket = program(bob)
    subscribed(socket, room)
    assert page.wait_for(f"{bob.username} joined the room")
    socket.request("typing", room=room)
    socket.request("typing", room=room)
    assert "is typing" in page.wait_for("is typing")
    assert "".join(page.drain(0.3)).count("is typing") == 1
    socket.request("unsubscribe", room=room)
    assert page.wait_for(f"{bob.username} left the room", timeout=5)


def test_membership_changes_reach_subscribers_and_the_member(server, program):
    alice, bob, carol = server.people("alice", "bob", "carol")
    room = alice.room_with(bob, visibility="public")
    owners, members = program(alice), program(bob)
    subscribed(owners, room)
    subscribed(members, room)
    carols = program(carol)
    status, invitation = api(
        server, alice, "POST", f"/rooms/{room}/invitations", {"username": carol.username}
    )
    assert status == 201
    invited = owners.next("member", change="invited")
    assert (invited["user"], invited["by"]) == (carol.username, alice.username)
    received = carols.next("invitation")["invitation"]
    assert (received["id"], received["status"]) == (invitation["id"], "pending")
    assert api(server, carol, "POST", f"/invitations/{invitation['id']}/accept")[0] == 200
    assert owners.next("invitation")["invitation"]["status"] == "accepted"
    for socket in (owners, members, carols):
        assert socket.next("member", change="joined")["user"] == carol.username
    status, _ = api(server, alice, "PUT", f"/rooms/{room}/owner", {"username": bob.username})
    assert status == 200
    for socket in (owners, members):
        handed = socket.next("member", change="owner")
        assert (handed["user"], handed["by"]) == (bob.username, alice.username)
    members.drain(0.5)
    assert members.of_type("member")[-1]["change"] == "owner"
    assert not any(e["change"] == "invited" for e in members.of_type("member"))
    assert len([e for e in members.of_type("member") if e["change"] == "owner"]) == 1


def test_invitations_taken_back_and_declined_are_told(server, program):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with()
    owners, bobs = program(alice), program(bob)
    _, invitation = api(
        server, alice, "POST", f"/rooms/{room}/invitations", {"username": bob.username}
    )
    assert bobs.next("invitation")["invitation"]["status"] == "pending"
    api(server, alice, "DELETE", f"/rooms/{room}/invitations/{invitation['id']}")
    assert bobs.next("invitation")["invitation"]["status"] == "revoked"
    _, again = api(server, alice, "POST", f"/rooms/{room}/invitations", {"username": bob.username})
    bobs.next("invitation", invitation={**again, "status": "pending"})
    api(server, bob, "POST", f"/invitations/{again['id']}/decline")
    assert owners.next("invitation")["invitation"]["status"] == "declined"


def test_room_list_changes_and_announcements_need_no_subscription(server, program):
    alice, bob, admin = server.people("alice", "bob", "admin")
    make_admin(server, admin)
    socket = program(bob)
    public = unique("public")
    alice.create_room(public, visibility="public")
    created = socket.next("room_created")["room"]
    assert created == {"name": public, "visibility": "public", "direct": False}
    renamed = unique("renamed")
    status, _ = api(server, alice, "PATCH", f"/rooms/{public}", {"name": renamed})
    assert status == 200
    changed = socket.next("room_changed")
    assert (changed["room"]["name"], changed["old_name"]) == (renamed, public)
    assert api(server, alice, "DELETE", f"/rooms/{renamed}")[0] == 204
    assert socket.next("room_deleted")["room"] == renamed
    private = alice.room_with()
    assert api(server, admin, "POST", "/announcements", {"text": "<b>tea</b> at four"})[0] == 204
    announced = socket.next("announcement")
    assert (announced["author"], announced["text"]) == (admin.username, "<b>tea</b> at four")
    assert not any(e.get("room", {}).get("name") == private for e in socket.of_type("room_created"))
    assert api(server, alice, "POST", f"/users/{bob.username}/conversation")[0] == 201
    conversation = socket.next("room_created")["room"]
    assert conversation["direct"] is True


def test_joining_a_public_room_is_my_own_event(server, program):
    alice, bob = server.people("alice", "bob")
    room = alice.room_with(visibility="public")
    socket = program(bob)
    assert api(server, bob, "POST", f"/rooms/{room}/join")[0] == 200
    joined = socket.next("member", room=room)
    assert (joined["user"], joined["change"], joined["by"]) == (bob.username, "joined", None)
    assert subscribed(socket, room)["room"] == room
