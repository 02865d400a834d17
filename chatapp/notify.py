"""What each user's event stream and room sockets hear about changes made elsewhere.

Frames named "update" are out-of-band swaps every page can take (badges, counts, notices,
who is online). "rooms" and "invitations" only tell a page that a list it shows changed;
the lists fetch themselves again, so that each user gets their own view and forms.
"""

import functools

from flask import render_template

from chatapp.extensions import db
from chatapp.live.broker import (
    SITE_CHANNEL,
    Frame,
    ProfileChanged,
    get_broker,
    room_channel,
    stream_channel,
    user_channel,
)
from chatapp.live.presence import SITE, get_presence
from chatapp.models import PENDING, Invitation

CHANGED = "changed"


def to_user(user_id, html, event="update"):
    """Publish a frame to every stream of one user."""
    get_broker().publish(stream_channel(user_id), Frame(html, event=event))


def invitations_changed(user_id):
    """The user's pending invitations changed: the badge and the lists follow."""
    to_user(
        user_id,
        render_template("partials/_invitation_badge.html", count=pending_count(user_id), oob=True),
    )
    to_user(user_id, CHANGED, event="invitations")


def pending_count(user_id):
    """How many invitations wait for the user's answer."""
    query = db.select(db.func.count(Invitation.id)).where(
        Invitation.invitee_id == user_id, Invitation.status == PENDING
    )
    return db.session.scalar(query)


def invitation_answered(invitation):
    """Tell the inviter of the answer, and the invitee's other pages too."""
    if invitation.inviter_id is not None:
        invitee, room = invitation.invitee.username, invitation.room.name
        text = f"{invitee} {invitation.status} your invitation to {room}."
        tell(invitation.inviter_id, text)
        rooms_changed([invitation.inviter_id])
    invitations_changed(invitation.invitee_id)
    rooms_changed([invitation.invitee_id])


def profile_changed(user_id):
    """Have the user's sockets take their new name and avatar for what they send next."""
    get_broker().publish(user_channel(user_id), ProfileChanged())


def tell(user_id, text):
    """Show a short notice on every page the user has open."""
    to_user(user_id, render_template("partials/_live_notice.html", text=text))


def rooms_changed(user_ids):
    """The lists of rooms these users see changed."""
    for user_id in set(user_ids):
        to_user(user_id, CHANGED, event="rooms")


def public_rooms_changed():
    """A public room appeared, changed or went: every lobby lists it anew."""
    get_broker().publish(SITE_CHANNEL, Frame(CHANGED, event="rooms"))


def announce(author, text):
    """An admin's announcement, to everyone connected."""
    html = render_template("partials/_announcement.html", author=author, text=text)
    get_broker().publish(SITE_CHANNEL, Frame(html))


def came_online(user_id):
    """Someone opened their first page: every page marks them online."""
    html = render_template("partials/_online_change.html", user_id=user_id, online=True)
    get_broker().publish(SITE_CHANNEL, Frame(html))


def went_offline(user_id):
    """Someone's last page closed a while ago: every page marks them offline."""
    html = render_template("partials/_online_change.html", user_id=user_id, online=False)
    get_broker().publish(SITE_CHANNEL, Frame(html))


def render_online(oob=True):
    """The style rules that mark everyone online, by user id."""
    online = sorted(get_presence().in_room(SITE))
    return render_template("partials/_online.html", online=online, oob=oob)


def unread_in_room(user_id, room_id, count):
    """A user's unread count for one room, for the lobby."""
    to_user(user_id, unread_room_html(room_id, count), event="unread")


def unread_total(user_id, total):
    """A user's unread count in all rooms, for every tab title."""
    to_user(user_id, unread_total_html(total))


@functools.lru_cache(maxsize=1024)
def unread_total_html(total):
    """The tab title's count; users with equal counts share one rendering."""
    return render_template("partials/_unread_total.html", count=total, oob=True)


@functools.lru_cache(maxsize=4096)
def unread_room_html(room_id, count):
    """A room's count in the lobby; members with equal counts share one rendering."""
    return render_template("rooms/_unread.html", room_id=room_id, count=count, oob=True)


def receipts_changed(room_id, author_id, receipts, direct):
    """Show an author how many have read each of their messages: {message id: readers}."""
    html = render_template("chat/_receipts.html", receipts=receipts, direct=direct, oob=True)
    get_broker().publish(room_channel(room_id), Frame(html, audience=frozenset({author_id})))
