"""Fan-out across processes and hosts through Redis pub/sub.

Every process delivers what it publishes to its own subscribers at once, and publishes it
to Redis for the others. One pub/sub connection per process, and one listener thread (a
greenlet under gevent) started lazily after the fork, hear every channel by one pattern
and hand each item to the local subscribers of its channel. What Redis carried while a
process was cut off from it is gone: when the listener is back, every local subscriber is
told to catch up (room sockets from the database, event streams from a fresh snapshot).
"""

import json
import logging
import secrets
import threading

import redis

from chatapp.live.broker import (
    CatchUp,
    Close,
    Frame,
    LocalBroker,
    ProfileChanged,
    TokenRevoked,
)

PREFIX = "chatapp:"
RETRY_SECONDS = 1
log = logging.getLogger(__name__)


def encode(item, origin):
    """An item as the text Redis carries, marked with the process that published it."""
    if isinstance(item, Frame):
        audience = sorted(item.audience) if item.audience is not None else None
        body = {
            "frame": [item.html, item.message_id, audience, item.event, item.data, item.position]
        }
    elif isinstance(item, Close):
        body = {"close": list(item)}
    elif isinstance(item, ProfileChanged):
        body = {"profile": True}
    elif isinstance(item, TokenRevoked):
        body = {"revoked": item.token_id}
    else:
        raise TypeError(f"cannot publish {item!r} across processes")
    return json.dumps({"from": origin, **body})


def decode(text):
    """(the publishing process, the item) from the text Redis carried."""
    data = json.loads(text)
    if "frame" in data:
        html, message_id, audience, event, event_data, position = data["frame"]
        audience = frozenset(audience) if audience is not None else None
        item = Frame(html, message_id, audience, event, event_data, position)
    elif "close" in data:
        item = Close(*data["close"])
    elif "revoked" in data:
        item = TokenRevoked(data["revoked"])
    else:
        item = ProfileChanged()
    return data["from"], item


class RedisBroker(LocalBroker):
    """Fan-out among this process's subscribers and, through Redis, every other process's."""

    def __init__(self, url):
        super().__init__()
        self._redis = redis.Redis.from_url(url, health_check_interval=30, socket_keepalive=True)
        self._origin = secrets.token_hex(8)
        self._listener = None
        self._pubsub = None
        self._start_lock = threading.Lock()
        self._closed = threading.Event()
        self.listening = threading.Event()

    def subscribe(self, subscriber, channels):
        """Deliver what any process publishes on the channels from now on."""
        self._listen()
        super().subscribe(subscriber, channels)

    def publish(self, channel, item):
        """Deliver here at once, and to every other process through Redis."""
        super().publish(channel, item)
        self._listen()
        try:
            self._redis.publish(PREFIX + channel, encode(item, self._origin))
        except redis.RedisError:
            # Others catch up once their listeners are back: nothing is lost for good.
            log.warning("could not publish on %s through Redis", channel, exc_info=True)

    def _listen(self):
        """Start this process's listener unless it runs already."""
        with self._start_lock:
            if self._listener is None:
                self._listener = threading.Thread(target=self._run, daemon=True)
                self._listener.start()

    def _run(self):
        """Hear every channel, and after each reconnection have everyone catch up."""
        pubsub = self._pubsub = self._redis.pubsub()
        connected_before = False
        while not self._closed.is_set():
            try:
                if not pubsub.patterns:
                    pubsub.psubscribe(PREFIX + "*")
                # redis-py subscribes again by itself after it reconnects.
                for message in pubsub.listen():
                    if message["type"] == "psubscribe":
                        if connected_before:
                            self._catch_up_everyone()
                        connected_before = True
                        self.listening.set()
                    elif message["type"] == "pmessage":
                        self._hear(message["channel"], message["data"])
            except (redis.RedisError, ValueError, AttributeError):
                if self._closed.is_set():
                    return
                log.warning("lost Redis; listening again in %s s", RETRY_SECONDS)
                self.listening.clear()
                self._closed.wait(RETRY_SECONDS)

    def close(self):
        """Stop listening, as a process that ends does."""
        self._closed.set()
        if self._pubsub is not None:
            self._pubsub.close()

    def _hear(self, channel, data):
        """Deliver an item another process published to this process's subscribers."""
        origin, item = decode(data)
        if origin != self._origin:
            LocalBroker.publish(self, channel.decode().removeprefix(PREFIX), item)

    def _catch_up_everyone(self):
        """Tell every local subscriber that frames may have been missed."""
        with self._lock:
            everyone = {s for subscribers in self._subscribers.values() for s in subscribers}
        for subscriber in everyone:
            subscriber.deliver(CatchUp())
