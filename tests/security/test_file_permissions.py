"""What the app writes is its owner's alone: folders 0700, database, key and logs 0600."""

import os
import stat

from chatapp import create_app
from chatapp.extensions import db
from tests.support import create_room, signed_up, submit


def mode(path):
    """The permission bits of a file or folder."""
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_instance_is_private_to_its_owner(instance, tmp_path, monkeypatch):
    logs = tmp_path / "fresh-logs"
    monkeypatch.setenv("CHATAPP_LOG_DIR", str(logs))
    app = create_app()
    with app.app_context():
        db.engine.dispose()
    assert mode(instance) == 0o700
    assert mode(logs) == 0o700
    assert mode(instance / "chatapp.sqlite") == 0o600
    assert mode(instance / "secret_key") == 0o600


def test_a_room_log_written_through_the_app_is_private(app):
    alice = signed_up(app, "alice")
    create_room(alice, "kitchen")
    submit(alice, "/chat/room/kitchen/", {"body": "hi"}, action="/chat/room/kitchen/messages")
    log = app.config["LOG_DIR"] + "/chatroomkitchen.txt"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
