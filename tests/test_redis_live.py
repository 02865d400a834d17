"""Fan-out and presence across processes on a real Redis: each broker or registry here
stands for one process."""

import subprocess
import threading
import time

import pytest

from chatapp.live.broker import CatchUp, Close, Frame, Inbox, ProfileChanged, room_channel
from chatapp.live.redis_broker import RedisBroker
from chatapp.live.redis_presence import RedisPresence
from tests.services import redis_server

GRACE = 0.1
HEARTBEAT = 0.2


@pytest.fixture(scope="module")
def redis_url():
    """A throwaway Redis for the module."""
    with redis_server() as url:
        yield url


@pytest.fixture
def flushed(redis_url):
    """The module's Redis, emptied before the test."""
    subprocess.run(["redis-cli", "-u", redis_url, "FLUSHALL"], check=True, capture_output=True)
    return redis_url


@pytest.fixture
def closing():
    """Brokers and registries that the test made, closed after it."""
    made = []
    yield made.append
    for each in made:
        each.close()


@pytest.fixture
def listening(closing):
    """Make brokers whose listeners are subscribed already."""

    def make(url):
        broker = RedisBroker(url)
        closing(broker)
        broker.subscribe(Inbox(), ["warm-up"])
        assert broker.listening.wait(5)
        return broker

    return make


def heard(inbox, timeout=5):
    """The next item an inbox receives."""
    item = inbox.get(timeout=timeout)
    assert item is not None, "nothing arrived"
    return item


def test_what_one_process_publishes_reaches_the_others_once(flushed, listening):
    here, there = listening(flushed), listening(flushed)
    mine, theirs = Inbox(), Inbox()
    here.subscribe(mine, [room_channel(1)])
    there.subscribe(theirs, [room_channel(1)])
    frame = Frame("<p>hi</p>", message_id=7, audience=frozenset({1, 2}), event="update")
    here.publish(room_channel(1), frame)
    here.publish(room_channel(1), Close(1008, "<p>bye</p>", room_id=1, session_id="s"))
    here.publish(room_channel(1), ProfileChanged())
    assert heard(mine) is frame
    arrived = heard(theirs)
    assert (arrived.html, arrived.message_id, arrived.audience) == ("<p>hi</p>", 7, {1, 2})
    assert heard(theirs) == Close(1008, "<p>bye</p>", room_id=1, session_id="s")
    assert heard(theirs) == ProfileChanged()
    here.publish(room_channel(1), Frame("<p>last</p>"))
    assert heard(theirs).html == "<p>last</p>"
    # Both heard ProfileChanged and "last": had the publisher heard its own echo, a second
    # copy of the first frame would be next here instead.
    assert heard(mine) == Close(1008, "<p>bye</p>", room_id=1, session_id="s")
    assert heard(mine) == ProfileChanged()
    assert heard(mine).html == "<p>last</p>"
    assert mine.get(timeout=0.3) is None


def test_after_redis_comes_back_every_subscriber_catches_up(listening):
    with redis_server() as url:
        broker = listening(url)
        inbox = Inbox()
        broker.subscribe(inbox, [room_channel(3)])
        port = url.rsplit(":", 1)[1].split("/")[0]
        subprocess.run(
            ["redis-cli", "-p", port, "CLIENT", "KILL", "TYPE", "pubsub"],
            check=True,
            capture_output=True,
        )
        assert isinstance(heard(inbox, timeout=10), CatchUp)
        assert inbox.overflowed
        other = listening(url)
        other.publish(room_channel(3), Frame("<p>after</p>"))
        while isinstance(item := heard(inbox), CatchUp):
            pass
        assert item.html == "<p>after</p>"


class Announcements:
    """What a registry said about people gone from rooms, as (room, user)."""

    def __init__(self):
        self.said = []
        self.lock = threading.Lock()

    def __call__(self, room_id, user_id):
        with self.lock:
            self.said.append((room_id, user_id))


@pytest.fixture
def registry(app, closing):
    """Make presence registries, as each process would have one."""

    def make(url, announcements):
        made = RedisPresence(
            app, url, GRACE, announcements, palette_size=4, heartbeat_seconds=HEARTBEAT
        )
        closing(made)
        return made

    return make


def wait_until(condition, timeout=5):
    """Wait until condition() holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "it never happened"
        time.sleep(0.02)


def test_a_join_and_a_leave_are_news_in_one_process_only(registry, flushed):
    told = Announcements()
    here, there = registry(flushed, told), registry(flushed, told)
    assert here.arrive(1, 7).is_new
    assert not there.arrive(1, 7).is_new
    assert set(there.in_room(1)) == {7}
    left = []
    here.depart(1, 7, lambda: left.append("here"))
    time.sleep(GRACE * 4)
    there.depart(1, 7, lambda: left.append("there"))
    wait_until(lambda: left)
    time.sleep(GRACE * 2)
    assert left == ["there"]
    assert here.in_room(1) == {}


def test_colours_are_shared_and_never_doubled_while_one_is_free(registry, flushed):
    told = Announcements()
    here, there = registry(flushed, told), registry(flushed, told)
    colours = [here.arrive(1, 10).color, there.arrive(2, 11).color, here.arrive(3, 12).color]
    assert sorted(colours) == [0, 1, 2]
    assert there.arrive(5, 10).color == colours[0]
    assert there.color_of(12) == colours[2]


def test_the_people_of_a_process_that_died_are_let_go_once(registry, flushed):
    told = Announcements()
    dead, alive = registry(flushed, told), registry(flushed, told)
    # This one will never renew its entries, as a process killed at once would not.
    dead._beat_on = lambda: None
    dead.arrive(4, 20)
    dead.arrive(0, 20)
    alive.arrive(4, 21)
    wait_until(lambda: len(told.said) == 2, timeout=HEARTBEAT * 20)
    time.sleep(HEARTBEAT * 3)
    assert sorted(told.said) == [(0, 20), (4, 20)]
    assert set(alive.in_room(4)) == {21}
