"""Publish and subscribe on channels per room and per user, carrying rendered HTML and data.

A subscriber is anything with a deliver(item) method that never blocks: a room socket
writes the frame's bytes at once (or queues them when its client is slow), an event stream
puts it in its inbox. LocalBroker fans out inside one process, which is all a single
gunicorn worker needs; RedisBroker (chatapp/live/redis_broker.py) adds every other one.
"""

import json
import queue
import threading
from collections import defaultdict
from typing import NamedTuple

from flask import current_app
from websockets.frames import Frame as WebSocketFrame
from websockets.frames import Opcode

# An event stream further behind than this stops receiving and starts afresh.
INBOX_LIMIT = 1000


class Frame:
    """HTML to send as it is to the subscribers of a channel, and the same event as data
    for programs; either may be missing."""

    __slots__ = (
        "_json_wire", "_wire", "audience", "data", "event", "html", "message_id", "position",
    )  # fmt: skip

    def __init__(
        self, html, message_id=None, audience=None, event="update", data=None, position=None
    ):
        self.html = html
        self.message_id = message_id
        # The ids of the users who may see it, or None for everyone on the channel.
        self.audience = audience
        # The Server-Sent Events name it goes out under; sockets ignore it.
        self.event = event
        # A JSON-able dict for programs' sockets, or None when they are not told.
        self.data = data
        # A message to everyone: its place in its room's count (Message.position), by which
        # a socket sees that one before it never came.
        self.position = position
        self._wire = None
        self._json_wire = None

    def __repr__(self):
        shown = self.html[:40] if self.html is not None else self.data
        return f"<Frame {self.event} message={self.message_id} {shown!r}>"

    def is_for(self, user_id):
        """Whether pages of this user receive the frame: it carries HTML they may see."""
        return self.html is not None and self.may_see(user_id)

    def may_see(self, user_id):
        """Whether a subscriber of this user may receive what the frame carries."""
        return self.audience is None or user_id in self.audience

    @property
    def wire(self):
        """The frame as a WebSocket text message, encoded once for every socket."""
        if self._wire is None:
            self._wire = encode_text(self.html)
        return self._wire

    @property
    def json_wire(self):
        """The data as JSON in a WebSocket text message, encoded once for every socket."""
        if self._json_wire is None:
            self._json_wire = encode_text(json.dumps(self.data, separators=(",", ":")))
        return self._json_wire


def encode_text(text):
    """Text as one WebSocket text message from a server."""
    # Sockets take no extensions, so a server's frame is the same bytes for all.
    return WebSocketFrame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Close(NamedTuple):
    """Ask subscribers to say something and close: all on a channel, one room's, one
    session's, or all but one session's."""

    code: int
    html: str = ""
    room_id: int | None = None
    session_id: str | None = None
    keep_session_id: str | None = None

    def applies_to(self, room_id, session_id):
        """Whether a socket in this room, of this login session, must close."""
        return (
            self.room_id in (None, room_id)
            and self.session_id in (None, session_id)
            and (self.keep_session_id is None or session_id != self.keep_session_id)
        )


class ProfileChanged(NamedTuple):
    """A user's name or avatar changed: their sockets load them afresh."""


class TokenRevoked(NamedTuple):
    """An API token was revoked: the sockets opened with it close."""

    token_id: int


class CatchUp(NamedTuple):
    """Frames may have been missed (Redis was out of reach): catch up from the database."""


def room_channel(room_id):
    """The channel of everything said and done in a room."""
    return f"room:{room_id}"


def user_channel(user_id):
    """The channel that closes a user's sockets and streams."""
    return f"user:{user_id}"


def stream_channel(user_id):
    """The channel of what one user's event streams show."""
    return f"stream:{user_id}"


# What concerns everyone logged in: who is online, public rooms, announcements.
SITE_CHANNEL = "site"


class Inbox:
    """A subscriber that queues what its channels carry, for a stream to send in order."""

    def __init__(self, limit=INBOX_LIMIT):
        self.overflowed = False
        self._limit = limit
        self._queue = queue.SimpleQueue()

    def deliver(self, item):
        """Take a published item; frames are dropped once too far behind, closes never."""
        if isinstance(item, Frame) and self._queue.qsize() >= self._limit:
            self.overflowed = True
        else:
            # Missed frames are caught up with as an overflow is: drawn afresh.
            self.overflowed = self.overflowed or isinstance(item, CatchUp)
            self._queue.put(item)

    def get(self, timeout=None):
        """The next item, or None after timeout seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def catch_up(self):
        """Forget the queued frames, which the caller draws afresh instead; keep all else."""
        self.overflowed = False
        kept = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if not isinstance(item, Frame):
                kept.append(item)
        for item in kept:
            self._queue.put(item)


class LocalBroker:
    """Fan-out among the subscribers of this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._subscribers = defaultdict(dict)  # channel -> {subscriber: None}, in order
        self._closing = None

    def subscribe(self, subscriber, channels):
        """Deliver what is published on the channels from now on to the subscriber."""
        with self._lock:
            for channel in channels:
                self._subscribers[channel][subscriber] = None
            closing = self._closing
        if closing is not None:
            subscriber.deliver(closing)

    def unsubscribe(self, subscriber, channels):
        """Stop delivering to the subscriber."""
        with self._lock:
            for channel in channels:
                subscribers = self._subscribers.get(channel)
                if subscribers is not None:
                    subscribers.pop(subscriber, None)
                    if not subscribers:
                        del self._subscribers[channel]

    def publish(self, channel, item):
        """Deliver the same item to every subscriber of the channel."""
        with self._lock:
            subscribers = tuple(self._subscribers.get(channel, ()))
        for subscriber in subscribers:
            subscriber.deliver(item)

    def close_all(self, item):
        """Hand the item to every subscriber of this process, and to any that come after."""
        with self._lock:
            # A process that is stopping still accepts for a moment: browsers reconnecting
            # to it must be sent on as well.
            self._closing = item
            everyone = {s for subscribers in self._subscribers.values() for s in subscribers}
        for subscriber in everyone:
            subscriber.deliver(item)


def init_app(app):
    """Give the app its broker: on Redis when configured, else within this process."""
    if app.config["REDIS_URL"]:
        from chatapp.live.redis_broker import RedisBroker

        app.extensions["broker"] = RedisBroker(app.config["REDIS_URL"])
    else:
        app.extensions["broker"] = LocalBroker()


def get_broker():
    """The current app's broker."""
    return current_app.extensions["broker"]
