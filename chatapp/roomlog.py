"""Per-room log files: <LOG_DIR>/chatroom<name>.txt, one line per message."""

import functools
import hashlib
import os
import re
from pathlib import Path

from flask import current_app

from chatapp.models import utcnow
from chatapp.names import DEFAULT_IGNORABLE

# File systems take names of at most 255 bytes: a room name of 64 four-byte letters is
# longer than that once "chatroom" and ".txt" are added.
MAX_FILE_NAME_BYTES = 255


def file_name(room_name, suffix):
    """chatroom<name><suffix>, shortened to fit the file system when the name is long.

    A name that does not fit keeps as many of its first letters as fit, then "~" and a
    digest of the whole name: "~" is not allowed in room names, so no room's file name
    can be another's.
    """
    name = f"chatroom{room_name}{suffix}"
    if len(name.encode()) <= MAX_FILE_NAME_BYTES:
        return name
    digest = hashlib.sha256(room_name.encode()).hexdigest()[:16]
    room = room_name.encode()[: MAX_FILE_NAME_BYTES - len(f"chatroom~{digest}{suffix}")]
    return f"chatroom{room.decode(errors='ignore')}~{digest}{suffix}"


def log_path(room_name):
    """The log file of the room with this name."""
    return _known_log_paths(current_app.config["LOG_DIR"], room_name)


def checked_log_path(log_dir, room_name):
    """The log file of the room with this name in the folder; never a path outside it."""
    folder = Path(log_dir)
    path = folder / file_name(room_name, ".txt")
    # Room names are checked already; this guards the file system against any slip.
    if path.parent != folder or room_name in ("", ".", ".."):
        raise ValueError(f"not a safe room log name: {room_name!r}")
    return path


# Every batch of messages is logged: each room's path is worked out once, not each time.
_known_log_paths = functools.lru_cache(maxsize=1024)(checked_log_path)


def log_line(message):
    """One line for a message: time, who (and to whom), and the text on one line."""
    stamp = message.created_at.strftime("%Y-%m-%d %H:%M:%S")
    author = message.author.username if message.author else "deleted user"
    if message.is_personal:
        recipient = message.recipient.username if message.recipient else "deleted user"
        author = f"{author} -> {recipient} (personal)"
    return f"{stamp} {author}: {escape_controls(message.body)}\n"


def escape_controls(text):
    """Escape backslashes, controls, line breaks and invisible or reordering characters."""
    return _CONTROL.sub(_escaped, text)


# Backslash, the C0 and C1 control characters (Unicode's Cc), U+2028 and U+2029, which
# some readers break lines on, and the default-ignorable characters: zero-width ones and
# every bidi control, which would hide or reorder what a reader of the log sees.
_CONTROL = re.compile(f"[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029{DEFAULT_IGNORABLE}]")
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match):
    """The escaped form of one matched character."""
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def append_messages(room_name, messages):
    """Add saved messages to their room's log, in the order given."""
    lines = "".join(log_line(message) for message in messages).encode("utf-8")
    # One write() on an O_APPEND file, so lines from several processes never interleave.
    fd = os.open(log_path(room_name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, lines)
    finally:
        os.close(fd)


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
    archived = path.with_name(file_name(room_name, f".deleted-{stamp}.txt"))
    os.replace(path, archived)
    return archived
