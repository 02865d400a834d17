"""Telling open sockets about changes made elsewhere: removals, deletions, logouts, restarts."""

import secrets

from flask import render_template, url_for

from chatapp import notify, shapes
from chatapp.live.broker import (
    Close,
    Frame,
    TokenRevoked,
    get_broker,
    room_channel,
    user_channel,
)

POLICY_VIOLATION = 1008
SERVICE_RESTART = 1012


def new_session_id():
    """An id for one login session, so that its logout closes only its own sockets."""
    return secrets.token_urlsafe(16)


def closed_notice(reason):
    """The HTML that replaces the composer of a socket closed for good."""
    return render_template("chat/_closed.html", reason=reason)


def close_session_sockets(user_id, session_id):
    """Close the sockets of one login session, which just logged out."""
    notice = closed_notice("You logged out.")
    close = Close(POLICY_VIOLATION, notice, session_id=session_id)
    get_broker().publish(user_channel(user_id), close)


def close_other_sessions(user_id, keep_session_id, reason):
    """Close the user's sockets and streams of every login session but one."""
    close = Close(POLICY_VIOLATION, closed_notice(reason), keep_session_id=keep_session_id)
    get_broker().publish(user_channel(user_id), close)


def close_user_sockets(user_id, reason):
    """Close every socket of a user, in every room and session."""
    get_broker().publish(user_channel(user_id), Close(POLICY_VIOLATION, closed_notice(reason)))


def close_token_sockets(user_id, token_id):
    """Close the program sockets opened with a token that was just revoked."""
    get_broker().publish(user_channel(user_id), TokenRevoked(token_id))


def close_member_sockets(room_id, user_id, reason):
    """Close a user's sockets in one room."""
    close = Close(POLICY_VIOLATION, closed_notice(reason), room_id=room_id)
    get_broker().publish(user_channel(user_id), close)


def close_room_sockets(room_id, reason):
    """Close every socket in a room."""
    get_broker().publish(room_channel(room_id), Close(POLICY_VIOLATION, closed_notice(reason)))


def room_deleted(room_id, room_name, member_ids, was_public, actor_id):
    """Close a deleted room's sockets, tell its members (but who deleted it), update lobbies."""
    reason = f"The room {room_name} was deleted."
    close_room_sockets(room_id, reason)
    for member_id in member_ids:
        if member_id != actor_id:
            notify.tell(member_id, reason)
    data = shapes.room_deleted_event(room_name)
    # Whoever lists a public room hears of it once, on the site's channel.
    notify.rooms_changed(member_ids, None if was_public else data)
    if was_public:
        notify.public_rooms_changed(data)


def shut_down(app):
    """Close every socket of this process with 1012, so that browsers reconnect elsewhere."""
    app.extensions["broker"].close_all(Close(SERVICE_RESTART))


def room_renamed(room_id, new_name):
    """Send open pages of a renamed room to its new address."""
    url = url_for("chat.room", name=new_name, renamed="")
    html = render_template("chat/_moved.html", url=url)
    get_broker().publish(room_channel(room_id), Frame(html))
