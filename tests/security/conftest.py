"""Fixtures of the security suite: Debian's chromium, shared with the browser tests."""

from tests.browser.conftest import chromium  # noqa: F401  (a fixture, found by its name)
