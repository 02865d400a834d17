"""Rate limits hold under a burst: guesses, sign-ups and uploads sent at the same instant."""

import io
import sqlite3
import urllib.parse
import urllib.request

import pytest
from PIL import Image

from tests.live import Browser, live_server, unique, upload_avatar
from tests.support import CSRF_FIELD, PASSWORD, at_once

BURST = 20
SIGN_UPS = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server with the shipped limits, but few sign-ups per address."""
    folder = tmp_path_factory.mktemp("limits")
    limits = {"SIGNUP_LIMIT_PER_ADDRESS": f"{SIGN_UPS}/h"}
    with live_server(folder, migrated_database, **limits) as running:
        yield running


def ready_to_post(server, page="/chat/login/"):
    """A new browser that opened a page and holds its form's CSRF token."""
    browser = Browser(server.url)
    _, _, html = browser.get(page)
    return browser, CSRF_FIELD.search(html).group(1)


def post(browser, token, path, data):
    """Send a form with the token; the status of the page it ended on (redirects followed)."""
    body = urllib.parse.urlencode({"csrf_token": token, **data}).encode()
    status, _, _ = browser._open(urllib.request.Request(browser.base_url + path, body))
    return status


def accounts(server, prefix):
    """How many accounts have names starting with prefix."""
    with sqlite3.connect(server.database) as connection:
        query = "SELECT count(*) FROM users WHERE username LIKE ?"
        return connection.execute(query, (prefix + "%",)).fetchone()[0]


def test_guesses_sent_at_once_are_each_counted_before_any_is_checked(server):
    (owner,) = server.people("owner")
    guessers = [ready_to_post(server) for _ in range(BURST)]
    guess = {"username": owner.username, "password": "a guess"}
    statuses = at_once(*(lambda b=b, t=t: post(b, t, "/chat/login/", guess) for b, t in guessers))
    # The shipped limit is 5 per name and address: the hashing of one guess yields to the
    # others, and none of the rest may reach the password check meanwhile.
    assert sorted(statuses) == [401] * 5 + [429] * (BURST - 5)


def test_avatar_uploads_sent_at_once_stop_at_the_limit_per_user(server):
    (painter,) = server.people("painter")
    image = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(image, "PNG")
    statuses = at_once(*(lambda: upload_avatar(painter, image.getvalue()) for _ in range(15)))
    # The shipped limit: 10 new avatars per user and hour.
    assert sorted(statuses) == [200] * 10 + [429] * 5


# Last in the module: it uses up the server's sign-ups.
def test_sign_ups_sent_at_once_stop_at_the_limit_per_address(server):
    prefix = unique("burst")
    already = accounts(server, "")
    browsers = [ready_to_post(server) for _ in range(BURST)]
    forms = [
        {"username": f"{prefix}x{n}", "password": PASSWORD, "password_confirm": PASSWORD}
        for n in range(len(browsers))
    ]
    pairs = zip(browsers, forms, strict=True)
    statuses = at_once(*(lambda b=b, f=f: post(b[0], b[1], "/chat/login/", f) for b, f in pairs))
    made = accounts(server, prefix)
    assert made == statuses.count(200)
    assert made > 0 and already + made == SIGN_UPS
    assert statuses.count(429) == len(browsers) - made
