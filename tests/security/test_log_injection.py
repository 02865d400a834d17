"""Log injection: one message is one line of its room's log, whatever the names and text."""

import re

import pytest

from tests.live import live_server

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\S+)( -> \S+ \(personal\))?: (.*)$")
FORGED = "2026-01-01 00:00:00 admin: the password is hunter2"


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server writing room logs."""
    with live_server(tmp_path_factory.mktemp("logs"), migrated_database) as running:
        yield running


def log_lines(server, room):
    """The lines of a room's log file."""
    return (server.logs / f"chatroom{room}.txt").read_text(encoding="utf-8").split("\n")[:-1]


@pytest.mark.parametrize(
    "display_name",
    [f"x\n{FORGED}", f"x\r{FORGED}", f"x\u2028{FORGED}", f"\u202e{FORGED}", "x\x1b[2Jy"],
)
def test_a_display_name_cannot_break_a_log_line(server, display_name):
    (author,) = server.people("author")
    profile = {"username": author.username, "display_name": display_name}
    status, _, _ = author.post("/chat/profile/", profile, page="/chat/profile/")
    assert status == 422
    room = author.room_with()
    author.post(f"/chat/room/{room}/messages", {"body": "hello"}, page=f"/chat/room/{room}/")
    assert log_lines(server, room) == [log_lines(server, room)[0]]
    assert LINE.match(log_lines(server, room)[0]).group(1) == author.username


@pytest.mark.parametrize(
    "username", [f"x\n{FORGED}", "admin: x", "x\r\ny", "x->y", "x\u202ey", "x\u2028y"]
)
def test_a_username_that_could_forge_a_line_is_refused(server, username):
    (someone,) = server.people("someone")
    status, _, _ = someone.post("/chat/profile/", {"username": username}, page="/chat/profile/")
    assert status == 422


def test_a_display_name_that_looks_like_a_log_line_is_not_written_to_the_log(server):
    (author,) = server.people("author")
    profile = {"username": author.username, "display_name": FORGED}
    author.post("/chat/profile/", profile, page="/chat/profile/")
    room = author.room_with()
    author.post(f"/chat/room/{room}/messages", {"body": "hi"}, page=f"/chat/room/{room}/")
    (line,) = log_lines(server, room)
    assert FORGED not in line
    assert LINE.match(line).groups() == (author.username, None, "hi")


def test_a_message_with_line_breaks_and_controls_is_one_escaped_line(server):
    (author,) = server.people("author")
    room = author.room_with()
    body = f"one\n{FORGED}\r\ntwo\r\u2028\u2029\x85\x1b[31m\u202e\u2066z\u200b"
    author.post(f"/chat/room/{room}/messages", {"body": body}, page=f"/chat/room/{room}/")
    (line,) = log_lines(server, room)
    text = LINE.match(line).group(3)
    assert text.startswith("one\\n2026-01-01 00:00:00 admin: the password is hunter2\\")
    assert text.endswith("two\\r\\u2028\\u2029\\u0085\\u001b[31m\\u202e\\u2066z\\u200b")
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b\u202e\u2066]", line)
