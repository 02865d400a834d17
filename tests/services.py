"""Real services for tests, started on loopback in a temporary folder (deploy/services.py)."""

import contextlib
import os

import pytest

from deploy import services
from deploy.services import free_port as free_port  # tests take it from here


def unavailable(reason):
    """Skip a test that needs a missing service; under CI, fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must have it: see scripts/install-test-services)")
    pytest.skip(reason)


@contextlib.contextmanager
def needed(service):
    """Enter a service's context; skip the test (fail under CI) if it cannot be had here."""
    with contextlib.ExitStack() as stack:
        try:
            value = stack.enter_context(service)
        except services.ServiceUnavailable as missing:
            unavailable(str(missing))
        yield value


def postgresql_server():
    """A throwaway PostgreSQL cluster on loopback; its superuser URL."""
    return needed(services.postgresql_server())


def redis_server():
    """A throwaway Redis on loopback; its URL."""
    return needed(services.redis_server())


def nginx_server(folder, site, port):
    """nginx with site (http-level text listening on port), its files in folder."""
    return needed(services.nginx_server(folder, site, port))
