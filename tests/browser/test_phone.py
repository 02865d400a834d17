"""A phone: a narrow, tall touch screen whose keyboard takes half of it. Nothing scrolls
sideways, and in a room the composer and the latest messages stay in view, the keyboard
up or down; who is here and the members are a scroll away below."""

import pytest
from playwright.sync_api import expect

from tests.support import PASSWORD

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
KEYBOARD_UP = {"width": 375, "height": 450}
ROOM = "kitchen"
LONG_WORD = "Supercalifragilisticexpialidocious" * 3
PAGES = {
    "lobby": "/chat/room/",
    "room": f"/chat/room/{ROOM}/",
    "edit": f"/chat/room/{ROOM}/edit/",
    "profile": "/chat/users/bob/",
}
SIDEWAYS = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  clientWidth: document.documentElement.clientWidth,
  beyond: [...document.querySelectorAll("body *")]
    .filter(element => element.getBoundingClientRect().right > innerWidth + 0.5)
    .filter(element => !element.parentElement.closest("nav"))
    .slice(0, 5).map(element => element.outerHTML.slice(0, 100)),
})"""


@pytest.fixture(scope="module")
def world(server):
    """alice owns the kitchen, where she and bob have said more than a phone shows at once;
    carol is invited, so the edit page lists an invitation too."""
    alice = server.browser().sign_up("alice")
    bob = server.browser().sign_up("bob")
    server.browser().sign_up("carol")
    alice.create_room(ROOM, bob)
    bob.accept_invitation(ROOM)
    alice.post(f"/chat/room/{ROOM}/edit/invite", {"username": "carol"})
    for number in range(8):
        say(bob if number % 2 else alice, f"Message {number}: {LONG_WORD}")
    return alice


def say(browser, body):
    """Send a message into the kitchen with the plain form."""
    status, _, _ = browser.post(f"/chat/room/{ROOM}/messages", {"body": body})
    assert status == 200, status


@pytest.fixture
def alice(world, person):
    """alice on her phone, logged in with the login form."""
    alice = person("alice", **PHONE)
    page = alice.page
    page.goto("/chat/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/chat/room/")
    return alice


def open_kitchen(page):
    """Open the kitchen and wait until the page's socket has joined it."""
    page.goto(f"/chat/room/{ROOM}/")
    expect(page.locator("#presence .present")).not_to_have_count(0)


def box(locator):
    """Where the element is in the viewport: left, top, right and bottom."""
    rect = locator.evaluate(
        "element => { const r = element.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; }"
    )
    return dict(zip(("left", "top", "right", "bottom"), rect, strict=True))


def assert_fully_in_view(page, locator):
    """Fail unless the element's whole box is inside the viewport."""
    viewport, where = page.viewport_size, box(locator)
    assert where["top"] >= 0 and where["left"] >= 0, (where, viewport)
    assert where["bottom"] <= viewport["height"] + 0.5, (where, viewport)
    assert where["right"] <= viewport["width"] + 0.5, (where, viewport)


def assert_messages_above_composer(page):
    """The message list shows a good part of itself, above the composer and in view."""
    messages, composer = box(page.locator("#messages")), box(page.locator("#composer"))
    assert messages["bottom"] <= composer["top"] + 0.5, (messages, composer)
    assert messages["bottom"] - max(messages["top"], 0) >= 100, messages
    latest = page.locator("#messages article.message").last
    expect(latest).to_be_in_viewport()


@pytest.mark.parametrize(("name", "path"), PAGES.items(), ids=PAGES.keys())
def test_no_page_scrolls_sideways_on_a_phone(alice, name, path):
    alice.page.goto(path)
    alice.screenshot(f"phone-{name}")
    sideways = alice.page.evaluate(SIDEWAYS)
    assert sideways["scrollWidth"] <= sideways["clientWidth"], sideways
    assert not sideways["beyond"], sideways


def test_the_composer_and_the_latest_message_are_in_view_in_a_room(alice):
    open_kitchen(alice.page)
    alice.screenshot("phone-room")
    assert_fully_in_view(alice.page, alice.page.locator("#composer"))
    assert_messages_above_composer(alice.page)


def test_the_composer_and_the_messages_stay_in_view_above_the_keyboard(alice):
    page = alice.page
    open_kitchen(page)
    page.get_by_label("Message", exact=True).focus()
    page.set_viewport_size(KEYBOARD_UP)
    alice.screenshot("phone-room-keyboard")
    assert_fully_in_view(page, page.locator("#composer"))
    assert_messages_above_composer(page)
    page.keyboard.type("Sent from the phone")
    page.keyboard.press("Enter")
    expect(page.locator("#messages article.message").last).to_contain_text("Sent from")
    assert_messages_above_composer(page)
    assert not alice.console_errors


def test_who_is_here_and_the_members_are_a_scroll_away_below_the_room(alice):
    page = alice.page
    open_kitchen(page)
    conversation = box(page.locator(".conversation"))
    members = page.get_by_role("heading", name="Members")
    assert box(members)["top"] >= conversation["bottom"]
    members.scroll_into_view_if_needed()
    expect(members).to_be_in_viewport()
    expect(page.get_by_role("heading", name="In the room now")).to_be_in_viewport()
    alice.screenshot("phone-room-members")
