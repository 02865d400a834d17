"""Who has read what: read marks, unread counts and read receipts.

Counts are derived, never recounted: a room counts the messages said to everyone in it
(Room.message_count), each message keeps that count as its position, and a membership
keeps the position it has read up to and the personal messages to it since. Unread is
then room.message_count - read_position + personal_unread. Saving a message touches its
room and at most two memberships; moving a read mark touches one membership.
"""

import bisect
from typing import NamedTuple

from sqlalchemy import bindparam, func, or_, select, update

from chatapp.database import Prepared, driver_transaction, read_rows
from chatapp.extensions import db
from chatapp.models import Membership, Message, Room, User

UNREAD = Room.message_count - Membership.read_position + Membership.personal_unread


class Move(NamedTuple):
    """A read mark that moved forward."""

    room_id: int
    user_id: int
    old: int
    new: int


class Reader(NamedTuple):
    """What a room needs to know of one member to push their counts and receipts."""

    user_id: int
    last_read: int
    read_position: int
    personal_unread: int
    shares_read_state: bool


class Said(NamedTuple):
    """What receipts need of a message."""

    id: int
    author_id: int | None
    recipient_id: int | None
    is_personal: bool


def unread_by_room(user_id):
    """{room id: unread messages} over the user's rooms."""
    query = select(Membership.room_id, UNREAD).join(Room).where(Membership.user_id == user_id)
    return dict(db.session.execute(query).all())


def total_unread(user_id):
    """Unread messages in all the user's rooms."""
    query = select(func.sum(UNREAD)).join(Room).where(Membership.user_id == user_id)
    return db.session.scalar(query) or 0


def totals_of(user_ids):
    """{user id: unread messages in all their rooms} for these users."""
    if not user_ids:
        return {}
    query = (
        select(Membership.user_id, func.sum(UNREAD))
        .join(Room)
        .where(Membership.user_id.in_(user_ids))
        .group_by(Membership.user_id)
    )
    return dict(db.session.execute(query).all())


def first_unread_id(membership):
    """The id of the oldest message the member has not read, or None."""
    query = select(func.min(Message.id)).where(
        Message.room_id == membership.room_id,
        Message.id > func.coalesce(membership.last_read_message_id, 0),
        func.coalesce(Message.author_id, 0) != membership.user_id,
        or_(~Message.is_personal, Message.recipient_id == membership.user_id),
    )
    return db.session.scalar(query)


class RoomTally(NamedTuple):
    """What the bookkeeper needs of a room: its name, its kind and its message count."""

    name: str
    is_direct: bool
    message_count: int


def room_tallies(room_ids):
    """{room id: RoomTally} for these rooms, in one query."""
    if not room_ids:
        return {}
    query = select(Room.id, Room.name, Room.is_direct, Room.message_count).where(
        Room.id.in_(room_ids)
    )
    return {room_id: RoomTally(*rest) for room_id, *rest in db.session.execute(query)}


def readers_of(room_id):
    """Every member of the room, with their read mark and counts."""
    return [Reader(*row) for row in read_rows(_READERS_OF, {"room": room_id})]


def position_before(room_id, moment):
    """The room's message count as it stood at a moment (the newest position by then)."""
    rows = read_rows(_POSITION_BEFORE, {"room": room_id, "moment": moment})
    return (rows[0][0] if rows else None) or 0


def said_between(room_id, after, upto, limit):
    """The newest messages (at most limit) after one id up to another, for receipts."""
    params = {"room": room_id, "after": after, "upto": upto, "limit": limit}
    return [Said(*row) for row in read_rows(_SAID_BETWEEN, params)]


# The bookkeeper runs these for every busy room a few times a second: on the driver's
# cursor they cost a tenth of what the ORM's session does.
_READERS_OF = Prepared(
    select(
        Membership.user_id,
        func.coalesce(Membership.last_read_message_id, 0),
        Membership.read_position,
        Membership.personal_unread,
        User.shares_read_state,
    )
    .join(User)
    .where(Membership.room_id == bindparam("room"))
)
_POSITION_BEFORE = Prepared(
    select(Message.position)
    .where(Message.room_id == bindparam("room"), Message.created_at <= bindparam("moment"))
    .order_by(Message.id.desc())
    .limit(1)
)
_SAID_BETWEEN = Prepared(
    select(Message.id, Message.author_id, Message.recipient_id, Message.is_personal)
    .where(
        Message.room_id == bindparam("room"),
        Message.id > bindparam("after"),
        Message.id <= bindparam("upto"),
    )
    .order_by(Message.id.desc())
    .limit(bindparam("limit"))
)


def mark_read(room_id, user_id, message_id):
    """Move one member's read mark forward now; return the Move, or None if unmoved."""
    moves = save_read_marks({(room_id, user_id): message_id})
    return moves[0] if moves else None


def save_read_marks(marks):
    """Move members' read marks forward, all in one transaction; return the moves.

    marks maps (room id, user id) to the newest message id the member has seen. A mark
    never moves back (a stale tab cannot undo a read), and lands on a message of its room.
    """
    moves = []
    if not marks:
        return moves
    with driver_transaction() as cursor:
        # In one order in every process: two that lock the same rows in turn cannot
        # each wait for the other.
        for (room_id, user_id), wanted in sorted(marks.items()):
            member = {"room": room_id, "user": user_id}
            old = cursor.execute(_MARK_OF, member).fetchone()
            if old is None or wanted <= old[0]:
                continue
            moved = cursor.execute(_MOVE_MARK_FORWARD, {**member, "wanted": wanted}).fetchone()
            if moved is not None:
                moves.append(Move(room_id, user_id, old[0], moved[0]))
    return moves


_members = Membership.__table__
_MEMBER = (_members.c.room_id == bindparam("room")) & (_members.c.user_id == bindparam("user"))
_MARK = func.coalesce(_members.c.last_read_message_id, 0)
_MARK_OF = Prepared(select(_MARK).where(_MEMBER))


def _newest_up_to(wanted):
    """The newest message of the room at or before the wanted id."""
    return (
        select(Message.id)
        .where(Message.room_id == bindparam("room"), Message.id <= wanted)
        .order_by(Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _position_of(mark):
    """The position of the message at the mark."""
    return select(Message.position).where(Message.id == mark).scalar_subquery()


def _personal_after(mark):
    """How many personal messages to the member came after the mark."""
    return (
        select(func.count(Message.id))
        .where(
            Message.recipient_id == bindparam("user"),
            Message.room_id == bindparam("room"),
            Message.is_personal,
            Message.id > mark,
        )
        .scalar_subquery()
    )


def _move_mark_forward():
    """The update that moves one member's mark to the newest message up to the wanted id."""
    mark = _newest_up_to(bindparam("wanted"))
    # Only forward: the WHERE keeps a mark that another process moved further meanwhile.
    return (
        update(_members)
        .where(_MEMBER, mark > _MARK)
        .values(
            last_read_message_id=mark,
            read_position=_position_of(mark),
            personal_unread=_personal_after(mark),
        )
        .returning(_members.c.last_read_message_id)
    )


_MOVE_MARK_FORWARD = Prepared(_move_mark_forward())


def receipts(room_id, message_ids):
    """{message id: members other than its author who read it and share that they did}."""
    if not message_ids:
        return {}
    query = select(Message.id, Message.author_id, Message.recipient_id, Message.is_personal).where(
        Message.room_id == room_id, Message.id.in_(message_ids)
    )
    said = [Said(*row) for row in db.session.execute(query)]
    return count_receipts(said, readers_of(room_id))


def count_receipts(said, readers):
    """{message id: readers who read it, its author aside} from the members' read marks."""
    sharing = {reader.user_id: reader.last_read for reader in readers if reader.shares_read_state}
    marks = sorted(sharing.values())
    counts = {}
    for message in said:
        if message.is_personal:
            mark = sharing.get(message.recipient_id, 0)
            counts[message.id] = int(mark >= message.id)
            continue
        read = len(marks) - bisect.bisect_left(marks, message.id)
        if sharing.get(message.author_id, 0) >= message.id:
            read -= 1
        counts[message.id] = read
    return counts


def unread_at(reader, position):
    """A member's unread count as it stood when the room's count was position."""
    return max(0, position - reader.read_position) + reader.personal_unread


def is_direct(room_id):
    """Whether the room is a two-person conversation."""
    return bool(db.session.scalar(select(Room.is_direct).where(Room.id == room_id)))
