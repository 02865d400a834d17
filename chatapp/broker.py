"""Publish and subscribe on channels per room and per user, carrying rendered HTML.

LocalBroker fans out inside one process, which is all a single gunicorn worker needs.
A Redis broker for several processes would implement the same three calls.
"""

import queue
import threading
from collections import defaultdict
from typing import NamedTuple

from flask import current_app

# A socket further behind than this stops receiving and catches up from the database.
INBOX_LIMIT = 1000


class Frame(NamedTuple):
    """HTML to send as it is to the sockets on a channel."""

    html: str
    message_id: int | None = None
    # The ids of the users who may see it, or None for everyone on the channel.
    audience: frozenset[int] | None = None
    # The Server-Sent Events name it goes out under; sockets ignore it.
    event: str = "update"

    def is_for(self, user_id):
        """Whether a socket of this user may receive the frame."""
        return self.audience is None or user_id in self.audience


class Close(NamedTuple):
    """Ask sockets to say something and close: all on a channel, one room's, one session's,
    or all but one session's."""

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
    """What a socket's channels carry, in the order it was published, plus its own input."""

    def __init__(self, channels, limit=INBOX_LIMIT):
        self.channels = tuple(channels)
        self.overflowed = False
        self._limit = limit
        self._queue = queue.SimpleQueue()

    def deliver(self, item):
        """Take a published item, or drop it and remember to catch up once too far behind."""
        if self._queue.qsize() >= self._limit:
            self.overflowed = True
        else:
            self._queue.put(item)

    def put(self, item):
        """Take the socket's own input; never dropped."""
        self._queue.put(item)

    def get(self, timeout=None):
        """The next item, or None after timeout seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def catch_up(self):
        """Forget the queued frames, which the caller reloads instead; keep all else."""
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
    """Fan-out among the sockets of this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._inboxes = defaultdict(set)
        self._closing = None

    def subscribe(self, channels):
        """Return an inbox that receives what is published on the channels from now on."""
        inbox = Inbox(channels)
        with self._lock:
            for channel in inbox.channels:
                self._inboxes[channel].add(inbox)
            if self._closing is not None:
                inbox.put(self._closing)
        return inbox

    def unsubscribe(self, inbox):
        """Stop delivering to the inbox."""
        with self._lock:
            for channel in inbox.channels:
                subscribers = self._inboxes.get(channel)
                if subscribers is not None:
                    subscribers.discard(inbox)
                    if not subscribers:
                        del self._inboxes[channel]

    def publish(self, channel, item):
        """Deliver the same item to every inbox on the channel."""
        with self._lock:
            inboxes = tuple(self._inboxes.get(channel, ()))
        for inbox in inboxes:
            inbox.deliver(item)

    def close_all(self, item):
        """Hand the item to every inbox of this process, and of any opened after it."""
        with self._lock:
            # A process that is stopping still accepts for a moment: browsers reconnecting
            # to it must be sent on as well.
            self._closing = item
            inboxes = {inbox for subscribers in self._inboxes.values() for inbox in subscribers}
        for inbox in inboxes:
            inbox.put(item)


def init_app(app):
    """Give the app its broker."""
    app.extensions["broker"] = LocalBroker()


def get_broker():
    """The current app's broker."""
    return current_app.extensions["broker"]
