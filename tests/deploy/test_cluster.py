"""The whole deployment on one machine: nginx in front of two gunicorns, PostgreSQL, Redis."""

import http.client
import time
import urllib.parse
import urllib.request
import zlib

import pytest

from tests.live import Browser, unique


@pytest.fixture
def browsers(cluster):
    """Browsers at nginx's address; their sockets and streams are closed after the test."""
    made = []

    def browser(base_url=cluster.url):
        made.append(Browser(base_url))
        return made[-1]

    yield browser
    for made_browser in made:
        made_browser.close()


def same_browser_at(browser, base_url):
    """The same browser, cookies and all, talking to the site at another address."""
    other = Browser(base_url)
    other.username, other.cookies = browser.username, browser.cookies
    other.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(other.cookies))
    return other


def served(gunicorn, marker):
    """How many requests whose line contains marker the gunicorn's access log has."""
    return gunicorn.output().count(marker)


def wait_for_access_logs(cluster, marker, count, timeout=5):
    """The requests with marker each gunicorn served, once all count of them are logged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = [served(gunicorn, marker) for gunicorn in cluster.gunicorns]
        if sum(counts) >= count:
            return counts
        time.sleep(0.05)
    raise AssertionError(f"the gunicorns logged {counts} of {count} requests with {marker}")


def first_event(base_url, browser, within):
    """Open the event stream as a browser does, gzip welcome; (response, first event's text).

    Fails unless the first event has arrived within that many seconds.
    """
    host, port = urllib.parse.urlsplit(base_url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=within)
    headers = {
        "Cookie": browser.cookie_header(),
        "Accept": "text/event-stream",
        "Accept-Encoding": "gzip, deflate, br",
        "Origin": base_url,
    }
    try:
        connection.request("GET", "/chat/events", headers=headers)
        response = connection.getresponse()
        gzipped = response.headers["Content-Encoding"] == "gzip"
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 16) if gzipped else None
        text = ""
        while "\n\n" not in text:
            chunk = response.read1(4096)
            if not chunk:
                break
            text += (decoder.decompress(chunk) if decoder else chunk).decode()
        return response, text.split("\n\n", 1)[0]
    except TimeoutError:
        pytest.fail(f"no whole event within {within} s of asking")
    finally:
        connection.close()


def test_the_login_page_comes_through_nginx(cluster):
    with urllib.request.urlopen(f"{cluster.url}/chat/login/", timeout=10) as response:
        assert response.headers["Server"].startswith("nginx")
        assert "<h1>Log in</h1>" in response.read().decode()


def test_requests_are_spread_over_both_gunicorns(cluster):
    marker = unique("spread")
    for number in range(8):
        with urllib.request.urlopen(f"{cluster.url}/chat/login/?{marker}={number}", timeout=10):
            pass
    assert wait_for_access_logs(cluster, marker, 8) == [4, 4]


def test_new_connections_go_to_the_gunicorn_with_the_fewest_open(cluster, browsers):
    alice = browsers().sign_up(unique("alice"))
    alice.events(origin=cluster.url).wait_for("invitation-badge")
    marker = unique("fewest")
    for number in range(4):
        with urllib.request.urlopen(f"{cluster.url}/chat/login/?{marker}={number}", timeout=10):
            pass
    # The open stream holds one gunicorn: every request goes to the other.
    assert sorted(wait_for_access_logs(cluster, marker, 4)) == [0, 4]


def test_each_gunicorn_runs_its_workers(cluster):
    assert [len(gunicorn.worker_pids()) for gunicorn in cluster.gunicorns] == [1, 1]


def test_sign_up_and_a_room_socket_work_through_nginx(cluster, browsers):
    alice = browsers().sign_up(unique("alice"))
    room = alice.room_with()
    socket = alice.socket(room)
    socket.say("hello through nginx")
    assert "hello through nginx" in socket.wait_for("hello through nginx")
    log = cluster.folder / "logs" / f"chatroom{room}.txt"
    assert log.read_text().endswith(f"{alice.username}: hello through nginx\n")


def test_a_socket_from_another_site_is_refused_through_nginx(cluster, browsers):
    alice = browsers().sign_up(unique("alice"))
    room = alice.room_with()
    with pytest.raises(Exception, match="403"):
        alice.socket(room, origin="http://evil.example")


def test_the_event_stream_starts_at_once_through_nginx(cluster, browsers):
    alice = browsers().sign_up(unique("alice"))
    response, first = first_event(cluster.url, alice, within=2)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert first.startswith("event: update\n")
    assert 'id="invitation-badge"' in first


def test_a_login_through_nginx_holds_on_each_gunicorn_and_both_write_one_room(cluster, browsers):
    alice = browsers().sign_up(unique("alice"))
    room = alice.room_with()
    for gunicorn in cluster.gunicorns:
        direct = same_browser_at(alice, gunicorn.url)
        status, url, _ = direct.post(
            f"/chat/room/{room}/messages",
            {"body": f"sent to gunicorn {gunicorn.number}"},
            page=f"/chat/room/{room}/",
        )
        assert f"/chat/room/{room}/" in url, (status, url)
    _, _, page = alice.get(f"/chat/room/{room}/")
    assert "sent to gunicorn 1" in page
    assert "sent to gunicorn 2" in page
    lines = (cluster.folder / "logs" / f"chatroom{room}.txt").read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        f"{alice.username}: sent to gunicorn 1",
        f"{alice.username}: sent to gunicorn 2",
    ]


def test_a_message_reaches_a_member_served_by_the_other_gunicorn(cluster, browsers):
    alice = browsers().sign_up(unique("alice"))
    bob = browsers().sign_up(unique("bob"))
    room = alice.room_with(bob)
    first, second = cluster.gunicorns
    alice_socket = same_browser_at(alice, first.url).socket(room)
    alice_socket.say("said before bob came")
    alice_socket.wait_for("said before bob came")
    bob_socket = same_browser_at(bob, second.url).socket(room)
    # Caught up from the database: from here on, only the live path brings messages.
    bob_socket.wait_for("said before bob came")
    alice_socket.say("across processes")
    bob_socket.wait_for("across processes", timeout=3)
