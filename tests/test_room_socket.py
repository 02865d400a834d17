"""The room socket in this process: the test app served on loopback, real WebSocket clients.

What the live-server tests check through gunicorn is checked here where the test can see
it, so that mutation testing finds the room socket's code covered. Each browser logs in
through the forms; its socket is a websockets client sending the frames the page sends.
"""

import contextlib
import functools
import http.client
import json
import os
import re
import socket
import threading
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from sqlalchemy import delete, event, update
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from werkzeug.serving import make_server

from chatapp import bookkeeping, messaging, notify, offload, reading, roster
from chatapp.connections import roomsocket, websocket
from chatapp.connections.roomsocket import RoomSocket, is_message_id
from chatapp.extensions import db
from chatapp.live.broker import CatchUp, Close, get_broker, room_channel, user_channel
from chatapp.live.presence import get_presence
from chatapp.models import Membership, Message, Room, User
from tests.support import AuthActions, signed_up
from tests.test_websocket import CLOSE, TEXT, client_frame

SETTINGS = {
    "FLOOD_LIMIT": "off",
    "ROOM_SOCKET_FRAME_LIMIT": "off",
    "PRESENCE_GRACE_SECONDS": 0.1,
    "MAX_MESSAGE_LENGTH": 50,
    "EVENTS_KEEPALIVE_SECONDS": 0.5,
}
ROOM = "kitchen"
# Frames come within milliseconds. Under mutation testing a short wait keeps a mutant that
# loses one quick to fail; elsewhere a loaded machine is given longer.
WAIT_SECONDS = 2 if os.environ.get("MUTANT_UNDER_TEST") else 5
# Rounds that fail are tried again a few times, a second apart: going idle takes longer.
IDLE_SECONDS = 10
# Long enough for a frame that should not come to have come; short, as mutants rerun it.
QUIET_SECONDS = 0.3
CLOSE_1008 = b"\x88\x02\x03\xf0"  # a server's close frame with code 1008, unmasked


class Tab:
    """A page's socket: the frames it sends, and every frame it received."""

    def __init__(self, connection):
        self.connection = connection
        self.frames = []
        self.close_code = None

    def send_json(self, frame):
        """Send a frame as the page's JavaScript does."""
        self.connection.send(json.dumps(frame))

    def say(self, body, **fields):
        """Send a message from the composer."""
        self.send_json({"body": body, **fields})

    def _receive(self, timeout):
        try:
            self.frames.append(self.connection.recv(timeout=max(timeout, 0.01)))
        except TimeoutError:
            pass
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
            raise

    def wait_for(self, text):
        """Wait for a frame containing text and return it."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not any(text in frame for frame in self.frames):
            assert time.monotonic() < deadline, f"no frame with {text!r}: {self.frames!r}"
            self._receive(deadline - time.monotonic())
        return next(frame for frame in self.frames if text in frame)

    def drain(self, seconds=QUIET_SECONDS):
        """Everything received within seconds from now, and before."""
        deadline = time.monotonic() + seconds
        with contextlib.suppress(ConnectionClosed):
            while time.monotonic() < deadline:
                self._receive(deadline - time.monotonic())
        return self.text()

    def text(self):
        """Every frame received so far, as one string."""
        return "".join(self.frames)

    def count(self, text):
        """How many frames received so far contain text."""
        return sum(text in frame for frame in self.frames)

    def wait_closed(self):
        """Wait until the server closes the socket; the close code."""
        deadline = time.monotonic() + WAIT_SECONDS
        with contextlib.suppress(ConnectionClosed):
            while time.monotonic() < deadline:
                self._receive(deadline - time.monotonic())
        assert self.close_code is not None, "the socket is still open"
        return self.close_code


class Stream:
    """A page's event stream (Server-Sent Events): every line it received, read in a thread."""

    def __init__(self, host, cookie):
        self.connection = http.client.HTTPConnection(host, timeout=WAIT_SECONDS)
        headers = {"Cookie": cookie, "Accept": "text/event-stream"}
        self.connection.request("GET", "/chat/events", headers=headers)
        self.sock = self.connection.sock  # the response takes it over: kept to shut it
        self.response = self.connection.getresponse()
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        # Closing the connection from the test's side ends the read in ways that vary.
        with contextlib.suppress(Exception):
            for line in self.response:
                self.lines.append(line.decode())

    def wait_for(self, pattern):
        """Wait for a line of data matching a regular expression."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not any(re.search(pattern, line) for line in self.lines):
            assert time.monotonic() < deadline, f"no event with {pattern!r}: {self.lines!r}"
            time.sleep(0.02)

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()


class Site:
    """The test app served by werkzeug in a thread of this process, and its browsers."""

    def __init__(self, app, stack):
        self.app = app
        self.stack = stack
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.browsers = {}
        # A short poll: shutting down waits for one, and every test shuts a server down.
        serve = functools.partial(self.server.serve_forever, poll_interval=0.02)
        threading.Thread(target=serve, daemon=True).start()

    def people(self, *names):
        """Sign these people up; the first creates the room and the others join it."""
        for name in names:
            self.browsers[name] = signed_up(self.app, name)
        owner, *members = names
        with self.app.app_context():
            room = Room.create(ROOM, User.find(owner))
            for name in members:
                room.join(User.find(name))
            db.session.commit()

    def open(self, name, resume_after=0, room=ROOM):
        """Open the room's socket as the page does, with its resume frame (None: none)."""
        cookie = self.browsers[name].get_cookie("session")
        connection = self.stack.enter_context(
            connect(
                f"ws://{self.host}/chat/room/{quote(room)}/ws",
                origin=f"http://{self.host}",
                additional_headers={"Cookie": f"session={cookie.value}"},
                open_timeout=WAIT_SECONDS,
            )
        )
        tab = Tab(connection)
        # The whole list, swapped in over whatever the page showed.
        tab.wait_for('id="presence" class="presence" hx-swap-oob="true"')
        if resume_after is not None:
            tab.send_json({"type": "resume", "after": resume_after})
            # Done resuming before the test goes on: a change the test makes next (a
            # membership taken away) must meet the frame under test, not the resume.
            settled(tab)
        return tab

    def stream(self, name):
        """Open the user's event stream, as every page of theirs does."""
        cookie = self.browsers[name].get_cookie("session")
        stream = Stream(self.host, f"session={cookie.value}")
        self.stack.callback(stream.close)
        return stream

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_site(make_app):
    """Serve apps with settings over SETTINGS, with alice (who owns the room), bob and carol."""
    with contextlib.ExitStack() as stack:

        def make(**overrides):
            served = Site(make_app(**{**SETTINGS, **overrides}), stack)
            stack.callback(served.stop)
            served.people("alice", "bob", "carol")
            return served

        yield make


@pytest.fixture
def site(make_site):
    """The served app with alice (who owns the room), bob and carol in it."""
    return make_site()


def message_id(site, body):
    """The id of the saved message with this body."""
    with site.app.app_context():
        return db.session.scalar(db.select(Message.id).where(Message.body == body))


def said(site, tab, body):
    """Say something on a tab and wait until it comes back saved; its id."""
    tab.say(body)
    tab.wait_for(f">{body}<")
    return message_id(site, body)


def post(site, author, body, room=ROOM):
    """Post a message as any other page would (form, API): saved and published."""
    with site.app.test_request_context():
        return messaging.post_message(Room.find(room), User.find(author), body).id


def save_unpublished(site, author, *bodies):
    """Save messages the way the message path does, but publish none of them; their ids."""
    with site.app.test_request_context():
        room, user = Room.find(ROOM), User.find(author)
        drafts = [messaging.Draft(room.id, user, None, body, 0) for body in bodies]
        messaging.store(drafts)
        return [draft.message.id for draft in drafts]


def publish_saved(site, *message_ids):
    """Publish saved messages, in this order, as the process that saved them would."""
    with site.app.test_request_context():
        for each in message_ids:
            messaging.publish(db.session.get(Message, each), ROOM)


def publish(site, channel_of, item, name="bob"):
    """Publish an order on the room's channel or a user's, as other parts of the app do."""
    with site.app.app_context():
        if channel_of == "room":
            channel = room_channel(Room.find(ROOM).id)
        else:
            channel = user_channel(User.find(name).id)
        get_broker().publish(channel, item)


def run_sql(site, statement):
    """Change the database behind the sockets' back."""
    with site.app.app_context():
        db.session.execute(statement)
        db.session.commit()


def user_id(site, name):
    """The id of the user with this name."""
    with site.app.app_context():
        return User.find(name).id


def take_membership(site, name):
    """Delete the user's membership of the room without telling any socket; they stay a
    member of another room, which must not count."""
    with site.app.app_context():
        user, room = User.find(name), Room.find(ROOM)
        elsewhere = Room.find("elsewhere")
        if elsewhere is None:
            Room.create("elsewhere", user)
        else:
            elsewhere.join(user)
        db.session.commit()
        user_id, room_id = user.id, room.id
    condition = (Membership.user_id == user_id) & (Membership.room_id == room_id)
    run_sql(site, delete(Membership).where(condition))


def shown_once(tab, message):
    """Whether the tab received the message exactly once."""
    return tab.count(f'id="msg-{message}"') == 1


# Opening and closing


def test_an_opened_socket_shows_who_is_here_and_the_room_sees_the_join(site):
    alice = site.open("alice")
    bob = site.open("bob")
    assert f'data-user-id="{user_id(site, "alice")}"' in bob.text()
    alice.wait_for("bob joined the room.")


def test_a_second_tab_of_someone_here_is_not_a_second_join(site):
    alice = site.open("alice")
    site.open("bob")
    site.open("bob")
    said(site, alice, "after both tabs")
    assert alice.count("bob joined the room.") == 1


def test_closing_the_socket_tells_the_room_they_left(site):
    alice = site.open("alice")
    bob = site.open("bob")
    bob.connection.close()
    alice.wait_for("bob left the room.")
    with site.app.app_context():
        assert user_id(site, "bob") not in get_presence().in_room(Room.find(ROOM).id)
    assert not subscribed(site, "bob")


def subscribed(site, name):
    """Whether anything still listens on the user's channel: a socket that let go does not."""
    with site.app.app_context():
        # No public view of the subscribers: a closed socket that stayed subscribed would
        # only cost memory and a wasted delivery for every frame, nothing a user sees.
        return bool(get_broker()._subscribers.get(user_channel(User.find(name).id)))


@contextlib.contextmanager
def socket_as_under_gunicorn(site, name):
    """A RoomSocket handed a socket pair's end as gunicorn hands it one; the client's end."""
    server_end, client_end = socket.socketpair()
    with client_end, site.app.test_request_context(f"/chat/room/{ROOM}/ws"):
        handshaken = SimpleNamespace(mode="gunicorn", sock=server_end, ws=None, connected=True)
        room_socket = RoomSocket(handshaken, Room.find(ROOM), User.find(name), None)
        server_end.close()  # the RoomSocket keeps its own copy, as under gunicorn
        client_end.settimeout(WAIT_SECONDS)
        yield room_socket, client_end


def received_until_hung_up(client_end):
    """Every byte the server's end sent until it hung up."""
    return b"".join(iter(lambda: client_end.recv(65536), b""))


def test_a_socket_opened_by_someone_no_longer_a_member_says_why_and_hangs_up(site):
    take_membership(site, "bob")
    with socket_as_under_gunicorn(site, "bob") as (room_socket, client_end):
        started = time.monotonic()
        room_socket.serve()
        sent = received_until_hung_up(client_end)
    # At once: not when the close frame's answer is overdue.
    assert time.monotonic() - started < roomsocket_closing_seconds() / 2
    assert roomsocket.NOT_A_MEMBER.encode() in sent and CLOSE_1008 in sent
    with site.app.app_context():
        assert user_id(site, "bob") not in get_presence().in_room(Room.find(ROOM).id)
    assert not subscribed(site, "bob")


def roomsocket_closing_seconds():
    """How long a socket waits for the answer to its close frame."""
    return websocket.CLOSING_SECONDS


def in_context(context, action):
    """The action, to be called in a context (the request that opened a socket)."""

    def call():
        with context:
            action()

    return call


def test_a_socket_under_gunicorn_is_read_in_a_thread_of_its_own(site):
    with socket_as_under_gunicorn(site, "bob") as (room_socket, client_end):
        request = site.app.test_request_context(f"/chat/room/{ROOM}/ws")
        serving = threading.Thread(target=in_context(request, room_socket.serve), daemon=True)
        serving.start()
        serving.join(WAIT_SECONDS)
        assert not serving.is_alive(), "serve() kept reading in its caller"
        body = json.dumps({"body": "from a worker"}).encode()
        client_end.sendall(client_frame(TEXT, body) + client_frame(CLOSE, b"\x03\xe8"))
        received_until_hung_up(client_end)
    assert message_id(site, "from a worker") is not None


# Messages


def test_a_message_reaches_every_member_and_is_saved(site):
    alice, carol = site.open("alice"), site.open("carol")
    bob = site.open("bob")
    said(site, bob, "hello all")
    alice.wait_for(">hello all<")
    carol.wait_for(">hello all<")


def test_a_personal_message_reaches_only_its_two_people(site):
    alice, bob, carol = site.open("alice"), site.open("bob"), site.open("carol")
    bob.say("just for alice", to="alice")
    alice.wait_for(">just for alice<")
    bob.wait_for(">just for alice<")
    said(site, alice, "for everyone")
    carol.wait_for(">for everyone<")
    assert "just for alice" not in carol.text()


@pytest.mark.parametrize("to", ["", 5, None])
def test_a_to_that_names_nobody_sends_the_message_to_everyone(site, to):
    bob, carol = site.open("bob"), site.open("carol")
    bob.say("to nobody in particular", to=to)
    carol.wait_for(">to nobody in particular<")


def test_a_refused_message_is_put_back_in_the_composer(site):
    bob = site.open("bob")
    too_long = "x" * 51
    bob.say(too_long)
    frame = bob.wait_for("the limit is 50")
    assert too_long in frame


def test_a_refused_personal_message_is_not_put_back_in_the_composer(site):
    bob = site.open("bob")
    bob.say("psst", to="nobody")
    frame = bob.wait_for("nobody is not a member of this room.")
    assert "psst" not in frame


NONSENSE = [
    "not json",
    "[1, 2]",
    '{"type": "resume", "after": -1}',
    '{"type": "resume", "after": true}',
    '{"type": "read", "id": "12"}',
    '{"type": "read", "id": 9223372036854775808}',
    '{"body": 5}',
    '{"type": "dance", "after": 0}',
]


def test_every_frame_that_is_not_understood_is_answered_so(site):
    bob = site.open("bob", resume_after=None)
    for frame in NONSENSE:
        bob.connection.send(frame)
    deadline = time.monotonic() + WAIT_SECONDS
    while bob.count(roomsocket.NOT_UNDERSTOOD) < len(NONSENSE):
        assert time.monotonic() < deadline, bob.frames
        bob.drain(0.05)
    assert bob.count(roomsocket.NOT_UNDERSTOOD) == len(NONSENSE)


def answered_within(tab, frames, seconds):
    """Send nonsense frames; whether all of them were answered within seconds."""
    started, answered = time.monotonic(), tab.count(roomsocket.NOT_UNDERSTOOD)
    for _ in range(frames):
        tab.connection.send("nonsense")
    while tab.count(roomsocket.NOT_UNDERSTOOD) < answered + frames:
        if time.monotonic() - started > seconds:
            return False
        tab.drain(0.02)
    return True


def test_frames_beyond_the_pace_wait_their_turn_on_each_socket_and_messages_never_do(
    make_site,
):
    site = make_site(ROOM_SOCKET_FRAME_LIMIT="3/6s")
    first_tab, second_tab = site.open("bob", resume_after=None), site.open("bob", None)
    assert answered_within(first_tab, 3, seconds=3)
    assert answered_within(second_tab, 3, seconds=3)  # a pace of its own
    started = time.monotonic()
    for number in range(4):
        first_tab.say(f"quick {number}")
    first_tab.wait_for(">quick 3<")
    assert time.monotonic() - started < 3  # a paced frame would wait about 6 s
    before = first_tab.count(roomsocket.NOT_UNDERSTOOD)
    assert not answered_within(first_tab, 1, seconds=2)
    # Held back, not lost: it is answered once the pace allows.
    deadline = time.monotonic() + 6 + WAIT_SECONDS
    while first_tab.count(roomsocket.NOT_UNDERSTOOD) == before:
        assert time.monotonic() < deadline, "the frame held back was never answered"
        first_tab.drain(0.05)


def test_a_new_name_shows_on_the_next_message(site):
    alice, bob = site.open("alice"), site.open("bob")
    said(site, bob, "as bob")
    run_sql(site, update(User).where(User.username == "bob").values(display_name="Robert"))
    with site.app.app_context():
        notify.profile_changed(user_id(site, "bob"))
    bob.say("as robert")
    frame = alice.wait_for(">as robert<")
    assert "Robert" in frame


def test_a_deleted_account_cannot_send_and_its_socket_closes(site):
    bob = site.open("bob")
    bob_id = user_id(site, "bob")
    run_sql(site, delete(User).where(User.id == bob_id))
    with site.app.app_context():
        notify.profile_changed(bob_id)
    bob.say("from beyond")
    assert bob.wait_closed() == 1008
    assert roomsocket.NOT_A_MEMBER in bob.text()
    assert message_id(site, "from beyond") is None


# Read marks and typing


def test_a_read_frame_saves_the_read_mark(site):
    alice, bob = site.open("alice"), site.open("bob")
    newest = said(site, alice, "read me")
    bob.send_json({"type": "read", "id": newest})
    deadline = time.monotonic() + WAIT_SECONDS
    while read_mark(site, "bob") != newest:
        assert time.monotonic() < deadline, "the read mark was not saved"
        time.sleep(0.05)


@pytest.mark.parametrize("spelling", ['{"type":"read","id":%d}', '{"type": "read", "id": %d}'])
def test_a_read_frame_as_the_page_or_a_program_spells_it_is_noted_and_never_answered(
    site, spelling
):
    alice, bob = site.open("alice"), site.open("bob")
    newest = said(site, alice, "read me")
    answered = bob.count(roomsocket.NOT_UNDERSTOOD)
    bob.connection.send(spelling % newest)
    deadline = time.monotonic() + WAIT_SECONDS
    while read_mark(site, "bob") != newest:
        assert time.monotonic() < deadline, "the read mark was not saved"
        time.sleep(0.05)
    # Frames are acted on in turn: an answer to the read frame would come before this.
    said(site, bob, "after reading")
    assert bob.count(roomsocket.NOT_UNDERSTOOD) == answered


def read_mark(site, name):
    """The user's saved read mark in the room."""
    with site.app.app_context():
        return db.session.scalar(
            db.select(Membership.last_read_message_id).where(
                Membership.user_id == User.find(name).id
            )
        )


def test_typing_is_shown_to_the_room_at_most_every_few_seconds(site):
    alice, bob = site.open("alice"), site.open("bob")
    programs = listening(site)
    bob.send_json({"type": "typing"})
    bob.send_json({"type": "typing"})
    said(site, bob, "typed")
    alice.wait_for(">typed<")
    assert alice.count("bob is typing") == 1
    # Programs are told too, in data naming the room.
    typing = [item.data for item in programs.items if item.data["type"] == "typing"]
    assert typing == [{"type": "typing", "room": ROOM, "user": "bob"}]


class Listener:
    """A subscriber of the room's channel besides the sockets: it keeps what is published."""

    def __init__(self):
        self.items = []

    def deliver(self, item):
        self.items.append(item)


def listening(site):
    """A Listener subscribed to the room's channel."""
    listener = Listener()
    with site.app.app_context():
        get_broker().subscribe(listener, [room_channel(Room.find(ROOM).id)])
    return listener


@pytest.mark.parametrize("why", ["does not share typing", "is no longer a member"])
def test_typing_is_not_shown_for_someone_who(site, why):
    alice, bob = site.open("alice"), site.open("bob")
    if why == "does not share typing":
        run_sql(site, update(User).where(User.username == "bob").values(shares_typing=False))
    else:
        take_membership(site, "bob")
    bob.send_json({"type": "typing"})
    settled(bob)
    # Bob's socket publishes as it acts, so a typing frame would be ahead of this one.
    said(site, alice, "still here")
    assert "is typing" not in alice.text()


def test_an_author_sees_how_many_have_read_their_message(site):
    with site.app.app_context():
        Room.create("pantry", User.find("alice"))
        db.session.commit()
    alice, bob, carol = site.open("alice"), site.open("bob"), site.open("carol")
    alice.say("psst", to="bob")
    alice.wait_for(">psst<")
    personal = message_id(site, "psst")
    elsewhere = post(site, "alice", "in the pantry", room="pantry")
    mine = said(site, alice, "read me")
    for reader in (bob, carol):
        reader.wait_for(">read me<")
        reader.send_json({"type": "read", "id": mine})
    alice.wait_for(f'<span id="receipt-{mine}" class="receipt" hx-swap-oob="true">read by 2<')
    # Only bob may read the personal one; the pantry's is not this room's to count.
    alice.wait_for(f'<span id="receipt-{personal}" class="receipt" hx-swap-oob="true">read by 1<')
    assert f'id="receipt-{elsewhere}"' not in alice.text()


def test_a_reader_who_does_not_share_their_reads_sets_off_no_receipt(site):
    site.browsers["dave"] = signed_up(site.app, "dave")
    with site.app.app_context():
        Room.find(ROOM).join(User.find("dave"))
        db.session.commit()
    run_sql(site, update(User).where(User.username == "carol").values(shares_read_state=False))
    mine = post(site, "alice", "read me")
    # bob reads through the API while nobody is connected here: there is no one to push
    # to now, and nothing is kept to push at some later reader's moment.
    with site.app.app_context():
        move = reading.mark_read(Room.find(ROOM).id, User.find("bob").id, mine)
        bookkeeping.get_bookkeeper().marks_moved([move])
    alice = site.open("alice")
    assert f'<span id="receipt-{mine}" class="receipt">read by 1</span>' in alice.text()
    read_by(site, "carol", mine)
    read_by(site, "dave", mine)
    alice.wait_for(f'<span id="receipt-{mine}" class="receipt" hx-swap-oob="true">read by 2<')
    # Rounds push in turn: a push set off by carol's read would have come before dave's.
    assert alice.count(f'id="receipt-{mine}"') == 2


def test_a_read_saved_elsewhere_reaches_the_author_here(site):
    alice = site.open("alice")
    mine = said(site, alice, "read me")
    # As the API's read endpoint does: the mark is saved there, the bookkeeper is told.
    with site.app.app_context():
        move = reading.mark_read(Room.find(ROOM).id, User.find("bob").id, mine)
        bookkeeping.get_bookkeeper().marks_moved([move])
    alice.wait_for(f'<span id="receipt-{mine}" class="receipt" hx-swap-oob="true">read by 1<')


def test_a_read_pushes_no_unread_count_to_anyone_but_its_reader(site):
    run_sql(site, update(User).where(User.username == "carol").values(shares_read_state=False))
    site.open("bob")  # someone connected, for the bookkeeper to run
    # Posted: once it returns, the bookkeeper knows something was said.
    for_alice = post(site, "bob", "for alice")
    bookkeeping_idle(site)  # the message is counted, and the room no longer in the news
    lobby = site.stream("alice")  # a fresh stream: every count counts as not pushed yet
    lobby.wait_for('<span id="unread-total" data-count="1"')
    read_by(site, "carol", for_alice)
    bookkeeping_idle(site)
    site.open("alice").send_json({"type": "read", "id": for_alice})
    lobby.wait_for(unread_badge(site, 0))
    # Rounds push in turn: a count pushed in carol's round would have come before.
    assert not any(re.search(unread_badge(site, 1), line) for line in lobby.lines)


def test_a_bookkeeping_round_that_fails_is_kept_whole_for_the_next(site, monkeypatch):
    bookkeeper = site.app.extensions["bookkeeper"]
    push_receipts, calls = bookkeeper.push_receipts, []

    def fail_once(*args):
        calls.append(args)
        if len(calls) == 1:
            raise OSError("the database went away for a moment")
        return push_receipts(*args)

    monkeypatch.setattr(bookkeeper, "push_receipts", fail_once)
    alice = site.open("alice")
    mine = said(site, alice, "read me")
    read_by(site, "bob", mine)
    alice.wait_for(f'<span id="receipt-{mine}" class="receipt" hx-swap-oob="true">read by 1<')
    assert len(calls) == 2


def test_a_round_saves_its_marks_in_parts_and_pushes_what_they_all_moved(site, monkeypatch):
    monkeypatch.setattr(bookkeeping, "MARKS_PER_SAVE", 1)
    alice = site.open("alice")
    mine = said(site, alice, "read me")
    readers = [site.open(name) for name in ("bob", "carol")]
    for tab in readers:
        tab.send_json({"type": "read", "id": mine})
    alice.wait_for(f'<span id="receipt-{mine}" class="receipt" hx-swap-oob="true">read by 2<')
    assert read_mark(site, "bob") == read_mark(site, "carol") == mine


def test_moves_that_fail_every_round_are_given_up_after_a_few(site, monkeypatch):
    monkeypatch.setattr(bookkeeping, "RETRY_SECONDS", 0.05)
    bookkeeper, calls = site.app.extensions["bookkeeper"], []

    def fail_always(*args):
        calls.append(args)
        raise OSError("this room's receipts cannot be pushed")

    monkeypatch.setattr(bookkeeper, "push_receipts", fail_always)
    alice = site.open("alice")
    mine = said(site, alice, "read me")
    read_by(site, "bob", mine)
    bookkeeping_idle(site)  # rather than trying forever, holding back every other room
    assert len(calls) == bookkeeping.MOVES_RETRIED + 1


def bookkeeping_idle(site):
    """Wait until the bookkeeper has nothing left to save or push."""
    bookkeeper = site.app.extensions["bookkeeper"]
    deadline = time.monotonic() + IDLE_SECONDS
    while bookkeeper._running:
        assert time.monotonic() < deadline, "the bookkeeper never went idle"
        time.sleep(0.05)


def read_by(site, name, message):
    """Open the person's socket, mark the message read, and wait until the mark is saved."""
    tab = site.open(name)
    tab.send_json({"type": "read", "id": message})
    deadline = time.monotonic() + WAIT_SECONDS
    while read_mark(site, name) != message:
        assert time.monotonic() < deadline, f"{name}'s read mark was not saved"
        time.sleep(0.02)
    return tab


def unread_badge(site, count, room=ROOM):
    """A room's unread count as the lobby shows it (hidden when none), as a pattern."""
    with site.app.app_context():
        room_id = Room.find(room).id
    return rf'id="unread-room-{room_id}" class="count-badge" hx-swap-oob="true"( hidden)?>{count}<'


def last_badge(site, stream, room=ROOM):
    """The last count the lobby was shown for a room."""
    shown = [re.search(unread_badge(site, "([0-9]+)", room), line) for line in stream.lines]
    return [match.group(2) for match in shown if match][-1]


def test_a_member_elsewhere_sees_each_rooms_unread_count_once_a_message_is_a_moment_old(site):
    with site.app.app_context():
        Room.create("pantry", User.find("alice")).join(User.find("bob"))
        db.session.commit()
    alice, bob = site.open("alice"), site.open("bob")
    lobby = site.stream("bob")
    first = said(site, alice, "one")
    said_at = time.monotonic()
    lobby.wait_for(unread_badge(site, 1))
    assert time.monotonic() - said_at >= bookkeeping.FRESH_SECONDS * 0.9
    bob.send_json({"type": "read", "id": first})
    lobby.wait_for(unread_badge(site, 0))
    said(site, alice, "two")
    alice.say("/pm bob three")
    for body in ("a", "b", "c"):
        post(site, "alice", body, room="pantry")
    lobby.wait_for(unread_badge(site, 3, room="pantry"))
    lobby.wait_for('<span id="unread-total" data-count="5"')
    lobby.wait_for(unread_badge(site, 2))
    # Each room counts its own messages, however the two interleave.
    assert last_badge(site, lobby) == "2"


# Resuming


def test_resuming_sends_what_was_said_after_the_given_id_once(site):
    first = post(site, "alice", "first")
    second = post(site, "alice", "/pm bob second")
    bob = site.open("bob", resume_after=first)
    bob.wait_for(">second<")
    bob.send_json({"type": "resume", "after": 0})
    said(site, bob, "marker")
    assert ">first<" not in bob.text()
    assert shown_once(bob, second)


def test_what_came_live_before_the_resume_is_not_sent_again(site, monkeypatch):
    # Only the newest id sent is remembered as sent lately: what keeps the older live
    # message from going twice is the socket's record of what it sent before the resume.
    monkeypatch.setattr(roomsocket, "RECENT_IDS_KEPT", 1)
    early = post(site, "alice", "early")
    alice = site.open("alice")
    bob = site.open("bob", resume_after=None)
    live = [said(site, alice, "live 1"), said(site, alice, "live 2")]
    bob.wait_for(">live 2<")
    bob.send_json({"type": "resume", "after": 0})
    bob.wait_for(">early<")
    said(site, bob, "marker")
    assert all(shown_once(bob, each) for each in [early, *live])


def test_my_messages_come_back_on_resume_with_their_receipts(site):
    mine = post(site, "bob", "mine")
    with site.app.test_request_context():
        reading.mark_read(Room.find(ROOM).id, User.find("alice").id, mine)
        reading.mark_read(Room.find(ROOM).id, User.find("carol").id, mine)
    bob = site.open("bob")
    frame = bob.wait_for(">mine<")
    assert f'<span id="receipt-{mine}" class="receipt">read by 2</span>' in frame


def test_a_resume_after_too_much_was_missed_draws_the_list_afresh(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "RESUME_LIMIT", 2)
    # A gap after the list would be fetched at once, and send its messages again.
    monkeypatch.setattr(roomsocket, "GAP_GRACE_SECONDS", 0)
    site.app.config["HISTORY_SIZE"] = 3
    ids = [post(site, "alice", body) for body in ("one", "/pm bob two", "three", "four")]
    bob = site.open("bob")
    frame = bob.wait_for(">four<")
    # The latest page as bob may see it, his personal message included, with the link
    # to the page before it.
    assert 'hx-swap-oob="innerHTML"' in frame and ">two<" in frame and ">three<" in frame
    assert f'href="/chat/room/{ROOM}/messages?before={ids[1]}"' in frame
    # The list drawn counts as sent: neither the next message (no gap before it) nor a
    # catch-up sends any of it again. The catch-up has one message to send, so its frame
    # shows when it is done.
    settled(bob)
    said(site, bob, "next")
    [witness] = save_unpublished(site, "alice", "witness")
    publish(site, "room", CatchUp())
    bob.wait_for(">witness<")
    assert ">one<" not in bob.text()
    assert all(shown_once(bob, each) for each in [*ids[1:], witness])


def test_missing_as_many_as_the_limit_appends_them(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "RESUME_LIMIT", 2)
    post(site, "alice", "one")
    ids = [post(site, "alice", "two"), post(site, "alice", "/pm bob three")]
    bob = site.open("bob", resume_after=ids[0] - 1)
    frame = bob.wait_for(">three<")
    assert 'hx-swap-oob="beforeend"' in frame and ">two<" in frame
    settled(bob)
    # And the same when a catch-up finds them, personal ones included.
    with site.app.test_request_context():
        room, alice, bob_user = Room.find(ROOM), User.find("alice"), User.find("bob")
        drafts = [
            messaging.Draft(room.id, alice, None, "four", 0),
            messaging.Draft(room.id, alice, bob_user, "five", 0),
        ]
        messaging.store(drafts)
    publish(site, "room", CatchUp())
    frame = bob.wait_for(">five<")
    assert 'hx-swap-oob="beforeend"' in frame and ">four<" in frame


def test_a_direct_conversation_shows_read_not_a_count(site):
    with site.app.test_request_context():
        alice, bob = User.find("alice"), User.find("bob")
        conversation = Room.start_direct(alice, bob).name
        db.session.commit()
        room_id = Room.find(conversation).id
        mine = messaging.post_message(Room.find(conversation), alice, "just us").id
        reading.mark_read(room_id, bob.id, mine)
    tab = site.open("alice", room=conversation)
    frame = tab.wait_for(">just us<")
    assert f'<span id="receipt-{mine}" class="receipt">read</span>' in frame


def test_frames_published_during_a_resume_follow_what_it_sends(site):
    missed = post(site, "alice", "missed")
    bob = site.open("bob", resume_after=None)
    published = []

    def publish_during_the_resume(conn, cursor, statement, parameters, context, executemany):
        if "messages.id >" in statement and not published:
            published.append(statement)
            with site.app.test_request_context():
                alice = User.find("alice")
                roster.typing(Room.find(ROOM).id, ROOM, alice)
                messaging.publish(db.session.get(Message, missed), ROOM)

    with site.app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", publish_during_the_resume)
    try:
        bob.send_json({"type": "resume", "after": 0})
        bob.wait_for("alice is typing")
    finally:
        event.remove(engine, "before_cursor_execute", publish_during_the_resume)
    assert bob.text().index(">missed<") < bob.text().index("is typing")
    said(site, bob, "marker")
    assert shown_once(bob, missed)


def test_a_resume_by_someone_no_longer_a_member_closes_the_socket(site):
    bob = site.open("bob", resume_after=None)
    take_membership(site, "bob")
    bob.send_json({"type": "resume", "after": 0})
    assert bob.wait_closed() == 1008
    assert roomsocket.NOT_A_MEMBER in bob.text()


# Catching up


def settled(tab):
    """Wait until the socket has acted on every frame sent to it so far.

    It acts on them in turn, and answers nonsense: once the nonsense is answered, the
    resume before it is done, and a catch-up order is no longer ignored.
    """
    answered = tab.count(roomsocket.NOT_UNDERSTOOD)
    tab.connection.send("are you done?")
    deadline = time.monotonic() + WAIT_SECONDS
    while tab.count(roomsocket.NOT_UNDERSTOOD) == answered:
        assert time.monotonic() < deadline, "the socket never answered"
        tab.drain(0.02)


def test_a_catch_up_order_sends_what_the_socket_missed(site):
    # Nothing was said before: the very first message is the one missed.
    bob = site.open("bob")
    settled(bob)
    [unseen] = save_unpublished(site, "alice", "unseen")
    publish(site, "room", CatchUp())
    bob.wait_for(">unseen<")
    said(site, bob, "marker")
    assert shown_once(bob, unseen)


def test_a_catch_up_order_waits_for_the_resume(site, monkeypatch):
    bob = site.open("bob", resume_after=None)
    [unseen] = save_unpublished(site, "alice", "unseen")
    # A catch-up runs within the publish here, so one that did not wait has sent by now.
    with monkeypatch.context() as patch:
        patch.setattr(offload, "start", lambda action, *args: action(*args))
        publish(site, "room", CatchUp())
    # The page already shows it (it loaded after the save): only a catch-up that did not
    # wait for the resume would have sent it.
    bob.send_json({"type": "resume", "after": unseen})
    said(site, bob, "marker")
    assert ">unseen<" not in bob.text()


def test_a_catch_up_for_someone_no_longer_a_member_closes_the_socket(site):
    bob = site.open("bob")
    said(site, bob, "seen")
    take_membership(site, "bob")
    save_unpublished(site, "alice", "unseen")
    publish(site, "room", CatchUp())
    assert bob.wait_closed() == 1008
    assert ">unseen<" not in bob.text()
    assert roomsocket.NOT_A_MEMBER in bob.text()


# Gaps: messages published out of order, or never


def queries_for_messages(site):
    """A list that grows by one for every page of messages the sockets ask for."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        # Only the page a catch-up or a resume asks for: the tests' own queries differ.
        if "messages.id > ?" in statement:
            seen.append(statement)

    with site.app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    return seen


def test_a_message_never_published_is_fetched_once_overdue(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "GAP_GRACE_SECONDS", 0.3)
    bob = site.open("bob")
    said(site, bob, "before")
    lost, later = save_unpublished(site, "alice", "lost", "later")
    published = time.monotonic()
    publish_saved(site, later)
    bob.wait_for(">lost<")
    assert time.monotonic() - published >= 0.3
    said(site, bob, "marker")
    assert shown_once(bob, lost) and shown_once(bob, later)
    assert bob.text().index(">later<") < bob.text().index(">lost<")


def test_a_message_skipped_right_after_what_the_resume_sent_is_fetched(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "GAP_GRACE_SECONDS", 0.2)
    post(site, "alice", "the very first")
    bob = site.open("bob")
    bob.wait_for(">the very first<")
    settled(bob)
    lost, later = save_unpublished(site, "alice", "lost", "later")
    publish_saved(site, later)
    bob.wait_for(">lost<")
    assert shown_once(bob, lost) and shown_once(bob, later)


def test_a_message_published_late_is_not_fetched(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "GAP_GRACE_SECONDS", 0.2)
    bob = site.open("bob")
    said(site, bob, "before")
    first, second = save_unpublished(site, "alice", "first", "second")
    queries = queries_for_messages(site)
    publish_saved(site, second, first)
    bob.wait_for(">first<")
    bob.drain(0.4)
    assert queries == []
    assert shown_once(bob, first) and shown_once(bob, second)


def test_two_gaps_are_each_fetched_once_overdue(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "GAP_GRACE_SECONDS", 0.3)
    bob = site.open("bob")
    said(site, bob, "before")
    ids = save_unpublished(site, "alice", "lost one", "second", "lost two", "fourth")
    publish_saved(site, ids[1], ids[3])
    bob.wait_for(">lost two<")
    bob.wait_for(">lost one<")
    said(site, bob, "marker")
    assert all(shown_once(bob, each) for each in ids)


def test_as_many_skipped_messages_as_are_kept_still_wait_their_grace(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "GAP_GRACE_SECONDS", 0.5)
    monkeypatch.setattr(roomsocket, "MISSING_KEPT", 2)
    bob = site.open("bob")
    said(site, bob, "before")
    *lost, last = save_unpublished(site, "alice", "lost 1", "lost 2", "last")
    published = time.monotonic()
    publish_saved(site, last)
    bob.wait_for(">lost 2<")
    assert time.monotonic() - published >= 0.5
    assert all(shown_once(bob, each) for each in lost)


def test_too_many_skipped_messages_are_fetched_at_once(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "GAP_GRACE_SECONDS", WAIT_SECONDS * 2)
    monkeypatch.setattr(roomsocket, "MISSING_KEPT", 2)
    bob = site.open("bob")
    said(site, bob, "before")
    *lost, last = save_unpublished(site, "alice", "lost 1", "lost 2", "lost 3", "last")
    publish_saved(site, last)
    bob.wait_for(">lost 3<")
    assert all(shown_once(bob, each) for each in lost)


def test_a_personal_message_leaves_no_gap(site, monkeypatch):
    monkeypatch.setattr(roomsocket, "GAP_GRACE_SECONDS", 0.1)
    alice, bob = site.open("alice"), site.open("bob")
    said(site, bob, "before")
    queries = queries_for_messages(site)
    alice.say("psst", to="bob")
    bob.wait_for(">psst<")
    said(site, alice, "after")
    bob.wait_for(">after<")
    bob.drain()
    assert queries == []


# Close orders


def test_a_close_order_for_this_room_closes_the_socket_with_its_words(site):
    bob = site.open("bob")
    with site.app.app_context():
        order = Close(1008, "<p>You were removed.</p>", room_id=Room.find(ROOM).id)
    publish(site, "user", order)
    assert bob.wait_closed() == 1008
    assert "You were removed." in bob.text()


def test_logging_out_closes_the_sockets_of_that_login_only(site):
    bob = site.open("bob")
    elsewhere = site.app.test_client()
    AuthActions(elsewhere).login("bob")
    AuthActions(elsewhere).logout()
    said(site, bob, "still here")
    AuthActions(site.browsers["bob"]).logout()
    assert bob.wait_closed() == 1008
    assert "You logged out." in bob.text()


def test_a_close_order_for_another_room_leaves_the_socket_open(site):
    bob = site.open("bob")
    with site.app.app_context():
        other = Room.find(ROOM).id + 1
    publish(site, "user", Close(1008, "<p>Not here.</p>", room_id=other))
    said(site, bob, "still open")
    assert "Not here." not in bob.text()


# Small parts, on a socket pair


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, True), (2**31 - 1, True), (2**31, False), (-1, False), (True, False),
     (1.0, False), ("1", False), (None, False)],
)  # fmt: skip
def test_only_non_negative_integers_an_id_column_holds_are_message_ids(value, expected):
    assert is_message_id(value) is expected


@pytest.fixture
def bare_socket(site):
    """bob's RoomSocket on a socket pair, not opened: its parts can be called one by one."""
    server_end, client_end = socket.socketpair()
    with server_end, client_end, site.app.test_request_context(f"/chat/room/{ROOM}/ws"):
        handshaken = SimpleNamespace(mode="werkzeug", sock=server_end, ws=None, connected=True)
        yield RoomSocket(handshaken, Room.find(ROOM), User.find("bob"), None)


def test_a_message_id_is_sent_lately_only_while_among_the_last_few(bare_socket):
    assert bare_socket.sent_lately(10) is False
    assert bare_socket.sent_lately(10) is True
    assert bare_socket.sent_lately(5) is False
    assert bare_socket.sent_lately(5) is True
    for newer in range(11, 11 + roomsocket.RECENT_IDS_KEPT):
        assert bare_socket.sent_lately(newer) is False
    assert bare_socket.sent_lately(5) is False  # forgotten: the 64 kept are newer
    assert bare_socket.sent_lately(12) is True


def test_positions_skipped_are_noted_only_once_resumed(bare_socket):
    assert bare_socket.note_position(3, 30) is None  # before the resume: no gap yet
    bare_socket.resumed = True
    assert bare_socket.note_position(None, 31) is None  # a personal message
    assert bare_socket.note_position(4, 40) is None
    positions, after = bare_socket.note_position(7, 70)
    assert (list(positions), after) == ([5, 6], 40)
    assert (bare_socket.last_position, bare_socket.positioned_id) == (7, 70)
    assert bare_socket.note_position(6, 60) is None  # older than the newest: no gap
    assert (bare_socket.last_position, bare_socket.positioned_id) == (7, 70)


def test_a_frame_limit_that_cannot_be_read_names_its_setting(make_app):
    with pytest.raises(ValueError, match="ROOM_SOCKET_FRAME_LIMIT"):
        make_app(ROOM_SOCKET_FRAME_LIMIT="sixty a minute")
