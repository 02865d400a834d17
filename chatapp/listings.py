"""What the lobby lists: my rooms, my conversations, other rooms, my invitations."""

from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload

from chatapp.extensions import db
from chatapp.models import PENDING, PUBLIC, Invitation, Membership, Room, User


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
