"""How long a member waits for their own message to come back while others log in.

A password check costs over 100 ms of CPU. Under gevent, run on the loop, it would stall
every socket of the worker for that long; chatapp runs it in gevent's thread pool. One
member sends a message and waits for its echo, again and again, while another client
logs in over and over (each time as a new browser, so that every login checks a
password). Each round reports the echo's median, p90 and max; the summary takes the
median of the rounds.

    .venv/bin/python -m bench.login_stall [--pings 40] [--rounds 3]
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import migrated_database, percentile
from tests.live import live_server
from tests.support import PASSWORD


def parse_arguments(argv):
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=40, help="echoes timed per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds to take the median of")
    return parser.parse_args(argv)


def keep_logging_in(server, username, stop):
    """Log in as a new browser each time until told to stop."""
    while not stop.is_set():
        data = {"username": username, "password": PASSWORD}
        _, url, _ = server.browser().post("/chat/login/", data, page="/chat/login/")
        assert url.endswith("/chat/room/"), url


def echo_times(socket, pings, round_number):
    """Milliseconds from sending each message to receiving it back, sorted."""
    times = []
    for number in range(pings):
        text = f"ping-{round_number}-{number}"
        started = time.perf_counter()
        socket.say(text)
        socket.wait_for(f"{text}<")
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def measure(server, options):
    """The sorted echo times of each round, with logins going on throughout."""
    member, other = server.people("member", "other")
    socket = member.socket(member.room_with())
    rounds = []
    for round_number in range(1, options.rounds + 1):
        stop = threading.Event()
        logins = threading.Thread(target=keep_logging_in, args=(server, other.username, stop))
        logins.start()
        try:
            rounds.append(echo_times(socket, options.pings, round_number))
        finally:
            stop.set()
            logins.join()
        server.close_browsers()
        socket = member.socket(member.room_with())
    return rounds


def main(argv=None):
    """Run the benchmark and print its table."""
    options = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as temporary:
        folder = Path(temporary)
        template = migrated_database(folder / "template")
        with live_server(folder / "server", template, FLOOD_LIMIT="off") as server:
            rounds = measure(server, options)
    print("| round | median ms | p90 ms | max ms |")
    print("| ----: | --------: | -----: | -----: |")
    for number, times in enumerate(rounds, 1):
        median, p90 = statistics.median(times), percentile(times, 0.9)
        print(f"| {number:5d} | {median:9.1f} | {p90:6.1f} | {times[-1]:6.1f} |")
    medians = [statistics.median(times) for times in rounds]
    print(
        f"\necho while others log in: median {statistics.median(medians):.1f} ms "
        f"(median of {len(rounds)} rounds), worst {max(t[-1] for t in rounds):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
