"""A WebSocket that one greenlet reads and anyone may write to without ever waiting.

flask-sock opens the socket and does the handshake (through simple-websocket); from then
on this class owns it. The serving greenlet reads frames and answers pings. Whatever is
published to the socket is written at once, already encoded, or queued behind what a slow
client has not taken yet, for a flusher that lives only while there is a queue. So an idle
socket costs one greenlet, and a frame costs one write per receiver. Quiet clients are
pinged by one watch for all sockets, not by a timer on every read.
"""

import contextlib
import logging
import os
import socket
import threading
import time
from collections import deque

from websockets.exceptions import InvalidState, ProtocolError
from websockets.frames import Opcode, apply_mask
from websockets.protocol import SEND_EOF, Protocol, Side
from websockets.streams import StreamReader

from chatapp import offload
from chatapp.offload import call_later

RECEIVE_BYTES = 4096
# How long to wait for the client's answer to a close frame before hanging up.
CLOSING_SECONDS = 5
# Frames one message may be split into: each costs a parse, even when it carries nothing.
MAX_FRAGMENTS = 256
# The first byte of a whole text frame, and the longest payload a frame gives in its second.
FINAL_TEXT = 0x81
MASKED = 0x80
SHORT_PAYLOAD = 125
UNSUPPORTED_DATA = 1003
INVALID_DATA = 1007
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009

logger = logging.getLogger(__name__)


def init_app(app):
    """Have flask-sock hand over sockets right after the handshake, with no reader thread."""
    app.config["SOCK_SERVER_OPTIONS"] = {"thread_class": NotStarted}


def decline_extensions(environ):
    """Answer the handshake without extensions, whatever the browser offers."""
    # Browsers offer permessage-deflate: it would cost zlib state (about 90 KB) on every
    # socket and a compression per receiver, where a frame is now encoded once for all.
    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


class NotStarted:
    """Stands in for simple-websocket's reader thread, which is never started."""

    # The serving greenlet reads instead: a second reader per socket would double the
    # greenlets, and their memory, for every idle connection.
    def __init__(self, target=None, **kwargs):
        self.name = "not started"

    def start(self):
        """Do nothing."""


class WebSocket:
    """One client's WebSocket after the handshake: read by one greenlet, written by any."""

    def __init__(self, handshaken, *, ping_interval, max_message_size, queue_limit):
        # Under gunicorn the socket outlives the request that opened it: a copy of it is
        # kept, and the request ends, freeing its greenlet, context and parsed headers.
        self.detached = handshaken.mode == "gunicorn"
        self._sock = handshaken.sock.dup() if self.detached else handshaken.sock
        # websockets' parser reads frames three times as fast as the handshake's wsproto.
        self._protocol = Protocol(Side.SERVER, max_size=max_message_size)
        self._short_payload = (
            SHORT_PAYLOAD if max_message_size is None else min(SHORT_PAYLOAD, max_message_size)
        )
        self._parser_waits = self._between_messages()
        handshaken.ws = None
        # simple-websocket's close() would send a second close frame: mark it done.
        handshaken.connected = False
        self._queue_limit = queue_limit
        self._lock = threading.Lock()
        self._outbox = None  # made when a client is first slow, as few ever are
        self._flusher = None
        self._closing = False
        # Set when this side closes: what the client sends after that is not read, and
        # the connection ends at the deadline whatever the client still sends.
        self._closed_here = False
        self._close_deadline = None
        self._finished = False
        self._ping_interval = ping_interval
        self._heard = True  # from the client since the watch last looked
        self._pinged = False
        self._taken = False  # queued data the client took since the watch last looked
        self._stalled_looks = 0  # looks in a row that found a queue and nothing taken
        # Writes never wait, as the socket is non-blocking underneath: gevent's always are,
        # a plain one once it has a timeout. Under gevent a timeout would start a timer on
        # every read, where the watch's one timer does for all.
        self._sock.settimeout(None if offload.serving_gevent() else ping_interval)

    def messages(self):
        """Yield each text message the client sends, until the connection ends."""
        watch = idle_watch(self._ping_interval)
        watch.add(self)
        try:
            yield from self._messages()
        finally:
            watch.discard(self)

    def _messages(self):
        """Read and parse until the connection ends; yield each whole text message."""
        message, fragments = None, 0
        while not self._past_close_deadline():
            try:
                data = self._sock.recv(RECEIVE_BYTES)
            except TimeoutError:
                continue  # a plain socket's timeout: the watch pings, or hangs up
            except OSError:
                break
            if not data:
                break
            self._heard = True
            payloads = self._short_text_payloads(data)
            if payloads is not None:
                for payload in payloads:
                    text = self._decode(payload)
                    if text is not None and not self._closed_here:
                        yield text
                continue
            for frame in self._receive(data):
                if frame.opcode is Opcode.TEXT:
                    message, fragments = bytearray(frame.data), 1
                elif frame.opcode is Opcode.CONT and message is not None:
                    message += frame.data
                    fragments += 1
                else:
                    if frame.opcode is Opcode.BINARY:
                        self.close(UNSUPPORTED_DATA, "Send text frames")
                    continue
                if fragments > MAX_FRAGMENTS:
                    self.close(MESSAGE_TOO_BIG, "Send a message in fewer frames")
                    message = None
                elif frame.fin:
                    text, message = self._decode(message), None
                    if text is not None and not self._closed_here:
                        yield text
            if self._protocol.eof_sent:
                break

    def look_in(self):
        """Ping a client quiet since the watch last looked; hang up if it stayed so, or if
        it took nothing of its queue for a whole interval, however much it sends."""
        with self._lock:
            stalled = self._outbox and not self._taken
            self._taken = False
        self._stalled_looks = self._stalled_looks + 1 if stalled else 0
        if self._stalled_looks > 1:
            with self._lock:
                self._hang_up()
        elif self._heard:
            self._heard = self._pinged = False
        elif self._pinged or self._closing:
            with self._lock:
                self._hang_up()
        else:
            self._pinged = True
            self._ping()

    def _past_close_deadline(self):
        """Whether this side closed long enough ago to stop reading, answered or not."""
        deadline = self._close_deadline
        return deadline is not None and time.monotonic() > deadline

    def _short_text_payloads(self, data):
        """The payloads of data if it is whole short text frames, as a page sends; else None."""
        # Only between messages: anything else goes to websockets' parser. Unlocked, as only
        # this greenlet feeds the parser. A close from the client ends the reading; one from
        # this side keeps the texts from being yielded.
        if not self._parser_waits:
            return None
        return short_text_payloads(data, self._short_payload)

    def _receive(self, data):
        """Parse what the client sent; answer its pings and close, or fail it if it erred.

        Its messages before a close of its own are still read; nothing more is sent to it.
        """
        protocol = self._protocol
        with self._lock:
            closed_before = protocol.close_sent is not None
            protocol.receive_data(data)
            self._parser_waits = self._between_messages()
            writes = protocol.data_to_send()
            # Once this side has closed, the client gets nothing more: no pongs either.
            if not closed_before:
                self._write_all(writes)
            if protocol.close_sent is not None:
                self._closing = True
        return protocol.events_received()

    def _between_messages(self):
        """Whether the parser waits for a new message, with nothing of one read."""
        # Not merely an empty buffer: having read a frame's header, the parser waits for the
        # rest with an empty buffer too.
        protocol = self._protocol
        waiting_on = protocol.parser.gi_yieldfrom
        return (
            protocol.current_size is None
            and not protocol.reader.buffer
            and waiting_on is not None
            and waiting_on.gi_code is StreamReader.at_eof.__code__
        )

    def _decode(self, message):
        """The text of a message's frames, or None when the client broke its UTF-8."""
        try:
            return message.decode()
        except UnicodeDecodeError:
            self.close(INVALID_DATA, "Send UTF-8 text")
            return None

    def send(self, wire):
        """Write an encoded frame now, or queue it behind what the client has not taken."""
        with self._lock:
            if not self._closing:
                self._write(wire)

    def close(self, code, reason=""):
        """Send a close frame after everything queued; the client then hangs up."""
        with self._lock:
            if self._closing:
                return
            self._closing = self._closed_here = True
            self._close_deadline = time.monotonic() + CLOSING_SECONDS
            try:
                self._protocol.send_close(code, reason)
                self._write_all(self._protocol.data_to_send())
            except InvalidState:
                pass  # the connection is closing already
            except ProtocolError:
                self._hang_up()  # a code or reason no close frame can carry
        # The client may never answer, or keep talking: hang up on it after a while. (A
        # new timeout would not reach a read that is waiting already.)
        call_later(CLOSING_SECONDS, self._hang_up_when_due)

    def finish(self, timeout=CLOSING_SECONDS):
        """Let a flusher send what is queued, then close the socket if it is ours."""
        flusher = self._flusher
        if flusher is not None:
            flusher.join(timeout)
        with self._lock:
            self._closing = self._finished = True
            self._outbox = None
        if self.detached:
            with contextlib.suppress(OSError):
                self._sock.close()

    def _ping(self):
        """Ask a quiet client whether it is still there."""
        with self._lock, contextlib.suppress(InvalidState):
            self._protocol.send_ping(b"")
            self._write_all(self._protocol.data_to_send())

    def _write_all(self, writes):
        """Write what the protocol has to send; its end-of-stream mark is left to finish()."""
        for data in writes:
            if data is not SEND_EOF and data:
                self._write(data)

    def _write(self, data):
        """Write or queue data; the caller holds the lock."""
        if self._finished:
            return
        if self._outbox:
            self._enqueue(data)
            return
        try:
            # Straight to the file descriptor: the socket object would wait when full.
            written = os.write(self._sock.fileno(), data)
        except BlockingIOError:
            written = 0
        except OSError:
            # Gone: the reading greenlet notices and ends the connection.
            return
        if written < len(data):
            self._enqueue(memoryview(data)[written:])

    def _enqueue(self, data):
        """Queue data for the flusher; a client too far behind is hung up on."""
        if self._outbox is None:
            self._outbox = deque()
        if len(self._outbox) >= self._queue_limit:
            self._hang_up()
            return
        self._outbox.append(data)
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush, daemon=True)
            self._flusher.start()

    def _flush(self):
        """Send the queue as the client takes it, then end."""
        try:
            while True:
                with self._lock:
                    if not self._outbox:
                        self._flusher = None
                        return
                    data = self._outbox[0]
                # Waits for the client to take some: a client that stops taking is hung up
                # on when the queue fills, or by the watch after an interval of no progress.
                sent = self._sock.send(data)
                with self._lock:
                    self._taken = True
                    if not self._outbox:
                        continue
                    if sent < len(data):
                        self._outbox[0] = memoryview(data)[sent:]
                    else:
                        self._outbox.popleft()
        except OSError:
            with self._lock:
                self._flusher = None
                self._hang_up()

    def _hang_up_when_due(self):
        """Cut a connection this side closed a while ago, if it is still open."""
        with self._lock:
            if not self._finished:
                self._hang_up()

    def _hang_up(self):
        """Drop the queue and cut the connection; the browser reconnects and resumes."""
        self._outbox = None
        self._closing = self._closed_here = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


def short_text_payloads(data, longest):
    """The unmasked payloads of data if it is whole short text frames; else None.

    A room of N readers sends N read frames for every message: read here, each costs a
    third of what it costs through websockets' parser, which reads every other kind.
    """
    payloads, start, end = [], 0, len(data)
    while start < end:
        if end - start < 6 or data[start] != FINAL_TEXT or data[start + 1] & MASKED == 0:
            return None
        length = data[start + 1] - MASKED
        payload = start + 6
        if length > longest or payload + length > end:
            return None
        payloads.append(apply_mask(data[payload : payload + length], data[start + 2 : payload]))
        start = payload + length
    return payloads


class IdleWatch:
    """Looks in on every socket of one ping interval, once an interval, with one timer."""

    def __init__(self, interval):
        self.interval = interval
        self._lock = threading.Lock()
        self._sockets = set()
        self._watching = False

    def add(self, websocket):
        """Look in on the socket from now on."""
        with self._lock:
            self._sockets.add(websocket)
            start, self._watching = not self._watching, True
        if start:
            offload.start(self._watch)

    def discard(self, websocket):
        """Stop looking in on the socket."""
        with self._lock:
            self._sockets.discard(websocket)

    def _watch(self):
        """Look in on every socket each interval, until there are none."""
        while True:
            time.sleep(self.interval)
            with self._lock:
                sockets = list(self._sockets)
                self._watching = bool(sockets)
            if not sockets:
                return
            for websocket in sockets:
                try:
                    websocket.look_in()
                except Exception:
                    # One socket's failure must not leave every other one unwatched.
                    logger.exception("looking in on a WebSocket failed")


_watches = {}
_watches_lock = threading.Lock()


def idle_watch(interval):
    """The watch for sockets of this ping interval."""
    with _watches_lock:
        if interval not in _watches:
            _watches[interval] = IdleWatch(interval)
        return _watches[interval]
