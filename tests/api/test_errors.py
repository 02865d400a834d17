"""Bad input, unknown paths, crashes and rate limits: JSON in one shape, nothing changed."""

import json

import pytest

from chatapp.extensions import db
from chatapp.models import User
from tests.api.support import API, error_of, program
from tests.support import HTMX, text

JSON = {"Content-Type": "application/json"}

BAD_INPUT = [
    # (name, method, path, raw body, headers, status, words in the message)
    ("not JSON", "POST", "/rooms/kitchen/messages", "{body: hi", JSON, 400, "Invalid JSON body."),
    ("not UTF-8", "POST", "/rooms/kitchen/messages", b"\xff\xfe{}", JSON, 400, "Invalid JSON"),
    ("nested too deep", "POST", "/rooms", "[" * 50_000, JSON, 400, "nested too deeply"),
    ("a list", "POST", "/rooms", "[]", JSON, 422, "Invalid input type."),
    ("a string", "POST", "/rooms/kitchen/messages", '"hi"', JSON, 422, "Invalid input type."),
    ("empty", "POST", "/rooms/kitchen/messages", "", JSON, 422, "body: Missing data"),
    ("missing field", "POST", "/rooms", "{}", JSON, 422, "name: Missing data"),
    ("unknown field", "POST", "/rooms/kitchen/messages", '{"body": "hi", "b": 1}', JSON, 422,
     "b: Unknown field."),
    ("wrong type", "POST", "/rooms/kitchen/messages", '{"body": 5}', JSON, 422,
     "body: Not a valid string."),
    ("null", "POST", "/rooms/kitchen/messages", '{"body": null}', JSON, 422,
     "body: Field may not be null."),
    ("float id", "POST", "/rooms/kitchen/read", '{"id": 1.5}', JSON, 422, "id: Not a valid"),
    ("string id", "POST", "/rooms/kitchen/read", '{"id": "1"}', JSON, 422, "id: Not a valid"),
    ("huge id", "POST", "/rooms/kitchen/read", '{"id": 1e400}', JSON, 422, "id:"),
    ("huge int", "POST", "/rooms/kitchen/read", '{"id": ' + "9" * 40 + "}", JSON, 422, "id:"),
    # One past the largest id a 32-bit INTEGER column holds (PostgreSQL would fail on it).
    ("id past 32 bits", "POST", "/rooms/kitchen/read", '{"id": 2147483648}', JSON, 422, "id:"),
    ("bool id", "POST", "/rooms/kitchen/read", '{"id": true}', JSON, 422, "id: Not a valid"),
    ("huge query id", "GET", "/rooms/kitchen/messages?after=" + "9" * 40, None, {}, 422, "after"),
    ("negative limit", "GET", "/rooms/kitchen/messages?limit=-1", None, {}, 422, "limit:"),
    ("huge limit", "GET", "/rooms/kitchen/messages?limit=1000000", None, {}, 422, "limit:"),
    ("word limit", "GET", "/rooms/kitchen/messages?limit=ten", None, {}, 422, "limit:"),
    ("huge path id", "POST", "/invitations/" + "9" * 40 + "/accept", None, {}, 404, "nothing here"),
    ("form body", "POST", "/rooms/kitchen/messages", "body=hi", {}, 415, "Send the body as JSON"),
    ("text body", "PATCH", "/me", '{"about": "x"}', {"Content-Type": "text/plain"}, 415,
     "Content-Type: application/json"),
    ("too large", "POST", "/rooms/kitchen/messages", json.dumps({"body": "x" * 70_000}), JSON, 413,
     "at most 65536 bytes"),
    ("invite not a list", "POST", "/rooms", '{"name": "hall", "invite": "bob"}', JSON, 422,
     "invite: Not a valid list."),
    ("invite bad name", "POST", "/rooms", '{"name": "hall", "invite": ["a b"]}', JSON, 422,
     "invite.0: Only"),
    ("flag as string", "PATCH", "/me", '{"shares_typing": "true"}', JSON, 422,
     "shares_typing: Not a valid boolean."),
]  # fmt: skip


def state(app):
    """Everything a bad request could have touched, as plain data."""
    with app.app_context():
        alice = User.find("alice")
        rooms = db.session.execute(db.text("SELECT name, visibility FROM rooms")).all()
        messages = db.session.execute(db.text("SELECT body FROM messages")).all()
        read = db.session.execute(db.text("SELECT last_read_message_id FROM memberships")).all()
        profile = (alice.display_name, alice.about, alice.shares_typing)
        return rooms, messages, read, profile


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "words"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(
    app, method, path, body, headers, status, words
):
    alice = program(app, "alice")
    alice.post("/rooms", {"name": "kitchen"})
    alice.post("/rooms/kitchen/messages", {"body": "hi"})
    before = state(app)
    response = alice.call(method, path, data=body, headers=headers)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/json"
    code, message = error_of(response)
    assert code and words in message
    assert state(app) == before


def test_an_unknown_path_and_a_wrong_method_answer_json(app):
    alice = program(app, "alice")
    missing = alice.get("/nowhere")
    assert missing.status_code == 404 and error_of(missing)[0] == "not_found"
    wrong = alice.call("PUT", "/rooms")
    assert wrong.status_code == 405 and error_of(wrong)[0] == "method_not_allowed"
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}
    # Without a token too: routing comes first, and nothing but JSON comes back.
    anonymous = app.test_client().get(f"{API}/nowhere", headers=HTMX)
    assert anonymous.status_code == 404 and anonymous.mimetype == "application/json"


def test_a_crash_in_the_api_answers_json_and_rolls_back(make_app):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get(f"{API}/crash")
    def crash():
        User.register("ghost", "password")
        db.session.flush()
        raise RuntimeError("the view broke after writing")

    alice = program(app, "alice")
    response = alice.get("/crash")
    assert response.status_code == 500
    assert error_of(response) == (
        "server_error",
        "Something went wrong on our side. Please try again.",
    )
    with app.app_context():
        assert User.find("ghost") is None


def test_the_pages_keep_their_html_errors(client):
    response = client.get("/chat/nowhere/")
    assert response.status_code == 404 and "<html" in text(response)


def test_every_answer_carries_the_rate_limit_and_beyond_it_429(make_app):
    app = make_app(API_RATE_LIMIT="3/m")
    alice = program(app, "alice")  # sign-up and token: two requests from the address
    answers = [alice.get("/me") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"3"}
    assert int(answers[3].headers["Retry-After"]) <= 60
    assert error_of(answers[3])[0] == "too_many_requests"
    reset = int(answers[0].headers["X-RateLimit-Reset"])
    assert reset == int(answers[3].headers["X-RateLimit-Reset"])
    # Each token has its own count; requests without one are counted by address.
    anonymous = app.test_client()
    assert anonymous.get(f"{API}/me").headers["X-RateLimit-Remaining"] == "0"
    assert anonymous.get(f"{API}/me").status_code == 429


def test_a_refused_message_over_the_rate_limit_is_not_sent(make_app):
    app = make_app(API_RATE_LIMIT="3/m")
    alice = program(app, "alice")
    for _ in range(2):
        alice.get("/me")
    alice.post("/rooms", {"name": "kitchen"})
    assert alice.post("/rooms/kitchen/messages", {"body": "hi"}).status_code == 429
    with app.app_context():
        assert db.session.execute(db.text("SELECT count(*) FROM messages")).scalar() == 0


def test_a_nul_in_any_text_is_refused_and_changes_nothing(app):
    alice = program(app, "alice")
    alice.post("/rooms", {"name": "kitchen"})
    before = state(app)
    response = alice.post("/rooms/kitchen/messages", {"body": "a\x00b"})
    assert response.status_code == 400
    assert "NUL" in error_of(response)[1]
    assert state(app) == before
