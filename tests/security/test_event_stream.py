"""The event stream: no field injected through its data, and no stream for a foreign page."""

import re

import pytest

from chatapp.connections.eventstream import event
from tests.live import live_server


def parse(stream):
    """Events as EventSource reads them: lines end at CRLF, CR or LF; fields by name."""
    events, fields = [], {"data": []}
    for line in re.split(r"\r\n|\r|\n", stream):
        if not line:
            if fields["data"] or len(fields) > 1:
                events.append(fields)
            fields = {"data": []}
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            fields["data"].append(value)
        else:
            fields[name] = value
    return events


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_a_line_break_in_data_cannot_start_a_field(app, newline):
    data = f"<p>hi</p>{newline}id: 999{newline}event: rooms{newline}retry: 1{newline}"
    with app.app_context():
        (parsed,) = parse(event(data, "update"))
    assert parsed["event"] == "update"
    assert parsed["id"] != "999"
    assert "retry" not in parsed
    assert parsed["data"] == ["<p>hi</p>", "id: 999", "event: rooms", "retry: 1", ""]


def test_data_comes_back_whole_from_its_lines(app):
    data = "one\ntwo\r\nthree\rfour"
    with app.app_context():
        (parsed,) = parse(event(data))
    assert "\n".join(parsed["data"]) == "one\ntwo\nthree\nfour"


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server that allows one extra origin."""
    folder = tmp_path_factory.mktemp("events-origin")
    # Quick keepalives: a stream whose browser left is noticed, and ended, at once.
    settings = {"ALLOWED_ORIGINS": "https://chat.example.org", "EVENTS_KEEPALIVE_SECONDS": 0.3}
    with live_server(folder, migrated_database, **settings) as running:
        yield running


@pytest.fixture(autouse=True)
def close_streams(request):
    """Close the streams a test opened on the module's server."""
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").close_browsers()


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://chat.example.org.evil.com",
        "https://chat.example.org:8443",
        "http://chat.example.org",
        "null",
    ],
)
def test_a_page_of_another_origin_cannot_open_my_event_stream(server, origin):
    (alice,) = server.people("alice")
    stream = alice.events(origin=origin)
    assert stream.status == 403
    assert stream.events == []


@pytest.mark.parametrize("origin", [None, "same", "https://chat.example.org"])
def test_my_own_pages_and_allowed_origins_open_my_event_stream(server, origin):
    (alice,) = server.people("alice")
    stream = alice.events(origin=server.url if origin == "same" else origin)
    assert stream.status == 200
    stream.wait_for("invitation-badge")
