"""The servers a benchmark runs against, each started fresh on a free loopback port.

chatapp and the flask-sock reference run under gunicorn with deploy/gunicorn.conf.py (one
gevent worker); the bare websockets reference runs as a plain asyncio process.
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
from tests.live import GUNICORN, PROJECT, start_server
from tests.services import free_port

CHATAPP, FLASK_SOCK, WEBSOCKETS = "chatapp", "flask-sock", "websockets"
STARTUP_SECONDS = 30
# No flood limit (one sender sends 200 a second) and a short grace, as in the tests.
CHATAPP_SETTINGS = {"FLOOD_LIMIT": "off", "PRESENCE_GRACE_SECONDS": 0.5}


class Running:
    """A started server: where it listens, and the process that does the work."""

    def __init__(self, kind, url, process, worker):
        self.kind = kind
        self.url = url
        self.process = process
        self.worker = worker

    def socket_url(self, room):
        """The WebSocket address of a room on this server."""
        path = f"/chat/room/{room}/ws" if self.kind == CHATAPP else f"/room/{room}/ws"
        return self.url.replace("http://", "ws://") + path


@contextlib.contextmanager
def run_chatapp(folder, database=None):
    """chatapp on a copy of a populated database, or on the one in folder already."""
    folder.mkdir(parents=True, exist_ok=True)
    if database is not None:
        shutil.copy(database, folder / "chatapp.sqlite")
    server = start_server(folder, folder / "chatapp.sqlite", **CHATAPP_SETTINGS)
    try:
        yield Running(CHATAPP, server.url, server.process, worker_pid(server.process.pid))
    finally:
        server.stop()


@contextlib.contextmanager
def run_flask_sock(folder):
    """The minimal flask-sock reference under gunicorn."""
    port = free_port()
    command = [str(GUNICORN), "--config", "deploy/gunicorn.conf.py", "bench.references:app"]
    with started(folder, command, port, {"HOST": "127.0.0.1", "PORT": str(port)}) as process:
        yield Running(FLASK_SOCK, f"http://127.0.0.1:{port}", process, worker_pid(process.pid))


@contextlib.contextmanager
def run_websockets(folder):
    """The bare websockets reference."""
    port = free_port()
    command = [sys.executable, "-m", "bench.references", "--port", str(port)]
    with started(folder, command, port, {}) as process:
        yield Running(WEBSOCKETS, f"http://127.0.0.1:{port}", process, process.pid)


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
