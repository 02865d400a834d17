"""A member's WebSocket in a room: what the room publishes goes out, what the browser sends
comes in.

One greenlet serves the socket: it reads the browser's frames and acts on them. Frames
published to the room are written by whoever publishes them, as bytes encoded once for
every socket (see chatapp.websocket), so they are never held back: each message names its
id, and the page puts it in order and ignores one it shows already.
"""

import functools
import itertools
import json
import re
import time
from collections import deque

from flask import current_app, render_template, request
from werkzeug.test import EnvironBuilder

from chatapp import messaging, offload, reading, roster
from chatapp.connections.closing import POLICY_VIOLATION, closed_notice
from chatapp.connections.websocket import WebSocket
from chatapp.extensions import db
from chatapp.live.broker import (
    CatchUp,
    Close,
    Frame,
    ProfileChanged,
    get_broker,
    room_channel,
    user_channel,
)
from chatapp.live.presence import get_presence
from chatapp.models import MAX_ID, Membership, Message, User
from chatapp.ratelimit import Pace

# Beyond this many missed messages the list is drawn afresh instead of appended to.
RESUME_LIMIT = 500
# Ids of live frames sent before the resume frame came, so that resume skips them.
LIVE_IDS_KEPT = 1000
# Ids of the messages sent lately, so that a catch-up and a late live frame of the same
# message (two processes, two commits) do not both send it.
RECENT_IDS_KEPT = 64
# A message skipped over usually comes a moment later from another process (two commits
# published in the other order): the database is asked only once it is this late.
GAP_GRACE_SECONDS = 1.0
# Beyond this many skipped, the database is asked at once.
MISSING_KEPT = 1000
TYPING_EVERY_SECONDS = 3
NOT_A_MEMBER = "You are no longer a member of this room."
# The read frame exactly as room.js sends it (JSON.stringify's spacing). A room of N
# readers sends N of these for every message: known without a JSON parser, at a quarter
# of its cost. Any other spelling goes through the parser.
_READ_FRAME = re.compile(r'\{"type":"read","id":(0|[1-9][0-9]{0,18})\}')
NOT_UNDERSTOOD = "That was not understood. Reload the page if this goes on."


def init_app(app):
    """Give the app the pace that every socket's costlier frames keep to."""
    app.extensions["frame_pace"] = Pace(
        app.config["ROOM_SOCKET_FRAME_LIMIT"], "ROOM_SOCKET_FRAME_LIMIT"
    )


_socket_numbers = itertools.count(1)


class RoomSocket:
    """Serve one socket of one member in one room until either side closes it."""

    def __init__(self, ws, room, user, session_id):
        options = current_app.config["WEBSOCKET_OPTIONS"]
        self.connection = WebSocket(ws, **options)
        self.app = current_app._get_current_object()
        self.environ = context_environ(request)
        self.number = next(_socket_numbers)
        self.room = room
        self.room_id = room.id
        self.room_name = room.name
        # Loaded with the handshake, and again after a profile change: not per message.
        self.author = user
        self.user_id = user.id
        self.session_id = session_id
        self.channels = (room_channel(room.id), user_channel(user.id))
        # Until resumed: None, or the ids of messages sent live so far. While resuming:
        # the frames held back until the missed messages have gone out.
        self.sent_live = None
        self.held = None
        self.resumed = False
        # The newest message id sent on this socket: where a catch-up starts from. And the
        # newest position (Message.position) sent, once known.
        self.last_id = 0
        self.last_position = None
        self.positioned_id = 0  # the id of the message at last_position
        # The last few message ids sent, made with the first message: nothing goes twice.
        self.recent_ids = None
        self.newest_remembered = 0
        # Messages skipped over that may yet come live (a Gap), while there are any.
        self.gap = None
        self.last_typing = -TYPING_EVERY_SECONDS

    def serve(self):
        """Open the socket; read it in a greenlet of its own under gunicorn, else here."""
        if not self.open():
            self.connection.finish()
        elif self.connection.detached:
            offload.start(self.read_in_request_context)
        else:
            self.read()

    def open(self):
        """Subscribe, check, announce and show who is here; False if it may not stay."""
        get_broker().subscribe(self, self.channels)
        # Checked after subscribing: a removal from now on arrives as a close order.
        if not self.is_member():
            get_broker().unsubscribe(self, self.channels)
            self.close(Close(POLICY_VIOLATION, closed_notice(NOT_A_MEMBER)))
            return False
        if get_presence().arrive(self.room_id, self.user_id).is_new:
            roster.announce(self.room_id, self.user_id, "joined")
        # The whole list, once: whoever came or went before this socket heard of it.
        self.connection.send(Frame(roster.presence_html(self.room_id, oob=True)).wire)
        db.session.remove()
        return True

    def read_in_request_context(self):
        """Read the socket as from a request of its own, pushed once for all its frames."""
        with self.app.request_context(dict(self.environ)):
            self.read()

    def read(self):
        """Act on what the browser sends until it closes, then let go of everything."""
        try:
            for text in self.connection.messages():
                self.receive(text)
        finally:
            get_broker().unsubscribe(self, self.channels)
            get_presence().depart(self.room_id, self.user_id, self.announce_left)
            self.connection.finish()
            db.session.remove()

    def in_context(self, action, *args):
        """Do something as from a request of this socket's, wherever it is called from."""
        with self.app.app_context(), self.app.request_context(dict(self.environ)):
            try:
                return action(*args)
            finally:
                db.session.remove()

    def deliver(self, item):
        """Send a published frame now if it is for this user; obey a close order."""
        if isinstance(item, Frame):
            if not item.is_for(self.user_id):
                return
            if self.held is not None:
                self.held.append(item)
                return
            skipped = None
            if item.message_id is not None:
                if self.sent_lately(item.message_id):
                    return
                skipped = self.note_position(item.position, item.message_id)
                self.last_id = max(self.last_id, item.message_id)
                if not self.resumed:
                    self.note_sent_live(item.message_id)
            self.connection.send(item.wire)
            if skipped is not None:
                self.note_gap(*skipped)
        elif isinstance(item, Close) and item.applies_to(self.room_id, self.session_id):
            self.close(item)
        elif isinstance(item, ProfileChanged):
            self.author = None
        elif isinstance(item, CatchUp) and self.resumed:
            # The database is asked in a greenlet of its own: a publisher never waits.
            offload.start(self.in_context, self.catch_up)

    def note_position(self, position, message_id):
        """Keep the newest position sent and its message's id; return (positions, id) of
        the messages it skipped over and of the last one before them, or None."""
        if position is None:
            return None  # a personal message: it is not counted in positions
        skipped = None
        gap = self.gap
        if gap is not None and position in gap.missing:
            del gap.missing[position]
        elif self.resumed and self.last_position is not None and position > self.last_position + 1:
            skipped = (range(self.last_position + 1, position), self.positioned_id)
        if position > (self.last_position or 0):
            self.last_position, self.positioned_id = position, message_id
        return skipped

    def note_gap(self, positions, after):
        """Wait a moment for skipped messages, then ask the database for those still missing.

        Their process may have died between saving and publishing them.
        """
        gap, new = self.gap, self.gap is None
        if new:
            gap = self.gap = Gap(after)
        if len(gap.missing) + len(positions) > MISSING_KEPT:
            gap.overflowed = True
        else:
            gap.missing.update(dict.fromkeys(positions, time.monotonic() + GAP_GRACE_SECONDS))
        if new:
            offload.start(self.await_gap, gap)

    def await_gap(self, gap):
        """Catch up once a skipped message is overdue; end when none is missing."""
        while gap.missing and not gap.overflowed:
            wait = min(gap.missing.values()) - time.monotonic()
            if wait <= 0:
                break
            time.sleep(wait)
        self.gap = None
        if gap.missing or gap.overflowed:
            self.in_context(self.catch_up, gap.after)

    def sent_lately(self, message_id):
        """Whether the message went out lately (a catch-up may overtake its live frame);
        if not, remember that it goes out now."""
        if self.recent_ids is None:
            self.recent_ids = deque(maxlen=RECENT_IDS_KEPT)
        # An id above every remembered one cannot be among them: the usual case, no search.
        if message_id <= self.newest_remembered and message_id in self.recent_ids:
            return True
        self.recent_ids.append(message_id)
        self.newest_remembered = max(self.newest_remembered, message_id)
        return False

    def note_sent_live(self, message_id):
        """Remember a live message sent before resuming, up to a bound."""
        if self.sent_live is None:
            self.sent_live = set()
        if len(self.sent_live) < LIVE_IDS_KEPT:
            self.sent_live.add(message_id)

    def receive(self, text):
        """Act on one frame from the browser: a resume, a read mark, typing, or a message."""
        read = _READ_FRAME.fullmatch(text)
        if read is not None and self.note_read(int(read[1])):
            return
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "read" and self.note_read(frame.get("id")):
            return
        try:
            self.act_on(frame, kind)
        finally:
            db.session.remove()

    def note_read(self, message_id):
        """Note that the page shows everything up to a message; False if that is no id."""
        if not is_message_id(message_id):
            return False
        # Through self.app: current_app is a context lookup, costly at this rate.
        self.app.extensions["bookkeeper"].note_read(self.room_id, self.user_id, message_id)
        return True

    def act_on(self, frame, kind):
        """Act on a frame other than a read mark: a message, typing, a resume, or nonsense."""
        if kind is None and isinstance(frame, dict) and isinstance(frame.get("body"), str):
            # Messages keep to the flood limit, counted per user and room in every process.
            to = frame.get("to")
            self.send_message(frame["body"], to if isinstance(to, str) and to else None)
            return
        # Anything else costs a query or a render: it waits its turn, and so does the
        # browser, whose frames TCP holds back meanwhile.
        current_app.extensions["frame_pace"].wait_turn(f"socket:{self.number}")
        if kind == "resume" and is_message_id(frame.get("after")):
            self.resume(frame["after"])
        elif kind == "typing":
            self.typing()
        else:
            self.tell(NOT_UNDERSTOOD)

    def is_member(self):
        """Whether the user is still a member of the room."""
        query = db.select(Membership.id).where(
            Membership.room_id == self.room_id, Membership.user_id == self.user_id
        )
        return db.session.scalar(query) is not None

    def send_message(self, text, to):
        """Post a message; a refusal goes back to its author with the text restored."""
        if self.author is None:
            self.author = db.session.get(User, self.user_id)
        if self.author is None:
            self.close(Close(POLICY_VIOLATION, closed_notice(NOT_A_MEMBER)))
            return
        try:
            # Whether the author is still a member is checked as the message is saved.
            messaging.post_message(self.room, self.author, text, to)
        except messaging.MessageRefused as refusal:
            self.tell(str(refusal), restore=text if to is None else None)

    def typing(self):
        """Tell the room this user is typing, at most every few seconds."""
        now = time.monotonic()
        if now - self.last_typing < TYPING_EVERY_SECONDS:
            return
        self.last_typing = now
        user = db.session.get(User, self.user_id)
        if user is not None and user.shares_typing and self.is_member():
            roster.typing(self.room_id, self.room_name, user)

    def resume(self, after):
        """Send what was said after the given id and not sent live already, once."""
        if self.resumed or self.held is not None:
            return
        # Frames published while the missed ones are loaded wait, then follow them.
        self.held = []
        answered = set()
        try:
            if not self.is_member():
                self.close(Close(POLICY_VIOLATION, closed_notice(NOT_A_MEMBER)))
                return
            missed = Message.page_for(
                self.room_id, self.user_id, after=after, limit=RESUME_LIMIT + 1
            )
            if len(missed) > RESUME_LIMIT:
                answered = self.redraw()
            else:
                answered = self.send_messages(
                    [m for m in missed if m.id not in (self.sent_live or ())]
                )
        finally:
            held, self.held = self.held, None
            self.resumed, self.sent_live = True, None
            for frame in held:
                if frame.message_id not in answered:
                    self.deliver(frame)

    def catch_up(self, after=None):
        """Frames may have been missed: send what was said after the last one sent."""
        if not self.is_member():
            self.close(Close(POLICY_VIOLATION, closed_notice(NOT_A_MEMBER)))
        else:
            after = self.last_id if after is None else after
            missed = Message.page_for(
                self.room_id, self.user_id, after=after, limit=RESUME_LIMIT + 1
            )
            if len(missed) > RESUME_LIMIT:
                self.redraw()
            else:
                self.send_messages(missed)
        db.session.remove()

    def send_messages(self, messages):
        """Send messages the page does not have, with the receipts of my own; their ids."""
        messages = [message for message in messages if not self.sent_lately(message.id)]
        if not messages:
            return set()
        mine = [message.id for message in messages if message.author_id == self.user_id]
        receipts = reading.receipts(self.room_id, mine)
        html = messaging.message_frame(messages, receipts, reading.is_direct(self.room_id))
        self.connection.send(Frame(html).wire)
        self.last_id = max(self.last_id, messages[-1].id)
        self.note_sent_up_to(messages[-1])
        if self.gap is not None:
            for message in messages:
                self.gap.missing.pop(message.position, None)
        return {message.id for message in messages}

    def redraw(self):
        """Replace the whole message list with the latest page; the ids it shows."""
        limit = current_app.config["HISTORY_SIZE"]
        messages = Message.page_for(self.room_id, self.user_id, limit=limit)
        html = render_template(
            "chat/_messages.html",
            messages=messages,
            room_name=self.room_name,
            oob=True,
            page_size=limit,
        )
        self.connection.send(Frame(html).wire)
        if messages:
            self.last_id = max(self.last_id, messages[-1].id)
            self.note_sent_up_to(messages[-1])
        return {message.id for message in messages}

    def note_sent_up_to(self, message):
        """Everything up to this message, from the database, has been sent."""
        if message.position > (self.last_position or 0):
            self.last_position, self.positioned_id = message.position, message.id

    def tell(self, text, restore=None):
        """Show a note under this socket's composer, and give back refused text."""
        html = render_template("chat/_composer_status.html", status=text, restore=restore)
        self.connection.send(Frame(html).wire)

    def close(self, order):
        """Say the parting words, if any, and close with the order's code."""
        if order.html:
            self.connection.send(Frame(order.html).wire)
        self.connection.close(order.code)

    def announce_left(self):
        """Tell the room that this user left; called once the grace has passed."""
        self.in_context(roster.announce, self.room_id, self.user_id, "left")


class Gap:
    """Positions skipped over on a socket, each with when it is overdue, and the id of the
    last message sent before them, where a catch-up starts."""

    def __init__(self, after):
        self.after = after
        self.missing = {}
        self.overflowed = False  # more were skipped than are kept: catch up at once


@functools.lru_cache(maxsize=64)
def _environ_for(base_url):
    """A request's environment for the site at base_url, made once for every socket."""
    return EnvironBuilder(base_url=base_url).get_environ()


def context_environ(opening):
    """The environment that a socket's later work runs in: the site its request came to."""
    return _environ_for(opening.root_url)


def is_message_id(value):
    """Whether a value from the browser can be a message id."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID
