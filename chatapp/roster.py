"""Who is in a room now, as its page shows them: the whole list, and one change at a time.

A join adds one entry to everyone's list and a leave deletes one; a page and a socket
that opens get the whole list. Each entry is drawn once for as long as it stays the same.
"""

import functools
from typing import NamedTuple

from flask import get_template_attribute, render_template
from markupsafe import Markup

from chatapp import notify, shapes
from chatapp.extensions import db
from chatapp.live.broker import Frame, get_broker, room_channel
from chatapp.live.presence import SITE, get_presence
from chatapp.models import Room, User, shown_name


class Card(NamedTuple):
    """What a presence entry shows of someone."""

    id: int
    username: str
    display_name: str
    avatar_digest: str | None

    @property
    def shown_name(self):
        """The display name with the @username beside it, or the username."""
        return shown_name(self.display_name, self.username)

    @property
    def has_avatar(self):
        """Whether they uploaded an avatar."""
        return self.avatar_digest is not None


def present_cards(room_id):
    """[(card, colour)] of everyone present in the room, by name."""
    colors = get_presence().in_room(room_id)
    if not colors:
        return []
    query = db.select(User.id, User.username, User.display_name, User.avatar_digest).where(
        User.id.in_(colors)
    )
    cards = sorted((Card(*row) for row in db.session.execute(query)), key=lambda c: c.username)
    return [(card, colors[card.id]) for card in cards]


@functools.lru_cache(maxsize=4096)
def present_entry(card, color):
    """One person's entry in a presence list, drawn once for as long as it stays the same."""
    return Markup(get_template_attribute("chat/_present.html", "present")(card, color))


def presence_html(room_id, oob=False):
    """The room's whole presence list."""
    entries = Markup("").join(present_entry(card, color) for card, color in present_cards(room_id))
    return Markup(render_template("chat/_presence.html", entries=entries, oob=oob))


def announce(room_id, user_id, event):
    """Tell the room that the user joined or left, with their entry added or taken out."""
    subject = db.session.get(User, user_id)
    entry = None
    if subject is not None and event == "joined":
        card = Card(subject.id, subject.username, subject.display_name, subject.avatar_digest)
        entry = present_entry(card, get_presence().color_of(user_id))
    html = render_template(
        "chat/_presence_frame.html", subject=subject, user_id=user_id, event=event, entry=entry
    )
    room = db.session.get(Room, room_id)
    data = None
    if subject is not None and room is not None:
        data = shapes.presence_event(room.name, subject.username, event)
    get_broker().publish(room_channel(room_id), Frame(html, data=data))


def typing(room_id, room_name, user):
    """Tell the room that the user is typing."""
    html = render_template("chat/_typing.html", user=user)
    data = shapes.typing_event(room_name, user.username)
    get_broker().publish(room_channel(room_id), Frame(html, data=data))


def announce_gone(room_id, user_id):
    """Say that the user left the room, or went offline when the room is the site."""
    if room_id == SITE:
        notify.went_offline(user_id)
    else:
        announce(room_id, user_id, "left")
    db.session.remove()
