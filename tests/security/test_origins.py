"""Which Origin may open a socket or stream: exactly this site or an allowed one."""

import pytest
from flask import request

from chatapp.origins import is_allowed_origin, origin_of

SITE = "https://chat.example.org"


@pytest.fixture
def app(make_app):
    """The site chat.example.org, which also allows one partner site."""
    return make_app(ALLOWED_ORIGINS="https://partner.example.net/")


def allowed(app, origin):
    """Whether a request to this site from a page of origin is allowed."""
    headers = {} if origin is None else {"Origin": origin}
    with app.test_request_context("/chat/events", base_url=SITE, headers=headers):
        return is_allowed_origin(request)


@pytest.mark.parametrize(
    "origin",
    [
        SITE,
        SITE + "/",
        "HTTPS://CHAT.EXAMPLE.ORG",
        "https://partner.example.net",
        None,  # not a browser: no page of any site is behind it
    ],
)
def test_this_site_and_allowed_sites_are_accepted(app, origin):
    assert allowed(app, origin)


@pytest.mark.parametrize(
    "origin",
    [
        "https://chat.example.org.evil.com",
        "https://chat.example.orgx",
        "https://chat.example.orgX",
        "https://chat.example.org/X",
        "https://evil.chat.example.org",
        "https://evilchat.example.org",
        "https://chat.example.org:8443",
        "http://chat.example.org",
        "wss://chat.example.org",
        "null",
        "",
        "https://partner.example.net.evil.com",
        "https://partner.example.ne",
        "https://chat.example.or",
        "https://chat.example.org@evil.com",
    ],
)
def test_other_sites_ports_schemes_and_null_are_refused(app, origin):
    assert not allowed(app, origin)


def test_an_origin_is_compared_without_its_trailing_slash_and_letter_case():
    assert origin_of("HTTPS://Chat.Example.org/") == "https://chat.example.org"
