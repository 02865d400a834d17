"""What the API says about each thing: one function per thing, giving JSON-ready dicts.

The room socket for programs is to send messages as message() shapes them.
"""

from datetime import UTC

from flask import url_for
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import Membership


def timestamp(moment):
    """A stored (naive, UTC) time as ISO 8601 with a Z."""
    return moment.replace(tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message(message, room_name):
    """A message as programs see it."""
    return {
        "id": message.id,
        "room": room_name,
        "author": message.author.username if message.author else None,
        "recipient": personal_recipient(message),
        "body": message.body,
        "created_at": timestamp(message.created_at),
    }


def personal_recipient(message):
    """The username a personal message went to; null for one to the room."""
    if not message.is_personal:
        return None
    return message.recipient.username if message.recipient else None


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


def invitation(invitation):
    """An invitation into a room."""
    return {
        "id": invitation.id,
        "room": invitation.room.name,
        "invitee": invitation.invitee.username,
        "inviter": invitation.inviter.username if invitation.inviter else None,
        "status": invitation.status,
        "created_at": timestamp(invitation.created_at),
    }


def token(token, secret):
    """A token just issued, with its secret shown this once."""
    return {
        "id": token.id,
        "name": token.name,
        "token": secret,
        "created_at": timestamp(token.created_at),
    }
