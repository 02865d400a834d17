"""Who is connected where, and the nickname colour each person has while connected.

LocalPresence counts the sockets of this process. A user arrives in a room with their
first socket there and leaves a grace period after their last one closed, so that a
page reload is neither. Colours are given on arrival and kept until the user has left
every room; no two present users share one while the palette has a free one.
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

    def arrive(self, room_id, user_id):
        """Count a new socket; the user is new in the room unless they never left."""
        with self._lock:
            leaving = self._leaving.pop((room_id, user_id), None)
            if leaving is not None:
                leaving.cancel()
            is_new = user_id not in self._present[room_id]
            self._present[room_id].add(user_id)
            self._sockets[room_id][user_id] += 1
            color = self._color_for(user_id)
        return Arrival(is_new, color)

    def depart(self, room_id, user_id, on_left):
        """Count a closed socket; call on_left() once the user has stayed away for the grace."""
        with self._lock:
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
            if not any(user_id in users for users in self._present.values()):
                self._colors.pop(user_id, None)
        on_left()

    def anyone(self):
        """Whether anyone has a socket or an event stream here, or is leaving one."""
        with self._lock:
            return bool(self._present)

    def in_room(self, room_id):
        """{user id: colour} of everyone present in the room."""
        with self._lock:
            return {user_id: self._colors[user_id] for user_id in self._present.get(room_id, ())}

    def color_of(self, user_id):
        """The user's colour while present; a fixed one by id otherwise."""
        with self._lock:
            return self._colors.get(user_id, user_id % self.palette_size)

    def _color_for(self, user_id):
        """The user's colour, giving them the first free one if they have none."""
        if user_id not in self._colors:
            taken = set(self._colors.values())
            free = (color for color in range(self.palette_size) if color not in taken)
            self._colors[user_id] = next(free, user_id % self.palette_size)
        return self._colors[user_id]


def init_app(app):
    """Give the app its presence registry."""
    app.extensions["presence"] = LocalPresence(app.config["PRESENCE_GRACE_SECONDS"])


def get_presence():
    """The current app's presence registry."""
    return current_app.extensions["presence"]
