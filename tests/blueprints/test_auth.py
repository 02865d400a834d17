"""Logging in by username first, signing up, logging out, and what protects them."""

import time

import pytest
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import User
from tests.support import HTMX, PASSWORD, AuthActions, form_token, sign_up_at_once, submit


def users_named(app, username):
    """How many accounts have exactly this username."""
    with app.app_context():
        return len(db.session.scalars(select(User).where(User.username == username)).all())


def session_cookie(client):
    """The session cookie the browser holds, or None."""
    return client.get_cookie("session")


def test_login_page_asks_for_a_username_first(client):
    page = client.get("/chat/login/").get_data(as_text=True)
    assert 'name="username"' in page
    assert 'type="password"' not in page


def test_an_unknown_name_is_asked_to_set_a_password_twice(client):
    response = submit(client, "/chat/login/", {"username": "newcomer"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "That name is free" in page
    assert 'name="password"' in page and 'name="password_confirm"' in page
    assert 'type="hidden" value="newcomer"' in page


def test_a_known_name_in_any_case_is_asked_for_its_password(client, auth):
    auth.signup("Alice")
    auth.logout()
    page = submit(client, "/chat/login/", {"username": "aLICE"}).get_data(as_text=True)
    assert "Welcome back, <strong><bdi>Alice</bdi></strong>" in page
    assert 'name="password_confirm"' not in page
    assert 'type="hidden" value="Alice"' in page


@pytest.mark.real_password_hashing
def test_signing_up_stores_a_hash_and_logs_in(app, client, auth):
    response = auth.signup("alice")
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/room/"
    assert "Hello, <bdi>alice</bdi>" in client.get("/chat/room/").get_data(as_text=True)
    with app.app_context():
        user = User.find("alice")
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("correct horse", "correct hors", "The passwords differ."),
        ("short", "short", "Use at least 8 characters."),
        ("", "", "This field is required."),
    ],
)
def test_a_bad_new_password_is_refused_and_no_account_is_made(
    app, client, password, confirm, message
):
    response = submit(
        client,
        "/chat/login/",
        {"username": "alice", "password": password, "password_confirm": confirm},
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert users_named(app, "alice") == 0


BAD_NAMES = ["", "a" * 65, "../x", "a b", "a\x07b", "a/b"]


@pytest.mark.parametrize("username", BAD_NAMES)
def test_a_bad_username_is_refused_at_the_first_step(client, username):
    response = submit(client, "/chat/login/", {"username": username})
    assert response.status_code == 422
    assert "letters, digits, _ or -" in response.get_data(as_text=True)


@pytest.mark.parametrize("username", BAD_NAMES)
def test_a_bad_username_cannot_be_smuggled_into_sign_up(app, client, username):
    data = {"username": username, "password": PASSWORD, "password_confirm": PASSWORD}
    response = submit(client, "/chat/login/", data)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_a_cyrillic_name_signs_up_and_logs_in(client, auth):
    assert auth.signup("Мария").status_code == 303
    auth.logout()
    assert auth.login("мАРИЯ").status_code == 303
    assert "Hello, <bdi>Мария</bdi>" in client.get("/chat/room/").get_data(as_text=True)


def test_signing_up_a_name_taken_in_another_case_changes_nothing(app, client, auth):
    auth.signup("alice")
    auth.logout()
    new_password = "another password"
    data = {"username": "ALICE", "password": new_password, "password_confirm": new_password}
    response = submit(client, "/chat/login/", data)
    assert response.status_code == 409
    assert "That name was just taken" in response.get_data(as_text=True)
    with app.app_context():
        assert User.find("alice").check_password(PASSWORD)
    assert users_named(app, "ALICE") == 0


def test_a_wrong_password_is_refused(client, auth):
    auth.signup()
    auth.logout()
    response = auth.login(password="wrong password")
    assert response.status_code == 401
    assert "Wrong password." in response.get_data(as_text=True)
    assert client.get("/chat/room/").status_code == 302


def test_failed_attempts_are_limited_per_username_and_address(client, auth):
    auth.signup()
    auth.logout()
    for _ in range(5):
        assert auth.login(password="wrong password").status_code == 401
    response = auth.login()
    assert response.status_code == 429
    assert "Too many failed attempts. Try again in" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 300
    # A stranger's guesses do not lock the owner out: from elsewhere the name still works.
    elsewhere = client.application.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert AuthActions(elsewhere).login().status_code == 303


def test_guesses_from_many_addresses_meet_a_higher_ceiling_per_username(make_app):
    app = make_app(LOGIN_FAILURE_LIMIT_PER_USERNAME="8/h")
    AuthActions(app.test_client()).signup()
    statuses = []
    for attempt in range(9):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"192.0.2.{attempt + 20}"
        statuses.append(AuthActions(guesser).login(password="wrong password").status_code)
    assert statuses == [401] * 8 + [429]


def test_sign_ups_are_limited_per_address(make_app):
    app = make_app(SIGNUP_LIMIT_PER_ADDRESS="2/h")
    for name in ("alice", "bob"):
        assert AuthActions(app.test_client()).signup(name).status_code == 303
    response = AuthActions(app.test_client()).signup("carol")
    assert response.status_code == 429
    assert "Too many sign-ups from your address. Try again in" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    with app.app_context():
        assert User.find("carol") is None
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.8"
    assert AuthActions(elsewhere).signup("carol").status_code == 303


def test_failed_attempts_are_limited_per_address(app, client, auth):
    for name in ("alice", "bob"):
        auth.signup(name)
        auth.logout()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    for attempt in range(20):
        name = f"guess{attempt}"
        assert auth.login(name, "wrong password").status_code == 401
    assert auth.login("alice").status_code == 429
    client.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    assert auth.login("bob").status_code == 303


def test_a_successful_login_forgives_earlier_failures_of_that_name(client, auth):
    auth.signup()
    auth.logout()
    for _ in range(4):
        auth.login(password="wrong password")
    assert auth.login().status_code == 303
    auth.logout()
    for _ in range(4):
        assert auth.login(password="wrong password").status_code == 401
    assert auth.login().status_code == 303


def test_the_session_is_new_after_login(client, auth):
    auth.signup()
    auth.logout()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    before = session_cookie(client).value
    auth.login()
    assert session_cookie(client).value != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.permanent


def test_the_session_cookie_is_http_only_and_same_site_lax(client, auth):
    auth.signup()
    cookie = session_cookie(client)
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert not cookie.secure


def test_the_session_cookie_is_secure_over_https(app):
    client = app.test_client()
    submit(
        client,
        "https://localhost/chat/login/",
        {"username": "alice", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert session_cookie(client).secure


def test_the_session_cookie_is_secure_behind_an_https_proxy(make_app):
    client = make_app(PROXY_COUNT=1).test_client()
    client.get("/chat/login/", headers={"X-Forwarded-Proto": "https"})
    assert session_cookie(client).secure


def test_forwarded_headers_are_ignored_without_a_proxy(client):
    client.get("/chat/login/", headers={"X-Forwarded-Proto": "https"})
    assert not session_cookie(client).secure


def test_logging_in_while_logged_in_goes_to_the_lobby(client, auth):
    auth.signup()
    response = client.get("/chat/login/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/chat/room/"


def test_the_front_page_leads_a_stranger_to_the_login(client):
    assert client.get("/").headers["Location"] == "/chat/room/"
    assert client.get("/chat/room/").headers["Location"].startswith("/chat/login/")


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/chat/users/", "/chat/users/"),
        ("https://evil.example/", "/chat/room/"),
        ("//evil.example/", "/chat/room/"),
        ("/\\evil.example", "/chat/room/"),
    ],
)
def test_login_returns_to_a_local_next_page_only(client, auth, next_url, landing):
    auth.signup()
    auth.logout()
    response = submit(
        client,
        "/chat/login/",
        {"username": "alice", "password": PASSWORD},
        action="/chat/login/?" + f"next={next_url}",
    )
    assert response.headers["Location"] == landing


def test_logout_ends_the_session(client, auth):
    auth.signup()
    response = auth.logout()
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/login/"
    assert client.get("/chat/room/").status_code == 302


def test_logout_is_not_a_link(client, auth):
    auth.signup()
    assert client.get("/chat/logout/").status_code == 405
    assert client.get("/chat/room/").status_code == 200


def test_logout_without_csrf_token_is_refused_and_changes_nothing(client, auth):
    auth.signup()
    response = client.post("/chat/logout/")
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert client.get("/chat/room/").status_code == 200


def test_sign_up_without_csrf_token_is_refused_and_makes_no_account(app, client):
    data = {"username": "alice", "password": PASSWORD, "password_confirm": PASSWORD}
    response = client.post("/chat/login/", data=data)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert users_named(app, "alice") == 0


def test_htmx_gets_the_next_login_step_as_a_fragment(client):
    token = form_token(client, "/chat/login/")
    response = client.post(
        "/chat/login/", data={"csrf_token": token, "username": "newcomer"}, headers=HTMX
    )
    page = response.get_data(as_text=True)
    assert '<form id="login-form"' in page
    assert "<html" not in page
    assert 'name="password_confirm"' in page


def test_htmx_is_told_where_to_go_after_login(client):
    token = form_token(client, "/chat/login/")
    data = {
        "csrf_token": token,
        "username": "alice",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    response = client.post("/chat/login/", data=data, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/chat/room/"


def test_csrf_header_from_htmx_is_accepted(client, auth):
    auth.signup()
    token = form_token(client, "/chat/profile/")
    response = client.post("/chat/logout/", headers={**HTMX, "X-CSRFToken": token})
    assert response.headers["HX-Redirect"] == "/chat/login/"
    assert client.get("/chat/room/").status_code == 302


def test_two_sign_ups_of_one_name_at_once_make_one_account(app):
    assert sign_up_at_once(app, "racer", tries=4) == [303, 409, 409, 409]
    assert users_named(app, "racer") == 1


def test_a_form_left_open_for_days_still_submits(client, monkeypatch):
    token = form_token(client, "/chat/login/")
    two_days_later = time.time() + 2 * 24 * 3600
    monkeypatch.setattr(time, "time", lambda: two_days_later)
    data = {"csrf_token": token, "username": "alice"}
    data.update(password=PASSWORD, password_confirm=PASSWORD)
    assert client.post("/chat/login/", data=data).status_code == 303
