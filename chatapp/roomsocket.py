"""A member's WebSocket in a room: one writer that owns the socket, fed by one inbox.

The inbox carries what the room and user channels publish and what the browser sends
(a reader thread only forwards frames), so every send happens here, in order.
"""

import contextlib
import json
import threading
import time
from collections import OrderedDict
from typing import NamedTuple

from flask import copy_current_request_context, current_app, render_template
from simple_websocket import ConnectionClosed

from chatapp import messaging, notify, reading
from chatapp.broker import Close, Frame, get_broker, room_channel, user_channel
from chatapp.extensions import db
from chatapp.live import POLICY_VIOLATION, closed_notice
from chatapp.models import Message, Room, User
from chatapp.presence import get_presence

# How long live frames wait for the browser's resume frame, sent as the socket opens.
RESUME_WAIT_SECONDS = 2
# Beyond this many missed messages the list is drawn afresh instead of appended to.
RESUME_LIMIT = 500
SENT_IDS_KEPT = 1000
TYPING_EVERY_SECONDS = 3
NOT_A_MEMBER = "You are no longer a member of this room."


class Received(NamedTuple):
    """A frame the browser sent."""

    data: str


class Gone(NamedTuple):
    """The browser closed the socket."""


class RoomSocket:
    """Serve one socket of one member in one room until either side closes it."""

    def __init__(self, ws, room, user, session_id):
        self.ws = ws
        self.room_id = room.id
        self.room_name = room.name
        self.user_id = user.id
        self.session_id = session_id
        self.sent_ids = OrderedDict()
        self.last_id = None  # the newest message id the browser has, once known
        self.held = []
        self.resumed = False
        self.closed = False
        self.last_typing = -TYPING_EVERY_SECONDS
        # The leave notice is drawn after this request ended, in a copy of its context.
        self.announce_leaving = copy_current_request_context(self.announce_left)

    def serve(self):
        """Subscribe, announce, then relay until the socket closes."""
        broker = get_broker()
        inbox = broker.subscribe([room_channel(self.room_id), user_channel(self.user_id)])
        arrival = get_presence().arrive(self.room_id, self.user_id)
        try:
            if arrival.is_new:
                self.announce("joined")
            threading.Thread(target=self.read_into, args=(inbox,), daemon=True).start()
            db.session.remove()
            self.relay(inbox)
        finally:
            broker.unsubscribe(inbox)
            get_presence().depart(self.room_id, self.user_id, self.announce_leaving)
            db.session.remove()

    def read_into(self, inbox):
        """Forward what the browser sends to the inbox, then say it has gone."""
        try:
            while True:
                inbox.put(Received(self.ws.receive()))
        except ConnectionClosed:
            inbox.put(Gone())

    def relay(self, inbox):
        """Handle the inbox item by item until the socket is to close."""
        while True:
            timeout = None if self.resumed else RESUME_WAIT_SECONDS
            item = inbox.get(timeout=timeout)
            if inbox.overflowed:
                self.catch_up(inbox)
            if item is None:
                self.resume(None)
            elif isinstance(item, Received):
                self.receive(item.data)
            elif isinstance(item, Frame):
                self.forward(item)
            elif isinstance(item, Close) and item.applies_to(self.room_id, self.session_id):
                self.close(item)
            elif isinstance(item, Gone):
                return
            db.session.remove()
            if self.closed:
                return

    def receive(self, data):
        """Act on one frame from the browser: a resume, or a message to send."""
        try:
            frame = json.loads(data)
        except (TypeError, ValueError):
            frame = None
        if not isinstance(frame, dict):
            self.tell("That was not understood. Reload the page if this goes on.")
        elif frame.get("type") == "resume":
            after = frame.get("after")
            self.resume(after if isinstance(after, int) and after >= 0 else None)
        elif frame.get("type") == "read" and isinstance(frame.get("id"), int):
            self.mark_read(frame["id"])
        elif frame.get("type") == "typing":
            self.typing()
        elif isinstance(frame.get("body"), str):
            to = frame.get("to")
            self.send_message(frame["body"], to if isinstance(to, str) and to else None)
        else:
            self.tell("That was not understood. Reload the page if this goes on.")

    def send_message(self, text, to):
        """Post a message; a refusal goes back to its author with the text restored."""
        user = db.session.get(User, self.user_id)
        room = user and db.session.scalar(Room.joined_by(user).where(Room.id == self.room_id))
        if room is None:
            self.close(Close(POLICY_VIOLATION, closed_notice(NOT_A_MEMBER)))
            return
        try:
            messaging.post_message(room, user, text, to)
        except messaging.MessageRefused as refusal:
            self.tell(str(refusal), restore=text if to is None else None)

    def mark_read(self, message_id):
        """The browser shows everything up to message_id: move the read mark there."""
        moved = reading.mark_read(self.room_id, self.user_id, message_id)
        if moved is not None:
            notify.read_moved(self.room_id, self.user_id, *moved)

    def typing(self):
        """Tell the room this user is typing, at most every few seconds."""
        now = time.monotonic()
        if now - self.last_typing < TYPING_EVERY_SECONDS:
            return
        self.last_typing = now
        user = db.session.get(User, self.user_id)
        if user is not None and user.shares_typing:
            html = render_template("chat/_typing.html", user=user)
            get_broker().publish(room_channel(self.room_id), Frame(html))

    def resume(self, after):
        """Send what was said since after, then the live frames held meanwhile, each once."""
        self.resumed = True
        if after is not None:
            self.last_id = max(after, self.last_id or 0)
            missed = Message.page_for(
                self.room_id, self.user_id, after=after, limit=RESUME_LIMIT + 1
            )
            if len(missed) > RESUME_LIMIT:
                self.redraw()
            elif missed:
                self.send_html(render_template("chat/_message_frame.html", messages=missed))
                self.remember(message.id for message in missed)
        held, self.held = self.held, []
        for frame in held:
            self.forward(frame)

    def catch_up(self, inbox):
        """Having fallen too far behind: reload from the database what was dropped."""
        inbox.catch_up()
        if self.last_id is None:
            self.resumed, self.held = True, []
            self.redraw()
        else:
            self.resume(self.last_id)

    def redraw(self):
        """Replace the whole message list with the latest page."""
        limit = current_app.config["HISTORY_SIZE"]
        messages = Message.page_for(self.room_id, self.user_id, limit=limit)
        html = render_template(
            "chat/_messages.html",
            messages=messages,
            room_name=self.room_name,
            oob=True,
            page_size=limit,
        )
        self.send_html(html)
        self.remember(message.id for message in messages)

    def forward(self, frame):
        """Send a published frame if it is for this user and not sent already."""
        if not self.resumed:
            self.held.append(frame)
        elif frame.is_for(self.user_id) and frame.message_id not in self.sent_ids:
            self.send_html(frame.html)
            if frame.message_id is not None:
                self.remember([frame.message_id])

    def remember(self, message_ids):
        """Note message ids as sent, keeping only the latest."""
        for message_id in message_ids:
            self.sent_ids[message_id] = None
            self.last_id = max(message_id, self.last_id or 0)
        while len(self.sent_ids) > SENT_IDS_KEPT:
            self.sent_ids.popitem(last=False)

    def tell(self, text, restore=None):
        """Show a note under this socket's composer, and give back refused text."""
        self.send_html(render_template("chat/_composer_status.html", status=text, restore=restore))

    def close(self, order):
        """Say the parting words, if any, and close with the order's code."""
        if order.html:
            self.send_html(order.html)
        self.closed = True
        with contextlib.suppress(ConnectionClosed):
            self.ws.close(reason=order.code)

    def send_html(self, html):
        """Write to the socket; the reader notices if the browser has gone."""
        with contextlib.suppress(ConnectionClosed):
            self.ws.send(html)

    def announce(self, event):
        """Tell the room that this user joined or left, and who is present now."""
        html = render_presence(self.room_id, self.user_id, event)
        get_broker().publish(room_channel(self.room_id), Frame(html))

    def announce_left(self):
        """Tell the room that this user left; called once the grace has passed."""
        self.announce("left")
        db.session.remove()


def present_users(room_id):
    """[(user, colour)] of everyone present in the room, by name."""
    colors = get_presence().in_room(room_id)
    users = db.session.scalars(db.select(User).where(User.id.in_(colors))).all()
    return sorted(((user, colors[user.id]) for user in users), key=lambda p: p[0].username_key)


def render_presence(room_id, user_id, event):
    """A notice that the user joined or left, and the room's presence list after it."""
    subject = db.session.get(User, user_id)
    return render_template(
        "chat/_presence_frame.html", present=present_users(room_id), subject=subject, event=event
    )
