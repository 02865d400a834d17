"""Tokens: asked for with a password, counted like logins, sent as Bearer, revoked, listed."""

import hashlib
import re
from datetime import timedelta

import pytest

from chatapp.extensions import db
from chatapp.models import ApiToken, User
from tests.api.support import API, Program, error_of, new_token, program, sign_up
from tests.support import HTMX, PASSWORD, AuthActions, form_token, signed_up, submit, text

NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')


def stored_tokens(app, username):
    """(name, secret hash, last used) of the user's tokens, oldest first."""
    with app.app_context():
        user = User.find(username)
        return [(t.name, t.secret_hash, t.last_used_at) for t in reversed(ApiToken.of(user))]


def test_a_username_and_password_get_a_token_that_is_kept_only_as_a_hash(app, client):
    sign_up(client, "alice")
    response = client.post(f"{API}/tokens", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["name"] == "API token"
    assert answer["token"].startswith("chatapp_") and len(answer["token"]) > 40
    assert answer["created_at"].endswith("Z")
    [(name, secret_hash, last_used)] = stored_tokens(app, "alice")
    assert name == "API token" and last_used is None
    assert secret_hash == hashlib.sha256(answer["token"].encode()).hexdigest()
    me = Program(client, "alice", answer["token"]).get("/me")
    assert me.status_code == 200 and me.get_json()["username"] == "alice"


def test_a_token_takes_the_name_it_is_given(app, client):
    sign_up(client, "alice")
    new_token(client, "alice", name="  kitchen bot ")
    assert [name for name, _, _ in stored_tokens(app, "alice")] == ["kitchen bot"]


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_a_wrong_password_gets_no_token(app, client, username):
    sign_up(client, "alice")
    response = client.post(f"{API}/tokens", json={"username": username, "password": "wrong"})
    assert response.status_code == 401
    assert error_of(response) == ("wrong_password", "Wrong password.")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored_tokens(app, "alice") == []


def test_failed_passwords_are_counted_with_the_login_forms(make_app):
    app = make_app(LOGIN_FAILURE_LIMIT_PER_USERNAME_AND_ADDRESS="3/5m")
    client = app.test_client()
    sign_up(client, "alice")
    wrong = {"username": "alice", "password": "wrong"}
    assert [client.post(f"{API}/tokens", json=wrong).status_code for _ in range(3)] == [401] * 3
    right = {"username": "alice", "password": PASSWORD}
    refused = client.post(f"{API}/tokens", json=right)
    assert refused.status_code == 429
    assert error_of(refused)[0] == "too_many_attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    assert stored_tokens(app, "alice") == []
    page = AuthActions(app.test_client()).login("alice", PASSWORD)
    assert page.status_code == 429


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer nope",
        "Basic YWxpY2U6cGFzcw==",
        "Bearer " + "x" * 5000,
    ],
)
def test_a_request_without_a_valid_token_is_refused_with_401(app, client, authorization):
    sign_up(client, "alice")
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get(f"{API}/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="chatapp"'
    assert error_of(response)[0] == "unauthorized"


def test_the_scheme_name_is_read_in_any_letter_case(app):
    alice = program(app, "alice")
    response = alice.client.get(f"{API}/me", headers={"Authorization": f"bearer {alice.token}"})
    assert response.status_code == 200


def test_a_revoked_token_stops_working_at_once_and_others_go_on(app):
    alice = program(app, "alice")
    other = Program(alice.client, "alice", new_token(alice.client, "alice"))
    assert alice.delete("/tokens/current").status_code == 204
    assert alice.get("/me").status_code == 401
    assert other.get("/me").status_code == 200
    assert len(stored_tokens(app, "alice")) == 1


def test_the_session_cookie_counts_for_nothing_in_the_api(app, client, auth):
    auth.signup("alice")
    assert client.get("/chat/profile/").status_code == 200
    assert client.get(f"{API}/me").status_code == 401
    # No CSRF token either: the cookie would not have been enough anyway.
    response = client.post(f"{API}/rooms", json={"name": "kitchen"})
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    assert client.get("/chat/room/").status_code == 200


def test_last_use_is_written_at_most_once_a_minute(app):
    alice = program(app, "alice")
    alice.get("/me")
    [(_, _, first)] = stored_tokens(app, "alice")
    assert first is not None
    alice.get("/me")
    alice.get("/rooms")
    assert stored_tokens(app, "alice")[0][2] == first
    with app.app_context():
        token = db.session.scalar(db.select(ApiToken))
        token.last_used_at -= timedelta(seconds=61)
        db.session.commit()
    alice.get("/me")
    assert stored_tokens(app, "alice")[0][2] > first


# The profile page


def make_token_on_profile(client, name, headers=None):
    """Fill in the profile page's token form."""
    return submit(client, "/chat/profile/", {"name": name}, "/chat/profile/tokens", headers=headers)


def test_a_token_made_on_the_profile_page_is_shown_once_and_works(app, client, auth):
    auth.signup("alice")
    response = make_token_on_profile(client, "<b>deploy bot</b>")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = text(response)
    secret = NEW_TOKEN.search(page).group(1)
    assert "Copy it now: it is not shown again." in page
    assert "&lt;b&gt;deploy bot&lt;/b&gt;" in page and "<b>deploy" not in page
    assert Program(app.test_client(), "alice", secret).get("/me").status_code == 200
    again = text(client.get("/chat/profile/"))
    assert secret not in again
    assert "&lt;b&gt;deploy bot&lt;/b&gt;" in again
    assert "last used" in again


def test_htmx_gets_the_tokens_section_alone(app, client, auth):
    auth.signup("alice")
    page = text(make_token_on_profile(client, "bot", headers=HTMX))
    assert page.lstrip().startswith('<div id="api-tokens">')
    assert "<html" not in page


def test_the_profile_page_lists_tokens_with_their_last_use(app, client, auth):
    auth.signup("alice")
    assert "You have no tokens." in text(client.get("/chat/profile/"))
    bot = Program(app.test_client(), "alice", new_token(client, "alice", name="bot"))
    new_token(client, "alice", name="idle")
    bot.get("/me")
    page = text(client.get("/chat/profile/"))
    assert re.search(r"<strong>bot</strong>\s*<span[^>]*>made [^,]+,\s*last used 20", page)
    assert re.search(r"<strong>idle</strong>\s*<span[^>]*>made [^,]+,\s*never used", page)


def test_a_token_revoked_on_the_profile_page_stops_working(app, client, auth):
    auth.signup("alice")
    bot = Program(app.test_client(), "alice", new_token(client, "alice", name="bot"))
    [token_id] = [t.id for t in tokens_of(app, "alice")]
    response = submit(client, "/chat/profile/", {}, f"/chat/profile/tokens/{token_id}/revoke")
    assert response.status_code == 200
    assert "The token bot was revoked." in text(response)
    assert bot.get("/me").status_code == 401


def test_nobody_revokes_another_persons_token(app, client, auth):
    bob = program(app, "bob")
    [token_id] = [t.id for t in tokens_of(app, "bob")]
    auth.signup("alice")
    response = submit(client, "/chat/profile/", {}, f"/chat/profile/tokens/{token_id}/revoke")
    assert response.status_code == 404
    assert bob.get("/me").status_code == 200


def test_the_token_form_needs_its_csrf_token_and_a_name(app, client, auth):
    auth.signup("alice")
    assert client.post("/chat/profile/tokens", data={"name": "bot"}).status_code == 400
    refused = make_token_on_profile(client, "   ")
    assert refused.status_code == 422
    assert tokens_of(app, "alice") == []


def tokens_of(app, username):
    """The user's tokens, detached from the session."""
    with app.app_context():
        tokens = ApiToken.of(User.find(username))
        for token in tokens:
            db.session.expunge(token)
        return tokens


def test_deleting_the_account_deletes_its_tokens(app, client, auth):
    auth.signup("alice")
    bot = Program(app.test_client(), "alice", new_token(client, "alice"))
    data = {"confirm_password": PASSWORD}
    assert submit(client, "/chat/profile/", data, "/chat/profile/delete").status_code == 303
    assert bot.get("/me").status_code == 401
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0


def test_a_signed_up_browser_can_ask_for_a_token(app):
    client = signed_up(app, "alice")
    assert form_token(client, "/chat/profile/")
    assert new_token(app.test_client(), "alice")


def test_the_token_decides_who_is_calling_whatever_cookie_comes_along(app, client, auth):
    auth.signup("alice")
    bob_token = program(app, "bob").token
    response = client.get(f"{API}/me", headers={"Authorization": f"Bearer {bob_token}"})
    assert response.get_json()["username"] == "bob"
