"""The browsers of the benchmarks: room sockets that behave as chatapp's page does.

Each socket offers permessage-deflate, as browsers do, sends the resume frame as it
opens and, after each message it receives, a read frame with that message's id (room.js
at the bottom of a visible page). Senders also send messages at a steady rate, each
carrying the moment it was sent, so that every arrival gives one latency. A person may
also hold their event stream open, as every page does. All of it runs on one asyncio
loop in a process of its own, driven by the benchmark over a pipe.
"""

import asyncio
import gc
import json
import random
import time
from array import array
from typing import NamedTuple
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

MARK = "bench "
MESSAGE_ID = 'id="msg-'
OPENS_AT_ONCE = 50
SETTLE_SECONDS = 10
RESUME = json.dumps({"type": "resume", "after": 0})


class Spec(NamedTuple):
    """One person's connections: their room socket, maybe a stream, maybe a send rate."""

    socket_url: str
    headers: dict
    room: str
    rate: float = 0.0
    stream_url: str | None = None


class Socket:
    """One person's room socket and what arrived on it this round."""

    def __init__(self, spec, index):
        self.spec = spec
        self.index = index
        self.connection = None
        self.last_read = 0
        self.round = 0
        self.latencies = array("d")
        self.arrived = 0
        self.sent = 0
        self.expected = 0
        self.done = None

    async def open(self):
        """Connect, resume, and return how long the handshake took."""
        started = time.monotonic()
        headers = {name: value for name, value in self.spec.headers.items() if name != "Origin"}
        self.connection = await connect(
            self.spec.socket_url,
            additional_headers=headers,
            origin=self.spec.headers.get("Origin"),
            ping_interval=None,
            max_size=4 * 1024 * 1024,
            open_timeout=60,
        )
        took = time.monotonic() - started
        await self.connection.send(RESUME)
        return took

    async def listen(self):
        """Note every message's arrival and answer it with a read frame, until closed."""
        # The bytes room.js sends: JSON.stringify({type: "read", id}).
        read = '{"type":"read","id":%d}'
        async for text in self.connection:
            arrived = time.monotonic_ns()
            start = text.find(MESSAGE_ID)
            if start < 0:
                continue
            start += len(MESSAGE_ID)
            message_id = int(text[start : text.index('"', start)])
            if message_id > self.last_read:
                self.last_read = message_id
                await self.connection.send(read % message_id)
            self.note(text, arrived)

    def note(self, text, arrived):
        """Count a marked message of this round, and its latency."""
        start = text.find(MARK)
        if start < 0:
            return
        round_number, sender, _, sent = text[start + len(MARK) : text.index("<", start)].split()
        if int(round_number) != self.round or int(sender) == self.index:
            return
        self.latencies.append((arrived - int(sent)) / 1e9)
        self.arrived += 1
        if self.arrived >= self.expected and self.done is not None:
            self.done.set()

    async def send_steadily(self, round_number, start, duration):
        """Send messages at the spec's rate from start (monotonic) for duration seconds."""
        rate = self.spec.rate
        first = start + random.random() / rate
        count = int(duration * rate)
        headers = {"HX-Request": "true", "HX-Trigger": "composer", "HX-Target": "composer"}
        for number in range(count):
            delay = first + number / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            marker = f"{MARK}{round_number} {self.index} {number} {time.monotonic_ns()}"
            await self.connection.send(json.dumps({"body": marker, "HEADERS": headers}))
            self.sent += 1


async def read_stream(url, headers):
    """Hold an event stream open and read it to the end, as EventSource does."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Accept: text/event-stream"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    try:
        while await reader.read(65536):
            pass
    finally:
        writer.close()


class Load:
    """Every socket of this process, opened once and driven round after round."""

    def __init__(self):
        self.sockets = []
        self.tasks = []

    async def open(self, specs):
        """Open every socket (and stream) a few at a time; the handshake durations."""
        gate = asyncio.Semaphore(OPENS_AT_ONCE)

        async def open_one(spec):
            async with gate:
                socket = Socket(spec, len(self.sockets))
                self.sockets.append(socket)
                took = await socket.open()
                self.tasks.append(asyncio.create_task(socket.listen()))
                if spec.stream_url:
                    self.tasks.append(
                        asyncio.create_task(read_stream(spec.stream_url, spec.headers))
                    )
                return took

        return await asyncio.gather(*(open_one(spec) for spec in specs))

    async def run_round(self, round_number, start, duration):
        """Send for a round; wait until every message arrived or time is up; the results."""
        by_room = {}
        for socket in self.sockets:
            socket.round, socket.latencies, socket.arrived, socket.sent = (
                round_number,
                array("d"),
                0,
                0,
            )
            by_room.setdefault(socket.spec.room, []).append(socket)
        senders = [s for s in self.sockets if s.spec.rate]
        for socket in self.sockets:
            others = [s for s in by_room[socket.spec.room] if s is not socket and s.spec.rate]
            socket.expected = sum(int(duration * s.spec.rate) for s in others)
            socket.done = asyncio.Event()
            if socket.arrived >= socket.expected:
                socket.done.set()
        await asyncio.gather(*(s.send_steadily(round_number, start, duration) for s in senders))
        waiting = [asyncio.create_task(socket.done.wait()) for socket in self.sockets]
        await asyncio.wait(waiting, timeout=SETTLE_SECONDS)
        for task in waiting:
            task.cancel()
        latencies = array("d")
        for socket in self.sockets:
            latencies.extend(socket.latencies)
        expected = sum(socket.expected for socket in self.sockets)
        return {"latencies": latencies.tobytes(), "expected": expected}

    async def close(self):
        """Close every socket and stream."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(
            *(socket.connection.close() for socket in self.sockets if socket.connection),
            return_exceptions=True,
        )


def serve(pipe):
    """Run a Load in this process, doing what the pipe asks until told to stop."""
    asyncio.run(_serve(pipe))


async def _serve(pipe):
    load = Load()
    loop = asyncio.get_running_loop()
    while True:
        command, *arguments = await loop.run_in_executor(None, pipe.recv)
        if command == "open":
            opened = await load.open([Spec(*spec) for spec in arguments[0]])
            # The sockets live as long as this process: a full collection that went through
            # them all paused this loop for 70-90 ms, and every latency measured across it.
            gc.collect()
            gc.freeze()
            pipe.send(opened)
        elif command == "round":
            pipe.send(await load.run_round(*arguments))
        elif command == "close":
            await load.close()
            pipe.send(None)
            return
