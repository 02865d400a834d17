"""Debian's chromium driven by Playwright against the live server, as people use it."""

import re
from pathlib import Path

import pytest

from tests.live import live_server
from tests.support import PASSWORD

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
AXE = HERE / "vendor" / "axe-core-4.14.1" / "axe.min.js"
GRACE = 1.5  # long enough for a reload on a busy machine


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server for the module's browsers."""
    folder = tmp_path_factory.mktemp("browser")
    with live_server(folder, migrated_database, PRESENCE_GRACE_SECONDS=GRACE) as running:
        yield running


@pytest.fixture
def person(chromium, server):
    """Make people, each in a browser context of their own; closed after the test."""
    contexts = []

    def make(username, **context_options):
        context = chromium.new_context(base_url=server.url, **context_options)
        contexts.append(context)
        return Person(context.new_page(), username)

    yield make
    for context in contexts:
        context.close()


class Person:
    """Someone at a browser tab: signs up, and goes where a user goes."""

    def __init__(self, page, username):
        self.page = page
        self.username = username
        self.console_errors = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def sign_up(self):
        """Sign up with the username-first form; ends in the lobby."""
        page = self.page
        page.goto("/chat/login/")
        page.get_by_label("Username").fill(self.username)
        page.get_by_role("button", name=re.compile("Continue|Next|Log in", re.I)).click()
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Sign up|Create|Continue", re.I)).click()
        page.wait_for_url("**/chat/room/")
        return self

    def screenshot(self, name):
        """Save what this person sees, for people to look at (git ignores the folder)."""
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
