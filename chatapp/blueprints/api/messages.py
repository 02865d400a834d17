"""Messages: reading a room's pages, sending, read marks, unread counts, announcements."""

from flask_login import current_user

from chatapp import listings, notify, reading
from chatapp.access import my_room_or_404
from chatapp.apierrors import refuse
from chatapp.blueprints.api import shapes
from chatapp.blueprints.api.schemas import (
    AnnouncementSchema,
    MessageSchema,
    MessagesSchema,
    NewMessageSchema,
    PageSchema,
    ReadMarkSchema,
    RoomUnreadSchema,
    UnreadSchema,
)
from chatapp.blueprints.api.spec import Blueprint
from chatapp.blueprints.api.users import me
from chatapp.bookkeeping import get_bookkeeper
from chatapp.extensions import flood_control
from chatapp.messaging import MessageRefused, post_message
from chatapp.models import Message

bp = Blueprint("api_messages", __name__, "Messages, read marks and announcements")


@bp.route("/rooms/<name>/messages", methods=["GET"])
@bp.arguments(PageSchema, location="query")
@bp.response(200, MessagesSchema)
def index(page, name):
    """A page of a room's messages, oldest first: the newest, those before an id, or after."""
    room = my_room_or_404(name)
    found = Message.page_for(room.id, current_user.id, **page)
    return {"messages": [shapes.message(message, room.name) for message in found]}


@bp.route("/rooms/<name>/messages", methods=["POST"])
@bp.arguments(NewMessageSchema)
@bp.response(201, MessageSchema)
def send(data, name):
    """Send a message to the room, or personally to one member (to); as from the page."""
    room = my_room_or_404(name)
    refuse_if_too_fast(room)
    try:
        message = post_message(room, me(), data["body"], data["to"])
    except MessageRefused as refusal:
        refuse_if_too_fast(room)
        refuse(422, str(refusal), "message_refused")
    return shapes.message(message, room.name)


def refuse_if_too_fast(room):
    """429 with Retry-After while the flood limit holds the sender back in this room."""
    wait = flood_control.wait_seconds(room.id, current_user.id)
    if wait:
        message = f"You are sending too fast. Wait {wait} s and send it again."
        refuse(429, message, "too_fast", {"Retry-After": str(wait)})


@bp.route("/rooms/<name>/read", methods=["POST"])
@bp.arguments(ReadMarkSchema)
@bp.response(200, RoomUnreadSchema)
def mark_read(data, name):
    """Mark the room read up to a message; my unread counts and its author's receipts follow."""
    room = my_room_or_404(name)
    moved = reading.mark_read(room.id, current_user.id, data["id"])
    if moved is not None:
        get_bookkeeper().marks_moved([moved])
    unread = reading.unread_by_room(current_user.id).get(room.id, 0)
    return {"room": room.name, "unread": unread}


@bp.route("/messages/latest", methods=["GET"])
@bp.response(200, MessagesSchema)
def latest():
    """The newest message I may read in each of my rooms, oldest first."""
    found = listings.latest_messages(current_user)
    return {"messages": [shapes.message(message, room_name) for message, room_name in found]}


@bp.route("/unread", methods=["GET"])
@bp.response(200, UnreadSchema)
def unread():
    """My unread messages: in all, and per room."""
    rooms = [{"room": name, "unread": count} for name, count in listings.my_unread(current_user)]
    return {"total": sum(room["unread"] for room in rooms), "rooms": rooms}


@bp.route("/announcements", methods=["POST"])
@bp.arguments(AnnouncementSchema)
@bp.response(204)
def announce(data):
    """An admin tells everyone with a page open something."""
    if not current_user.is_admin:
        refuse(403, "Only admins make announcements.")
    notify.announce(me(), data["text"])
