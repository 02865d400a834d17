"""What follows a change to a room, whether a page or the API made it.

The change itself is committed first; then its room log follows, sockets that may no
longer stay open close, and the people concerned see it on their open pages.
"""

from flask import current_app

from chatapp import notify, roomlog
from chatapp.connections import closing


def created(room, invitees):
    """The invited see their invitations; every lobby lists a new public room."""
    for invitee in invitees:
        notify.invitations_changed(invitee.id)
    if room.is_public:
        notify.public_rooms_changed()


def changed(room, old_name, was_public):
    """After a rename or a change of who may join: the log moves, members and lobbies follow."""
    if room.name != old_name:
        closing.room_renamed(room.id, room.name)
    try:
        roomlog.move_log(old_name, room.name)
    except OSError:
        current_app.logger.exception("could not move the log of %s", old_name)
    notify.rooms_changed(membership.user_id for membership in room.memberships)
    if was_public or room.is_public:
        notify.public_rooms_changed()


def deleted(room_id, room_name, member_ids, was_public, actor_id):
    """Sockets close and members are told; the log is set aside under a name no room takes."""
    # Closing comes first: nothing that fails after the deletion may keep a socket open.
    closing.room_deleted(room_id, room_name, member_ids, was_public, actor_id)
    try:
        roomlog.archive_log(room_name)
    except OSError:
        current_app.logger.exception("could not set the log of %s aside", room_name)


def member_removed(room, member):
    """The removed member's sockets in the room close, and they are told why."""
    closing.close_member_sockets(room.id, member.id, "You were removed from this room.")
    notify.tell(member.id, f"You were removed from {room.name}.")
    notify.rooms_changed([member.id])


def member_left(room, user):
    """The sockets of one who left close, and their lists drop the room."""
    closing.close_member_sockets(room.id, user.id, "You left this room.")
    notify.rooms_changed([user.id])
