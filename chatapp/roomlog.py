"""Per-room log files: <LOG_DIR>/chatroom<name>.txt, one line per message."""

import os
from pathlib import Path

from flask import current_app

from chatapp.models import utcnow


def log_path(room_name):
    """The log file of the room with this name."""
    folder = Path(current_app.config["LOG_DIR"])
    path = folder / f"chatroom{room_name}.txt"
    # Room names are checked already; this guards the file system against any slip.
    if path.parent != folder or "/" in room_name or room_name in ("", ".", ".."):
        raise ValueError(f"not a safe room log name: {room_name!r}")
    return path


def move_log(old_name, new_name):
    """Move a renamed room's log file; a file already under the new name is archived."""
    old, new = log_path(old_name), log_path(new_name)
    if old == new or not old.exists():
        return
    archive_log(new_name)
    os.replace(old, new)


def archive_log(room_name):
    """Set a room's log file aside, under a name no room can have, and return its path."""
    path = log_path(room_name)
    if not path.exists():
        return None
    # "." is not allowed in room names, so no live room can ever write to this file.
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    archived = path.with_name(f"chatroom{room_name}.deleted-{stamp}.txt")
    os.replace(path, archived)
    return archived
