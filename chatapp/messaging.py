"""One path for every message: validate, save, log, render once, publish."""

import re
import time

from flask import current_app, render_template
from sqlalchemy import update

from chatapp import notify, reading, roomlog
from chatapp.broker import Frame, get_broker, room_channel
from chatapp.extensions import db, flood_control
from chatapp.models import Message, Room, User, utcnow
from chatapp.presence import get_presence

_PERSONAL = re.compile(r"/pm\s+(\S+)\s?(.*)", re.DOTALL)


class MessageRefused(Exception):
    """A message that was not sent; the text says why, in words for its author."""


def post_message(room, author, text, to=None):
    """Send a message from a member to the room, or personally to one member (to)."""
    text, to = split_personal(text, to)
    body = check_body(text)
    recipient = find_recipient(room, author, to) if to else None
    wait = flood_control.retry_after(room.id, author.id)
    if wait:
        raise MessageRefused(f"You are sending too fast. Wait {wait} s and send it again.")
    message = save(room, author, body, recipient)
    roomlog.append_message(room.name, message)
    publish(message)
    # Under gevent this lets the receivers' sockets send before the bookkeeping below.
    time.sleep(0)
    notify.unread_changed(room.id)
    return message


def split_personal(text, to=None):
    """Read "/pm <username> text" as a personal message to that user."""
    match = _PERSONAL.fullmatch(text.strip()) if to is None else None
    if match:
        return match.group(2), match.group(1)
    return text, to


def check_body(text):
    """Return the text as it is kept, or refuse it when empty or too long."""
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise MessageRefused("Type a message first.")
    limit = current_app.config["MAX_MESSAGE_LENGTH"]
    if len(body) > limit:
        raise MessageRefused(
            f"That message is {len(body)} characters long; the limit is {limit}. Nothing was sent."
        )
    return body


def find_recipient(room, author, username):
    """The member a personal message goes to."""
    recipient = User.find(username)
    if recipient is None or room.membership_of(recipient) is None:
        raise MessageRefused(f"{username} is not a member of this room.")
    if recipient.id == author.id:
        raise MessageRefused("A personal message goes to someone else.")
    return recipient


def save(room, author, body, recipient):
    """Store the message and commit."""
    now = utcnow()
    # Updating the room first locks its row until commit: writers to one room take turns,
    # so message ids grow in commit order within a room, which resuming relies on.
    db.session.execute(update(Room).where(Room.id == room.id).values(last_activity_at=now))
    message = Message(
        room_id=room.id,
        author=author,
        recipient=recipient,
        is_personal=recipient is not None,
        body=body,
        color=get_presence().color_of(author.id),
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    reading.count_new_message(message)
    db.session.commit()
    return message


def publish(message):
    """Render the message once and send the same bytes to everyone who may see it."""
    audience = None
    if message.is_personal:
        audience = frozenset({message.author_id, message.recipient_id})
    html = render_template("chat/_message_frame.html", messages=[message])
    get_broker().publish(room_channel(message.room_id), Frame(html, message.id, audience))
