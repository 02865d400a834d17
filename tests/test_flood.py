"""Flood control: the limit's format, and refusing once a user sends too fast."""

import limits
import pytest

from chatapp.extensions import flood_control
from chatapp.flood import parse_flood_limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/10s", limits.parse("10 per 10 seconds")),
        ("30/m", limits.parse("30 per 1 minute")),
        (" 5 / 2h ", limits.parse("5 per 2 hours")),
        ("off", None),
        ("OFF", None),
    ],
)
def test_a_flood_limit_is_read_from_its_short_form(text, expected):
    assert parse_flood_limit(text) == expected


@pytest.mark.parametrize("text", ["", "10", "ten/10s", "10/10d", "10 per 10 seconds"])
def test_a_malformed_flood_limit_is_refused_at_start(make_app, text):
    with pytest.raises(ValueError, match="FLOOD_LIMIT must look like"):
        make_app(FLOOD_LIMIT=text)


def test_the_message_over_the_limit_is_told_how_long_to_wait(make_app):
    app = make_app(FLOOD_LIMIT="2/10s")
    with app.app_context():
        assert [flood_control.retry_after(1, 7) for _ in range(2)] == [0, 0]
        assert 1 <= flood_control.retry_after(1, 7) <= 10
        assert flood_control.retry_after(2, 7) == 0
        assert flood_control.retry_after(1, 8) == 0


def test_off_never_refuses(make_app):
    app = make_app(FLOOD_LIMIT="off")
    with app.app_context():
        assert {flood_control.retry_after(1, 7) for _ in range(50)} == {0}


def test_asking_how_long_to_wait_counts_nothing(make_app):
    app = make_app(FLOOD_LIMIT="2/10s")
    with app.app_context():
        assert [flood_control.wait_seconds(1, 7) for _ in range(5)] == [0] * 5
        assert [flood_control.retry_after(1, 7) for _ in range(2)] == [0, 0]
        assert 1 <= flood_control.wait_seconds(1, 7) <= 10
        assert flood_control.wait_seconds(1, 8) == 0
