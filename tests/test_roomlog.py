"""Room log files: where they are, and how they move with their room."""

import pytest

from chatapp import roomlog


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
