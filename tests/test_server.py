"""The real server, started the way `make run` starts it, on a free loopback port."""

import os
import signal
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.services import free_port
from tests.support import CSRF_FIELD, PASSWORD

PROJECT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 90


def wait_for_page(url, server, deadline):
    """Fetch url once the server answers, or fail with what the server printed."""
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read().decode()
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"no answer from {url} within {STARTUP_SECONDS} s")


@pytest.fixture
def make_run(tmp_path):
    """`make run` with its own port, instance folder, database and logs."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATAPP_")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        CHATAPP_INSTANCE_PATH=str(tmp_path / "instance"),
        CHATAPP_DATABASE_URL=f"sqlite:///{tmp_path}/chatapp.sqlite",
        CHATAPP_LOG_DIR=str(tmp_path / "logs"),
    )
    server = subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(PROJECT), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    yield f"http://127.0.0.1:{port}", server
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    server.stdout.close()


def test_make_run_serves_the_login_page_on_a_fresh_instance(make_run, tmp_path):
    base_url, server = make_run
    deadline = time.monotonic() + STARTUP_SECONDS
    status, page = wait_for_page(f"{base_url}/chat/login/", server, deadline)
    assert status == 200
    assert '<form id="login-form"' in page
    assert 'name="username"' in page
    assert len((tmp_path / "instance" / "secret_key").read_text()) == 64
    with sqlite3.connect(tmp_path / "chatapp.sqlite") as database:
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    assert "users" in tables
    assert "alembic_version" in tables


def test_a_browser_signs_up_through_the_real_server(make_run):
    base_url, server = make_run
    wait_for_page(f"{base_url}/chat/login/", server, time.monotonic() + STARTUP_SECONDS)
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with browser.open(f"{base_url}/chat/login/") as response:
        token = CSRF_FIELD.search(response.read().decode()).group(1)
    form = {
        "csrf_token": token,
        "username": "Мария",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    with browser.open(f"{base_url}/chat/login/", urllib.parse.urlencode(form).encode()) as lobby:
        assert lobby.url == f"{base_url}/chat/room/"
        assert "Hello, <bdi>Мария</bdi>" in lobby.read().decode()
