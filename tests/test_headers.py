"""Security headers on every response."""

import io
import re

import pytest
from PIL import Image

from tests.support import signed_up, submit, text


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


def test_pages_of_a_logged_in_user_are_stored_by_no_cache(app):
    alice = signed_up(app, "alice")
    for path in ["/chat/room/", "/chat/profile/", "/chat/users/", "/chat/nowhere"]:
        assert alice.get(path).headers["Cache-Control"] == "no-store", path


def test_static_files_and_avatars_keep_their_own_caching(app):
    alice = signed_up(app, "alice")
    with alice.get("/static/chatapp.css") as response:
        assert "no-store" not in response.headers.get("Cache-Control", "")
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(image, "PNG")
    data = {"username": "alice", "avatar_file": (io.BytesIO(image.getvalue()), "me.png")}
    submit(alice, "/chat/profile/", data, content_type="multipart/form-data")
    avatar = re.search(r'src="(/chat/avatars/[^"]+)"', text(alice.get("/chat/profile/"))).group(1)
    assert alice.get(avatar).headers["Cache-Control"] == "private, max-age=31536000, immutable"
