"""Error pages: a whole page for a browser, a fragment for htmx, headers kept."""

import pytest
from flask import abort

from chatapp.blueprints.errors import CSRF_MESSAGE
from chatapp.extensions import db
from chatapp.models import User
from tests.support import HTMX, PASSWORD, AuthActions, text


@pytest.fixture
def failing_app(make_app):
    """An app with routes that forbid and crash, run as in production, not as in testing."""
    # Not testing: an unexpected exception becomes the 500 page instead of reaching pytest.
    failing_app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    # Routes go in before the first request, as Flask requires.
    @failing_app.get("/forbidden")
    def forbidden():
        abort(403)

    @failing_app.get("/crash")
    def crash():
        User.register("ghost", PASSWORD)
        db.session.flush()
        raise RuntimeError("the view broke after writing")

    @failing_app.get("/failed-write")
    def failed_write():
        User.register("alice", PASSWORD)  # alice exists: the flush fails
        db.session.flush()

    return failing_app


def test_an_unknown_page_is_a_whole_404_page(client):
    response = client.get("/chat/nowhere/")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = text(response)
    assert "<html" in page
    assert "<title>404 Not Found · chatapp</title>" in page
    assert 'id="error"' in page
    assert "Back to the rooms" in page


def test_htmx_gets_the_404_as_a_fragment(client):
    response = client.get("/chat/nowhere/", headers=HTMX)
    assert response.status_code == 404
    page = text(response)
    assert 'id="error"' in page
    assert "404 Not Found" in page
    assert "<html" not in page


def test_a_boosted_htmx_request_gets_the_whole_page(client):
    response = client.get("/chat/nowhere/", headers={**HTMX, "HX-Boosted": "true"})
    assert "<html" in text(response)


def test_a_wrong_method_is_405_and_keeps_the_allow_header(client, auth):
    auth.signup("alice")
    response = client.get("/chat/logout/")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.mimetype == "text/html"
    assert "405 Method Not Allowed" in text(response)
    assert client.get("/chat/room/").status_code == 200


def test_a_missing_csrf_token_is_explained_in_words(client):
    response = client.post("/chat/login/", data={"username": "alice"})
    assert response.status_code == 400
    page = text(response)
    assert "400 Bad Request" in page
    assert CSRF_MESSAGE in page


def test_htmx_gets_the_csrf_error_as_a_fragment(client):
    response = client.post("/chat/login/", data={"username": "alice"}, headers=HTMX)
    assert response.status_code == 400
    page = text(response)
    assert 'id="error"' in page and CSRF_MESSAGE in page
    assert "<html" not in page


def test_a_forbidden_page_is_a_403_page(failing_app):
    response = failing_app.test_client().get("/forbidden")
    assert response.status_code == 403
    page = text(response)
    assert "<html" in page
    assert "403 Forbidden" in page
    assert "permission" in page


def test_a_crash_is_a_500_page_and_its_writes_are_undone(failing_app):
    response = failing_app.test_client().get("/crash")
    assert response.status_code == 500
    page = text(response)
    assert "<html" in page
    assert "500 Internal Server Error" in page
    assert "Something went wrong" in page
    assert "the view broke" not in page
    with failing_app.app_context():
        assert User.find("ghost") is None


def test_htmx_gets_the_500_as_a_fragment(failing_app):
    response = failing_app.test_client().get("/crash", headers=HTMX)
    assert response.status_code == 500
    page = text(response)
    assert 'id="error"' in page and "Something went wrong" in page
    assert "<html" not in page


def test_the_500_page_renders_for_a_user_after_a_failed_write(failing_app):
    client = failing_app.test_client()
    AuthActions(client).signup("alice")
    # The page loads the logged-in user, which needs the failed transaction rolled back.
    response = client.get("/failed-write")
    assert response.status_code == 500
    page = text(response)
    assert "Something went wrong" in page
    assert "Log out <bdi>alice</bdi>" in page
    assert client.get("/chat/room/").status_code == 200
