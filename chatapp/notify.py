"""What each user's event stream and room sockets hear about changes made elsewhere.

Frames named "update" are out-of-band swaps every page can take (badges, counts, notices,
who is online). "rooms" and "invitations" only tell a page that a list it shows changed;
the lists fetch themselves again, so that each user gets their own view and forms. What
programs are told (chatapp.shapes) rides along as each frame's data, built once; frames
with data alone reach programs only.
"""

import functools

from flask import get_template_attribute, render_template

from chatapp import shapes
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
from chatapp.models import ACCEPTED, PENDING, Invitation

CHANGED = "changed"


def to_user(user_id, html, event="update", data=None):
    """Publish a frame to every stream of one user."""
    get_broker().publish(stream_channel(user_id), Frame(html, event=event, data=data))


def to_users(user_ids, frame):
    """Publish one frame to every stream of each of these users."""
    broker = get_broker()
    for user_id in set(user_ids):
        broker.publish(stream_channel(user_id), frame)


def invitations_changed(user_id, data=None):
    """The user's pending invitations changed: the badge and the lists follow."""
    to_user(
        user_id,
        render_template("partials/_invitation_badge.html", count=pending_count(user_id), oob=True),
    )
    to_user(user_id, CHANGED, event="invitations", data=data)


def pending_count(user_id):
    """How many invitations wait for the user's answer."""
    query = db.select(db.func.count(Invitation.id)).where(
        Invitation.invitee_id == user_id, Invitation.status == PENDING
    )
    return db.session.scalar(query)


def invitation_answered(invitation):
    """Tell the inviter of the answer, and the invitee's other pages too."""
    data = shapes.invitation_event(invitation)
    if invitation.inviter_id is not None:
        invitee, room = invitation.invitee.username, invitation.room.name
        text = f"{invitee} {invitation.status} your invitation to {room}."
        tell(invitation.inviter_id, text, data)
        rooms_changed([invitation.inviter_id])
    invitations_changed(invitation.invitee_id, data)
    rooms_changed([invitation.invitee_id])
    if invitation.status == ACCEPTED:
        member_changed(invitation.room, invitation.invitee, "joined")


def member_changed(room, user, change, by=None, audience=None):
    """Tell programs that someone's membership changed: the room's, and the person's own."""
    data = shapes.member_event(room.name, user.username, change, by and by.username)
    frame = Frame(None, audience=audience, data=data)
    get_broker().publish(room_channel(room.id), frame)
    if change != "invited":
        to_users([user.id], frame)


def profile_changed(user_id):
    """Have the user's sockets take their new name and avatar for what they send next."""
    get_broker().publish(user_channel(user_id), ProfileChanged())


def tell(user_id, text, data=None):
    """Show a short notice on every page the user has open."""
    to_user(user_id, render_template("partials/_live_notice.html", text=text), data=data)


def rooms_changed(user_ids, data=None):
    """The lists of rooms these users see changed."""
    to_users(user_ids, Frame(CHANGED, event="rooms", data=data))


def to_programs(user_ids, data):
    """Tell these users' programs something their pages do not show."""
    to_users(user_ids, Frame(None, data=data))


def public_rooms_changed(data=None):
    """A public room appeared, changed or went: every lobby lists it anew."""
    get_broker().publish(SITE_CHANNEL, Frame(CHANGED, event="rooms", data=data))


def announce(author, text):
    """An admin's announcement, to everyone connected."""
    html = render_template("partials/_announcement.html", author=author.shown_name, text=text)
    data = shapes.announcement_event(author.username, text)
    get_broker().publish(SITE_CHANNEL, Frame(html, data=data))


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


def receipts_changed(room_id, room, author_id, receipts):
    """Show an author how many have read each of their messages: {message id: readers}.

    The room is anything with its name and is_direct.
    """
    # Called straight, as a message's frame is: this runs for every author, a few times a second.
    receipts_frame = get_template_attribute("chat/_receipts.html", "receipts_frame")
    html = str(receipts_frame(receipts, room.is_direct))
    data = shapes.receipts_event(room.name, receipts)
    frame = Frame(html, audience=frozenset({author_id}), data=data)
    get_broker().publish(room_channel(room_id), frame)
