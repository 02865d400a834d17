"""What follows a change to a room, whether a page or the API made it.

The change itself is committed first; then its room log follows, sockets that may no
longer stay open close, and the people concerned see it on their open pages and hear of
it in their programs.
"""

from flask import current_app

from chatapp import notify, roomlog, shapes
from chatapp.connections import closing
from chatapp.models import OWNER


def created(room):
    """The invited see their invitations; every lobby lists a new public room."""
    for invitation in room.pending_invitations():
        invited(invitation)
    data = shapes.room_created_event(room)
    if room.is_public:
        notify.public_rooms_changed(data)
    else:
        notify.to_programs([membership.user_id for membership in room.memberships], data)


def changed(room, old_name, was_public):
    """After a rename or a change of who may join: the log moves, members and lobbies follow."""
    if room.name != old_name:
        closing.room_renamed(room.id, room.name)
    try:
        roomlog.move_log(old_name, room.name)
    except OSError:
        current_app.logger.exception("could not move the log of %s", old_name)
    data = shapes.room_changed_event(room, old_name)
    # Whoever lists a public room hears of it once, on the site's channel.
    listed_by_all = was_public or room.is_public
    members = [membership.user_id for membership in room.memberships]
    notify.rooms_changed(members, None if listed_by_all else data)
    if listed_by_all:
        notify.public_rooms_changed(data)


def deleted(room_id, room_name, member_ids, was_public, actor_id):
    """Sockets close and members are told; the log is set aside under a name no room takes."""
    # Closing comes first: nothing that fails after the deletion may keep a socket open.
    closing.room_deleted(room_id, room_name, member_ids, was_public, actor_id)
    try:
        roomlog.archive_log(room_name)
    except OSError:
        current_app.logger.exception("could not set the log of %s aside", room_name)


def invited(invitation):
    """The invitee sees the invitation; the room's owner and the inviter hear of it."""
    notify.invitations_changed(invitation.invitee_id, shapes.invitation_event(invitation))
    room = invitation.room
    managers = {m.user_id for m in room.memberships if m.role == OWNER}
    managers.add(invitation.inviter_id)
    audience = frozenset(managers - {None})
    notify.member_changed(room, invitation.invitee, "invited", invitation.inviter, audience)


def invitation_revoked(invitation):
    """The invitee's invitation goes from their lists."""
    notify.invitations_changed(invitation.invitee_id, shapes.invitation_event(invitation))


def member_joined(room, user):
    """The newcomer's lists show the room; the room hears of them."""
    notify.rooms_changed([user.id])
    notify.member_changed(room, user, "joined")


def member_removed(room, member, by):
    """The removed member's sockets in the room close, and they are told why."""
    notify.member_changed(room, member, "removed", by)
    closing.close_member_sockets(room.id, member.id, "You were removed from this room.")
    notify.tell(member.id, f"You were removed from {room.name}.")
    notify.rooms_changed([member.id])


def member_left(room, user):
    """The sockets of one who left close, and their lists drop the room."""
    notify.member_changed(room, user, "left")
    closing.close_member_sockets(room.id, user.id, "You left this room.")
    notify.rooms_changed([user.id])


def owner_changed(room, new_owner, by):
    """The room hears who owns it now."""
    notify.member_changed(room, new_owner, "owner", by)
