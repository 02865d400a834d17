"""The cluster's nginx config is deploy/nginx.conf less what only a public host needs."""

import re

import pytest

from chatapp import config
from deploy import nginx, services
from tests.services import unavailable

GUNICORNS = ["127.0.0.1:8001", "127.0.0.1:8002"]
EXAMPLE = nginx.parse(nginx.EXAMPLE.read_text())
SITE = nginx.parse(nginx.cluster_site(8080, GUNICORNS))
NGINX_UNITS = {"s": 1, "m": 60, "h": 3600}


def servers(directives):
    """The server blocks."""
    return [directive for directive in directives if directive.name == "server"]


def locations(directives):
    """Every location of every server, in order."""
    return [
        inner
        for server in servers(directives)
        for inner in server.block
        if inner.name == "location"
    ]


def location(directives, *words):
    """The location with these words after `location`."""
    return next(found for found in locations(directives) if found.words[1:] == words)


def setting(block, name):
    """The words of the one directive called name in a block."""
    return next(directive.words[1:] for directive in block if directive.name == name)


def seconds(value):
    """An nginx time such as 90s, 2m or 1h, in seconds."""
    number, unit = re.fullmatch(r"(\d+)([smh]?)", value).groups()
    return int(number) * NGINX_UNITS.get(unit or "s")


def test_the_cluster_keeps_every_location_of_the_example_word_for_word():
    assert locations(SITE) == locations(EXAMPLE)
    assert len(locations(SITE)) == 3


def test_the_cluster_upstream_is_its_gunicorns_balanced_by_open_connections():
    upstream = next(directive for directive in SITE if directive.words == ("upstream", "chatapp"))
    assert upstream.block == (
        nginx.Directive(("least_conn",)),
        nginx.Directive(("server", "127.0.0.1:8001")),
        nginx.Directive(("server", "127.0.0.1:8002")),
    )


def test_the_cluster_listens_on_loopback_in_plain_http_with_no_redirect():
    [server] = servers(SITE)
    assert [d.words for d in server.block if d.name == "listen"] == [("listen", "127.0.0.1:8080")]
    assert not [d for d in server.block if d.name == "http2" or d.name.startswith("ssl_")]
    assert len(servers(EXAMPLE)) == 2


def test_whatever_the_example_gains_later_reaches_the_cluster(tmp_path):
    example = nginx.EXAMPLE.read_text().replace(
        "server {\n    listen 443 ssl;",
        "limit_conn_zone $binary_remote_addr zone=addr:10m;\n\nserver {\n    listen 443 ssl;\n"
        '    add_header Strict-Transport-Security "max-age=63072000" always;',
    )
    (tmp_path / "nginx.conf").write_text(example)
    site = nginx.parse(nginx.cluster_site(8080, GUNICORNS, tmp_path / "nginx.conf"))
    assert nginx.Directive(("limit_conn_zone", "$binary_remote_addr", "zone=addr:10m")) in site
    [server] = servers(site)
    hsts = ("add_header", "Strict-Transport-Security", '"max-age=63072000"', "always")
    assert nginx.Directive(hsts) in server.block


def test_an_example_without_the_upstream_is_refused(tmp_path):
    (tmp_path / "nginx.conf").write_text("server {\n    location / {\n    }\n}\n")
    with pytest.raises(ValueError, match="no `upstream chatapp` block"):
        nginx.cluster_site(8080, GUNICORNS, tmp_path / "nginx.conf")


@pytest.mark.parametrize("text", ["server {", "server { listen 80; } }", "listen 80"])
def test_unbalanced_configuration_is_refused(text):
    with pytest.raises(ValueError):
        nginx.parse(text)


def test_rendering_gives_back_what_was_parsed():
    assert nginx.parse(nginx.render(EXAMPLE)) == EXAMPLE


@pytest.mark.parametrize(
    ("path", "upgraded"),
    [
        ("/chat/room/kitchen/ws", True),
        ("/chat/room/@1-2/ws", True),
        ("/api/v1/ws", True),
        ("/chat/room/kitchen/", False),
        ("/chat/room/kitchen/ws/more", False),
        ("/api/v1/wsx", False),
    ],
)
def test_both_sockets_and_nothing_else_are_upgraded(path, upgraded):
    [socket_location] = [found for found in locations(EXAMPLE) if found.words[1] == "~"]
    assert bool(re.search(socket_location.words[2], path)) is upgraded
    assert setting(socket_location.block, "proxy_set_header") == ("Upgrade", "$http_upgrade")


def test_sockets_and_streams_outlast_the_longest_quiet_the_app_allows():
    ping = config.WEBSOCKET_OPTIONS["ping_interval"]
    socket_timeout = setting(
        location(EXAMPLE, "~", r"^(/chat/room/[^/]+/ws|/api/v1/ws)$").block, "proxy_read_timeout"
    )
    stream = location(EXAMPLE, "=", "/chat/events").block
    assert seconds(socket_timeout[0]) >= 3 * ping
    assert seconds(setting(stream, "proxy_read_timeout")[0]) >= 3 * config.EVENTS_KEEPALIVE_SECONDS
    assert setting(stream, "proxy_buffering") == ("off",)


def test_nginx_accepts_the_whole_cluster_config(tmp_path):
    if not services.nginx_program():
        unavailable("nginx is not installed")
    (tmp_path / "temp").mkdir()
    (tmp_path / "nginx.conf").write_text(
        services.nginx_config(tmp_path, nginx.cluster_site(services.free_port(), GUNICORNS))
    )
    services.check_nginx_config(tmp_path)
