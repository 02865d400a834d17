"""What programs are told: each thing, and each live event, as a JSON-ready dict.

The JSON API answers with these shapes, and the event socket for programs
(chatapp.connections.apisocket) sends the events, built once where they are published.
"""

from datetime import UTC

# Every event the server sends to programs, by its "type".
EVENTS = frozenset(
    {
        "message", "join", "leave", "typing", "receipts", "member", "invitation",
        "room_created", "room_changed", "room_deleted", "announcement",
        "subscribed", "unsubscribed", "error",
    }
)  # fmt: skip
# How someone's membership of a room changed, in a "member" event.
MEMBER_CHANGES = ("invited", "joined", "removed", "left", "owner")


def event(kind, **fields):
    """An event of a known type with its fields."""
    if kind not in EVENTS:
        raise ValueError(f"no event type {kind!r}")
    return {"type": kind, **fields}


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


def room_summary(room):
    """A room as events name it: what a list of rooms shows without counting."""
    return {"name": room.name, "visibility": room.visibility, "direct": room.is_direct}


def message_event(message_, room_name):
    """A message was said."""
    return event("message", message=message(message_, room_name))


def presence_event(room_name, username, change):
    """Someone came into the room (their first socket) or left it (their last one closed)."""
    return event("join" if change == "joined" else "leave", room=room_name, user=username)


def typing_event(room_name, username):
    """Someone is typing in the room."""
    return event("typing", room=room_name, user=username)


def receipts_event(room_name, receipts):
    """How many have read each of my messages: {message id: readers}."""
    counted = [{"id": message_id, "readers": n} for message_id, n in sorted(receipts.items())]
    return event("receipts", room=room_name, messages=counted)


def member_event(room_name, username, change, by=None):
    """Someone's membership changed: invited, joined, removed, left, or made the owner."""
    if change not in MEMBER_CHANGES:
        raise ValueError(f"no membership change {change!r}")
    return event("member", room=room_name, user=username, change=change, by=by)


def invitation_event(invitation_):
    """An invitation was made, answered or taken back."""
    return event("invitation", invitation=invitation(invitation_))


def room_created_event(room):
    """A room came to be."""
    return event("room_created", room=room_summary(room))


def room_changed_event(room, old_name):
    """A room was renamed, or who may join it changed."""
    return event("room_changed", room=room_summary(room), old_name=old_name)


def room_deleted_event(room_name):
    """A room was deleted, with everything said in it."""
    return event("room_deleted", room=room_name)


def announcement_event(author, text):
    """An admin's announcement to everyone connected."""
    return event("announcement", author=author, text=text)
