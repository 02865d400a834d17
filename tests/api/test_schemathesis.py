"""Schemathesis against the live server: generated requests to every operation, answered
without a 5xx and as the document says, a bounded number of examples each."""

import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from chatapp import create_app
from chatapp.blueprints.api.spec import current_document
from tests.api.support import API, call_live, live_token
from tests.live import live_server
from tests.support import PASSWORD

EXAMPLES_PER_OPERATION = 20
GUNICORN_LINE_LIMIT = "Request Line is too large"
# What the document promises: no 5xx, and statuses, headers and bodies as described; that
# a token is asked for; 405 with Allow. Not whether every schema-valid name passes the
# naming rule (Unicode letters, normalised) or every invalid one fails: JSON Schema's
# patterns cannot say that rule, and the tests of tests/api/ pin it down instead.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,
    checks.unsupported_method,
    checks.allow_header_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server that neither the flood limit nor the API's rate limit slows down."""
    folder = tmp_path_factory.mktemp("schemathesis")
    settings_ = {"FLOOD_LIMIT": "off", "API_RATE_LIMIT": "1000000/m"}
    with live_server(folder, migrated_database, **settings_) as running:
        yield running


@pytest.fixture(scope="module")
def owner(server):
    """A user who owns a room with a message in it; (username, token)."""
    status, _ = call_live(server, "POST", "/users", {"username": "olga", "password": PASSWORD})
    assert status == 201
    token = live_token(server, "olga")
    assert call_live(server, "POST", "/rooms", {"name": "kitchen"}, token)[0] == 201
    assert call_live(server, "POST", "/rooms/kitchen/messages", {"body": "hi"}, token)[0] == 201
    return "olga", token


def built_document():
    """The document as the code builds it, read before any server runs, to name the tests."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "-", "SQLALCHEMY_DATABASE_URI": "sqlite://",
             "LOG_DIR": folder}
        )  # fmt: skip
        with app.test_request_context():
            return current_document()


DOCUMENT = built_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_live_server_serves_the_document_the_tests_were_made_from(server):
    assert call_live(server, "GET", "/openapi.json") == (200, DOCUMENT)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, server, owner):
    username, token = owner
    if case.path == f"{API}/tokens/current":
        token = live_token(server, username)  # this operation revokes the token it carries
    # gunicorn answers a transfer coding it does not know with 501 itself, as HTTP asks,
    # before the app sees the request: such a request tests gunicorn, not the API.
    for name in [name for name in case.headers or {} if name.lower() == "transfer-encoding"]:
        del case.headers[name]
    headers = {"Authorization": f"Bearer {token}"}
    response = case.call(base_url=server.url, headers=headers)
    # So does a request line over gunicorn's limit (4094 bytes): 414, as an HTML page.
    if response.status_code == 414 and GUNICORN_LINE_LIMIT in response.text:
        return
    case.validate_response(response, checks=CHECKS, headers=headers)
