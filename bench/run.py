"""chatapp under the load its pages really send, side by side with two reference servers.

Every workload runs against chatapp and against two references that do nothing but
broadcast (bench/references.py): a bare `websockets` server and a minimal flask-sock app
under the same gunicorn settings. Every client is a different person, logged in through
the form; room sockets resume as they open and send a read frame after each message, as
room.js does at the bottom of a visible page; chatapp's clients also hold their event
stream open, as every page does. Each workload runs 3 rounds on one server and reports
the median of each measure. Workload c also runs on two chatapp workers sharing
PostgreSQL and Redis (`make cluster`'s stack), its clients spread over both.

    a  one room, 100 people, one sender at 200 msg/s
    g  one room, 100 people, one sender at 20 msg/s
    b  one room, 500 people, one sender at 20 msg/s
    c  20 rooms of 10 people, everyone sending 5 msg/s
    d  1,000 idle sockets (100 rooms of 10): memory per socket, time to connect
    e  the lobby and a room page: requests per second

    .venv/bin/python -m bench.run [--only a,g] [--rounds 3] [--profile c]
"""

import argparse
import contextlib
import http.client
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import threading
import time
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from bench import load, population, servers
from bench.common import cpu_seconds, migrated_database, note, percentile, resident_bytes
from bench.profile import profiled

KINDS = (servers.CHATAPP, servers.WEBSOCKETS, servers.FLASK_SOCK, servers.CLUSTER)
# The workloads that also run on several workers (the others measure one process).
CLUSTER_WORKLOADS = ("c",)
START_DELAY_SECONDS = 0.5
QUIET_SECONDS = 1
PAGE_SECONDS = 5
PAGE_CONNECTIONS = 8


class Workload(NamedTuple):
    """Rooms of people, some of whom send at a steady rate for a while."""

    key: str
    title: str
    rooms: int
    people: int
    senders: int
    rate: float
    seconds: float


ROOM_WORKLOADS = [
    Workload("a", "one room, 100 people, one sender at 200 msg/s", 1, 100, 1, 200, 5),
    Workload("g", "one room, 100 people, one sender at 20 msg/s", 1, 100, 1, 20, 10),
    Workload("b", "one room, 500 people, one sender at 20 msg/s", 1, 500, 1, 20, 10),
    Workload("c", "20 rooms of 10 people, everyone sending 5 msg/s", 20, 10, 10, 5, 10),
]
IDLE = Workload("d", "1,000 idle sockets in 100 rooms of 10", 100, 10, 0, 0, 0)
PAGES = Workload("e", "the lobby and a room page, 8 connections", 1, 10, 1, 10, 5)


class Delivery(NamedTuple):
    """What one round of a room workload measured."""

    latencies: list
    expected: int
    server_cpu: float
    client_cpu: float

    @property
    def delivered(self):
        """The share of expected deliveries that arrived."""
        return len(self.latencies) / self.expected if self.expected else 1.0

    @property
    def cpu_per_delivery(self):
        """Server CPU seconds per delivery that arrived."""
        return self.server_cpu / len(self.latencies) if self.latencies else float("nan")


class Load:
    """A process of clients (bench/load.py), driven over a pipe."""

    def __enter__(self):
        context = multiprocessing.get_context("spawn")
        self.pipe, theirs = context.Pipe()
        self.process = context.Process(target=load.serve, args=(theirs,), daemon=True)
        self.process.start()
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(OSError, EOFError):
            self.pipe.send(("close",))
            self.pipe.recv()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()

    def open(self, specs):
        """Open every person's connections; the handshake durations."""
        self.pipe.send(("open", [tuple(spec) for spec in specs]))
        return self.pipe.recv()

    def round(self, number, seconds):
        """Run one round of sending; (latencies, deliveries expected)."""
        self.pipe.send(("round", number, time.monotonic() + START_DELAY_SECONDS, seconds))
        result = self.pipe.recv()
        latencies = array("d")
        latencies.frombytes(result["latencies"])
        return sorted(latencies), result["expected"]


def specs_for(server, crowds, workload, streams):
    """Each person's connections, the first few of each room sending."""
    specs = []
    for crowd in crowds:
        for index, person in enumerate(crowd.people):
            client = len(specs)
            url = server.url_for(client)
            headers = {"Origin": url}
            if person.cookie:
                headers["Cookie"] = person.cookie
            specs.append(
                load.Spec(
                    socket_url=server.socket_url(crowd.room, client),
                    headers=headers,
                    room=crowd.room,
                    rate=workload.rate if index < workload.senders else 0.0,
                    stream_url=f"{url}/chat/events" if streams and person.cookie else None,
                )
            )
    return specs


@contextlib.contextmanager
def server_with_people(kind, folder, template, workload):
    """A fresh server of the kind, and the workload's rooms of people (logged in to chatapp)."""
    plan = [
        (f"{workload.key}{room}", [f"{workload.key}{room}p{n}" for n in range(workload.people)])
        for room in range(workload.rooms)
    ]
    if kind == servers.CHATAPP:
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / "populated.sqlite"
        shutil.copy(template, database)
        population.populate(f"sqlite:///{database}", str(folder / "logs"), plan)
        with servers.run_chatapp(folder / "server", database) as server:
            yield server, population.log_everyone_in(server.url, plan)
        return
    if kind == servers.CLUSTER:
        with servers.run_cluster() as server:
            population.populate(server.database_url, str(folder / "logs"), plan)
            yield server, population.log_everyone_in(server.url, plan)
        return
    run = servers.run_websockets if kind == servers.WEBSOCKETS else servers.run_flask_sock
    crowds = [
        population.Crowd(room, [population.Person(name, "") for name in names])
        for room, names in plan
    ]
    with run(folder / "server") as server:
        yield server, crowds


def measure_rooms(kind, folder, template, workload, options):
    """The rounds of a room workload against one kind of server."""
    with (
        server_with_people(kind, folder, template, workload) as (server, crowds),
        Load() as clients,
    ):
        clients.open(specs_for(server, crowds, workload, streams=kind in servers.CHATAPPS))
        clients.round(0, 1)
        rounds = []
        profiling = options.profile == workload.key and kind in servers.CHATAPPS
        with profiled(server.worker, folder / f"profile-{workload.key}-{kind}", active=profiling):
            for number in range(1, options.rounds + 1):
                time.sleep(QUIET_SECONDS)
                server_before = sum(map(cpu_seconds, server.workers))
                client_before = cpu_seconds(clients.process.pid)
                latencies, expected = clients.round(number, workload.seconds)
                rounds.append(
                    Delivery(
                        latencies,
                        expected,
                        sum(map(cpu_seconds, server.workers)) - server_before,
                        cpu_seconds(clients.process.pid) - client_before,
                    )
                )
        return rounds


class Idle(NamedTuple):
    """What one round of the idle workload measured."""

    bytes_per_socket: float
    connect_times: list
    all_connected: float


def measure_idle(kind, folder, template, options):
    """Memory per idle socket and connect times, each round on a freshly started server."""
    workload = IDLE
    rounds = []
    with server_with_people(kind, folder, template, workload) as (server, crowds):
        specs = specs_for(server, crowds, workload, streams=False)
    for _ in range(options.rounds):
        with restarted(kind, folder) as server, Load() as clients:
            specs = [
                spec._replace(
                    socket_url=server.socket_url(spec.room),
                    headers={**spec.headers, "Origin": server.url},
                )
                for spec in specs
            ]
            clients.open(specs[:1])  # warm the server up: code paths, templates, pools
            time.sleep(QUIET_SECONDS)
            before = resident_bytes(server.worker)
            started = time.monotonic()
            connect_times = sorted(clients.open(specs[1:]))
            all_connected = time.monotonic() - started
            time.sleep(2 * QUIET_SECONDS)
            grown = resident_bytes(server.worker) - before
            rounds.append(Idle(grown / len(connect_times), connect_times, all_connected))
    return rounds


@contextlib.contextmanager
def restarted(kind, folder):
    """The kind of server started again on what it had (chatapp: its database, sessions)."""
    if kind == servers.CHATAPP:
        with servers.run_chatapp(folder / "server") as server:
            yield server
    elif kind == servers.WEBSOCKETS:
        with servers.run_websockets(folder / "server") as server:
            yield server
    else:
        with servers.run_flask_sock(folder / "server") as server:
            yield server


def measure_pages(kind, folder, template, options):
    """Requests per second for the lobby and a room page (a small page for the reference)."""
    workload = PAGES
    with (
        server_with_people(kind, folder, template, workload) as (server, crowds),
        Load() as clients,
    ):
        clients.open(specs_for(server, crowds[:1], workload, streams=False))
        clients.round(1, workload.seconds)  # 50 messages of history for the room page
        cookie = crowds[0].people[-1].cookie
        paths = (
            ["/chat/room/", f"/chat/room/{crowds[0].room}/"]
            if kind == servers.CHATAPP
            else ["/page", "/page"]
        )
        return [
            [requests_per_second(server.url, path, cookie) for path in paths]
            for _ in range(options.rounds)
        ]


def requests_per_second(url, path, cookie):
    """GETs per second of one path over a few keep-alive connections."""
    host, port = url.removeprefix("http://").split(":")
    headers = {"Cookie": cookie} if cookie else {}
    counts = [0] * PAGE_CONNECTIONS
    deadline = time.monotonic() + PAGE_SECONDS

    def keep_asking(index):
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.monotonic() < deadline:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status}")
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=keep_asking, args=(n,)) for n in range(PAGE_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / PAGE_SECONDS


def median_of(rounds, measure):
    """The median over rounds of one measure."""
    return statistics.median(measure(result) for result in rounds)


def summarise_rooms(rounds):
    """The medians of a room workload's rounds."""
    return {
        "delivered": median_of(rounds, lambda r: r.delivered),
        "p50": median_of(rounds, lambda r: percentile(r.latencies, 0.5)),
        "p99": median_of(rounds, lambda r: percentile(r.latencies, 0.99)),
        "cpu": median_of(rounds, lambda r: r.cpu_per_delivery),
        "client_cpu": median_of(rounds, lambda r: r.client_cpu / max(1, len(r.latencies))),
    }


def ratio(ours, theirs):
    """ours / theirs, as "2.1x"."""
    return f"{ours / theirs:.1f}x" if theirs else "-"


def print_rooms_table(workload, summaries):
    """One markdown table for a room workload: each server, and chatapp's ratios."""
    print(f"\n### ({workload.key}) {workload.title}\n")
    print(
        "| server | delivered | p50 ms | p99 ms | server CPU us/delivery | client CPU us/delivery |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind, s in summaries.items():
        print(
            f"| {kind} | {s['delivered'] * 100:.1f} % | {s['p50'] * 1000:.1f} | "
            f"{s['p99'] * 1000:.1f} | {s['cpu'] * 1e6:.1f} | {s['client_cpu'] * 1e6:.1f} |"
        )
    ours = summaries.get(servers.CHATAPP)
    for kind in (servers.WEBSOCKETS, servers.FLASK_SOCK):
        theirs = summaries.get(kind)
        if ours is None or theirs is None:
            continue
        print(
            f"\nchatapp against {kind}: p99 {ratio(ours['p99'], theirs['p99'])}, "
            f"CPU per delivery {ratio(ours['cpu'], theirs['cpu'])}",
            end="",
        )
    print()
    if servers.CLUSTER in summaries:
        print(
            f"{servers.CLUSTER}: server CPU is both workers' (not PostgreSQL's or Redis's),"
            " and their clients are spread over both"
        )


def print_idle_table(results):
    """The idle workload: memory per socket and connect times, medians of the rounds."""
    print(f"\n### (d) {IDLE.title}\n")
    print("| server | KiB per idle socket | connect p50 ms | connect p99 ms | all connected in s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, rounds in results.items():
        print(
            f"| {kind} | {median_of(rounds, lambda r: r.bytes_per_socket) / 1024:.1f} | "
            f"{median_of(rounds, lambda r: percentile(r.connect_times, 0.5)) * 1000:.1f} | "
            f"{median_of(rounds, lambda r: percentile(r.connect_times, 0.99)) * 1000:.1f} | "
            f"{median_of(rounds, lambda r: r.all_connected):.2f} |"
        )


def print_pages_table(results):
    """Requests per second: chatapp's lobby and room page, the reference's small page."""
    print(f"\n### (e) {PAGES.title}\n")
    print("| server | page | requests/s |")
    print("| --- | --- | ---: |")
    for kind, rounds in results.items():
        names = ("lobby", "room page") if kind == servers.CHATAPP else ("small page",)
        for index, name in enumerate(names):
            rate = statistics.median(result[index] for result in rounds)
            print(f"| {kind} | {name} | {rate:.0f} |")


def parse_arguments(argv):
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--only", default="a,g,b,c,d,e", help="workloads to run, e.g. a,c")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default=",".join(KINDS), help="e.g. chatapp,websockets")
    parser.add_argument("--profile", default="", help="py-spy chatapp's worker in this workload")
    parser.add_argument("--keep", action="store_true", help="keep the servers' folders and logs")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the chosen workloads against every server and print the tables."""
    options = parse_arguments(argv)
    only = options.only.split(",")
    kinds = options.servers.split(",")
    started = datetime.now(UTC)
    print(f"{started:%Y-%m-%d %H:%M} UTC, {machine()}, medians of {options.rounds} rounds")
    with workspace(options.keep) as folder:
        template = migrated_database(folder / "template")
        for workload in ROOM_WORKLOADS:
            if workload.key in only:
                summaries = {}
                for kind in kinds:
                    if kind == servers.CLUSTER and workload.key not in CLUSTER_WORKLOADS:
                        continue
                    note(f"({workload.key}) {workload.title}: {kind}")
                    place = folder / f"{workload.key}-{kind}"
                    summaries[kind] = summarise_rooms(
                        measure_rooms(kind, place, template, workload, options)
                    )
                print_rooms_table(workload, summaries)
        if "d" in only:
            results = {}
            for kind in (k for k in kinds if k != servers.CLUSTER):
                note(f"(d) {IDLE.title}: {kind}")
                results[kind] = measure_idle(kind, folder / f"d-{kind}", template, options)
            print_idle_table(results)
        if "e" in only:
            results = {}
            for kind in (k for k in kinds if k not in (servers.WEBSOCKETS, servers.CLUSTER)):
                note(f"(e) {PAGES.title}: {kind}")
                results[kind] = measure_pages(kind, folder / f"e-{kind}", template, options)
            print_pages_table(results)
        if options.profile:
            keep_profile(folder, options.profile)
    return 0


@contextlib.contextmanager
def workspace(keep):
    """A temporary folder for the servers, removed afterwards unless kept."""
    if keep:
        folder = Path(tempfile.mkdtemp(prefix="chatapp-bench-"))
        note(f"servers' folders: {folder}")
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as temporary:
        yield Path(temporary)


def machine():
    """The machine, in a few words: CPUs and Python."""
    with open("/proc/cpuinfo") as cpuinfo:
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
        ]
    model = models[0] if models else "unknown CPU"
    return f"{len(models)} x {model}, Python {sys.version.split()[0]}"


def keep_profile(folder, key):
    """Copy the profile out of the temporary folder into bench/results/."""
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    for path in folder.rglob(f"profile-{key}*"):
        shutil.copy(path, results / path.name)
        note(f"profile: {results / path.name}")


if __name__ == "__main__":
    sys.exit(main())
