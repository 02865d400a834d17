"""Room log files: where they are, one line per message, and how they move with their room."""

from datetime import datetime

import pytest

from chatapp import roomlog
from chatapp.models import Message, User


@pytest.fixture
def logs(app):
    """The configured log folder, inside an app context."""
    with app.app_context():
        yield roomlog.log_path("x").parent


def test_a_room_log_is_named_after_its_room(logs):
    assert roomlog.log_path("Кухня") == logs / "chatroomКухня.txt"


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "/abs"])
def test_a_name_that_could_leave_the_folder_is_refused(logs, name):
    with pytest.raises(ValueError, match="not a safe room log name"):
        roomlog.log_path(name)


def test_moving_a_missing_log_does_nothing(logs):
    roomlog.move_log("kitchen", "pantry")
    assert list(logs.iterdir()) == []


def test_archiving_sets_the_file_aside_where_no_room_writes(logs):
    (logs / "chatroomkitchen.txt").write_text("line\n", encoding="utf-8")
    archived = roomlog.archive_log("kitchen")
    assert archived.name.startswith("chatroomkitchen.deleted-")
    assert archived.read_text(encoding="utf-8") == "line\n"
    assert [path.name for path in logs.iterdir()] == [archived.name]
    assert roomlog.archive_log("kitchen") is None


def a_message(body, author="alice", recipient=None, personal=False):
    """An unsaved message sent at 20:11:20 on 22 November 2026."""
    return Message(
        author=author and User(username=author),
        recipient=recipient and User(username=recipient),
        is_personal=personal,
        body=body,
        created_at=datetime(2026, 11, 22, 20, 11, 20),
    )


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (a_message("hello everyone"), "2026-11-22 20:11:20 alice: hello everyone\n"),
        (
            a_message("psst", recipient="bob", personal=True),
            "2026-11-22 20:11:20 alice -> bob (personal): psst\n",
        ),
        (a_message("bye", author=None), "2026-11-22 20:11:20 deleted user: bye\n"),
        (
            a_message("x", recipient=None, personal=True),
            "2026-11-22 20:11:20 alice -> deleted user (personal): x\n",
        ),
        (
            a_message("a\nb\r\nc\td\\n\x00\x1b[31m\u2028e\x85f Кухня"),
            "2026-11-22 20:11:20 alice: "
            "a\\nb\\r\\nc\\td\\\\n\\u0000\\u001b[31m\\u2028e\\u0085f Кухня\n",
        ),
        (
            a_message(
                "\u202eevil\u202c \u2066x\u2069 \u200eab\u200f \u061c z\u200bw\u200c\u200d"
                "\u2060\ufeff\u00ad \U000e0041"
            ),
            "2026-11-22 20:11:20 alice: \\u202eevil\\u202c \\u2066x\\u2069 \\u200eab\\u200f"
            " \\u061c z\\u200bw\\u200c\\u200d\\u2060\\ufeff\\u00ad \\U000e0041\n",
        ),
    ],
    ids=["plain", "personal", "deleted-author", "deleted-recipient", "controls", "invisible"],
)
def test_a_message_is_one_log_line(message, line):
    assert roomlog.log_line(message) == line


def test_a_room_log_is_readable_by_its_owner_only(app, logs):
    message = a_message("hello")
    with app.app_context():
        roomlog.append_messages("kitchen", [message])
    assert (logs / "chatroomkitchen.txt").stat().st_mode & 0o777 == 0o600


LONGEST = "𝐚" * 64  # four bytes each: 256 bytes before "chatroom" and ".txt"


def test_a_long_room_name_still_makes_a_file_name_the_file_system_takes(app, logs):
    with app.app_context():
        path = roomlog.log_path(LONGEST)
        roomlog.append_messages(LONGEST, [a_message("hello")])
        archived = roomlog.archive_log(LONGEST)
        other = roomlog.log_path("𝐚" * 63 + "𝐛")
    assert len(path.name.encode()) <= 255 and len(archived.name.encode()) <= 255
    assert path.name.startswith("chatroom𝐚") and path.name.endswith(".txt")
    assert ".deleted-" in archived.name and "hello" in archived.read_text(encoding="utf-8")
    assert other != path
    assert roomlog.file_name("kitchen", ".txt") == "chatroomkitchen.txt"
