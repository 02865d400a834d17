"""Path traversal: names that are paths reach no file outside the log folder, and get 404 or 422."""

import http.client
import os
import urllib.parse

import pytest

from tests.live import live_server
from tests.support import PASSWORD

# As they appear in a URL path: raw, percent-encoded, doubly encoded, with backslashes.
URL_NAMES = [
    "..",
    ".",
    "..%2F..%2Fetc",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc",
    "..%5C..%5Cetc",
    "a%5Cb",
    "%252e%252e%252f",
    "%00",
    "kitchen%00",
    "x" * 300,
    "..%c0%af..%c0%afetc",
    "%2Fetc%2Fpasswd",
]
# As they are typed into a form.
FORM_NAMES = ["..", ".", "../x", "..\\x", "a/b", "/etc/passwd", "a\\b", "x" * 65, "%2e%2e", "~"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_database):
    """A live server whose folder is watched for files appearing outside its logs."""
    with live_server(tmp_path_factory.mktemp("traversal"), migrated_database) as running:
        yield running


def files_outside_logs(server):
    """Every file under the server's folder and its parent, but the log folder's."""
    found = set()
    for top in (server.folder.parent,):
        for folder, _, names in os.walk(top):
            if not folder.startswith(str(server.logs)):
                found.update(os.path.join(folder, name) for name in names)
    # The database's journal and the server's own output change by themselves.
    return {path for path in found if "chatapp.sqlite" not in path and "server.log" not in path}


def raw_request(server, browser, method, path):
    """Send a request with the path exactly as written: no client normalises it."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Cookie": browser.cookie_header()}
    body = None
    if method == "POST":
        _, _, page = browser.get("/chat/room/")
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        body = urllib.parse.urlencode({"csrf_token": token, "confirm_name": ".."})
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


@pytest.mark.parametrize("name", URL_NAMES)
def test_a_path_for_a_name_is_404_everywhere(server, name):
    (mallory,) = server.people("mallory")
    before = files_outside_logs(server)
    paths = [
        ("GET", f"/chat/room/{name}/"),
        ("GET", f"/chat/room/{name}/messages"),
        ("GET", f"/chat/room/{name}/edit/"),
        ("GET", f"/chat/users/{name}/"),
        ("POST", f"/chat/room/{name}/join"),
        ("POST", f"/chat/room/{name}/leave"),
        ("POST", f"/chat/room/{name}/messages"),
        ("POST", f"/chat/room/{name}/edit/delete"),
        ("POST", f"/chat/users/{name}/message"),
    ]
    statuses = {path: raw_request(server, mallory, method, path) for method, path in paths}
    assert set(statuses.values()) <= {404, 405}, statuses
    assert files_outside_logs(server) == before


@pytest.mark.parametrize("name", FORM_NAMES)
def test_a_path_typed_as_a_room_or_user_name_is_refused(server, name):
    (mallory,) = server.people("mallory")
    before = files_outside_logs(server)
    status, url, _ = mallory.post("/chat/room/", {"name": name, "visibility": "public"})
    assert status == 422 and url.endswith("/chat/room/"), (status, url)
    room = mallory.room_with()
    status, _, _ = mallory.post(f"/chat/room/{room}/edit/", {"name": name, "visibility": "private"})
    assert status == 422
    profile = {"username": name}
    status, _, _ = mallory.post("/chat/profile/", profile, page="/chat/profile/")
    assert status == 422
    stranger = server.browser()
    data = {"username": name, "password": PASSWORD, "password_confirm": PASSWORD}
    status, _, _ = stranger.post("/chat/login/", data, page="/chat/login/")
    assert status == 422
    assert files_outside_logs(server) == before
    assert all(name.startswith("chatroom") for name in os.listdir(server.logs))
