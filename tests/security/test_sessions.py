"""Sessions live on the server: a copied cookie dies with its session, logins start afresh."""

import re
import time
from datetime import timedelta

import pytest

from chatapp.extensions import db
from chatapp.models import LoginSession, User, utcnow
from tests.live import live_server
from tests.support import PASSWORD, AuthActions, signed_up, submit, text

SESSION_FIELD = re.compile(r'name="session_id" value="([^"]+)"')


def copy_of(app, client):
    """Another browser holding a copy of this browser's session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def is_logged_in(client):
    """Whether the browser gets the lobby rather than the way to the login page."""
    return client.get("/chat/room/").status_code == 200


def session_ids(client):
    """The ids of my sessions, as the profile page lists them to be logged out."""
    return SESSION_FIELD.findall(text(client.get("/chat/profile/")))


def sid_of(client):
    """The session id this browser's cookie carries."""
    with client.session_transaction() as session:
        return session.get("sid")


def stored_sessions(app, username):
    """The login sessions the server holds for a user."""
    with app.app_context():
        return LoginSession.of(User.find(username).id)


def test_a_cookie_copied_before_logout_is_dead_after_it(app):
    alice = signed_up(app, "alice")
    thief = copy_of(app, alice)
    assert is_logged_in(thief)
    assert AuthActions(alice).logout().status_code == 303
    assert not is_logged_in(thief)
    assert stored_sessions(app, "alice") == []


def test_a_password_change_ends_every_other_session_and_copies_of_this_one(app):
    alice = signed_up(app, "alice")
    laptop = app.test_client()
    AuthActions(laptop).login("alice")
    stolen_laptop, stolen_here = copy_of(app, laptop), copy_of(app, alice)
    new = "a new password"
    data = {"current_password": PASSWORD, "password": new, "password_confirm": new}
    assert submit(alice, "/chat/profile/", data, action="/chat/profile/password").status_code == 303
    assert is_logged_in(alice)
    assert not any(is_logged_in(c) for c in (laptop, stolen_laptop, stolen_here))
    assert [s.id for s in stored_sessions(app, "alice")] == [sid_of(alice)]


def test_logging_out_everywhere_ends_every_session_this_one_included(app):
    alice = signed_up(app, "alice")
    other = app.test_client()
    AuthActions(other).login("alice")
    thief = copy_of(app, other)
    response = submit(alice, "/chat/profile/", {}, action="/chat/profile/sessions/end-all")
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/login/"
    assert "You logged out everywhere." in text(alice.get("/chat/login/"))
    assert not any(is_logged_in(c) for c in (alice, other, thief))
    assert stored_sessions(app, "alice") == []


def test_my_sessions_are_listed_and_each_can_be_logged_out(app):
    alice = signed_up(app, "alice")
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = "Phone <b>Browser</b>"
    AuthActions(phone).login("alice")
    page = text(alice.get("/chat/profile/"))
    assert "Phone &lt;b&gt;Browser&lt;/b&gt;" in page
    assert "this browser" in page
    assert set(session_ids(alice)) == {sid_of(alice), sid_of(phone)}
    data = {"session_id": sid_of(phone)}
    response = submit(alice, "/chat/profile/", data, action="/chat/profile/sessions/end")
    assert response.status_code == 303
    assert "That session was logged out." in text(alice.get("/chat/profile/"))
    assert not is_logged_in(phone)
    assert is_logged_in(alice)


def test_nobody_logs_out_a_session_of_someone_else(app):
    alice = signed_up(app, "alice")
    mallory = signed_up(app, "mallory")
    data = {"session_id": sid_of(alice)}
    response = submit(mallory, "/chat/profile/", data, action="/chat/profile/sessions/end")
    assert response.status_code == 404
    assert is_logged_in(alice)


def test_a_login_always_starts_a_new_session_id(app):
    AuthActions(signed_up(app, "alice")).logout()
    victim = app.test_client()
    victim.get("/chat/login/")
    with victim.session_transaction() as session:
        session["sid"] = "planted-by-mallory"
    AuthActions(victim).login("alice")
    assert sid_of(victim) not in (None, "planted-by-mallory")
    assert [s.id for s in stored_sessions(app, "alice")] == [sid_of(victim)]


def test_a_session_named_in_a_cookie_but_not_on_the_server_is_not_logged_in(app):
    alice = signed_up(app, "alice")
    with alice.session_transaction() as session:
        session["sid"] = "made-up"
    assert not is_logged_in(alice)


def test_last_seen_is_written_every_few_minutes_not_on_every_request(app):
    alice = signed_up(app, "alice")
    (login,) = stored_sessions(app, "alice")
    for _ in range(3):
        assert is_logged_in(alice)
    assert stored_sessions(app, "alice")[0].last_seen_at == login.last_seen_at
    long_ago = utcnow() - LoginSession.TOUCH_EVERY - timedelta(seconds=1)
    with app.app_context():
        db.session.get(LoginSession, login.id).last_seen_at = long_ago
        db.session.commit()
    assert is_logged_in(alice)
    assert stored_sessions(app, "alice")[0].last_seen_at > long_ago


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server, for streams that a logout elsewhere must close."""
    with live_server(tmp_path_factory.mktemp("sessions"), migrated_database) as running:
        yield running


def test_logging_out_a_session_from_elsewhere_closes_its_event_stream(server):
    (laptop,) = server.people("alice")
    phone = server.browser()
    phone.post("/chat/login/", {"username": laptop.username, "password": PASSWORD}, "/chat/login/")
    phone.username = laptop.username
    stream = phone.events()
    assert stream.status == 200
    stream.drain(0.2)
    _, _, profile = phone.get("/chat/profile/")
    phone_sid = re.search(
        r'<span class="badge">this browser</span>.*?name="session_id" value="([^"]+)"',
        profile,
        re.S,
    ).group(1)
    status, url, _ = laptop.post("/chat/profile/sessions/end", {"session_id": phone_sid})
    assert (status, url.endswith("/chat/profile/")) == (200, True)
    deadline = time.monotonic() + 5
    while not stream.ended and time.monotonic() < deadline:
        stream.drain(0.1)
    assert stream.ended
    status, url, _ = phone.get("/chat/room/")
    assert "/chat/login/" in url
