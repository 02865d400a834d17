"""A room from the inside: its page, its messages, its live socket, joining and leaving."""

from flask import Blueprint, abort, current_app, flash, g, request, session, url_for
from flask_login import current_user

from chatapp import reading, roomchanges
from chatapp.access import my_room_or_404, open_room_or_404
from chatapp.connections.roomsocket import RoomSocket
from chatapp.connections.websocket import decline_extensions
from chatapp.extensions import db, sock
from chatapp.live.presence import has_too_many_connections
from chatapp.messaging import MessageRefused, post_message
from chatapp.models import Message, Room, RoomRefusal
from chatapp.origins import is_allowed_origin
from chatapp.responses import redirect_after_post, render
from chatapp.roster import presence_html

bp = Blueprint("chat", __name__, url_prefix="/chat/room")

TOO_MANY_CONNECTIONS = "Too many open pages here: close a few, then reload this one."


@bp.before_request
def require_login():
    """Pages need a login; the socket is refused with 403 before the upgrade."""
    if request.endpoint == "chat.socket":
        g.room = room_for_socket(request.view_args["name"])
    elif not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def room_for_socket(name):
    """The room a socket may join: only from this site, logged in, as a member."""
    if not is_allowed_origin(request):
        abort(403, "This site does not accept sockets opened from that origin.")
    if not current_user.is_authenticated:
        abort(403, "Log in to join the room.")
    room = db.session.scalar(Room.joined_by(current_user).where(Room.named(name)))
    if room is None:
        abort(403, "Only members may join this room.")
    if has_too_many_connections(current_user.id):
        abort(429, TOO_MANY_CONNECTIONS)
    decline_extensions(request.environ)
    return room


@bp.get("/<name>/")
def room(name):
    """A room: its messages and members to members, a Join button or an invitation to others."""
    room = open_room_or_404(name)
    # Set by the page of a room renamed while it was open, which came here by itself.
    renamed = "renamed" in request.args
    return render_room(room, renamed=renamed)


@sock.route("/<name>/ws", bp=bp)
def socket(ws, name):
    """The room's live stream for a member."""
    RoomSocket(ws, g.room, current_user._get_current_object(), session.get("sid")).serve()


@bp.get("/<name>/messages")
def earlier_messages(name):
    """A page of messages older than ?before=, as a fragment."""
    room = my_room_or_404(name)
    before = request.args.get("before", type=int)
    return render_messages(room, before)


@bp.post("/<name>/messages")
def send(name):
    """Send a message without JavaScript; it reaches everyone as from the socket."""
    room = my_room_or_404(name)
    body = request.form.get("body", "")
    try:
        post_message(room, current_user._get_current_object(), body)
    except MessageRefused as refusal:
        return render_room(room, status=422, composer_status=str(refusal), composer_body=body)
    return redirect_after_post(url_for("chat.room", name=room.name, _anchor="composer"))


@bp.post("/<name>/join")
def join(name):
    """Join a public room (or, for an admin, any room)."""
    room = open_room_or_404(name)
    room.join(current_user)
    db.session.commit()
    roomchanges.member_joined(room, current_user._get_current_object())
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
    roomchanges.member_left(room, current_user._get_current_object())
    flash(f"You left {room.name}.")
    return redirect_after_post(url_for("rooms.lobby"))


def render_messages(room, before):
    """A page of messages older than before, with the button for the page before it."""
    limit = current_app.config["HISTORY_SIZE"]
    messages = Message.page_for(room.id, current_user.id, before=before, limit=limit)
    return render(
        "chat/messages.html",
        "chat/_messages_page.html",
        room=room,
        messages=messages,
        room_name=room.name,
        page_size=limit,
        **my_receipts(room, messages),
    )


def my_receipts(room, messages):
    """How many have read each of my messages among these, for the page to show."""
    mine = [message.id for message in messages if message.author_id == current_user.id]
    return {"receipts": reading.receipts(room.id, mine), "direct": room.is_direct}


def render_room(room, fragment="chat/room.html", status=200, **context):
    """The room page as the current user sees it, or one of its fragments."""
    membership = room.membership_of(current_user)
    invitation = None if membership else room.pending_invitation_for(current_user)
    limit = current_app.config["HISTORY_SIZE"]
    messages = Message.page_for(room.id, current_user.id, limit=limit) if membership else []
    first_unread = reading.first_unread_id(membership) if membership else None
    return render(
        "chat/room.html",
        fragment,
        status,
        room=room,
        membership=membership,
        invitation=invitation,
        memberships=room.memberships,
        may_manage=room.is_managed_by(current_user),
        messages=messages,
        page_size=limit,
        presence=presence_html(room.id) if membership else None,
        first_unread=first_unread,
        **my_receipts(room, messages),
        **context,
    )
