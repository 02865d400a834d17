"""Rooms: mine and those I may join, creating, changing, deleting, members, invitations.

Rooms are found through the caller's memberships (chatapp.access): one they may not see
is 404, exactly as on the pages.
"""

from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from chatapp import listings, reading, roomchanges
from chatapp.access import (
    managed_room_or_404,
    my_room_or_404,
    open_room_or_404,
    pending_invitation_or_404,
    user_or_404,
)
from chatapp.apierrors import refuse
from chatapp.blueprints.api import shapes
from chatapp.blueprints.api.schemas import (
    InvitationSchema,
    InvitationsSchema,
    NewRoomSchema,
    RoomChangeSchema,
    RoomDetailSchema,
    RoomsSchema,
    UsernameSchema,
)
from chatapp.blueprints.api.spec import INVITATION_ID, Blueprint
from chatapp.blueprints.api.users import me
from chatapp.extensions import db
from chatapp.models import Room, RoomRefusal, User

bp = Blueprint("api_rooms", __name__, "Rooms, their members and invitations", "/rooms")

NAME_TAKEN = "A room with that name exists already."


@bp.route("", methods=["GET"])
@bp.response(200, RoomsSchema)
def index():
    """My rooms and conversations, then the rooms I could join (all of them, for an admin)."""
    user = me()
    roles = listings.my_roles(user)
    unread = reading.unread_by_room(user.id)
    mine = [
        shapes.room(room, count, roles.get(room.id), unread.get(room.id, 0))
        for room, count in listings.my_rooms(user)
    ]
    conversations = [
        shapes.room(room, 2, roles.get(room.id), unread.get(room.id, 0))
        for room, _ in listings.my_conversations(user)
    ]
    others = [shapes.room(room, count) for room, count in listings.other_rooms(user)]
    return {"rooms": mine + conversations + others}


@bp.route("", methods=["POST"])
@bp.arguments(NewRoomSchema)
@bp.response(201, RoomDetailSchema)
def create(data):
    """Create a room, owned by me, and invite the people named."""
    invitees = [user_or_422(name) for name in dict.fromkeys(data["invite"])]
    if Room.find(data["name"]) is not None:
        refuse(409, NAME_TAKEN, "name_taken")
    room = Room.create(data["name"], me(), data["visibility"])
    try:
        db.session.flush()
        for invitee in invitees:
            room.invite(invitee, me())
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        refuse(409, NAME_TAKEN, "name_taken")
    except RoomRefusal as refusal:
        db.session.rollback()
        refuse(refusal.status, str(refusal))
    roomchanges.created(room)
    return shapes.room_detail(room, current_user)


def user_or_422(username):
    """The user with this name, or a refusal naming the name nobody has."""
    user = User.find(username)
    if user is None:
        refuse(422, f"There is no user named {username}.", "unknown_user")
    return user


@bp.route("/<name>", methods=["GET"])
@bp.response(200, RoomDetailSchema)
def show(name):
    """A room I may open: with its members, and my role and unread count if I am one."""
    return shapes.room_detail(open_room_or_404(name), current_user)


@bp.route("/<name>", methods=["PATCH"])
@bp.arguments(RoomChangeSchema)
@bp.response(200, RoomDetailSchema)
def update(changes, name):
    """Rename the room or change who may join (owner or admin); its log file moves along."""
    room = managed_room_or_404(name)
    old_name, was_public = room.name, room.is_public
    new_name = changes.get("name", room.name)
    other = Room.find(new_name)
    if other is not None and other.id != room.id:
        refuse(409, NAME_TAKEN, "name_taken")
    try:
        room.rename(new_name)
        room.set_visibility(changes.get("visibility", room.visibility))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        refuse(409, NAME_TAKEN, "name_taken")
    roomchanges.changed(room, old_name, was_public)
    return shapes.room_detail(room, current_user)


@bp.route("/<name>", methods=["DELETE"])
@bp.response(204)
def delete(name):
    """Delete the room for good (owner or admin); its log file is set aside."""
    room = managed_room_or_404(name)
    room_id, room_name, was_public = room.id, room.name, room.is_public
    member_ids = [membership.user_id for membership in room.memberships]
    db.session.delete(room)
    db.session.commit()
    roomchanges.deleted(room_id, room_name, member_ids, was_public, current_user.id)


@bp.route("/<name>/join", methods=["POST"])
@bp.response(200, RoomDetailSchema)
def join(name):
    """Join a public room, or one I am invited to (an admin: any room)."""
    room = open_room_or_404(name)
    room.join(me())
    db.session.commit()
    roomchanges.member_joined(room, me())
    return shapes.room_detail(room, current_user)


@bp.route("/<name>/leave", methods=["POST"])
@bp.response(204)
def leave(name):
    """Leave a room; its owner hands it on or deletes it first."""
    room = my_room_or_404(name)
    try:
        room.leave(me())
    except RoomRefusal as refusal:
        refuse(refusal.status, str(refusal))
    db.session.commit()
    roomchanges.member_left(room, me())


@bp.route("/<name>/invitations", methods=["GET"])
@bp.response(200, InvitationsSchema)
def invitations(name):
    """The invitations into the room not answered yet (owner or admin)."""
    room = managed_room_or_404(name)
    return {"invitations": [shapes.invitation(each) for each in room.pending_invitations()]}


@bp.route("/<name>/invitations", methods=["POST"])
@bp.arguments(UsernameSchema)
@bp.response(201, InvitationSchema)
def invite(data, name):
    """Invite someone by username (owner or admin)."""
    room = managed_room_or_404(name)
    invitee = user_or_422(data["username"])
    try:
        invitation = room.invite(invitee, me())
        db.session.commit()
    except RoomRefusal as refusal:
        refuse(refusal.status, str(refusal))
    except IntegrityError:
        db.session.rollback()
        refuse(409, f"{invitee.username} is already invited.")
    roomchanges.invited(invitation)
    return shapes.invitation(invitation)


@bp.route(f"/<name>/invitations/{INVITATION_ID}", methods=["DELETE"])
@bp.response(204)
def revoke(name, invitation_id):
    """Take back an invitation not answered yet (owner or admin)."""
    room = managed_room_or_404(name)
    invitation = pending_invitation_or_404(room, invitation_id)
    invitation.revoke()
    db.session.commit()
    roomchanges.invitation_revoked(invitation)


@bp.route("/<name>/members/<username>", methods=["DELETE"])
@bp.response(204)
def remove_member(name, username):
    """Remove someone from the room (owner or admin); their sockets there close."""
    room = managed_room_or_404(name)
    member = user_or_404(username)
    try:
        room.remove(member)
    except RoomRefusal as refusal:
        refuse(refusal.status, str(refusal))
    db.session.commit()
    roomchanges.member_removed(room, member, me())


@bp.route("/<name>/owner", methods=["PUT"])
@bp.arguments(UsernameSchema)
@bp.response(200, RoomDetailSchema)
def hand_over(data, name):
    """Make a member the room's owner (owner or admin); the owner so far stays a member."""
    room = managed_room_or_404(name)
    new_owner = user_or_422(data["username"])
    try:
        room.hand_over(new_owner)
    except RoomRefusal as refusal:
        refuse(refusal.status, str(refusal))
    db.session.commit()
    roomchanges.owner_changed(room, new_owner, me())
    return shapes.room_detail(room, current_user)
