"""A room from the inside: its page, joining it and leaving it."""

from flask import Blueprint, flash, url_for
from flask_login import current_user, login_required

from chatapp.access import my_room_or_404, open_room_or_404
from chatapp.extensions import db
from chatapp.models import RoomRefusal
from chatapp.responses import redirect_after_post, render

bp = Blueprint("chat", __name__, url_prefix="/chat/room")


@bp.before_request
@login_required
def require_login():
    """Every room is for logged-in users."""


@bp.get("/<name>/")
def room(name):
    """A room: its members to members, a Join button on a public room, an invitation."""
    return render_room(open_room_or_404(name))


@bp.post("/<name>/join")
def join(name):
    """Join a public room (or, for an admin, any room)."""
    room = open_room_or_404(name)
    room.join(current_user)
    db.session.commit()
    return redirect_after_post(url_for("chat.room", name=room.name))


@bp.post("/<name>/leave")
def leave(name):
    """Leave a room; its owner hands it on or deletes it first."""
    room = my_room_or_404(name)
    try:
        room.leave(current_user)
    except RoomRefusal as refusal:
        return render_room(room, "chat/_leave_form.html", refusal.status, leave_error=str(refusal))
    db.session.commit()
    flash(f"You left {room.name}.")
    return redirect_after_post(url_for("rooms.lobby"))


def render_room(room, fragment="chat/room.html", status=200, **context):
    """The room page as the current user sees it, or one of its fragments."""
    membership = room.membership_of(current_user)
    invitation = None if membership else room.pending_invitation_for(current_user)
    return render(
        "chat/room.html",
        fragment,
        status,
        room=room,
        membership=membership,
        invitation=invitation,
        memberships=room.memberships,
        may_manage=room.is_managed_by(current_user),
        **context,
    )
