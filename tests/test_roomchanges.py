"""What follows a change to a room happens even when a step after the commit fails."""

import pytest

from chatapp import roomchanges, roomlog
from chatapp.live.broker import Close, Inbox, get_broker, room_channel
from chatapp.models import Room


@pytest.mark.parametrize("step", ["deleted", "renamed"])
def test_sockets_are_told_even_when_the_log_cannot_follow(app, monkeypatch, step):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(roomlog, "archive_log", full_disk)
    monkeypatch.setattr(roomlog, "move_log", full_disk)
    with app.test_request_context():
        inbox = Inbox()
        get_broker().subscribe(inbox, [room_channel(5)])
        if step == "deleted":
            roomchanges.deleted(5, "kitchen", [], False, 1)
            assert isinstance(inbox.get(timeout=1), Close)
        else:
            room = Room(id=5, name="pantry", visibility="private", is_direct=False)
            roomchanges.changed(room, "kitchen", False)
            assert 'id="room-moved"' in inbox.get(timeout=1).html
