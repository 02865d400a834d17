"""The OpenAPI document and the page that lists it: made from the code, open to anyone."""

import re

from tests.api.support import API
from tests.support import text

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
UNDOCUMENTED = {"api_docs", "api_socket"}


def routes(app):
    """(method, path in OpenAPI's notation) of every API route the app serves over HTTP.

    The documents and the docs page aside, and the event socket, which AsyncAPI describes.
    """
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API) and rule.endpoint.split(".")[0] not in UNDOCUMENTED:
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            found |= {(method, path) for method in rule.methods & METHODS}
    return found


def test_the_document_is_openapi_3_1_and_describes_every_route(app, client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in METHODS
    }
    assert documented == routes(app)
    assert len(documented) >= 29
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_the_document_says_which_operations_need_no_token(client):
    document = client.get(f"{API}/openapi.json").get_json()
    open_ones = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("security") == []
    }
    assert open_ones == {("POST", f"{API}/tokens"), ("POST", f"{API}/users")}


def test_the_page_lists_every_operation_with_our_own_scripts_only(app, client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    page = text(response)
    for method, path in routes(app):
        assert f"<code>{method} {path}</code>" in page
    assert "No token needed." in page
    assert 'href="/api/v1/openapi.json"' in page
    assert all(src.startswith("/static/") for src in re.findall(r'<script src="([^"]+)"', page))
