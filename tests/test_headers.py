"""Security headers on every response."""

import pytest


@pytest.mark.parametrize("path", ["/chat/login/", "/chat/nowhere", "/static/chatapp.css"])
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as response:
        headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self';" in policy
    assert "'unsafe-eval'" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_pages_load_no_inline_script(client):
    page = client.get("/chat/login/").get_data(as_text=True)
    assert "<script>" not in page
    assert page.count("<script src=") == 3
