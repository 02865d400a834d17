"""examples/bot.py against the live server: it answers ping, and resumes after a restart."""

import os
import subprocess
import sys
import time

import pytest

from tests.api.support import add_messages, call_live, live_token
from tests.live import PROJECT, start_server

BOT = PROJECT / "examples" / "bot.py"


@pytest.fixture
def server(tmp_path, migrated_database):
    """A live server of the test's own, which the test may restart."""
    running = start_server(tmp_path / "server", migrated_database)
    yield running
    running.close_browsers()
    running.stop()


@pytest.fixture
def start_bot(tmp_path):
    """Start examples/bot.py with a token; stopped after the test."""
    started = []

    def start(server, token):
        log = open(tmp_path / "bot.log", "wb")  # noqa: SIM115 - the bot writes to it until stopped
        env = {**os.environ, "CHATAPP_TOKEN": token}
        process = subprocess.Popen(
            [sys.executable, str(BOT), "--url", server.url], env=env, stdout=log, stderr=log
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def messages(server, token, room):
    """(author, recipient, body) of the room's newest messages."""
    status, page = call_live(server, "GET", f"/rooms/{room}/messages", token=token)
    assert status == 200, page
    return [(m["author"], m["recipient"], m["body"]) for m in page["messages"]]


def wait_for(condition, timeout=15):
    """Wait until condition() holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


def test_the_bot_answers_ping_and_resumes_after_the_server_restarts(server, start_bot):
    [alice, bot] = server.people("alice", "bot")
    room = alice.room_with(bot)
    token = live_token(server, alice.username)
    start_bot(server, live_token(server, bot.username))
    page = alice.socket(room)
    page.wait_for(f"{bot.username} joined the room", timeout=15)
    page.say("ping")
    page.say("ping", to=bot.username)
    page.say("not a ping")
    expected = [
        (alice.username, None, "ping"),
        (alice.username, bot.username, "ping"),
        (alice.username, None, "not a ping"),
        (bot.username, None, "pong"),
        (bot.username, alice.username, "pong"),
    ]
    wait_for(lambda: messages(server, token, room) == expected)

    server.close_browsers()
    server.stop()
    # Said while the server was down: the bot can only find it by resuming.
    add_messages(server, room, alice, ["ping"])
    restarted = start_server(server.folder, server.database, port=server.port)
    server.process = restarted.process
    expected += [(alice.username, None, "ping"), (bot.username, None, "pong")]
    wait_for(lambda: messages(server, token, room) == expected, timeout=40)
    status, _ = call_live(server, "POST", f"/rooms/{room}/messages", {"body": "ping"}, token)
    assert status == 201
    expected += [(alice.username, None, "ping"), (bot.username, None, "pong")]
    wait_for(lambda: messages(server, token, room) == expected)
    time.sleep(1)
    assert messages(server, token, room) == expected
