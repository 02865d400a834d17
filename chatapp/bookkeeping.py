"""Read marks, unread counts and read receipts, kept a few times a second rather than per frame.

In a room of N readers every message brings N read frames back. A read frame only notes
the reader's mark here. A few times a second the bookkeeper saves all noted marks, a few
dozen to a transaction, then loads the members of each room where something was said or
read, once, and pushes only the unread counts and receipts that changed. A message is
counted in the pushed counts once it is a moment old: a reader at the bottom of the room
has read it by then, and is not shown "1 unread" between the message and their own read
frame.
"""

import bisect
import threading
import time
from datetime import timedelta

from flask import current_app

from chatapp import notify, offload, reading
from chatapp.extensions import db
from chatapp.live.presence import SITE, get_presence
from chatapp.models import utcnow

# Twice a second: receipts and counts still look live, and in a busy room each round
# carries many reads for the price of one.
INTERVAL_SECONDS = 0.5
# Messages younger than this are left out of pushed counts (see above).
FRESH_SECONDS = 1.0
# Receipts are pushed for at most this many of a room's latest messages at a time.
RECEIPT_WINDOW = 100
REMEMBERED_RECEIPTS = 20_000
RETRY_SECONDS = 1
# Rounds a failed round's moves are tried again in before they are given up.
MOVES_RETRIED = 2
# Read marks saved per transaction: a few milliseconds on the loop, then sockets go first.
MARKS_PER_SAVE = 40
# A round gives way to the sockets whenever it has run this long since it last did...
STEP_SECONDS = 0.002
# ...until they have nothing left to do, or for at most this long; see give_way. On a
# worker that is never idle a round's 20-30 ms of work then spreads over half a second or so,
# and the sockets keep 96 % of the loop meanwhile.
LONGEST_PAUSE_SECONDS = 0.05


class Bookkeeper:
    """Notes read marks and what was said; saves and pushes them on a short interval."""

    def __init__(self, app):
        self._app = app
        self._lock = threading.Lock()
        self._marks = {}  # (room id, user id) -> newest message id seen
        self._said = {}  # room id -> when something was last said there (monotonic)
        self._read = {}  # room id -> [reading.Move] saved there since the last push
        self._running = False
        self._counts = {}  # user id -> {room id: unread count last pushed}
        self._totals = {}  # user id -> unread total last pushed
        self._receipts = {}  # message id -> receipt count last pushed

    def note_read(self, room_id, user_id, message_id):
        """A member's page shows everything up to message_id."""
        with self._lock:
            key = (room_id, user_id)
            if message_id > self._marks.get(key, 0):
                self._marks[key] = message_id
            self._start()

    def messages_said(self, room_id):
        """Messages were saved in a room: its members' counts change."""
        with self._lock:
            self._said[room_id] = time.monotonic()
            self._start()

    def marks_moved(self, moves):
        """Read marks were saved elsewhere (not noted here): push what follows from them."""
        # Only while someone, in any process, may be told now: kept for later, they would
        # be pushed at the moment someone else reads.
        presence = get_presence()
        online = presence.in_room(SITE)
        moves = [move for move in moves if online or presence.in_room(move.room_id)]
        with self._lock:
            for move in moves:
                self._read.setdefault(move.room_id, []).append(move)
            if moves:
                self._start(wanted=True)

    def stream_opened(self, user_id):
        """A new event stream starts from a snapshot: push the next change whatever it is."""
        with self._lock:
            self._counts.pop(user_id, None)
            self._totals.pop(user_id, None)

    def _start(self, wanted=False):
        """Run the bookkeeping loop unless it runs already; the caller holds the lock."""
        # Unless wanted, with nobody connected to this process there is no one to push to.
        if not self._running and (wanted or get_presence().anyone()):
            self._running = True
            threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        """Save and push on every interval while there is anything to do, then stop."""
        failures = 0
        with self._app.app_context():
            while True:
                time.sleep(INTERVAL_SECONDS)
                with self._lock:
                    marks, self._marks = self._marks, {}
                    read, self._read = self._read, {}
                    said = dict(self._said)
                    if not (marks or read or said):
                        self._running = False
                        return
                try:
                    self.keep(marks, read, said)
                    failures = 0
                except Exception:
                    current_app.logger.exception("bookkeeping failed; trying again")
                    failures += 1
                    # Moves that fail every time would hold back every other room's.
                    self._put_back(marks, read if failures <= MOVES_RETRIED else {})
                    time.sleep(RETRY_SECONDS)
                finally:
                    db.session.remove()

    def _put_back(self, marks, read):
        """Keep the marks and moves of a failed round for the next one."""
        with self._lock:
            for key, message_id in marks.items():
                self._marks[key] = max(message_id, self._marks.get(key, 0))
            for room_id, moves in read.items():
                self._read.setdefault(room_id, []).extend(moves)

    def keep(self, marks, read, said):
        """Save the noted marks, then push the receipts and counts that changed."""
        steps = Steps()
        for some in in_parts(marks, MARKS_PER_SAVE):
            for move in reading.save_read_marks(some):
                read.setdefault(move.room_id, []).append(move)
            steps.done()
        moment = utcnow() - timedelta(seconds=FRESH_SECONDS)
        settled_by = time.monotonic() - FRESH_SECONDS
        online = get_presence().in_room(SITE)
        rooms = read.keys() | said.keys()
        tally = Tally()
        for room_id, room in reading.room_tallies(rooms).items():
            readers = reading.readers_of(room_id)
            if room_id in read:
                self.push_receipts(room_id, room, readers, read[room_id])
            if room_id not in said:
                # A read changes only its reader's counts: a push to anyone else would
                # tell them when it happened.
                moved = {move.user_id for move in read[room_id]}
                readers = [reader for reader in readers if reader.user_id in moved]
            position = reading.position_before(room_id, moment)
            tally.add(room_id, readers, online, position, room.message_count)
            steps.done()
        self.push_counts(tally)
        with self._lock:
            for room_id, when in said.items():
                if when <= settled_by and self._said.get(room_id) == when:
                    del self._said[room_id]

    def push_receipts(self, room_id, room, readers, moves):
        """Tell the authors present in the room how many have read their messages now."""
        # Only marks of readers who share their reads may set off a push: a count pushed
        # when someone else read would tell the author when they did.
        sharing = {reader.user_id for reader in readers if reader.shares_read_state}
        passed = PassedOver((move.old, move.new) for move in moves if move.user_id in sharing)
        if not passed:
            return
        said = reading.said_between(room_id, passed.start, passed.end, RECEIPT_WINDOW)
        counts = reading.count_receipts(said, readers)
        present = get_presence().in_room(room_id)
        changed = {}
        with self._lock:
            if len(self._receipts) > REMEMBERED_RECEIPTS:
                self._receipts.clear()
            for message in said:
                count = counts[message.id]
                # A message is drawn with no readers: only a change from that is news.
                if (
                    message.author_id in present
                    and message.id in passed
                    and self._receipts.get(message.id, 0) != count
                ):
                    self._receipts[message.id] = count
                    changed.setdefault(message.author_id, {})[message.id] = count
        for author_id, receipts in changed.items():
            notify.receipts_changed(room_id, room, author_id, receipts)

    def push_counts(self, tally):
        """Push each online member's changed counts for the rooms and in all."""
        changed = {}
        with self._lock:
            for (user_id, room_id), count in tally.shown.items():
                pushed = self._counts.setdefault(user_id, {})
                if pushed.get(room_id) != count:
                    pushed[room_id] = count
                    changed[(user_id, room_id)] = count
        for (user_id, room_id), count in changed.items():
            notify.unread_in_room(user_id, room_id, count)
        users = {user_id for user_id, _ in changed}
        for user_id, total in reading.totals_of(users).items():
            shown = total - tally.not_yet_shown.get(user_id, 0)
            with self._lock:
                if self._totals.get(user_id) == shown:
                    continue
                self._totals[user_id] = shown
            notify.unread_total(user_id, shown)


class PassedOver:
    """The message ids that read marks moved over: the union of their (old, new] spans."""

    def __init__(self, spans):
        starts, ends = [], []
        for old, new in sorted(spans):
            if ends and old <= ends[-1]:
                ends[-1] = max(ends[-1], new)
            else:
                starts.append(old)
                ends.append(new)
        self._starts, self._ends = starts, ends

    def __bool__(self):
        return bool(self._starts)

    def __contains__(self, message_id):
        index = bisect.bisect_left(self._starts, message_id) - 1
        return index >= 0 and message_id <= self._ends[index]

    @property
    def start(self):
        """The lowest mark a span starts from (itself not passed over)."""
        return self._starts[0]

    @property
    def end(self):
        """The highest mark a span reaches."""
        return self._ends[-1]


class Tally:
    """The unread counts to show online members, and how far each lags behind the truth."""

    def __init__(self):
        self.shown = {}  # (user id, room id) -> unread count to show
        self.not_yet_shown = {}  # user id -> messages too fresh to count yet

    def add(self, room_id, readers, online, position, message_count):
        """Count a room's unread messages for its online members as of position."""
        for reader in readers:
            if reader.user_id in online:
                self.shown[(reader.user_id, room_id)] = reading.unread_at(reader, position)
                fresh = message_count - max(reader.read_position, position)
                if fresh > 0:
                    lag = self.not_yet_shown.get(reader.user_id, 0) + fresh
                    self.not_yet_shown[reader.user_id] = lag


class Steps:
    """A round's steps: after each, the sockets go first if it has run a while."""

    def __init__(self):
        self._since = time.monotonic()

    def done(self):
        """Give way to the sockets if the round ran STEP_SECONDS since it last did."""
        # Not after every step: a round over a thousand rooms would pause for seconds.
        if time.monotonic() - self._since >= STEP_SECONDS:
            let_sockets_run()
            self._since = time.monotonic()


def let_sockets_run():
    """End the round's reading transaction and let every socket that waits act first."""
    # A round of bookkeeping takes milliseconds on the event loop; in one piece it would
    # hold back every message that arrives meanwhile by all of it. No transaction stays
    # open across the pause: PostgreSQL would keep it idle in transaction meanwhile.
    db.session.close()
    give_way()


def give_way():
    """Pause until the sockets have nothing left to do, or LONGEST_PAUSE_SECONDS passed."""
    # A worker under load is busy most of the time. Paused a fixed moment, a round's 20 ms
    # of work still fell on the messages that arrived during it, as a burst of late
    # deliveries every half second. Waiting for an idle loop gives the round only what the
    # sockets leave over; the bound keeps a worker that is never idle counting.
    offload.wait_until_idle(LONGEST_PAUSE_SECONDS)


def in_parts(marks, size):
    """The marks, {key: value}, in dicts of at most size each."""
    items = list(marks.items())
    return [dict(items[start : start + size]) for start in range(0, len(items), size)]


def init_app(app):
    """Give the app its bookkeeper."""
    app.extensions["bookkeeper"] = Bookkeeper(app)


def get_bookkeeper():
    """The current app's bookkeeper."""
    return current_app.extensions["bookkeeper"]
