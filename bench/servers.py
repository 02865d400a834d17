"""The servers a benchmark runs against, each started fresh on a free loopback port.

chatapp and the flask-sock reference run under gunicorn with deploy/gunicorn.conf.py (one
gevent worker); the bare websockets reference runs as a plain asyncio process. chatapp
also runs as `make cluster` runs it: two gunicorns of one worker each on PostgreSQL and
Redis, whose clients are spread over both.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import worker_pid
from deploy.cluster import running_cluster
from tests.live import GUNICORN, PROJECT, start_server
from tests.services import free_port

CHATAPP, FLASK_SOCK, WEBSOCKETS = "chatapp", "flask-sock", "websockets"
CLUSTER = "chatapp-2-workers"
CHATAPPS = (CHATAPP, CLUSTER)
STARTUP_SECONDS = 30
# No flood limit (one sender sends 200 a second) and a short grace, as in the tests.
CHATAPP_SETTINGS = {"FLOOD_LIMIT": "off", "PRESENCE_GRACE_SECONDS": 0.5}


class Running:
    """A started server: where its processes listen, and the workers that do the work."""

    def __init__(self, kind, urls, workers, database_url=None):
        self.kind = kind
        self.urls = urls
        self.url = urls[0]
        self.workers = workers
        self.worker = workers[0]
        self.database_url = database_url

    def url_for(self, client):
        """The URL the client with this number uses: the processes take turns."""
        return self.urls[client % len(self.urls)]

    def socket_url(self, room, client=0):
        """The WebSocket address of a room, for the client with this number."""
        path = f"/chat/room/{room}/ws" if self.kind in CHATAPPS else f"/room/{room}/ws"
        return self.url_for(client).replace("http://", "ws://") + path


@contextlib.contextmanager
def run_chatapp(folder, database=None):
    """chatapp on a copy of a populated database, or on the one in folder already."""
    folder.mkdir(parents=True, exist_ok=True)
    if database is not None:
        shutil.copy(database, folder / "chatapp.sqlite")
    server = start_server(folder, folder / "chatapp.sqlite", **CHATAPP_SETTINGS)
    try:
        yield Running(CHATAPP, [server.url], [worker_pid(server.process.pid)])
    finally:
        server.stop()


@contextlib.contextmanager
def run_cluster():
    """chatapp on two gunicorns of one worker each, sharing PostgreSQL and Redis."""
    with running_cluster(gunicorns=2, workers=1, settings=CHATAPP_SETTINGS) as cluster:
        # Clients go to each gunicorn directly: nginx would count them all as one address.
        urls = [gunicorn.url for gunicorn in cluster.gunicorns]
        workers = [pid for gunicorn in cluster.gunicorns for pid in gunicorn.worker_pids()]
        yield Running(CLUSTER, urls, workers, cluster.database_url)


@contextlib.contextmanager
def run_flask_sock(folder):
    """The minimal flask-sock reference under gunicorn."""
    port = free_port()
    command = [str(GUNICORN), "--config", "deploy/gunicorn.conf.py", "bench.references:app"]
    with started(folder, command, port, {"HOST": "127.0.0.1", "PORT": str(port)}) as process:
        yield Running(FLASK_SOCK, [f"http://127.0.0.1:{port}"], [worker_pid(process.pid)])


@contextlib.contextmanager
def run_websockets(folder):
    """The bare websockets reference."""
    port = free_port()
    command = [sys.executable, "-m", "bench.references", "--port", str(port)]
    with started(folder, command, port, {}) as process:
        yield Running(WEBSOCKETS, [f"http://127.0.0.1:{port}"], [process.pid])


@contextlib.contextmanager
def started(folder, command, port, env):
    """Run a command until it listens on port; stop it afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / "server.log", "ab") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until_listening(port, process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_listening(port, process):
    """Return once something answers HTTP on the port; fail if the process dies."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} within {STARTUP_SECONDS} s")
