"""A program's event socket: JSON requests in; its user's own events, and those of the rooms
it subscribed to, out.

One greenlet reads the program's requests and answers them. What is published is written
by whoever publishes it, as the JSON the event carries, encoded once for every socket.
Every subscription holds its room's live events while what it has to send first (the
acknowledgement, missed messages) goes out, then sends those it held that were not among
them: every message once, and in id order.
"""

import threading
import time

from flask import current_app
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from chatapp import bookkeeping, messaging, roster, shapes
from chatapp.access import joined_room
from chatapp.connections.apirequests import Refusal, read_request
from chatapp.connections.closing import POLICY_VIOLATION, SERVICE_RESTART
from chatapp.connections.websocket import WebSocket
from chatapp.extensions import db, flood_control
from chatapp.live.broker import (
    SITE_CHANNEL,
    CatchUp,
    Close,
    Frame,
    ProfileChanged,
    TokenRevoked,
    get_broker,
    room_channel,
    stream_channel,
    user_channel,
)
from chatapp.live.presence import get_presence
from chatapp.models import ApiToken, Membership, Message, User
from chatapp.ratelimit import parse_rate, seconds_until_reset

# Beyond this many missed messages only the newest this many are sent, and the program told.
RESUME_LIMIT = 500
TYPING_EVERY_SECONDS = 3
TOKEN_REVOKED = "The token was revoked."
NOT_FOUND = "There is no such room, or none you may see."
_socket_ids = iter(range(1, 1 << 62))


class ApiSocket:
    """Serve one program's socket, opened with one token, until either side closes it."""

    def __init__(self, ws, user, token_id):
        options = current_app.config["WEBSOCKET_OPTIONS"]
        self.connection = WebSocket(ws, **options)
        self.app = current_app._get_current_object()
        self.user_id = user.id
        self.username = user.username
        # Loaded with the handshake, and again after a profile change: not per request.
        self.author = user
        self.token_id = token_id
        self.key = f"apisocket:{next(_socket_ids)}"
        self.channels = (user_channel(user.id), stream_channel(user.id), SITE_CHANNEL)
        self.subscriptions = {}  # room id -> Subscription
        self.lock = threading.Lock()
        self.last_typing = {}  # room id -> when typing was last told there (monotonic)

    def serve(self):
        """Subscribe to the user's channels, then answer requests until the socket closes."""
        broker = get_broker()
        broker.subscribe(self, self.channels)
        try:
            # Checked after subscribing: a revocation from now on arrives as an order.
            if not self.token_is_valid():
                self.connection.close(POLICY_VIOLATION, TOKEN_REVOKED)
                return
            db.session.remove()
            for text in self.connection.messages():
                self.receive(text)
        finally:
            broker.unsubscribe(self, self.channels)
            for room_id in list(self.subscriptions):
                self.end_subscription(room_id, None)
            self.connection.finish()
            db.session.remove()

    def deliver(self, item):
        """Send an event of the user's own; obey a close order or a revocation."""
        if isinstance(item, Frame):
            if item.data is not None and item.may_see(self.user_id):
                self.connection.send(item.json_wire)
        elif isinstance(item, TokenRevoked):
            if item.token_id == self.token_id:
                self.connection.close(POLICY_VIOLATION, TOKEN_REVOKED)
        elif isinstance(item, Close):
            self.obey(item)
        elif isinstance(item, ProfileChanged):
            self.author = None
        elif isinstance(item, CatchUp):
            self.in_background(self.catch_up)

    def obey(self, order):
        """A close order: one room's (the membership ended), a restart's, or the user's."""
        if order.code == SERVICE_RESTART:
            self.connection.close(SERVICE_RESTART)
        elif order.room_id is not None:
            self.end_subscription(order.room_id, "not_a_member")
        else:
            # Logouts end login sessions, not tokens; a deleted account takes its tokens.
            self.in_background(self.check_token)

    def in_background(self, work):
        """Do work that asks the database in a greenlet of its own: publishers never wait."""

        def run():
            with self.app.app_context():
                try:
                    work()
                finally:
                    db.session.remove()

        threading.Thread(target=run, daemon=True).start()

    def token_is_valid(self):
        """Whether the socket's token still exists."""
        return db.session.get(ApiToken, self.token_id) is not None

    def check_token(self):
        """Close the socket if its token is gone."""
        if not self.token_is_valid():
            self.connection.close(POLICY_VIOLATION, TOKEN_REVOKED)

    def catch_up(self):
        """Events may have been missed: check the token, then catch every room up."""
        self.check_token()
        for subscription in list(self.subscriptions.values()):
            subscription.catch_up()

    def send(self, kind, **fields):
        """Send this socket an event of its own."""
        self.connection.send(wire(shapes.event(kind, **fields)))

    def receive(self, text):
        """Answer one request; a refused one changes nothing and is answered with an error."""
        try:
            self.count_request()
            kind, fields = read_request(text)
            ANSWERS[kind](self, **fields)
        except Refusal as refusal:
            self.send("error", **refusal.fields())
        finally:
            db.session.remove()

    def count_request(self):
        """Count one request against the socket's rate limit; refuse one too many."""
        limiter, item = self.app.extensions["api_socket_requests"]
        if limiter is not None and not limiter.hit(item, self.key):
            wait = seconds_until_reset(limiter, item, self.key)
            message = f"Too many requests. Wait {wait} s."
            raise Refusal("too_many_requests", message, retry_after=wait)

    def my_room(self, name, kind):
        """The room of this name I am a member of, or a refusal as the HTTP API's 404."""
        room = joined_room(self.me(kind, name), name)
        if room is None:
            raise Refusal("not_found", NOT_FOUND, kind, name)
        return room

    def me(self, kind, room_name=None):
        """The socket's user, loaded once and after each change of their profile."""
        if self.author is None:
            self.author = db.session.get(User, self.user_id)
        if self.author is None:
            raise Refusal("not_found", NOT_FOUND, kind, room_name)
        self.username = self.author.username
        return self.author

    def subscribe(self, room, after=None):
        """Hear the room's events from now on, after the messages missed since after."""
        found = self.my_room(room, "subscribe")
        subscription = Subscription(self, found.id, found.name)
        with self.lock:
            if found.id in self.subscriptions:
                message = "You hear this room already."
                raise Refusal("already_subscribed", message, "subscribe", room)
            if len(self.subscriptions) >= self.app.config["API_SOCKET_MAX_SUBSCRIPTIONS"]:
                message = "Unsubscribe from a room first: that is as many as one socket hears."
                raise Refusal("too_many_subscriptions", message, "subscribe", room)
            self.subscriptions[found.id] = subscription
        subscription.start(after)

    def unsubscribe(self, room):
        """Stop hearing a room's events."""
        found = self.my_room(room, "unsubscribe")
        if found.id not in self.subscriptions:
            raise Refusal("not_subscribed", "You do not hear this room.", "unsubscribe", room)
        self.end_subscription(found.id, "requested")

    def end_subscription(self, room_id, reason):
        """Stop hearing a room; tell the program why, unless the socket is closing."""
        with self.lock:
            subscription = self.subscriptions.pop(room_id, None)
        if subscription is None:
            return
        subscription.end()
        if reason is not None:
            self.send("unsubscribed", room=subscription.name, reason=reason)

    def send_message(self, room, body, to=None):
        """Post a message through the one path every message takes."""
        found = self.my_room(room, "send")
        author = self.me("send", room)
        self.refuse_if_too_fast(found, room)
        try:
            messaging.post_message(found, author, body, to)
        except messaging.MessageRefused as refusal:
            self.refuse_if_too_fast(found, room)
            raise Refusal("message_refused", str(refusal), "send", room) from None

    def refuse_if_too_fast(self, found, room):
        """Refuse while the flood limit holds the sender back in this room."""
        wait = flood_control.wait_seconds(found.id, self.user_id)
        if wait:
            message = f"You are sending too fast. Wait {wait} s and send it again."
            raise Refusal("too_fast", message, "send", room, retry_after=wait)

    def typing(self, room):
        """Tell the room that the user is typing, at most every few seconds."""
        found = self.my_room(room, "typing")
        now = time.monotonic()
        if now - self.last_typing.get(found.id, -TYPING_EVERY_SECONDS) < TYPING_EVERY_SECONDS:
            return
        self.last_typing[found.id] = now
        author = self.me("typing", room)
        if author.shares_typing:
            roster.typing(found.id, found.name, author)

    def read(self, room, id):
        """Note that the program has read the room up to a message."""
        found = self.my_room(room, "read")
        bookkeeping.get_bookkeeper().note_read(found.id, self.user_id, id)


ANSWERS = {
    "subscribe": ApiSocket.subscribe,
    "unsubscribe": ApiSocket.unsubscribe,
    "send": ApiSocket.send_message,
    "typing": ApiSocket.typing,
    "read": ApiSocket.read,
}


class Subscription:
    """One room a socket hears: its events go out while the subscription lasts."""

    def __init__(self, socket, room_id, name):
        self.socket = socket
        self.room_id = room_id
        self.name = name
        self.channels = (room_channel(room_id),)
        self.lock = threading.Lock()
        # Live frames held while something is sent first; None while frames go straight out.
        self.held = []
        self.answered = set()
        self.last_id = 0
        self.ended = False
        self.arrived = False

    def start(self, after):
        """Subscribe, check, arrive, acknowledge, send what was missed, then what was held."""
        user_id = self.socket.user_id
        get_broker().subscribe(self, self.channels)
        # Checked after subscribing: a removal from now on arrives as a close order.
        if not is_member(self.room_id, user_id):
            self.socket.end_subscription(self.room_id, None)
            raise Refusal("not_found", NOT_FOUND, "subscribe", self.name)
        self.arrive()
        missed, truncated = [], False
        if after is not None:
            missed, truncated = missed_since(self.room_id, user_id, after)
        if not self.ended:
            self.socket.send("subscribed", room=self.name, after=after, truncated=truncated)
            self.send_messages(missed)
        self.release()

    def arrive(self):
        """Count the user present in the room, as a page's socket does."""
        if get_presence().arrive(self.room_id, self.socket.user_id).is_new:
            roster.announce(self.room_id, self.socket.user_id, "joined")
        with self.lock:
            self.arrived, ended = True, self.ended
        if ended:
            self.socket.in_background(self.depart)

    def deliver(self, item):
        """Send a frame of the room now, or hold it; obey a deletion or a restart."""
        if isinstance(item, Frame):
            if item.data is None or not item.may_see(self.socket.user_id):
                return
            if is_about(item.data, self.socket.username):
                return  # the user's own membership: heard on their own channel
            with self.lock:
                if self.held is not None:
                    self.held.append(item)
                elif not self.ended:
                    self.send_live(item)
        elif isinstance(item, Close):
            if item.code == SERVICE_RESTART:
                self.socket.connection.close(SERVICE_RESTART)
            else:
                self.socket.end_subscription(self.room_id, "room_deleted")
        elif isinstance(item, CatchUp):
            self.socket.in_background(self.catch_up)

    def send_live(self, frame):
        """Send a live frame unless its message went out already; the caller holds the lock."""
        if frame.message_id is not None:
            if frame.message_id in self.answered:
                return
            self.last_id = max(self.last_id, frame.message_id)
        self.socket.connection.send(frame.json_wire)

    def send_messages(self, messages):
        """Send messages loaded from the database, in id order, while the subscription lasts."""
        for message in messages:
            if self.ended:
                return
            self.socket.connection.send(wire(shapes.message_event(message, self.name)))
            self.answered.add(message.id)
            self.last_id = max(self.last_id, message.id)

    def release(self):
        """Send the held frames not sent already, then let frames go straight out."""
        while True:
            with self.lock:
                held, self.held = self.held, []
                if not held:
                    self.held = None
                    self.answered = set()
                    return
                for frame in held:
                    if not self.ended:
                        self.send_live(frame)

    def catch_up(self):
        """Frames may have been missed: send what was said after the last one sent."""
        with self.lock:
            if self.held is not None or self.ended:
                return
            self.held = []
        try:
            if not is_member(self.room_id, self.socket.user_id):
                self.socket.end_subscription(self.room_id, "not_a_member")
                return
            missed, _ = missed_since(self.room_id, self.socket.user_id, self.last_id)
            self.send_messages(missed)
        finally:
            self.release()

    def end(self):
        """Hear the room no more, and leave it after the presence grace."""
        with self.lock:
            self.ended, arrived = True, self.arrived
        get_broker().unsubscribe(self, self.channels)
        if arrived:
            self.socket.in_background(self.depart)

    def depart(self):
        """Count the subscription gone from the room's presence."""
        get_presence().depart(self.room_id, self.socket.user_id, self.announce_left)

    def announce_left(self):
        """Tell the room that the user left; called once the grace has passed."""
        with self.socket.app.app_context():
            roster.announce(self.room_id, self.socket.user_id, "left")
            db.session.remove()


def wire(data):
    """An event as a WebSocket text message."""
    return Frame(None, data=data).json_wire


def is_member(room_id, user_id):
    """Whether the user is still a member of the room."""
    query = db.select(Membership.id).where(
        Membership.room_id == room_id, Membership.user_id == user_id
    )
    return db.session.scalar(query) is not None


def missed_since(room_id, user_id, after):
    """(messages after an id that the user may read, oldest first; whether only the newest)."""
    missed = Message.page_for(room_id, user_id, after=after, limit=RESUME_LIMIT + 1)
    if len(missed) <= RESUME_LIMIT:
        return missed, False
    return Message.page_for(room_id, user_id, limit=RESUME_LIMIT), True


def is_about(data, username):
    """Whether an event tells of the user's own membership."""
    return data.get("type") == "member" and data.get("user") == username


def init_app(app):
    """Give the app the counter of program sockets' requests (API_SOCKET_REQUEST_LIMIT)."""
    item = parse_rate(app.config["API_SOCKET_REQUEST_LIMIT"], "API_SOCKET_REQUEST_LIMIT")
    # Counted in this process's memory: a socket lives in one process.
    limiter = MovingWindowRateLimiter(MemoryStorage()) if item is not None else None
    app.extensions["api_socket_requests"] = (limiter, item)
