"""Failed logins counted in Redis are shared by every process of the site."""

import pytest

from tests.services import redis_server
from tests.support import PASSWORD, AuthActions


@pytest.fixture(scope="module")
def redis_url():
    """A Redis server for this module."""
    with redis_server() as url:
        yield url


def two_processes(make_app, **config):
    """Two apps on one database, as two gunicorn workers would be."""
    first = make_app(**config)
    second = make_app(**config, SQLALCHEMY_DATABASE_URI=first.config["SQLALCHEMY_DATABASE_URI"])
    AuthActions(first.test_client()).signup("alice")
    return first, second


def login_status(app, password=PASSWORD):
    """The status a fresh browser gets for logging in as alice on this app."""
    return AuthActions(app.test_client()).login("alice", password).status_code


def test_failed_logins_counted_in_redis_are_shared_between_processes(make_app, redis_url):
    first, second = two_processes(make_app, REDIS_URL=redis_url)
    for attempt in range(5):
        assert login_status((first, second)[attempt % 2], "a guess") == 401
    assert login_status(first) == 429
    assert login_status(second) == 429


def test_without_redis_each_process_counts_its_own(make_app):
    first, second = two_processes(make_app)
    for _ in range(5):
        assert login_status(first, "a guess") == 401
    assert login_status(first) == 429
    assert login_status(second) == 303
