"""What the lobby (and the API) lists: my rooms, conversations, other rooms, invitations."""

from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload

from chatapp import reading
from chatapp.extensions import db
from chatapp.models import PENDING, PUBLIC, Invitation, Membership, Message, Room, User


def member_count():
    """The number of members of each room in a query of rooms."""
    return (
        select(func.count(Membership.id))
        .where(Membership.room_id == Room.id)
        .correlate(Room)
        .scalar_subquery()
        .label("member_count")
    )


def my_rooms(user):
    """(room, member count) for each room I am in, latest activity first."""
    query = (
        select(Room, member_count())
        .join(Membership)
        .where(Membership.user_id == user.id, ~Room.is_direct)
        .order_by(Room.last_activity_at.desc(), func.lower(Room.name))
    )
    return db.session.execute(query).all()


def my_conversations(user):
    """(room, the other person) for each of my direct conversations, latest first."""
    mine, theirs = aliased(Membership), aliased(Membership)
    query = (
        select(Room, User)
        .join(mine, (mine.room_id == Room.id) & (mine.user_id == user.id))
        .join(theirs, (theirs.room_id == Room.id) & (theirs.user_id != user.id))
        .join(User, User.id == theirs.user_id)
        .where(Room.is_direct)
        .order_by(Room.last_activity_at.desc())
    )
    return db.session.execute(query).all()


def other_rooms(user):
    """(room, member count) for rooms I could join: public ones, or all for an admin."""
    is_mine = select(Membership.id).where(
        Membership.room_id == Room.id, Membership.user_id == user.id
    )
    query = select(Room, member_count()).where(~Room.is_direct, ~is_mine.exists())
    if not user.is_admin:
        query = query.where(Room.visibility == PUBLIC)
    return db.session.execute(query.order_by(func.lower(Room.name))).all()


def my_invitations(user):
    """Invitations waiting for my answer, newest first, with their rooms and inviters."""
    query = (
        select(Invitation)
        .where(Invitation.invitee_id == user.id, Invitation.status == PENDING)
        .options(joinedload(Invitation.room), joinedload(Invitation.inviter))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return db.session.scalars(query).all()


def my_roles(user):
    """{room id: owner or member} for every room I am in."""
    query = select(Membership.room_id, Membership.role).where(Membership.user_id == user.id)
    return dict(db.session.execute(query).all())


def latest_messages(user):
    """(message, room name) for the newest message I may read in each of my rooms."""
    # Per room, the newest id is found walking the (room, id) index back from its end.
    newest = (
        select(func.max(Message.id))
        .where(Message.room_id == Membership.room_id, Message.seen_by(user.id))
        .correlate(Membership)
        .scalar_subquery()
    )
    mine = select(newest).where(Membership.user_id == user.id)
    query = (
        select(Message, Room.name)
        .join(Room, Room.id == Message.room_id)
        .where(Message.id.in_(mine))
        .order_by(Message.id)
    )
    return db.session.execute(query).all()


def my_unread(user):
    """(room name, unread messages) for every room and conversation I am in, by name."""
    query = (
        select(Room.name, reading.UNREAD)
        .join(Membership)
        .where(Membership.user_id == user.id)
        .order_by(Room.name_key)
    )
    return db.session.execute(query).all()
