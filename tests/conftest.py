"""Fixtures shared by every test: an app on a migrated SQLite file, clients, logins."""

import os
import shutil
import subprocess
import sys
import uuid
from collections import deque
from datetime import datetime
from functools import partial
from pathlib import Path

import flask_migrate
import pytest
from playwright.sync_api import sync_playwright
from werkzeug.security import generate_password_hash

from chatapp import create_app
from chatapp.extensions import db
from deploy.cluster import create_database, running_cluster
from tests.live import LiveServer
from tests.services import needed, postgresql_server, unavailable
from tests.support import AuthActions

CHROMIUM = "/usr/bin/chromium"
# This machine has no network beyond loopback: keep chromium from reaching out.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def make_test_config(tmp_path, database_path):
    """The configuration every test app starts from."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test secret key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database_path}",
        "LOG_DIR": str(tmp_path / "logs"),
    }


def isolate_environment(monkeypatch, instance_path):
    """Keep the developer's CHATAPP_* variables and instance folder out of a test."""
    for name in [name for name in os.environ if name.startswith("CHATAPP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CHATAPP_INSTANCE_PATH", str(instance_path))


@pytest.fixture(autouse=True)
def instance(tmp_path, monkeypatch):
    """Every test gets an empty instance folder and no CHATAPP_* settings of its own."""
    path = tmp_path / "instance"
    isolate_environment(monkeypatch, path)
    return path


@pytest.fixture(autouse=True)
def quick_password_hashing(request, monkeypatch):
    """Hash with one round: tests sign many people up and crack no password.

    Checking stays real; tests marked real_password_hashing keep the production cost.
    """
    if "real_password_hashing" not in request.keywords:
        quick = partial(generate_password_hash, method="pbkdf2:sha256:1")
        monkeypatch.setattr("chatapp.models.generate_password_hash", quick)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """A SQLite file brought up to date by the migrations, copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "chatapp.sqlite"
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_environment(monkeypatch, folder / "instance")
        app = create_app(make_test_config(folder, path))
        with app.app_context():
            flask_migrate.upgrade()
            db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgresql_url():
    """One throwaway PostgreSQL server for the whole run; its superuser URL."""
    with postgresql_server() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_database(request):
    """Settings that put a module's live server on SQLite, then on PostgreSQL.

    On SQLite the server has a copy of the migrated file; on PostgreSQL a new database,
    which the server's start migrates.
    """
    if request.param == "sqlite":
        return {}
    server_url = request.getfixturevalue("postgresql_url")
    return {"DATABASE_URL": create_database(server_url, f"live_{uuid.uuid4().hex[:12]}")}


@pytest.fixture
def make_app(tmp_path, migrated_database):
    """Build apps on copies of the migrated database, with extra configuration."""
    apps = []

    def make(**overrides):
        database_path = tmp_path / f"chatapp{len(apps)}.sqlite"
        shutil.copy(migrated_database, database_path)
        app = create_app({**make_test_config(tmp_path, database_path), **overrides})
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    """A fresh app on its own copy of the migrated database."""
    return make_app()


@pytest.fixture
def client(app):
    """A browser without JavaScript."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The flask command line."""
    return app.test_cli_runner()


@pytest.fixture
def auth(client):
    """Account actions for the default client."""
    return AuthActions(client)


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the whole run: the browser tests' and the security suite's."""
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"Debian's chromium is not installed at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield RecordingBrowser(browser)
        browser.close()


# What chromium asked of the network, kept for the report of a browser test that fails.
REQUESTS_KEPT = 100


class RecordingBrowser:
    """chromium, keeping what the contexts a test opens ask of the network and what comes back.

    Only contexts made with new_context are watched (the browser's own new_page is not).
    """

    def __init__(self, browser):
        self._browser = browser
        self.requests = deque(maxlen=REQUESTS_KEPT)

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **options):
        """A new context, whose requests, answers and failures are noted."""
        context = self._browser.new_context(**options)
        context.on("request", lambda request: self._note("asked", request))
        context.on("response", lambda response: self._note(response.status, response.request))
        context.on("requestfinished", lambda request: self._note("finished", request))
        context.on("requestfailed", lambda request: self._note(request.failure, request))
        return context

    def _note(self, what, request):
        moment = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        self.requests.append(f"{moment} {request.method} {request.url} {what}")


@pytest.fixture(autouse=True)
def recorded_requests(request):
    """Forget the requests of earlier tests: a failing test's report shows its own."""
    if "chromium" in request.fixturenames:
        request.getfixturevalue("chromium").requests.clear()


@pytest.fixture(scope="module")
def cluster():
    """The whole deployment, as `make cluster` runs it, for one test module."""
    # Quick keepalives: a test's event stream closes at the next one.
    settings = {"FLOOD_LIMIT": "off", "EVENTS_KEEPALIVE_SECONDS": 0.5}
    with needed(running_cluster(settings=settings)) as running:
        yield running


# What a live server printed (its access log, its errors) is kept with a failing test's report.
SERVER_LOG_TAIL_BYTES = 6000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the end of each live server's log to the report of a test that failed."""
    report = yield
    if report.failed:
        values = (getattr(item, "funcargs", None) or {}).values()
        servers = [value for value in values if isinstance(value, LiveServer)]
        for server in servers:
            tail = server.output()[-SERVER_LOG_TAIL_BYTES:]
            report.sections.append((f"server log ({server.url})", tail))
            report.sections.append((f"server stacks ({server.url})", server_stacks(server)))
        browser = (getattr(item, "funcargs", None) or {}).get("chromium")
        if isinstance(browser, RecordingBrowser):
            requests = "\n".join(browser.requests) or "(none)"
            report.sections.append(("chromium's requests", requests))
    return report


def server_stacks(server):
    """What every thread and greenlet of the server's worker is doing now (py-spy)."""
    py_spy = Path(sys.executable).parent / "py-spy"
    try:
        command = [str(py_spy), "dump", "--pid", str(server.worker_pid())]
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
    except (AssertionError, OSError, subprocess.SubprocessError) as error:
        return f"(no stacks: {error})"
