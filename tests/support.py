"""Helpers for tests: fill in forms as a browser does, and log in through them."""

import re
import threading

from chatapp.extensions import db
from chatapp.models import User

PASSWORD = "correct horse"
HTMX = {"HX-Request": "true"}
CSRF_FIELD = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')



def form_token(client, path):
    """Open a page as a browser would and read the CSRF token of its form."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def submit(client, page_path, data, action=None, **kwargs):
    """Fill in the form on a page and send it, CSRF token included."""
    data = {"csrf_token": form_token(client, page_path), **data}
    return client.post(action or page_path, data=data, **kwargs)


class AuthActions:
    """Sign up, log in and log out through the real forms."""

    def __init__(self, client):
        self._client = client

    def signup(self, username="alice", password=PASSWORD):
        """Create an account for a new name; the browser ends up logged in."""
        return submit(
            self._client,
            "/chat/login/",
            {"username": username, "password": password, "password_confirm": password},
        )

    def login(self, username="alice", password=PASSWORD):
        """Log in with a known name."""
        return submit(self._client, "/chat/login/", {"username": username, "password": password})

    def logout(self):
        """Log out with the button in the navigation."""
        return submit(self._client, "/chat/room/", {}, action="/chat/logout/")


def sign_up_at_once(app, username, tries=2):
    """Several browsers submit the sign-up form for one name at the same instant."""
    barrier = threading.Barrier(tries)
    statuses = []

    def sign_up():
        client = app.test_client()
        token = form_token(client, "/chat/login/")
        data = {
            "csrf_token": token,
            "username": username,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        barrier.wait()
        statuses.append(client.post("/chat/login/", data=data).status_code)

    threads = [threading.Thread(target=sign_up) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def text(response):
    """What the browser shows for a response."""
    return response.get_data(as_text=True)


def stored_user(app, username):
    """The user as the database holds it now, or None."""
    with app.app_context():
        user = User.find(username)
        if user is not None:
            db.session.expunge(user)
        return user
