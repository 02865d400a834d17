"""PostgreSQL, Redis and nginx from the distribution's packages, run in a folder on loopback."""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

NGINX_MAIN = """\
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
{user}
events {{
    worker_connections 1024;
}}

http {{
    log_format upstream '$remote_addr [$time_local] "$request" $status '
                        '$body_bytes_sent $request_time upstream $upstream_addr';
    access_log {folder}/access.log upstream;
    client_body_temp_path {folder}/temp/client_body;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;

{site}
}}
"""


class ServiceUnavailable(RuntimeError):
    """A service cannot be had on this machine: not installed, or no account to run it as."""


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
def postgresql_server(folder=None):
    """Run a throwaway PostgreSQL cluster on loopback; yield its superuser URL.

    Its data, log and Unix socket live in folder (a new temporary one by default), which
    is removed afterwards.
    """
    bin_dir = postgresql_bin()
    if not bin_dir:
        raise ServiceUnavailable("PostgreSQL is not installed")
    run_as, account = _server_account()
    folder = _new_folder(folder, "chatapp-postgresql-")
    if account:
        os.chown(folder, account.pw_uid, account.pw_gid)
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


def postmaster_pid(postgresql_folder):
    """The pid of the PostgreSQL server whose folder this is, or None when none runs."""
    path = os.path.join(postgresql_folder, "data", "postmaster.pid")
    with contextlib.suppress(FileNotFoundError), open(path) as file:
        return int(file.readline())
    return None


def _new_folder(folder, prefix):
    """Create folder, or a fresh temporary one when it is None; return its path."""
    if folder is None:
        return tempfile.mkdtemp(prefix=prefix)
    os.makedirs(folder)
    return str(folder)


def _server_account():
    """PostgreSQL refuses to run as root; then it runs as postgres: (command prefix, account)."""
    if os.geteuid() != 0:
        return [], None
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceUnavailable(
            "running as root, with no postgres account to run PostgreSQL as"
        ) from None
    return ["runuser", "-u", "postgres", "--"], account


def _run(prefix, *command):
    result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def redis_server():
    """Run a throwaway Redis on loopback, with nothing saved to disk; yield its URL."""
    program = shutil.which("redis-server")
    if not program:
        raise ServiceUnavailable("redis-server is not installed")
    port = free_port()
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(
        [program, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_port(port, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def nginx_program():
    """The path of the installed nginx, or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_config(folder, site):
    """A whole nginx.conf that keeps everything in folder, around site (http-level text)."""
    # As root, nginx's workers run as nobody; as anyone else, as that user.
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    return NGINX_MAIN.format(folder=folder, user=user, site=site)


def check_nginx_config(folder):
    """Run `nginx -t` on folder/nginx.conf; raise with nginx's words if it is refused."""
    program = nginx_program()
    if not program:
        raise ServiceUnavailable("nginx is not installed")
    _run([], program, *_nginx_arguments(folder), "-t")


def _nginx_arguments(folder):
    """Prefix, config and error log all in folder, none of the distribution's own."""
    return ["-p", str(folder), "-c", f"{folder}/nginx.conf", "-e", f"{folder}/error.log"]


@contextlib.contextmanager
def nginx_server(folder, site, port):
    """Run nginx in the foreground with site, all its files in folder; yield the process.

    site is http-level configuration with a server listening on 127.0.0.1:port.
    """
    program = nginx_program()
    if not program:
        raise ServiceUnavailable("nginx is not installed")
    os.makedirs(os.path.join(folder, "temp"), exist_ok=True)
    with open(os.path.join(folder, "nginx.conf"), "w") as file:
        file.write(nginx_config(folder, site))
    with open(os.path.join(folder, "nginx.log"), "ab") as log:
        server = subprocess.Popen(
            [program, *_nginx_arguments(folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_nginx(folder, port, server)
        yield server
    finally:
        stop_process(server)


def _wait_for_nginx(folder, port, server):
    """Return once nginx listens; fail with its error log if it does not."""
    try:
        wait_for_port(port, server)
    except RuntimeError as error:
        with open(os.path.join(folder, "error.log"), errors="replace") as log:
            raise RuntimeError(f"nginx did not start ({error}):\n{log.read()}") from None


def stop_process(process, timeout=20):
    """SIGTERM and wait; SIGKILL if it has not exited within timeout."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_port(port, process, seconds=10):
    """Return once something accepts connections on port; fail if process exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {seconds} s")
