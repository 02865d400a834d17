"""The whole deployment on one machine, for `make cluster` and for the tests.

PostgreSQL, Redis and nginx from the distribution's packages, and gunicorns with the
deployed configuration, each on its own loopback port, with every file (data, logs,
configuration, sockets) in one folder that goes when the cluster stops. nginx runs
deploy/nginx.conf itself, adapted by deploy/nginx.py.
"""

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg

from deploy import nginx, services

PROJECT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
STARTUP_SECONDS = 60


@dataclass
class Gunicorn:
    """One gunicorn process of the cluster: its port, its master process and its output."""

    number: int
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def address(self):
        """host:port, as nginx's upstream names it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        """Its own URL, behind nginx's back."""
        return f"http://{self.address}"

    def worker_pids(self):
        """The pids of its workers: the master's children."""
        pid = self.process.pid
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]

    def output(self):
        """What it printed so far: its access log and its errors."""
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    """A running cluster: nginx's URL in front, the gunicorns behind it, what they share."""

    folder: Path
    url: str
    gunicorns: list
    nginx: subprocess.Popen
    database_url: str
    redis_url: str

    def exited(self):
        """(name, log file) of a process that has exited, or None while all of them run."""
        processes = [("nginx", self.nginx, self.folder / "nginx" / "error.log")]
        processes += [(f"gunicorn {g.number}", g.process, g.log) for g in self.gunicorns]
        return next(((name, log) for name, p, log in processes if p.poll() is not None), None)


@contextlib.contextmanager
def running_cluster(gunicorns=2, workers=1, settings=None):
    """Start the stack, yield the Cluster, and stop everything when the block ends.

    Each gunicorn runs `workers` workers. settings are extra CHATAPP_ settings (names
    without the prefix) for every gunicorn, such as {"FLOOD_LIMIT": "off"}.
    """
    if not services.nginx_program():
        raise services.ServiceUnavailable("nginx is not installed")
    folder = Path(tempfile.mkdtemp(prefix="chatapp-cluster-"))
    # PostgreSQL and nginx's workers run as their own accounts and must reach their folders.
    folder.chmod(0o711)
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        server_url = stack.enter_context(services.postgresql_server(folder / "postgresql"))
        redis_url = stack.enter_context(services.redis_server())
        database_url = create_database(server_url, "chatapp")
        env = gunicorn_environment(folder, database_url, redis_url, workers, settings or {})
        migrate(env)
        servers = [start_gunicorn(stack, number, folder, env) for number in range(1, gunicorns + 1)]
        for server in servers:
            wait_until_serving(server.url, server.process, server.output)
        port = services.free_port()
        site = nginx.cluster_site(port, [server.address for server in servers])
        proxy = stack.enter_context(services.nginx_server(folder / "nginx", site, port))
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, proxy, (folder / "nginx" / "error.log").read_text)
        yield Cluster(folder, url, servers, proxy, database_url, redis_url)


def create_database(server_url, name):
    """Create a database on the PostgreSQL server; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def gunicorn_environment(folder, database_url, redis_url, workers, settings):
    """The environment every gunicorn of the cluster starts with."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATAPP_")}
    env.update({f"CHATAPP_{name}": str(value) for name, value in settings.items()})
    # Set last, so that no setting given to the cluster can part the gunicorns.
    shared = {
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # Every process appends to the same room logs, one whole line per write (O_APPEND).
        "LOG_DIR": str(folder / "logs"),
        "INSTANCE_PATH": str(folder / "instance"),
        "PROXY_COUNT": "1",
    }
    env.update({f"CHATAPP_{name}": value for name, value in shared.items()})
    env["WEB_CONCURRENCY"] = str(workers)
    return env


def migrate(env):
    """Bring the cluster's database schema up to date, as `make run` does for SQLite."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    result = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"the migrations failed:\n{result.stdout}\n{result.stderr}")


def start_gunicorn(stack, number, folder, env):
    """Start a gunicorn with the deployed config on a free port; stop it with the stack."""
    port = services.free_port()
    log = folder / f"gunicorn-{number}.log"
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [str(GUNICORN), "--config", "deploy/gunicorn.conf.py", "wsgi:app"],
            cwd=PROJECT,
            env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
            stdout=output,
            stderr=subprocess.STDOUT,
            # Ctrl-C reaches only the cluster, which then stops everything in order.
            start_new_session=True,
        )
    stack.callback(services.stop_process, process)
    return Gunicorn(number, port, process, log)


def wait_until_serving(url, process, output):
    """Return once url's login page answers; fail with the end of output() if it cannot."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{last_lines(output())}")
        try:
            with urllib.request.urlopen(f"{url}/chat/login/", timeout=2):
                return
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{url} answered {error.code}:\n{last_lines(output())}") from None
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {STARTUP_SECONDS} s:\n{last_lines(output())}")


def last_lines(text, count=40):
    """The end of a log: what explains a failure, without pages of repeats."""
    return "\n".join(text.splitlines()[-count:])


def describe(cluster):
    """What `make cluster` prints once the cluster serves."""
    lines = [f"chatapp: {cluster.url}/  (Ctrl-C stops everything)"]
    for server in cluster.gunicorns:
        pids = ", ".join(str(pid) for pid in server.worker_pids())
        lines.append(f"  gunicorn {server.number}: {server.url}, workers {pids}, log {server.log}")
    lines += [
        f"  nginx: {cluster.folder / 'nginx'}",
        f"  PostgreSQL: {cluster.database_url}",
        f"  Redis: {cluster.redis_url}",
        f"  files: {cluster.folder} (removed when the cluster stops)",
    ]
    return "\n".join(lines)


def stop_on_signal(signum, frame):
    """Ctrl-C or SIGTERM: unwind into the cluster's clean-up, which no further signal cuts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main():
    """`make cluster`: run the stack until Ctrl-C, or until one of its processes exits."""
    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
    settings = {
        name.removeprefix("CHATAPP_"): value
        for name, value in os.environ.items()
        if name.startswith("CHATAPP_")
    }
    try:
        with running_cluster(workers=workers, settings=settings) as cluster:
            print(describe(cluster), flush=True)
            while not cluster.exited():
                time.sleep(0.5)
            name, log = cluster.exited()
            print(f"{name} exited, stopping the cluster. Its last words:", file=sys.stderr)
            print(last_lines(log.read_text(errors="replace")), file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("stopped", flush=True)
        return 0
    except services.ServiceUnavailable as missing:
        print(f"{missing}: scripts/install-test-services installs it (as root)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
