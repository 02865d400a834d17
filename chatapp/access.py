"""Loading rooms for the current user: authorisation is the lookup itself."""

from flask import abort
from flask_login import current_user

from chatapp.extensions import db
from chatapp.models import PENDING, Invitation, Room, User


def room_or_404(query, name):
    """The room with this name among those the query allows, or 404."""
    room = db.session.scalar(query.where(Room.named(name)))
    if room is None:
        abort(404)
    return room


def joined_room(user, name):
    """A room the user is a member of, or None: for callers that answer a refusal themselves."""
    return db.session.scalar(Room.joined_by(user).where(Room.named(name)))


def open_room_or_404(name):
    """A room I may open: mine, a public one, one I am invited to (any, for an admin)."""
    return room_or_404(Room.open_to(current_user), name)


def my_room_or_404(name):
    """A room I am a member of."""
    return room_or_404(Room.joined_by(current_user), name)


def managed_room_or_404(name):
    """A room I own, or any room for an admin."""
    return room_or_404(Room.managed_by(current_user), name)


def my_invitation_or_404(invitation_id):
    """An invitation addressed to me, answered or not."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.invitee_id != current_user.id:
        abort(404)
    return invitation


def pending_invitation_or_404(room, invitation_id):
    """An unanswered invitation into this room."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.room_id != room.id or invitation.status != PENDING:
        abort(404)
    return invitation


def user_or_404(username):
    """The user with this name in any letter case, or 404."""
    user = User.find(username)
    if user is None:
        abort(404)
    return user
