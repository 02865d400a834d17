"""A live server (gunicorn, as deployed) on loopback, with browsers and sockets to talk to it."""

import contextlib
import http.client
import itertools
import json
import os
import queue
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import NamedTuple

import psycopg
import simple_websocket

from deploy.cluster import migrate
from tests.services import free_port
from tests.support import CSRF_FIELD, PASSWORD

PROJECT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
STARTUP_SECONDS = 30


_serial = itertools.count()


def unique(prefix):
    """A name that no other test against the same server uses."""
    return f"{prefix}{next(_serial)}"


class LiveServer:
    """A running gunicorn with the app's own config, its database and logs in a folder."""

    def __init__(self, folder, process, port, database_url):
        self.folder = folder
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.database = folder / "chatapp.sqlite"
        self.database_url = database_url
        self.logs = folder / "logs"
        self.browsers = []

    def browser(self):
        """A new browser with no cookies; closed by close_browsers."""
        browser = Browser(self.url)
        self.browsers.append(browser)
        return browser

    def people(self, *names):
        """Browsers signed up under fresh names made from these."""
        return [self.browser().sign_up(unique(name)) for name in names]

    def close_browsers(self):
        """Close the sockets of every browser made so far."""
        for browser in self.browsers:
            browser.close()
        self.browsers.clear()

    def sql(self, statement, *params):
        """Run one statement (with ? for parameters) on the server's database; its rows.

        The same text runs on SQLite and PostgreSQL: write booleans as true and false.
        """
        if self.database_url.startswith("sqlite"):
            with contextlib.closing(sqlite3.connect(self.database)) as connection, connection:
                return connection.execute(statement, params).fetchall()
        with psycopg.connect(self.database_url) as connection:
            cursor = connection.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def output(self):
        """What the server printed so far."""
        return (self.folder / "server.log").read_text(errors="replace")

    def worker_pid(self):
        """The pid of gunicorn's one worker: the process that serves."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        assert len(pids) == 1, f"gunicorn has {len(pids)} workers"
        return pids[0]

    def stop(self, timeout=20):
        """SIGTERM, as systemd sends it, and wait for the exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def stored_bodies(server, room):
    """The bodies of the room's saved messages, oldest first."""
    rows = server.sql(
        "SELECT body FROM messages JOIN rooms ON rooms.id = messages.room_id"
        " WHERE rooms.name = ? ORDER BY messages.id",
        room,
    )
    return [row[0] for row in rows]


def start_server(folder, database_template, port=None, **settings):
    """Start gunicorn on a free port with CHATAPP_* settings; wait until it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "chatapp.sqlite").exists():
        shutil.copy(database_template, folder / "chatapp.sqlite")
    port = port or free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATAPP_")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        CHATAPP_INSTANCE_PATH=str(folder / "instance"),
        CHATAPP_DATABASE_URL=f"sqlite:///{folder}/chatapp.sqlite",
        CHATAPP_LOG_DIR=str(folder / "logs"),
        CHATAPP_SECRET_KEY="live test secret",
    )
    env.update({f"CHATAPP_{name}": str(value) for name, value in settings.items()})
    if "DATABASE_URL" in settings:
        # A database elsewhere (PostgreSQL) starts empty: the SQLite copy is migrated.
        migrate(env)
    with open(folder / "server.log", "ab") as log:
        process = subprocess.Popen(
            [str(GUNICORN), "--config", "deploy/gunicorn.conf.py", "wsgi:app"],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(folder, process, port, env["CHATAPP_DATABASE_URL"])
    wait_until_up(server)
    return server


def wait_until_up(server):
    """Return once the login page answers; fail with the server's output if it dies."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.url}/chat/login/", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer in {STARTUP_SECONDS} s:\n{server.output()}")


@contextlib.contextmanager
def live_server(folder, database_template, **settings):
    """A live server for the length of a with block."""
    server = start_server(folder, database_template, **settings)
    try:
        yield server
    finally:
        server.close_browsers()
        server.stop()


class Browser:
    """A browser without JavaScript: cookies, forms with their CSRF token, and sockets."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.username = None
        self.sockets = []
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path):
        """(status, final URL, page text) for a GET."""
        return self._open(urllib.request.Request(self.base_url + path))

    def post(self, path, data=None, page="/chat/room/"):
        """Send a form from page (for its CSRF token) to path; redirects are followed."""
        _, _, html = self.get(page)
        form = {"csrf_token": CSRF_FIELD.search(html).group(1), **(data or {})}
        body = urllib.parse.urlencode(form).encode()
        return self._open(urllib.request.Request(self.base_url + path, body))

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.url, error.read().decode()

    def sign_up(self, username):
        """Sign up under a new name and stay logged in."""
        data = {"username": username, "password": PASSWORD, "password_confirm": PASSWORD}
        status, url, _ = self.post("/chat/login/", data, page="/chat/login/")
        assert url.endswith("/chat/room/"), (status, url)
        self.username = username
        return self

    def create_room(self, name, *invitees, visibility="private"):
        """Create a room from the lobby, inviting people by their browsers."""
        invite = " ".join(browser.username for browser in invitees)
        data = {"name": name, "visibility": visibility, "invite": invite}
        status, url, _ = self.post("/chat/room/", data)
        assert url.endswith(f"/chat/room/{quote(name)}/"), (status, url)

    def room_with(self, *members, visibility="private"):
        """A new room of mine with the members in it (they accept at once); its name."""
        name = unique("room")
        self.create_room(name, *members, visibility=visibility)
        for member in members:
            member.accept_invitation(name)
        return name

    def accept_invitation(self, room_name):
        """Accept the invitation into a room with the lobby's button."""
        _, _, lobby = self.get("/chat/room/")
        invitation = (
            rf'<li id="invitation-(\d+)" class="invitation">\s*<span>\s*<strong>{room_name}<'
        )
        match = re.search(invitation, lobby)
        assert match, f"{self.username} has no invitation into {room_name}"
        status, url, _ = self.post(f"/chat/invitations/{match.group(1)}/accept")
        assert url.endswith(f"/chat/room/{quote(room_name)}/"), (status, url)

    def close(self):
        """Close every socket and event stream this browser opened."""
        for ws in self.sockets:
            ws.close()

    def events(self, last_event_id=None, origin=None):
        """Open my event stream as the page's EventSource does."""
        headers = {"Cookie": self.cookie_header(), "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        if origin:
            headers["Origin"] = origin
        stream = EventStream(self.base_url, headers)
        self.sockets.append(stream)
        return stream

    def cookie_header(self):
        """The Cookie header the browser sends to the server."""
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.cookies)

    def socket(self, room_name, origin="same", resume_after=0):
        """Open the room's socket as the page does, resume frame included (None: none)."""
        url = self.base_url.replace("http://", "ws://") + f"/chat/room/{quote(room_name)}/ws"
        headers = {"Cookie": self.cookie_header()}
        if origin == "same":
            origin = self.base_url
        if origin:
            headers["Origin"] = origin
        ws = RoomSocket(BrowserLikeClient.connect(url, headers=headers))
        self.sockets.append(ws)
        if resume_after is not None:
            ws.send_json({"type": "resume", "after": resume_after})
        return ws


def quote(name):
    """A room name as it appears in a URL path."""
    return urllib.parse.quote(name, safe="@")


class Event(NamedTuple):
    """One Server-Sent Event."""

    name: str
    id: str | None
    data: str


class EventStream:
    """A Server-Sent Events client that keeps every event it received."""

    def __init__(self, base_url, headers):
        host, port = urllib.parse.urlsplit(base_url).netloc.split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.connection.request("GET", "/chat/events", headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.received = queue.SimpleQueue()
        self.events = []
        self.comments = []
        self.ended = False
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        """Parse the stream line by line, as EventSource does, until it ends."""
        name, event_id, data = "message", None, []
        # Closing from the test's thread breaks the read in ways that vary: all end it.
        with contextlib.suppress(Exception):
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith(":"):
                    self.received.put(line)
                elif line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif not line and data:
                    self.received.put(Event(name, event_id, "\n".join(data)))
                    name, event_id, data = "message", None, []
        self.received.put(None)

    def wait_for(self, text, name=None, timeout=5):
        """Wait for an event (of this name) whose data contains text, and return it."""
        deadline = time.monotonic() + timeout
        found = self._find(text, name)
        while found is None and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                self._keep(self.received.get(timeout=max(0.01, deadline - time.monotonic())))
            found = self._find(text, name)
        if found is None:
            raise AssertionError(f"no {name or ''} event with {text!r}; got {self.events!r}")
        return found

    def _find(self, text, name):
        return next((e for e in self.events if text in e.data and name in (None, e.name)), None)

    def _keep(self, item):
        if isinstance(item, Event):
            self.events.append(item)
        elif isinstance(item, str):
            self.comments.append(item)
        else:
            self.ended = True

    def drain(self, seconds=0.3):
        """Collect whatever arrives within seconds; return all events so far."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                self._keep(self.received.get(timeout=max(0.01, deadline - time.monotonic())))
        return self.events

    def forget(self):
        """Drop every event received so far: later waits see only what comes after."""
        self.drain(0)
        self.events.clear()

    def text(self):
        """The data of every event so far, as one string."""
        return "".join(event.data for event in self.events)

    def close(self):
        """Hang up, as a closed tab does."""
        with contextlib.suppress(OSError):
            # Shut the socket first: the reading thread wakes at once instead of at the
            # next keep-alive, and closing does not wait for it.
            if self.connection.sock is not None:
                self.connection.sock.shutdown(socket.SHUT_RDWR)
            self.response.close()
            self.connection.close()


class BrowserLikeClient(simple_websocket.Client):
    """simple-websocket's client, with the port in the Host header as browsers send it."""

    def handshake(self):
        self.host = f"{self.host}:{self.port}"
        try:
            super().handshake()
        except simple_websocket.ConnectionError:
            self.sock.close()
            raise
        # A frame sent right after the handshake can arrive in the same read as the
        # response; simple-websocket would leave it parsed but unread until more data came.
        self._handle_events()
        # So can a close, which would make the client raise here and lose the frames before
        # it: its reader thread finds the connection ended instead, and they stay readable.
        self.connected = True


class RoomSocket:
    """A WebSocket client that keeps every frame it received."""

    def __init__(self, client):
        self.client = client
        self.frames = []

    def send_json(self, frame):
        """Send a JSON frame, as htmx's ws-send does."""
        self.client.send(json.dumps(frame))

    def say(self, body, **fields):
        """Send a message from the composer."""
        self.send_json({"body": body, "HEADERS": {"HX-Request": "true"}, **fields})

    def wait_for(self, text, timeout=5):
        """Wait for a frame containing text and return it."""
        deadline = time.monotonic() + timeout
        for frame in self.frames:
            if text in frame:
                return frame
        while time.monotonic() < deadline:
            frame = self.client.receive(timeout=max(0.01, deadline - time.monotonic()))
            if frame is None:
                continue
            self.frames.append(frame)
            if text in frame:
                return frame
        raise AssertionError(f"no frame with {text!r} within {timeout} s; got {self.frames!r}")

    def drain(self, seconds=0.3):
        """Collect whatever arrives within seconds and return all frames so far."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            frame = self.client.receive(timeout=max(0.01, deadline - time.monotonic()))
            if frame is not None:
                self.frames.append(frame)
        return self.frames

    def text(self):
        """Everything received, as one string."""
        return "".join(self.frames)

    def wait_closed(self, timeout=5):
        """Wait until the server closes the socket; return the close code."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(simple_websocket.ConnectionClosed):
            while time.monotonic() < deadline:
                frame = self.client.receive(timeout=0.1)
                if frame is not None:
                    self.frames.append(frame)
        if self.client.connected:
            raise AssertionError(f"the socket is still open after {timeout} s")
        return self.client.close_reason

    def close(self):
        """Close from the client side."""
        with contextlib.suppress(simple_websocket.ConnectionClosed):
            self.client.close()


def upload_avatar(browser, image, filename="me.png"):
    """Send the profile form with an avatar as a browser does; the status it ended on."""
    _, _, page = browser.get("/chat/profile/")
    fields = {"csrf_token": CSRF_FIELD.search(page).group(1), "username": browser.username}
    boundary = "----chatapp-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="avatar_file";'
        f' filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
    )
    body = "".join(parts).encode() + head.encode() + image + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(browser.base_url + "/chat/profile/", body)
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    status, _, _ = browser._open(request)
    return status
