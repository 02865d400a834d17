"""Messages keep their order on the page whatever order their frames arrive in."""

import re

from playwright.sync_api import expect

from tests.browser.test_journeys import (
    assert_no_console_errors,
    message,
    message_ids,
    room_with,
    say,
    sign_up,
)
from tests.live import unique

HELD = 3


def shuffle_message_frames(route):
    """Pass the room's frames to the page, but hold messages and send them back to front,
    the first one twice."""
    server = route.connect_to_server()
    held = []

    def from_server(frame):
        if "data-new-messages" not in frame:
            route.send(frame)
            return
        held.append(frame)
        if len(held) == HELD:
            for late in [*reversed(held), held[0]]:
                route.send(late)

    server.on_message(from_server)


def test_messages_out_of_order_or_twice_are_shown_once_in_order(person):
    alice, bob = sign_up(person(unique("alice"))), sign_up(person(unique("bob")))
    room = room_with(alice, bob)
    bob.page.route_web_socket(re.compile(r"/ws$"), shuffle_message_frames)
    bob.page.reload()
    expect(bob.page.locator("#presence")).to_contain_text(bob.username)
    for text in ("one", "two", "three"):
        say(alice, f"{room} {text}")
    expect(message(bob, f"{room} three")).to_be_visible()
    ids = message_ids(bob)
    assert ids == sorted(set(ids))
    texts = bob.page.locator("#messages article .body").all_inner_texts()
    assert texts[-3:] == [f"{room} one", f"{room} two", f"{room} three"]
    assert_no_console_errors(alice, bob)
