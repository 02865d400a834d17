"""One path for every message: check, save, log, render once, publish.

Messages that arrive together are saved together: the first sender to find no save in
progress leads, waits a moment for others to queue behind it, and saves the whole batch in
one transaction (group commit); the others wait for that commit. Then the leader appends
each room's lines to its log, renders each message once and publishes it. No sender hears
back before its message is saved.
"""

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, get_template_attribute
from sqlalchemy import bindparam, insert, select, update

from chatapp import bookkeeping, roomlog, shapes
from chatapp.database import Prepared, driver_transaction
from chatapp.extensions import flood_control
from chatapp.live.broker import Frame, get_broker, room_channel
from chatapp.live.presence import get_presence
from chatapp.models import TEXT, Membership, Message, Room, User, utcnow

_PERSONAL = re.compile(r"/pm\s+(\S+)\s?(.*)", re.DOTALL)
NOT_A_MEMBER = "You are no longer a member of this room."


class MessageRefused(Exception):
    """A message that was not sent; the text says why, in words for its author."""


def post_message(room, author, text, to=None):
    """Send a message from a member to the room, or personally to one member (to)."""
    text, to = split_personal(text, to)
    body = check_body(text)
    # Counted before anything is looked up: a refused message costs its sender too.
    wait = flood_control.retry_after(room.id, author.id)
    if wait:
        raise MessageRefused(f"You are sending too fast. Wait {wait} s and send it again.")
    recipient = find_recipient(room, author, to) if to else None
    draft = Draft(room.id, author, recipient, body, get_presence().color_of(author.id))
    get_writer().save(draft)
    if draft.refusal:
        raise MessageRefused(draft.refusal)
    return draft.message


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
    # No database or log needs one, and PostgreSQL cannot store it in text at all.
    if "\x00" in body:
        raise MessageRefused("A message may not contain NUL characters. Nothing was sent.")
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


@dataclass(eq=False)
class Draft:
    """A message on its way: what to save, and once saved, the message or a refusal."""

    room_id: int
    author: User
    recipient: User | None
    body: str
    color: int
    message: "SavedMessage | None" = None
    refusal: str | None = None
    leads: bool = False

    def __post_init__(self):
        self.done = threading.Event()


class MessageWriter:
    """Saves the messages that arrive together in one transaction (group commit)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queue = []
        self._saving = False

    def save(self, draft):
        """Save the draft with whatever else is queued; return once it is saved or refused."""
        with self._lock:
            self._queue.append(draft)
            draft.leads = not self._saving
            self._saving = True
        if not draft.leads:
            draft.done.wait()
        if draft.leads:
            self._lead()

    def _lead(self):
        """Save one batch, then hand the lead to the first sender still waiting."""
        # One yield lets senders whose frames are already here join this batch.
        time.sleep(0)
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            save_batch(batch)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].done.set()
                else:
                    self._saving = False
            for draft in batch:
                draft.done.set()


def get_writer():
    """The current app's message writer."""
    return current_app.extensions["message_writer"]


def init_app(app):
    """Give the app its message writer."""
    app.extensions["message_writer"] = MessageWriter()


def save_batch(drafts):
    """Save, log and publish a batch of drafts; a draft whose author left is refused."""
    try:
        saved = store(drafts)
    except Exception:
        current_app.logger.exception("saving %d messages failed", len(drafts))
        for draft in drafts:
            draft.refusal = "The message could not be saved. Send it again."
        return
    for room_name, messages in saved.items():
        after_saving(room_name, messages)


def after_saving(room_name, messages):
    """Log and publish a room's saved messages; a failing log never keeps them unsent."""
    try:
        roomlog.append_messages(room_name, messages)
    except OSError:
        current_app.logger.exception("could not log messages in %s", room_name)
    for message in messages:
        publish(message, room_name)
    bookkeeping.get_bookkeeper().messages_said(messages[0].room_id)


def store(drafts):
    """Insert the drafts that may be said in one transaction; {room name: [messages]}."""
    now = utcnow()
    with driver_transaction() as cursor:
        members = members_among(cursor, drafts)
        accepted = [draft for draft in drafts if may_say(draft, members)]
        counts, names = count_in_rooms(cursor, accepted, now)
        for draft in reversed(accepted):
            draft.message = new_message(draft, now, counts[draft.room_id])
            if draft.recipient is None:
                counts[draft.room_id] -= 1
        if accepted:
            insert_messages(cursor, [draft.message for draft in accepted])
            mark_authors_read(cursor, accepted)
    saved = {}
    for draft in accepted:
        saved.setdefault(names[draft.room_id], []).append(draft.message)
    return saved


def members_among(cursor, drafts):
    """The (room, person) pairs of the drafts' authors and recipients that are members."""
    pairs = {(draft.room_id, draft.author.id) for draft in drafts}
    pairs.update(
        (draft.room_id, draft.recipient.id) for draft in drafts if draft.recipient is not None
    )
    # One look-up per pair: a batch has few, each a lookup in the primary key.
    return {
        pair
        for pair in pairs
        if cursor.execute(_IS_MEMBER, {"room": pair[0], "user": pair[1]}).fetchone()
    }


def may_say(draft, members):
    """Whether the draft's author (and recipient) are members; else note the refusal."""
    if (draft.room_id, draft.author.id) not in members:
        draft.refusal = NOT_A_MEMBER
    elif draft.recipient is not None and (draft.room_id, draft.recipient.id) not in members:
        draft.refusal = f"{draft.recipient.username} is not a member of this room."
    return draft.refusal is None


def count_in_rooms(cursor, accepted, now):
    """Add the accepted messages to their rooms' counts; the counts after, and the names."""
    added = {}
    for draft in accepted:
        added[draft.room_id] = added.get(draft.room_id, 0) + (draft.recipient is None)
    counts, names = {}, {}
    # Updating a room locks its row until commit: writers to one room take turns, so
    # message ids grow in commit order within a room, which resuming relies on.
    for room_id, added_here in added.items():
        params = {"room": room_id, "added": added_here, "now": now}
        names[room_id], counts[room_id] = cursor.execute(_COUNT_IN_ROOM, params).fetchone()
    return counts, names


@dataclass(eq=False)
class SavedMessage:
    """A message as it was saved: what its log line, its frame and programs show of it.

    Not an ORM object: building one of those for each message costs more than saving it.
    """

    room_id: int
    author: User
    recipient: User | None
    body: str
    color: int
    created_at: datetime
    position: int
    kind: str = TEXT
    id: int | None = None

    @property
    def author_id(self):
        """The author's user id."""
        return self.author.id

    @property
    def recipient_id(self):
        """The recipient's user id, for a personal message."""
        return self.recipient.id if self.recipient is not None else None

    @property
    def is_personal(self):
        """Whether the message went to one member only."""
        return self.recipient is not None


def new_message(draft, now, position):
    """The message a draft becomes, not yet saved."""
    return SavedMessage(
        draft.room_id, draft.author, draft.recipient, draft.body, draft.color, now, position
    )


def insert_messages(cursor, messages):
    """Insert the messages, in order, and give each its id."""
    for message in messages:
        row = {column: getattr(message, column) for column in _COLUMNS}
        (message.id,) = cursor.execute(_INSERT_MESSAGE, row).fetchone()


def mark_authors_read(cursor, accepted):
    """Mark each author's room read up to their own message; count personal ones unread."""
    read_upto = {}  # (room, author) -> [mark, position, personal messages to them since]
    personal = {}  # (room, recipient) -> personal messages to add
    for draft in accepted:
        message = draft.message
        # Sending marks read: the author has seen the room up to their own message.
        key = (message.room_id, draft.author.id)
        read_upto[key] = [message.id, message.position, 0]
        personal.pop(key, None)
        if draft.recipient is not None:
            key = (message.room_id, draft.recipient.id)
            if key in read_upto:
                read_upto[key][2] += 1
            else:
                personal[key] = personal.get(key, 0) + 1
    cursor.executemany(
        _READ_UP_TO,
        [
            {"room": room, "user": user, "mark": mark, "position": position, "personal": since}
            for (room, user), (mark, position, since) in read_upto.items()
        ],
    )
    if personal:
        cursor.executemany(
            _ADD_PERSONAL,
            [{"room": room, "user": user, "added": n} for (room, user), n in personal.items()],
        )


# The statements of the path every message takes, compiled once.
_COLUMNS = (
    "room_id", "author_id", "recipient_id", "is_personal", "kind", "body", "color",
    "created_at", "position",
)  # fmt: skip
_rooms, _members, _messages = Room.__table__, Membership.__table__, Message.__table__
_MEMBER = (_members.c.room_id == bindparam("room")) & (_members.c.user_id == bindparam("user"))
_IS_MEMBER = Prepared(select(_members.c.user_id).where(_MEMBER))
_COUNT_IN_ROOM = Prepared(
    update(_rooms)
    .where(_rooms.c.id == bindparam("room"))
    .values(
        message_count=_rooms.c.message_count + bindparam("added"),
        last_activity_at=bindparam("now"),
    )
    .returning(_rooms.c.name, _rooms.c.message_count)
)
_INSERT_MESSAGE = Prepared(
    insert(_messages)
    .values({column: bindparam(column) for column in _COLUMNS})
    .returning(_messages.c.id)
)
_READ_UP_TO = Prepared(
    update(_members)
    .where(_MEMBER)
    .values(
        last_read_message_id=bindparam("mark"),
        read_position=bindparam("position"),
        personal_unread=bindparam("personal"),
    )
)
_ADD_PERSONAL = Prepared(
    update(_members)
    .where(_MEMBER)
    .values(personal_unread=_members.c.personal_unread + bindparam("added"))
)


def message_frame(messages, receipts=None, direct=False):
    """The frame that adds messages to the list on the page, as HTML."""
    # The macro itself, called from here: render_template's context processors, signals and
    # fresh context cost more than the message's own markup, on the path every message takes.
    frame = get_template_attribute("chat/_message_frame.html", "message_frame")
    return str(frame(messages, receipts, direct))


def publish(message, room_name):
    """Render the message once and send the same bytes to everyone who may see it."""
    audience, position = None, message.position
    if message.is_personal:
        audience, position = frozenset({message.author_id, message.recipient_id}), None
    html = message_frame([message])
    data = shapes.message_event(message, room_name)
    frame = Frame(html, message.id, audience, data=data, position=position)
    get_broker().publish(room_channel(message.room_id), frame)
