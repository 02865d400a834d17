"""Helpers for API tests: a program with a token, as a bot would be."""

import contextlib
import json
import sqlite3
import time
import urllib.error
import urllib.request

import jsonschema_rs
import simple_websocket
import yaml

from tests.live import PROJECT, BrowserLikeClient
from tests.support import PASSWORD

API = "/api/v1"
ASYNCAPI = yaml.safe_load((PROJECT / "docs" / "asyncapi.yaml").read_text())


class Program:
    """A program calling the API with one user's token."""

    def __init__(self, client, username, token):
        self.client = client
        self.username = username
        self.token = token

    def call(self, method, path, json=None, **kwargs):
        """Send a request with this program's token."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(API + path, method=method, json=json, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.call("POST", path, json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.call("PATCH", path, json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.call("PUT", path, json, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


def sign_up(client, username, password=PASSWORD):
    """Make an account through the API."""
    response = client.post(f"{API}/users", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return response


def new_token(client, username, password=PASSWORD, name=None):
    """Ask for a token with a username and password; return the secret."""
    body = {"username": username, "password": password}
    if name is not None:
        body["name"] = name
    response = client.post(f"{API}/tokens", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def program(app, username):
    """A program for a new user, signed up and holding a token."""
    client = app.test_client()
    sign_up(client, username)
    return Program(client, username, new_token(client, username))


def error_of(response):
    """The (code, message) of an API refusal."""
    error = response.get_json()["error"]
    return error["code"], error["message"]


def call_live(server, method, path, body=None, token=None):
    """(status, JSON answer) of one API request to a live server over real HTTP."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + API + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def live_token(server, username, password=PASSWORD):
    """A token for a user of a live server."""
    status, answer = call_live(
        server, "POST", "/tokens", {"username": username, "password": password}
    )
    assert status == 201, answer
    return answer["token"]


class ProgramSocket:
    """A program's event socket on a live server, keeping every event it received."""

    def __init__(self, server, token):
        url = server.url.replace("http://", "ws://") + API + "/ws"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = BrowserLikeClient.connect(url, headers=headers)
        self.events = []
        self.seen = 0

    def request(self, kind, **fields):
        """Send one request of a type with its fields."""
        self.send_text(json.dumps({"type": kind, **fields}))

    def send_text(self, text):
        """Send a text frame as it is."""
        self.client.send(text)

    def next(self, kind=None, timeout=5, **fields):
        """The next event not taken yet (of a type, with these fields); later ones stay."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(self.seen, len(self.events)):
                event = self.events[index]
                if matches(event, kind, fields):
                    self.seen = index + 1
                    return event
            if time.monotonic() > deadline:
                later = self.events[self.seen :]
                raise AssertionError(f"no {kind} event with {fields}; got {later}")
            self.receive(deadline - time.monotonic())

    def receive(self, timeout):
        """Wait up to timeout seconds for one more event, which must be as described."""
        frame = self.client.receive(timeout=max(0.01, timeout))
        if frame is not None:
            event = json.loads(frame)
            check_described(event, "send")
            self.events.append(event)

    def drain(self, seconds=0.3):
        """Collect whatever arrives within seconds; return the events not taken yet."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.receive(deadline - time.monotonic())
        return self.events[self.seen :]

    def of_type(self, kind):
        """Every event of a type received so far."""
        return [event for event in self.events if event["type"] == kind]

    def wait_closed(self, timeout=5):
        """Wait until the server closes the socket; return the close code."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(simple_websocket.ConnectionClosed):
            while time.monotonic() < deadline:
                self.receive(0.1)
        if self.client.connected:
            raise AssertionError(f"the socket is still open after {timeout} s")
        return self.client.close_reason

    def close(self):
        """Hang up."""
        with contextlib.suppress(simple_websocket.ConnectionClosed):
            self.client.close()


def matches(event, kind, fields):
    """Whether an event is of the type (any, for None) and has these fields."""
    return kind in (None, event["type"]) and all(event.get(k) == v for k, v in fields.items())


def described_messages(action):
    """{type: payload schema} of the messages the socket sends ("send") or takes ("receive")."""
    operation = next(o for o in ASYNCAPI["operations"].values() if o["action"] == action)
    messages = ASYNCAPI["channels"]["events"]["messages"]
    found = {}
    for reference in operation["messages"]:
        message = messages[reference["$ref"].rsplit("/", 1)[1]]
        name = message["$ref"].rsplit("/", 1)[1]
        payload = ASYNCAPI["components"]["messages"][name]["payload"]
        found[type_of(payload)] = f"#/components/messages/{name}/payload"
    return found


def type_of(payload):
    """The "type" a payload schema allows."""
    parts = [payload, *payload.get("allOf", ())]
    return next(
        p["properties"]["type"]["const"]
        for p in parts
        if "const" in p.get("properties", {}).get("type", {})
    )


def check_described(event, action):
    """Fail unless the event (or request) is as the AsyncAPI document describes its type."""
    described = described_messages(action)
    assert event.get("type") in described, f"{event} is of no described type"
    schema = {"components": ASYNCAPI["components"], "$ref": described[event["type"]]}
    errors = [
        error.message for error in jsonschema_rs.Draft202012Validator(schema).iter_errors(event)
    ]
    assert not errors, f"{event} is not as described: {errors}"


def add_messages(server, room, author, bodies):
    """Save many messages straight into the live server's database, as if said earlier."""
    with sqlite3.connect(server.database) as database:
        room_id, position = database.execute(
            "SELECT id, message_count FROM rooms WHERE name = ?", (room,)
        ).fetchone()
        (author_id,) = database.execute(
            "SELECT id FROM users WHERE username = ?", (author.username,)
        ).fetchone()
        rows = [
            (room_id, author_id, body, position + n + 1, "2026-01-01 00:00:00")
            for n, body in enumerate(bodies)
        ]
        database.executemany(
            "INSERT INTO messages (room_id, author_id, is_personal, kind, body, color, position,"
            " created_at) VALUES (?, ?, 0, 'text', ?, 0, ?, ?)",
            rows,
        )
        database.execute(
            "UPDATE rooms SET message_count = message_count + ? WHERE id = ?",
            (len(bodies), room_id),
        )
