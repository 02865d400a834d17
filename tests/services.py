"""Real services for tests, started on loopback in a temporary folder."""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unavailable(reason):
    """Skip a test that needs a missing service; under CI, fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must have it: see scripts/install-test-services)")
    pytest.skip(reason)


def postgresql_bin():
    """The folder of the newest installed PostgreSQL server programs, or None."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    if folders:
        return os.path.dirname(folders[-1])
    initdb = shutil.which("initdb")
    return initdb and os.path.dirname(initdb)


def _major_version(initdb_path):
    return int(initdb_path.split("/")[-3])


@contextlib.contextmanager
def postgresql_server():
    """Run a throwaway PostgreSQL cluster on loopback; yield its superuser URL."""
    bin_dir = postgresql_bin()
    if not bin_dir:
        unavailable("PostgreSQL is not installed")
    folder = tempfile.mkdtemp(prefix="chatapp-postgresql-")
    run_as = _server_account(folder)
    port = free_port()
    data, log = os.path.join(folder, "data"), os.path.join(folder, "log")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    try:
        _run(run_as, f"{bin_dir}/initdb", "-D", data, "-U", "chat", "--auth=trust")
        _run(run_as, f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-w", "-l", log, "start")
        yield f"postgresql://chat@127.0.0.1:{port}/postgres"
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            _run(run_as, f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _server_account(folder):
    """PostgreSQL refuses to run as root; then it runs as the postgres account."""
    if os.geteuid() != 0:
        return []
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        unavailable("running as root, with no postgres account to run PostgreSQL as")
    os.chown(folder, account.pw_uid, account.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


def _run(prefix, *command):
    result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def redis_server():
    """Run a throwaway Redis on loopback, with nothing saved to disk; yield its URL."""
    program = shutil.which("redis-server")
    if not program:
        unavailable("redis-server is not installed")
    port = free_port()
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(
        [program, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_port(port, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for_port(port, process, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {seconds} s")
