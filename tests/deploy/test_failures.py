"""When a part of the deployment fails mid-stream: a worker killed, Redis restarted."""

import contextlib
import os
import re
import signal
import subprocess
import threading
import time

import psycopg
import pytest
import simple_websocket

from deploy import services
from tests.deploy.test_cluster import same_browser_at
from tests.live import Browser, unique

MESSAGE_ID = re.compile(r'<article id="msg-(\d+)"')
BODY = re.compile(r'<p class="body">([^<]*)</p>')


@pytest.fixture
def browsers(cluster):
    """Browsers at nginx's address; their sockets and streams are closed after the test."""
    made = []

    def browser():
        made.append(Browser(cluster.url))
        return made[-1]

    yield browser
    for each in made:
        each.close()


def stored(cluster, room):
    """(id, body) of the room's saved messages, oldest first."""
    with psycopg.connect(cluster.database_url) as database:
        return database.execute(
            "SELECT messages.id, body FROM messages JOIN rooms ON rooms.id = messages.room_id"
            " WHERE rooms.name = %s ORDER BY messages.id",
            (room,),
        ).fetchall()


def logged(cluster, room):
    """The texts of the room's log lines."""
    path = cluster.folder / "logs" / f"chatroom{room}.txt"
    return [line.partition(": ")[2] for line in path.read_text().splitlines()]


def received(*sockets):
    """Every message id that reached these sockets, as often as it came."""
    return [int(found) for ws in sockets for found in MESSAGE_ID.findall(ws.text())]


class Talker:
    """Someone who says numbered things one after another, each once it came back; when
    the connection is lost they go on at the next address, resuming where they were."""

    def __init__(self, browser, room, address):
        self.browser, self.room = browser, room
        self.sockets = [same_browser_at(browser, address).socket(room)]
        self.next_address = address
        self.acknowledged = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.talk, daemon=True)

    def talk(self):
        """Say the next thing and wait for it, until told to stop."""
        number = 0
        while not self.stop.is_set():
            body = f"{self.browser.username} number {number}"
            try:
                self.sockets[-1].say(body)
                self.sockets[-1].wait_for(f"{body}<", timeout=5)
            except (simple_websocket.ConnectionClosed, AssertionError):
                self.go_on()
                continue
            self.acknowledged.append(body)
            number += 1

    def go_on(self):
        """Keep what the lost socket showed, then resume after it at the next address."""
        with contextlib.suppress(AssertionError):
            self.sockets[-1].wait_closed(timeout=5)
        newest = max(received(*self.sockets), default=0)
        address = same_browser_at(self.browser, self.next_address)
        self.sockets.append(address.socket(self.room, resume_after=newest))


def test_a_worker_killed_mid_stream_loses_no_message(cluster, browsers):
    first, second = cluster.gunicorns
    alice, bob, carol = (browsers().sign_up(unique(name)) for name in ("alice", "bob", "carol"))
    room = alice.room_with(bob, carol)
    talker = Talker(alice, room, first.url)
    bob_ws = same_browser_at(bob, second.url).socket(room)
    carol_sockets = [same_browser_at(carol, first.url).socket(room)]
    talker.thread.start()
    bob_ws.wait_for(f"{alice.username} number 10<", timeout=10)
    talker.next_address = second.url
    os.kill(first.worker_pids()[0], signal.SIGKILL)
    # The browsers served by the dead worker reconnect to the other one and resume.
    with contextlib.suppress(AssertionError):
        carol_sockets[0].wait_closed(timeout=5)
    newest = max(received(*carol_sockets), default=0)
    carol_sockets.append(same_browser_at(carol, second.url).socket(room, resume_after=newest))
    count = len(talker.acknowledged)
    bob_ws.wait_for(f"{alice.username} number {count + 10}<", timeout=15)
    talker.stop.set()
    talker.thread.join(10)
    time.sleep(0.5)
    saved = stored(cluster, room)
    bodies = [body for _, body in saved]
    assert set(talker.acknowledged) <= set(bodies)
    # A line is written after its message is saved: a worker killed in between leaves the
    # one message it was saving out of the log, and only that one (nobody saw it come back).
    missing_from_log = set(bodies) - set(logged(cluster, room))
    assert missing_from_log <= {body for body in bodies if body not in talker.acknowledged}
    assert len(missing_from_log) <= 1
    every_id = [message_id for message_id, _ in saved]
    for sockets in ([bob_ws], carol_sockets, talker.sockets):
        sockets[-1].wait_for(f"{bodies[-1]}<", timeout=10)
        ids = received(*sockets)
        assert len(ids) == len(set(ids)), "a message came twice"
        assert sorted(ids) == every_id


def test_after_a_redis_restart_delivery_resumes_and_nothing_is_missed(cluster, browsers):
    first, second = cluster.gunicorns
    alice, bob = (browsers().sign_up(unique(name)) for name in ("alice", "bob"))
    room = alice.room_with(bob)
    alice_ws = same_browser_at(alice, first.url).socket(room)
    bob_ws = same_browser_at(bob, second.url).socket(room)
    alice_ws.say("before the restart")
    bob_ws.wait_for("before the restart<")
    port = int(cluster.redis_url.rsplit(":", 1)[1].split("/")[0])
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    # Said while Redis is away: saved, but no other process hears of it then.
    alice_ws.say("while Redis is away")
    alice_ws.wait_for("while Redis is away<")
    with restarted_redis(port):
        bob_ws.wait_for("while Redis is away<", timeout=15)
        alice_ws.say("after the restart")
        bob_ws.wait_for("after the restart<", timeout=10)
    ids = received(bob_ws)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == [message_id for message_id, _ in stored(cluster, room)]


@contextlib.contextmanager
def restarted_redis(port):
    """Redis started again on the port it had, stopped at the end."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        services.wait_for_port(port, server)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)
