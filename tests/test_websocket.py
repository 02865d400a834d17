"""The WebSocket after its handshake, frame by frame, over a real socket pair.

The client's frames are built by hand here and the server's read with wsproto, so neither
side of a test shares code with the parser under test.
"""

import contextlib
import os
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode

from chatapp.connections import websocket
from chatapp.connections.websocket import MAX_FRAGMENTS, WebSocket
from chatapp.live.broker import encode_text

TEXT, CONTINUATION, BINARY, CLOSE, PING, PONG = 0x1, 0x0, 0x2, 0x8, 0x9, 0xA


def client_frame(opcode, payload, fin=True, first_byte_bits=0):
    """One masked frame as a browser sends it (first_byte_bits: RSV bits to set)."""
    head = bytes([(0x80 if fin else 0) | first_byte_bits | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    return head + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


class Peer:
    """The client's end of the pair, and what the server's end yielded."""

    def __init__(self, ping_interval=5, max_message_size=1024, queue_limit=10):
        server_end, self.sock = socket.socketpair()
        handshaken = SimpleNamespace(mode="gunicorn", sock=server_end, ws=object(), connected=True)
        self.websocket = WebSocket(
            handshaken,
            ping_interval=ping_interval,
            max_message_size=max_message_size,
            queue_limit=queue_limit,
        )
        server_end.close()  # the WebSocket keeps its own copy, as under gunicorn
        self.received = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.sock.settimeout(10)
        self.frames = FrameProtocol(client=True, extensions=[])

    def _read(self):
        self.received.extend(self.websocket.messages())
        self.websocket.finish()

    def send(self, *frames):
        self.sock.sendall(b"".join(frames))

    def read_frames(self):
        """Every frame the server sends until it hangs up."""
        data = b""
        while chunk := self.sock.recv(65536):
            data += chunk
        self.frames.receive_bytes(data)
        return list(self.frames.received_frames())

    def read_now(self):
        """The frames the server has sent so far, without waiting for it to hang up."""
        self.frames.receive_bytes(self.sock.recv(65536))
        return list(self.frames.received_frames())

    def ended(self):
        """Wait for the server's end to stop reading; what it yielded."""
        self.reader.join(10)
        assert not self.reader.is_alive()
        return self.received


@pytest.fixture
def peer_with():
    """Make peers; their client ends are closed after the test."""
    made = []

    def make(**options):
        made.append(Peer(**options))
        return made[-1]

    yield make
    for peer in made:
        peer.sock.close()
        peer.reader.join(10)


def close_code(frames):
    """The code of the close frame among frames."""
    [close] = [frame for frame in frames if frame.opcode is Opcode.CLOSE]
    return close.payload[0]


def test_text_messages_are_yielded_whole_and_the_close_is_answered(peer_with):
    peer = peer_with()
    peer.send(
        client_frame(TEXT, "héllo".encode()),
        client_frame(TEXT, b"in ", fin=False),
        client_frame(CONTINUATION, b"three ", fin=False),
        client_frame(CONTINUATION, b"parts"),
        client_frame(CLOSE, struct.pack("!H", 1000)),
    )
    assert close_code(peer.read_frames()) == CloseReason.NORMAL_CLOSURE
    assert peer.ended() == ["héllo", "in three parts"]


def test_a_ping_is_answered_with_its_payload(peer_with):
    peer = peer_with()
    peer.send(client_frame(PING, b"are you there"))
    [pong] = peer.read_now()
    assert (pong.opcode, pong.payload) == (Opcode.PONG, b"are you there")
    peer.websocket.send(encode_text("after the pong"))
    peer.send(client_frame(CLOSE, struct.pack("!H", 1000)))
    frames = peer.read_frames()
    assert [(frame.opcode, frame.payload) for frame in frames[:1]] == [
        (Opcode.TEXT, "after the pong")
    ]


def test_a_message_over_the_cap_in_pieces_closes_with_1009_and_is_not_yielded(peer_with):
    peer = peer_with(max_message_size=1024)
    peer.send(
        client_frame(TEXT, b"small"),
        client_frame(TEXT, b"a" * 600, fin=False),
        client_frame(CONTINUATION, b"b" * 600),
    )
    assert close_code(peer.read_frames()) == 1009
    assert peer.ended() == ["small"]


def test_broken_utf8_closes_with_1007(peer_with):
    peer = peer_with()
    peer.send(client_frame(TEXT, b"bad \xff\xfe byte"))
    assert close_code(peer.read_now()) == 1007
    peer.send(client_frame(CLOSE, struct.pack("!H", 1007)))
    assert peer.ended() == []


def test_a_binary_frame_closes_with_1003_and_later_text_is_ignored(peer_with):
    peer = peer_with()
    peer.send(client_frame(BINARY, b"\x00\x01"))
    assert close_code(peer.read_now()) == 1003
    peer.send(client_frame(TEXT, b"too late"), client_frame(CLOSE, struct.pack("!H", 1003)))
    assert peer.ended() == []


def test_a_broken_frame_fails_the_connection_with_1002(peer_with):
    peer = peer_with()
    peer.send(client_frame(CONTINUATION, b"no message to continue"))
    assert close_code(peer.read_frames()) == 1002
    assert peer.ended() == []


def test_nothing_is_sent_after_the_close_frame(peer_with):
    peer = peer_with()
    peer.websocket.close(1008, "Gone")
    peer.websocket.send(encode_text("after the close"))
    peer.send(client_frame(CLOSE, struct.pack("!H", 1008)))
    frames = peer.read_frames()
    assert [frame.opcode for frame in frames] == [Opcode.CLOSE]
    assert peer.ended() == []


def test_a_silent_client_is_pinged_then_dropped(peer_with):
    peer = peer_with(ping_interval=0.2)
    assert [frame.opcode for frame in peer.read_now()] == [Opcode.PING]
    assert peer.ended() == []


def test_a_quiet_client_that_answers_its_pings_stays(peer_with):
    peer = peer_with(ping_interval=0.2)
    answering_until = time.monotonic() + 1
    while time.monotonic() < answering_until:
        [ping] = peer.read_now()
        assert ping.opcode is Opcode.PING
        peer.send(client_frame(PONG, ping.payload))
    peer.send(client_frame(TEXT, b"still here"), client_frame(CLOSE, struct.pack("!H", 1000)))
    assert peer.ended() == ["still here"]


def test_under_gevent_a_client_that_takes_nothing_is_dropped_however_much_it_sends():
    # Under gevent the socket has no timeout: only the watch can end a flusher's wait.
    script = textwrap.dedent(
        """
        from gevent import monkey

        monkey.patch_all()
        import socket
        import time
        from types import SimpleNamespace

        import gevent

        from chatapp.connections.websocket import WebSocket
        from chatapp.live.broker import encode_text
        from tests.test_websocket import PONG, client_frame

        server_end, client = socket.socketpair()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        handshaken = SimpleNamespace(mode="gunicorn", sock=server_end, ws=object())
        websocket = WebSocket(
            handshaken, ping_interval=0.2, max_message_size=1024, queue_limit=1000
        )
        server_end.close()
        ended = []
        gevent.spawn(lambda: ended.append(list(websocket.messages())))
        started = time.monotonic()
        while not ended and time.monotonic() - started < 5:
            websocket.send(encode_text("x" * 1000))  # it never reads these
            client.sendall(client_frame(PONG, b""))  # but it keeps talking
            gevent.sleep(0.05)
        print("dropped" if ended else "still served")
        """
    )
    assert run_under_gevent(script) == "dropped"


def run_under_gevent(script):
    """Run a script that patches everything for gevent first; what it printed."""
    project = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=project, capture_output=True, text=True, check=True
    )
    return run.stdout.strip()


@pytest.mark.parametrize("size", [125, 126, 65535, 65536])
def test_every_length_encoding_is_read(peer_with, size):
    peer = peer_with(max_message_size=1 << 17)
    peer.send(client_frame(TEXT, b"x" * size), client_frame(CLOSE, struct.pack("!H", 1000)))
    peer.read_frames()
    assert [len(text) for text in peer.ended()] == [size]


def test_many_short_messages_in_one_read_are_all_yielded_in_order(peer_with):
    peer = peer_with()
    reads = [f'{{"type":"read","id":{number}}}' for number in range(50)]
    peer.send(*(client_frame(TEXT, read.encode()) for read in reads))
    peer.send(client_frame(CLOSE, struct.pack("!H", 1000)))
    peer.read_frames()
    assert peer.ended() == reads


def test_a_short_message_over_a_smaller_cap_closes_with_1009(peer_with):
    peer = peer_with(max_message_size=16)
    peer.send(client_frame(TEXT, b"seventeen bytes!!"))
    assert close_code(peer.read_frames()) == 1009
    assert peer.ended() == []


def test_a_new_message_inside_an_unfinished_one_fails_the_connection_with_1002(peer_with):
    peer = peer_with()
    peer.send(client_frame(TEXT, b"begun", fin=False))
    time.sleep(0.2)  # read on its own, before the next
    peer.send(client_frame(TEXT, b"another"))
    assert close_code(peer.read_frames()) == 1002
    assert peer.ended() == []


def test_the_rest_of_a_frame_is_not_read_as_frames_of_its_own(peer_with):
    peer = peer_with()
    text = b"hello, world"
    # A mask chosen so that the rest of the frame, after its header, looks like two whole
    # short text frames: one of 4 bytes, one empty.
    mask = bytes([0x81, 0x84, text[6] ^ 0x81, text[7] ^ 0x80])
    rest = mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(text))
    # Each part is read on its own.
    for part in bytes([0x81, 0x80 | len(text)]), rest, client_frame(CLOSE, struct.pack("!H", 1000)):
        peer.send(part)
        time.sleep(0.2)
    peer.read_frames()
    assert peer.ended() == ["hello, world"]


def test_a_message_in_too_many_empty_pieces_closes_with_1009(peer_with):
    peer = peer_with()
    pieces = [client_frame(CONTINUATION, b"", fin=False)] * (MAX_FRAGMENTS + 10)
    peer.send(client_frame(TEXT, b"x", fin=False), *pieces, client_frame(CONTINUATION, b"y"))
    assert close_code(peer.read_now()) == 1009
    peer.send(client_frame(TEXT, b"after"), client_frame(CLOSE, struct.pack("!H", 1009)))
    assert peer.ended() == []


def test_a_client_that_keeps_talking_after_the_close_is_dropped_at_the_deadline(
    peer_with, monkeypatch
):
    monkeypatch.setattr(websocket, "CLOSING_SECONDS", 0.5)
    peer = peer_with()
    peer.websocket.close(1008, "Gone")
    started = time.monotonic()
    with contextlib.suppress(OSError):
        while peer.reader.is_alive() and time.monotonic() - started < 5:
            peer.send(client_frame(PING, b"still here"), client_frame(TEXT, b"ignored"))
            time.sleep(0.05)
    assert peer.ended() == []
    assert time.monotonic() - started < 2
    assert [frame.opcode for frame in peer.read_frames()] == [Opcode.CLOSE]


@pytest.mark.parametrize(
    "frame",
    [
        client_frame(TEXT, b"compressed?", first_byte_bits=0x40),
        bytes([0x81, 0x05]) + b"plain",  # unmasked
        client_frame(PING, b"p" * 126),  # a control frame over 125 bytes
        client_frame(PING, b"split", fin=False),  # a fragmented control frame
    ],
    ids=["rsv1 without an extension", "unmasked", "long ping", "fragmented ping"],
)
def test_frames_no_browser_sends_fail_the_connection_with_1002(peer_with, frame):
    peer = peer_with()
    peer.send(frame, client_frame(TEXT, b"after"))
    assert close_code(peer.read_frames()) == 1002
    assert peer.ended() == []


def test_a_silent_client_is_dropped_at_the_deadline_after_the_close(peer_with, monkeypatch):
    monkeypatch.setattr(websocket, "CLOSING_SECONDS", 0.5)
    peer = peer_with(ping_interval=30)
    started = time.monotonic()
    peer.websocket.close(1008, "Gone")
    assert peer.ended() == []
    assert time.monotonic() - started < 2
