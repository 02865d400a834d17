"""Who has read what: unread counts per member and read receipts per message.

Each membership keeps the id of the last message its user read and how many newer ones
there are that they may read and did not write: one UPDATE adds a message to every
member's count, and reading takes the count afresh. Counts for all the members of a room
are then two small queries, never a scan of the messages or a query per member.
"""

from sqlalchemy import and_, func, or_, select, update

from chatapp.extensions import db
from chatapp.models import Membership, Message, Room, User


def _unread_by(membership):
    """The join condition of the messages unread by a membership's user."""
    return and_(
        Message.room_id == membership.room_id,
        Message.id > func.coalesce(membership.last_read_message_id, 0),
        func.coalesce(Message.author_id, 0) != membership.user_id,
        or_(~Message.is_personal, Message.recipient_id == membership.user_id),
    )


def count_new_message(message):
    """Add one to the unread count of every member the message is for but its author."""
    readers = update(Membership).where(
        Membership.room_id == message.room_id,
        Membership.user_id != func.coalesce(message.author_id, 0),
    )
    if message.is_personal:
        readers = readers.where(Membership.user_id == message.recipient_id)
    db.session.execute(readers.values(unread_count=Membership.unread_count + 1))


def unread_in_room(room_id):
    """{user id: unread messages in the room} for every member of the room."""
    query = select(Membership.user_id, Membership.unread_count).where(Membership.room_id == room_id)
    return dict(db.session.execute(query).all())


def total_unread_of_members(room_id):
    """{user id: unread messages in all their rooms} for every member of the room."""
    members = select(Membership.user_id).where(Membership.room_id == room_id)
    query = (
        select(Membership.user_id, func.sum(Membership.unread_count))
        .where(Membership.user_id.in_(members))
        .group_by(Membership.user_id)
    )
    return dict(db.session.execute(query).all())


def unread_by_room(user_id):
    """{room id: unread messages} over the user's rooms."""
    query = select(Membership.room_id, Membership.unread_count).where(Membership.user_id == user_id)
    return dict(db.session.execute(query).all())


def total_unread(user_id):
    """Unread messages in all the user's rooms."""
    query = select(func.sum(Membership.unread_count)).where(Membership.user_id == user_id)
    return db.session.scalar(query) or 0


def first_unread_id(membership):
    """The id of the oldest message the member has not read, or None."""
    query = select(func.min(Message.id)).join(
        Membership, and_(Membership.id == membership.id, _unread_by(Membership))
    )
    return db.session.scalar(query)


def mark_read(room_id, user_id, message_id):
    """Move the member's read mark forward to message_id; return (old, new), or None if unmoved."""
    membership = db.session.scalar(
        select(Membership).where(Membership.room_id == room_id, Membership.user_id == user_id)
    )
    newest = db.session.scalar(select(func.max(Message.id)).where(Message.room_id == room_id))
    message_id = min(message_id, newest or 0)
    old = membership.last_read_message_id if membership else None
    if membership is None or (old or 0) >= message_id:
        return None
    still_unread = select(func.count(Message.id)).where(_unread_by(Membership)).scalar_subquery()
    # Only forward: a stale tab cannot move the mark back. The count is taken afresh.
    db.session.execute(
        update(Membership)
        .where(
            Membership.id == membership.id,
            func.coalesce(Membership.last_read_message_id, 0) < message_id,
        )
        .values(last_read_message_id=message_id)
    )
    db.session.execute(
        update(Membership).where(Membership.id == membership.id).values(unread_count=still_unread)
    )
    db.session.commit()
    return old or 0, message_id


def receipts(room_id, message_ids):
    """{message id: members other than its author who read it and share that they did}."""
    if not message_ids:
        return {}
    readers = (
        select(Message.id, func.count(Membership.id))
        .join(
            Membership,
            and_(
                Membership.room_id == Message.room_id,
                Membership.last_read_message_id >= Message.id,
                Membership.user_id != func.coalesce(Message.author_id, 0),
            ),
        )
        .join(User, User.id == Membership.user_id)
        .where(Message.room_id == room_id, Message.id.in_(message_ids), User.shares_read_state)
        .where(or_(~Message.is_personal, Membership.user_id == Message.recipient_id))
        .group_by(Message.id)
    )
    return dict(db.session.execute(readers).all())


def authors_of(room_id, after, upto, reader_id):
    """{author id: [message ids]} for others' messages in the room after one id up to another."""
    query = select(Message.author_id, Message.id).where(
        Message.room_id == room_id,
        Message.id > after,
        Message.id <= upto,
        Message.author_id.is_not(None),
        Message.author_id != reader_id,
    )
    authored = {}
    for author_id, message_id in db.session.execute(query):
        authored.setdefault(author_id, []).append(message_id)
    return authored


def is_direct(room_id):
    """Whether the room is a two-person conversation."""
    return bool(db.session.scalar(select(Room.is_direct).where(Room.id == room_id)))
