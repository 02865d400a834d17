"""What the API says about each thing: one function per thing, giving JSON-ready dicts."""

from flask import url_for
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import Membership
from chatapp.shapes import invitation, message, timestamp

# Messages and invitations are shaped below the blueprints, for the event socket's sake.
__all__ = ["invitation", "me", "message", "room", "room_detail", "token", "user"]


def user(user, online):
    """Someone's profile, as every logged-in user may see it."""
    avatar = None
    if user.has_avatar:
        avatar = url_for("users.avatar", user_id=user.id, digest=user.avatar_digest)
    return {
        "username": user.username,
        "display_name": user.display_name,
        "about": user.about,
        "email": user.email,
        "is_admin": user.is_admin,
        "online": online,
        "avatar": avatar,
        "created_at": timestamp(user.created_at),
    }


def me(user_, online):
    """My own profile, with the switches only I see."""
    return {
        **user(user_, online),
        "shares_read_state": user_.shares_read_state,
        "shares_typing": user_.shares_typing,
    }


def room(room, member_count, role=None, unread=None):
    """A room in a list."""
    return {
        "name": room.name,
        "visibility": room.visibility,
        "direct": room.is_direct,
        "member_count": member_count,
        "role": role,
        "unread": unread,
    }


def room_detail(room_, viewer):
    """A room with its members, as anyone who may open it sees it."""
    # Read afresh: the room object may still hold the members from before this request's change.
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.room_id == room_.id)
        .order_by(Membership.joined_at, Membership.id)
    ).all()
    mine = next((m for m in memberships if m.user_id == viewer.id), None)
    return {
        **room(
            room_,
            len(memberships),
            mine and mine.role,
            mine.unread_count if mine else None,
        ),
        "members": [{"username": m.user.username, "role": m.role} for m in memberships],
    }


def token(token, secret):
    """A token just issued, with its secret shown this once."""
    return {
        "id": token.id,
        "name": token.name,
        "token": secret,
        "created_at": timestamp(token.created_at),
    }
