"""Helpers for tests: fill in forms as a browser does, log in through them, run under gevent."""

import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from chatapp.extensions import db
from chatapp.models import Room, User

PASSWORD = "correct horse"
HTMX = {"HX-Request": "true"}
PROJECT = Path(__file__).resolve().parent.parent
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


def signed_up(app, username, password=PASSWORD):
    """A new browser that signed up under this name and is logged in."""
    client = app.test_client()
    assert AuthActions(client).signup(username, password).status_code == 303
    return client


def press(client, action, data=None, headers=None):
    """Press a button whose form posts to action, as a browser does from the lobby."""
    return submit(client, "/chat/room/", data or {}, action=action, headers=headers)


def create_room(client, name, visibility="private", invite="", headers=None):
    """Fill in the lobby's create form and send it."""
    data = {"name": name, "visibility": visibility, "invite": invite}
    return submit(client, "/chat/room/", data, headers=headers)


def pending_invitation_id(app, room_name, username):
    """The id of the user's unanswered invitation into the room."""
    with app.app_context():
        return Room.find(room_name).pending_invitation_for(User.find(username)).id


def accept_invitation(app, client, room_name, username):
    """Accept the user's invitation into the room with the lobby's button."""
    invitation_id = pending_invitation_id(app, room_name, username)
    return press(client, f"/chat/invitations/{invitation_id}/accept")


def make_admin(app, username):
    """Give a user the admin flag, as `flask create-admin` does."""
    with app.app_context():
        User.find(username).promote_to_admin()
        db.session.commit()


def at_once(*actions):
    """Run the actions in threads released at the same instant; return their results."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(index, action):
        barrier.wait()
        results[index] = action()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def create_rooms_at_once(app, name, usernames):
    """Each user's browser sends the create form for one room name at the same instant."""
    clients = [signed_up(app, username) for username in usernames]
    forms = [
        {"csrf_token": form_token(client, "/chat/room/"), "name": name, "visibility": "private"}
        for client in clients
    ]
    return at_once(
        *(
            lambda c=client, f=form: c.post("/chat/room/", data=f)
            for client, form in zip(clients, forms, strict=True)
        )
    )


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


def run_under_gevent(body):
    """Run a script after gevent's patching, in a process of its own; what it printed."""
    script = "from gevent import monkey\n\nmonkey.patch_all()\n" + textwrap.dedent(body)
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return run.stdout.strip()
