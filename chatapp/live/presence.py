"""Who is connected where, and the nickname colour each person has while connected.

A user arrives in a room with their first socket there and leaves a grace period after
their last one closed, so that a page reload is neither. Colours are given on arrival and
kept until the user has left every room; no two present users share one while the
palette has a free one. LocalPresence counts the sockets of this process; RedisPresence
(chatapp/live/redis_presence.py) adds what other processes count.
"""

import threading
from collections import Counter, defaultdict
from typing import NamedTuple

from flask import current_app

PALETTE_SIZE = 24
# The room id under which event streams count: whoever has one is online.
SITE = 0


class Arrival(NamedTuple):
    """What a new socket means: whether its user just arrived in the room."""

    is_new: bool
    color: int


class LocalPresence:
    """Sockets per room and user in this process, with colours and grace timers."""

    def __init__(self, grace_seconds, palette_size=PALETTE_SIZE):
        self.grace_seconds = grace_seconds
        self.palette_size = palette_size
        self._lock = threading.Lock()
        self._sockets = defaultdict(Counter)  # room id -> user id -> open sockets
        self._present = defaultdict(set)  # room id -> user ids present (leaving or not)
        self._leaving = {}  # (room id, user id) -> the timer that lets them go
        self._colors = {}  # user id -> palette index
        self._connections = Counter()  # user id -> sockets and streams open here

    def arrive(self, room_id, user_id):
        """Count a new socket; the user is new in the room unless they never left."""
        with self._lock:
            leaving = self._leaving.pop((room_id, user_id), None)
            if leaving is not None:
                leaving.cancel()
            here_already = user_id in self._present[room_id]
            self._present[room_id].add(user_id)
            self._sockets[room_id][user_id] += 1
            self._connections[user_id] += 1
        if here_already:
            return Arrival(False, self.color_of(user_id))
        return self._arrived(room_id, user_id)

    def _arrived(self, room_id, user_id):
        """The user is here now and was not: new in the room, with a colour."""
        with self._lock:
            return Arrival(True, self._color_for(user_id))

    def depart(self, room_id, user_id, on_left):
        """Count a closed socket; call on_left() once the user has stayed away for the grace."""
        with self._lock:
            self._connections[user_id] -= 1
            if self._connections[user_id] <= 0:
                del self._connections[user_id]
            sockets = self._sockets[room_id]
            sockets[user_id] -= 1
            if sockets[user_id] > 0:
                return
            del sockets[user_id]
            timer = threading.Timer(self.grace_seconds, self._settle)
            timer.args = (room_id, user_id, timer, on_left)
            timer.daemon = True
            self._leaving[(room_id, user_id)] = timer
        timer.start()

    def _settle(self, room_id, user_id, timer, on_left):
        """Let the user go from the room unless they came back meanwhile."""
        with self._lock:
            # A cancelled timer can still fire; only the latest one may settle.
            if self._leaving.get((room_id, user_id)) is not timer:
                return
            del self._leaving[(room_id, user_id)]
            self._present[room_id].discard(user_id)
            if not self._present[room_id]:
                del self._present[room_id]
                self._sockets.pop(room_id, None)
            elsewhere = any(user_id in users for users in self._present.values())
        if self._gone(room_id, user_id, elsewhere):
            on_left()

    def _gone(self, room_id, user_id, elsewhere):
        """The user left the room here; whether they left it everywhere (then say so)."""
        if not elsewhere:
            with self._lock:
                self._colors.pop(user_id, None)
        return True

    def in_room(self, room_id):
        """{user id: colour} of everyone present in the room."""
        with self._lock:
            return {user_id: self._colors[user_id] for user_id in self._present.get(room_id, ())}

    def color_of(self, user_id):
        """The user's colour while present; a fixed one by id otherwise."""
        with self._lock:
            return self._colors.get(user_id, user_id % self.palette_size)

    def connections_of(self, user_id):
        """How many sockets and event streams the user holds open in this process."""
        with self._lock:
            return self._connections[user_id]

    def anyone(self):
        """Whether anyone has a socket or an event stream here, or is leaving one."""
        with self._lock:
            return bool(self._present)

    def here(self):
        """[(room id, user id)] present in this process, leaving or not."""
        with self._lock:
            return [
                (room_id, user_id) for room_id, users in self._present.items() for user_id in users
            ]

    def _color_for(self, user_id):
        """The user's colour, giving them the first free one if they have none."""
        if user_id not in self._colors:
            taken = set(self._colors.values())
            free = (color for color in range(self.palette_size) if color not in taken)
            self._colors[user_id] = next(free, user_id % self.palette_size)
        return self._colors[user_id]


def init_app(app, announce_gone=None):
    """Give the app its presence registry: on Redis when configured.

    announce_gone(room_id, user_id) tells a room (or, for SITE, everyone) that someone
    whose process died is gone: only the Redis registry finds such people.
    """
    grace = app.config["PRESENCE_GRACE_SECONDS"]
    if app.config["REDIS_URL"]:
        from chatapp.live.redis_presence import RedisPresence

        app.extensions["presence"] = RedisPresence(
            app, app.config["REDIS_URL"], grace, announce_gone
        )
    else:
        app.extensions["presence"] = LocalPresence(grace)


def get_presence():
    """The current app's presence registry."""
    return current_app.extensions["presence"]


def has_too_many_connections(user_id):
    """Whether the user holds as many sockets and streams here as one may."""
    return get_presence().connections_of(user_id) >= current_app.config["MAX_CONNECTIONS_PER_USER"]
