"""gunicorn refuses several workers that could not share the site, before it forks any."""

import contextlib
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from deploy import preflight
from deploy.services import free_port, stop_process, wait_for_port
from tests.live import GUNICORN, PROJECT

WITH_HOOK = Path(__file__).with_name("gunicorn_preflight.conf.py")
DEPLOYED = PROJECT / "deploy" / "gunicorn.conf.py"
NOWHERE_POSTGRESQL = "postgresql://chat@127.0.0.1:1/chatapp"  # the check connects to nothing
NOWHERE_REDIS = "redis://127.0.0.1:1/0"
NO_REDIS = "CHATAPP_REDIS_URL is not set"
ON_SQLITE = "the database is SQLite"


def gunicorn(tmp_path, config, workers, port=None, **settings):
    """Start gunicorn as deployed, with WEB_CONCURRENCY=workers and CHATAPP_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATAPP_")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port or free_port()),
        WEB_CONCURRENCY=str(workers),
        CHATAPP_INSTANCE_PATH=str(tmp_path / "instance"),
        CHATAPP_DATABASE_URL=f"sqlite:///{tmp_path}/chatapp.sqlite",
        CHATAPP_LOG_DIR=str(tmp_path / "logs"),
        CHATAPP_SECRET_KEY="preflight test secret",
    )
    env.update({f"CHATAPP_{name}": value for name, value in settings.items()})
    return subprocess.Popen(
        [str(GUNICORN), "--config", str(config), "wsgi:app"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def refused(tmp_path, config=WITH_HOOK, workers=2, **settings):
    """Start gunicorn expecting a refusal: (exit code, everything it printed).

    The exit code is None when gunicorn listened instead, and was stopped.
    """
    port = free_port()
    process = gunicorn(tmp_path, config, workers, port, **settings)
    with contextlib.suppress(RuntimeError):  # raised when it exits: what these tests expect
        wait_for_port(port, process, seconds=60)
    stop_process(process)
    code = None if process.returncode < 0 else process.returncode
    return code, words(process.communicate()[0])


def words(output):
    """What gunicorn printed, with every run of whitespace as one space, as a reader sees it."""
    return " ".join(output.split())


@pytest.mark.parametrize(
    ("workers", "database", "redis", "reasons"),
    [
        (1, "sqlite", False, []),
        (2, "sqlite", False, [NO_REDIS, ON_SQLITE]),
        (2, "sqlite", True, [ON_SQLITE]),
        (2, "postgresql", False, [NO_REDIS]),
        (3, "postgresql", True, []),
    ],
)
def test_several_workers_need_redis_and_postgresql(workers, database, redis, reasons):
    found = preflight.refusals(workers, database, redis)
    assert len(found) == len(reasons)
    for expected, reason in zip(reasons, found, strict=True):
        assert expected in reason


def test_two_workers_on_sqlite_without_redis_are_refused_before_any_worker_starts(tmp_path):
    code, output = refused(tmp_path)
    assert code == 1
    assert "Error: chatapp will not start 2 workers" in output
    assert "Set CHATAPP_REDIS_URL=redis://" in output
    assert "Use PostgreSQL: CHATAPP_DATABASE_URL=postgresql://" in output
    assert "WEB_CONCURRENCY=1" in output
    assert "Listening at" not in output
    assert "Booting worker" not in output


def test_two_workers_with_redis_on_sqlite_are_refused_for_sqlite_alone(tmp_path):
    code, output = refused(tmp_path, REDIS_URL=NOWHERE_REDIS)
    assert code == 1
    assert ON_SQLITE in output
    assert NO_REDIS not in output
    assert "Booting worker" not in output


def test_two_workers_on_postgresql_without_redis_are_refused_for_redis_alone(tmp_path):
    code, output = refused(tmp_path, DATABASE_URL=NOWHERE_POSTGRESQL)
    assert code == 1
    assert NO_REDIS in output
    assert ON_SQLITE not in output


def test_two_workers_with_redis_and_postgresql_start_and_serve(tmp_path):
    port = free_port()
    server = gunicorn(
        tmp_path, WITH_HOOK, 2, port, DATABASE_URL=NOWHERE_POSTGRESQL, REDIS_URL=NOWHERE_REDIS
    )
    try:
        wait_for_port(port, server, seconds=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/chat/login/", timeout=10) as page:
            assert "Log in" in page.read().decode()
    finally:
        stop_process(server)
    output = server.communicate()[0]
    assert output.count("Booting worker") == 2
    assert "will not start" not in output


def test_the_deployed_config_refuses_two_workers_on_sqlite_without_redis(tmp_path):
    code, output = refused(tmp_path, config=DEPLOYED)
    assert code == 1
    assert "chatapp will not start 2 workers" in output
