"""Direct conversations: one per pair of people, started on first use."""

from sqlalchemy.exc import IntegrityError

from chatapp import notify, shapes
from chatapp.extensions import db
from chatapp.models import Room


def open_conversation(me, other):
    """My conversation with someone, started (and committed) if there is none yet."""
    room = Room.direct_between(me, other)
    if room is not None:
        return room, False
    room = Room.start_direct(me, other)
    try:
        db.session.commit()
    except IntegrityError:
        # Both opened it at once: the unique name let only one row in.
        db.session.rollback()
        return Room.direct_between(me, other), False
    notify.rooms_changed([other.id], shapes.room_created_event(room))
    notify.to_programs([me.id], shapes.room_created_event(room))
    return room, True
