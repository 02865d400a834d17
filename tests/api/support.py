"""Helpers for API tests: a program with a token, as a bot would be."""

import json
import urllib.error
import urllib.request

from tests.support import PASSWORD

API = "/api/v1"


class Program:
    """A program calling the API with one user's token."""

    def __init__(self, client, username, token):
        self.client = client
        self.username = username
        self.token = token

    def call(self, method, path, json=None, **kwargs):
        """Send a request with this program's token."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(API + path, method=method, json=json, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.call("POST", path, json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.call("PATCH", path, json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.call("PUT", path, json, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


def sign_up(client, username, password=PASSWORD):
    """Make an account through the API."""
    response = client.post(f"{API}/users", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return response


def new_token(client, username, password=PASSWORD, name=None):
    """Ask for a token with a username and password; return the secret."""
    body = {"username": username, "password": password}
    if name is not None:
        body["name"] = name
    response = client.post(f"{API}/tokens", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def program(app, username):
    """A program for a new user, signed up and holding a token."""
    client = app.test_client()
    sign_up(client, username)
    return Program(client, username, new_token(client, username))


def error_of(response):
    """The (code, message) of an API refusal."""
    error = response.get_json()["error"]
    return error["code"], error["message"]


def call_live(server, method, path, body=None, token=None):
    """(status, JSON answer) of one API request to a live server over real HTTP."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + API + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def live_token(server, username, password=PASSWORD):
    """A token for a user of a live server."""
    status, answer = call_live(
        server, "POST", "/tokens", {"username": username, "password": password}
    )
    assert status == 201, answer
    return answer["token"]
