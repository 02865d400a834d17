"""How fast one member's messages reach every other socket in a room, under gunicorn.

A sender and N receivers, all members of one room, each hold the room's WebSocket open on
a live server (tests.live: the deployed gunicorn config, a fresh migrated SQLite file).
The sender sends marked messages at a steady rate; every receiver notes when each marker
arrives. Latency is arrival minus sending, per delivery. Each round reports how many
deliveries arrived, their latency percentiles (nearest rank) and the server worker's CPU
time per delivery; the summary takes the median of the round medians.

    .venv/bin/python -m bench.fanout [--receivers 100] [--messages 200] [--rate 50] [--rounds 3]

Exits 1 unless every message reached every receiver.
"""

import argparse
import contextlib
import functools
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

import simple_websocket

from tests.live import PROJECT, live_server

ROOM = "fanout"
SERVER_SETTINGS = {"FLOOD_LIMIT": "off", "PRESENCE_GRACE_SECONDS": 0.5}
WARMUP_MESSAGES = 5
# Quiet time before each round, so the server is idle when the CPU count starts.
SETTLE_SECONDS = 1
DELIVERY_TIMEOUT_SECONDS = 10
POLL_SECONDS = 0.02
RECEIVE_TIMEOUT_SECONDS = 0.1
MARKER_PREFIX = "fanout-"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
COLUMNS = (
    "round",
    "deliveries",
    "delivered",
    "median ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "server CPU us/delivery",
)


def marker(round_number, message_number):
    """The text of one message; fixed width, so a receiver can cut it out of a frame."""
    return f"{MARKER_PREFIX}{round_number:03d}-{message_number:06d}"


MARKER_LENGTH = len(marker(0, 0))


class Receiver:
    """A room socket read in its own thread, noting when each marker arrives."""

    def __init__(self, socket):
        self.client = socket.client
        self.arrivals = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.listen, daemon=True)
        self.thread.start()

    def listen(self):
        """Note the arrival time of every marked frame until stopped or closed."""
        with contextlib.suppress(simple_websocket.ConnectionClosed):
            while not self.stopping.is_set():
                frame = self.client.receive(timeout=RECEIVE_TIMEOUT_SECONDS)
                arrived = time.perf_counter()
                # A substring search only: the client shares the CPUs with the server.
                start = frame.find(MARKER_PREFIX) if frame else -1
                if start >= 0:
                    self.arrivals[frame[start : start + MARKER_LENGTH]] = arrived

    def stop(self):
        """End the reading thread."""
        self.stopping.set()
        self.thread.join()


class RoundResult(NamedTuple):
    """What one round measured."""

    latencies: list[float]
    expected: int
    cpu_seconds: float


def parse_arguments(argv):
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--receivers", type=int, default=100, help="sockets that receive")
    parser.add_argument("--messages", type=int, default=200, help="messages per round")
    parser.add_argument("--rate", type=float, default=50, help="messages sent per second")
    parser.add_argument("--rounds", type=int, default=3, help="measurements on one server")
    return parser.parse_args(argv)


def note(text):
    """Say what is going on, on stderr, away from the table."""
    print(text, file=sys.stderr, flush=True)


def migrated_database(folder):
    """A SQLite file brought up to date by the migrations, as `make run` does; its path."""
    folder.mkdir(parents=True)
    path = folder / "chatapp.sqlite"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATAPP_")}
    env.update(
        CHATAPP_SECRET_KEY="bench secret",
        CHATAPP_DATABASE_URL=f"sqlite:///{path}",
        CHATAPP_INSTANCE_PATH=str(folder / "instance"),
        CHATAPP_LOG_DIR=str(folder / "logs"),
    )
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    if upgrade.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{upgrade.stdout}{upgrade.stderr}")
    return path


def populate_room(server, receiver_count):
    """Sign up a sender and the receivers, all members of one room; their browsers."""
    sender = server.browser().sign_up("sender")
    receivers = [server.browser().sign_up(f"receiver{number}") for number in range(receiver_count)]
    sender.create_room(ROOM, *receivers)
    for receiver in receivers:
        receiver.accept_invitation(ROOM)
    return sender, receivers


def worker_pid(master_pid):
    """The pid of gunicorn's worker: the master's only child process."""
    children = [
        int(stat.parent.name)
        for stat in Path("/proc").glob("[0-9]*/stat")
        if parent_pid(stat) == master_pid
    ]
    if len(children) != 1:
        raise RuntimeError(f"gunicorn {master_pid} has {len(children)} workers, not one")
    return children[0]


def parent_pid(stat_path):
    """The parent pid from a /proc/<pid>/stat file, or None once that process is gone."""
    try:
        return int(stat_fields(stat_path)[1])
    except OSError:
        return None


def stat_fields(stat_path):
    """The fields of a /proc stat file after the command name, from the state on."""
    # The command name is in parentheses and may itself hold spaces and parentheses.
    return stat_path.read_text().rpartition(")")[2].split()


def cpu_seconds(pid):
    """User and system CPU time a process has used so far."""
    fields = stat_fields(Path(f"/proc/{pid}/stat"))
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def send_steadily(socket, markers, rate):
    """Send one message per marker at a steady rate; when each was sent."""
    sent = {}
    start = time.perf_counter()
    for index, text in enumerate(markers):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[text] = time.perf_counter()
        socket.say(text)
    return sent


def wait_for_last(receivers, last_marker):
    """Wait until every receiver has the last message, or the delivery timeout passes."""
    # A socket gets the room's messages in the order they were sent: the last one comes last.
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if all(last_marker in receiver.arrivals for receiver in receivers):
            return
        time.sleep(POLL_SECONDS)


def run_round(sender_socket, receivers, round_number, message_count, rate, worker):
    """Send a round of messages and time every delivery."""
    time.sleep(SETTLE_SECONDS)
    markers = [marker(round_number, number) for number in range(message_count)]
    cpu_before = cpu_seconds(worker)
    sent = send_steadily(sender_socket, markers, rate)
    wait_for_last(receivers, markers[-1])
    cpu_used = cpu_seconds(worker) - cpu_before
    latencies = sorted(
        receiver.arrivals[text] - sent_at
        for receiver in receivers
        for text, sent_at in sent.items()
        if text in receiver.arrivals
    )
    return RoundResult(latencies, message_count * len(receivers), cpu_used)


def measure(server, options):
    """Fill a room, open its sockets, warm up, then run the rounds; their results."""
    note(f"signing up a sender and {options.receivers} receivers (password hashing is slow)")
    sender, receivers = populate_room(server, options.receivers)
    note("opening the sockets and warming up")
    sender_socket = sender.socket(ROOM)
    listeners = [Receiver(browser.socket(ROOM)) for browser in receivers]
    try:
        worker = worker_pid(server.process.pid)
        run = functools.partial(
            run_round, sender_socket, listeners, rate=options.rate, worker=worker
        )
        run(0, WARMUP_MESSAGES)
        results = []
        for round_number in range(1, options.rounds + 1):
            note(f"round {round_number} of {options.rounds}")
            results.append(run(round_number, options.messages))
        return results
    finally:
        for listener in listeners:
            listener.stop()


def percentile(sorted_values, fraction):
    """The nearest-rank percentile of sorted values; NaN when there are none."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def per_delivery_microseconds(cpu, deliveries):
    """CPU seconds shared out over deliveries, in microseconds each."""
    return cpu / deliveries * 1e6 if deliveries else math.nan


def print_table(results):
    """One row per round: deliveries, latency percentiles, server CPU per delivery."""
    print(table_row(COLUMNS))
    print(table_row("-" * (len(heading) - 1) + ":" for heading in COLUMNS))
    for number, result in enumerate(results, start=1):
        latencies = result.latencies
        milliseconds = [
            f"{percentile(latencies, fraction) * 1000:.1f}" for fraction in (0.5, 0.9, 0.99, 1.0)
        ]
        cpu = per_delivery_microseconds(result.cpu_seconds, len(latencies))
        print(
            table_row(
                [
                    number,
                    len(latencies),
                    delivered_percent(len(latencies), result.expected),
                    *milliseconds,
                    f"{cpu:.1f}",
                ]
            )
        )


def table_row(cells):
    """A markdown table row, each cell right-aligned under its heading."""
    aligned = (str(cell).rjust(len(heading)) for cell, heading in zip(cells, COLUMNS, strict=True))
    return "| " + " | ".join(aligned) + " |"


def delivered_percent(delivered, expected):
    """The share of expected deliveries that arrived, as a percentage."""
    return f"{100 * delivered / expected:.1f} %"


def summary(results, receiver_count):
    """The one line that sums the rounds up."""
    round_medians = [percentile(result.latencies, 0.5) for result in results]
    every_latency = sorted(latency for result in results for latency in result.latencies)
    delivered = len(every_latency)
    expected = sum(result.expected for result in results)
    cpu = sum(result.cpu_seconds for result in results)
    return (
        f"fan-out to {receiver_count} receivers: "
        f"median latency {statistics.median(round_medians) * 1000:.1f} ms "
        f"(median of {len(results)} rounds), "
        f"p99 {percentile(every_latency, 0.99) * 1000:.1f} ms, "
        f"{delivered_percent(delivered, expected)} delivered, "
        f"{per_delivery_microseconds(cpu, delivered):.0f} us server CPU per delivery"
    )


def main(argv=None):
    """Run the benchmark, print its table and summary; 1 if any delivery was lost."""
    options = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as temporary:
        folder = Path(temporary)
        template = migrated_database(folder / "template")
        with live_server(folder / "server", template, **SERVER_SETTINGS) as server:
            results = measure(server, options)
        output = server.output()
    if "Traceback" in output:
        note(f"the server reported errors:\n{output}")
    print(
        f"{options.receivers} receivers, {options.messages} messages per round "
        f"at {options.rate:g} msg/s, {options.rounds} rounds, "
        f"{options.receivers * options.messages} deliveries expected per round\n"
    )
    print_table(results)
    print()
    print(summary(results, options.receivers))
    complete = all(len(result.latencies) == result.expected for result in results)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
