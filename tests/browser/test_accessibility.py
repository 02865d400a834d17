"""Accessibility in a real browser: axe-core on every page in both colour schemes, the
message list as a live log, the room and the lobby by keyboard alone, visible focus, and
nickname colours as the browser draws them."""

import contextlib
import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE
from tests.services import unavailable
from tests.support import PASSWORD

SCHEMES = ("light", "dark")
BLOCKING = ("serious", "critical")
ROOM = "kitchen"
PAGES = {
    "lobby": "/chat/room/",
    "edit": f"/chat/room/{ROOM}/edit/",
    "invitations": "/chat/invitations/",
    "people": "/chat/users/",
    "profile": "/chat/users/bob/",
    "my-profile": "/chat/profile/",
    "not-found": "/chat/room/nowhere/",
    "earlier": f"/chat/room/{ROOM}/messages?before=1000000",
}
# axe-core rules switched off on every page, each with the reason: none so far.
EXCLUDED_RULES: dict[str, str] = {}


@pytest.fixture(scope="module")
def world(server):
    """What the pages show, made over plain HTTP: alice owns kitchen, where bob talks too;
    carol has a public garden and invites alice into her attic."""
    alice = server.browser().sign_up("alice")
    bob = server.browser().sign_up("bob")
    carol = server.browser().sign_up("carol")
    alice.create_room(ROOM, bob)
    bob.accept_invitation(ROOM)
    carol.create_room("garden", visibility="public")
    carol.create_room("attic", alice)
    say(alice, "Soup is on the stove.")
    say(bob, "On my way, with a very long story about the market that wraps a line or two.")
    say(bob, "/pm alice Bring bread, please.")
    return SimpleNamespace(alice=alice, bob=bob, carol=carol)


def say(browser, body):
    """Send a message into the kitchen with the plain form."""
    status, _, _ = browser.post(f"/chat/room/{ROOM}/messages", {"body": body})
    assert status == 200, status


@pytest.fixture
def axe():
    """axe-core's script, which `make test` fetches; skip (or fail under CI) without it."""
    if not AXE.exists():
        unavailable(f"axe-core is not installed at {AXE} (make test fetches it)")
    return AXE


def log_in(person):
    """Log in with the username-first form as a known user; ends in the lobby."""
    page = person.page
    page.goto("/chat/login/")
    page.get_by_label("Username").fill(person.username)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/chat/room/")
    return person


def alice_in(person, scheme="light", **options):
    """alice, logged in, in a browser with this colour scheme."""
    return log_in(person("alice", color_scheme=scheme, bypass_csp=True, **options))


def blocking_violations(page, axe):
    """The serious and critical violations axe-core finds on the page as it is now."""
    page.add_script_tag(path=axe)
    options = {"rules": {rule: {"enabled": False} for rule in EXCLUDED_RULES}}
    results = page.evaluate("async (options) => await axe.run(document, options)", options)
    return [found for found in results["violations"] if found["impact"] in BLOCKING]


def described(violations):
    """Violations as lines people can read: rule, impact, what failed and where."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


def assert_accessible(page, axe):
    """Fail with a readable list when axe-core finds anything serious or critical."""
    violations = blocking_violations(page, axe)
    assert not violations, f"axe-core on {page.url}:\n{described(violations)}"


@contextlib.contextmanager
def connected(browser):
    """Someone in the kitchen over a plain socket, for as long as the block lasts."""
    socket = browser.socket(ROOM)
    try:
        yield socket
    finally:
        socket.close()


def open_kitchen(alice):
    """Open the kitchen and wait until alice's own socket has joined it."""
    page = alice.page
    page.goto(f"/chat/room/{ROOM}/")
    expect(page.locator("#presence .present")).not_to_have_count(0)
    return page


# axe-core on every page


@pytest.mark.parametrize("scheme", SCHEMES)
def test_both_login_steps_pass_axe(person, axe, scheme):
    page = person("newcomer", color_scheme=scheme, bypass_csp=True).page
    page.goto("/chat/login/")
    assert_accessible(page, axe)
    page.get_by_label("Username").fill(f"newcomer-{scheme}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Password again")).to_be_visible()
    assert_accessible(page, axe)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_every_page_passes_axe(world, person, axe, scheme, path):
    page = alice_in(person, scheme).page
    page.goto(path)
    if path == "/chat/room/":
        expect(page.locator("#invitations .invitation")).to_have_count(1)
        expect(page.locator("#other-rooms")).to_contain_text("garden")
    assert_accessible(page, axe)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_room_with_messages_a_notice_and_presence_passes_axe(world, person, axe, scheme):
    page = open_kitchen(alice_in(person, scheme))
    with connected(world.bob):
        expect(page.locator("#messages .notice", has_text="bob joined the room.")).to_be_visible()
        expect(page.locator("#presence .present")).to_have_count(2)
        expect(page.locator("#messages .message.personal")).to_have_count(1)
        page.locator("#presence summary", has_text="bob").click()
        expect(page.get_by_label("Personal message to bob")).to_be_visible()
        assert_accessible(page, axe)


# The message list as a live log


def test_the_message_list_is_a_live_log_that_new_messages_arrive_in(world, person):
    page = open_kitchen(alice_in(person))
    log = page.get_by_role("log", name="Messages")
    expect(log).to_have_attribute("id", "messages")
    expect(log).to_have_attribute("aria-live", "polite")
    with connected(world.bob) as bob:
        bob.say("Anyone for tea?")
        expect(log.locator("article.message", has_text="Anyone for tea?")).to_be_visible()


# By keyboard alone


def press_tab_until(page, target, limit=80):
    """Press Tab until target has the focus; fail if it never gets it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    focused = page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
    raise AssertionError(f"Tab never reached {target}; the focus ended on {focused}")


def test_the_composer_is_reached_with_tab_and_enter_sends(world, person):
    alice = alice_in(person)
    page = open_kitchen(alice)
    composer = page.get_by_label("Message", exact=True)
    with connected(world.bob) as bob:
        press_tab_until(page, composer)
        page.keyboard.type("Typed without a mouse")
        page.keyboard.press("Enter")
        expect(page.locator("#messages")).to_contain_text("Typed without a mouse")
        expect(composer).to_have_value("")
        bob.wait_for("Typed without a mouse")
    assert not alice.console_errors


def test_a_personal_message_is_sent_from_the_presence_list_by_keyboard(world, person):
    page = open_kitchen(alice_in(person))
    with connected(world.bob) as bob:
        name = page.locator("#presence summary", has_text="bob")
        expect(name).to_be_visible()
        press_tab_until(page, name)
        pm_field = page.get_by_label("Personal message to bob")
        page.keyboard.press(" ")
        expect(pm_field).to_be_visible()
        page.keyboard.press(" ")
        expect(pm_field).to_be_hidden()
        page.keyboard.press("Enter")
        expect(pm_field).to_be_visible()
        page.keyboard.press("Tab")
        expect(pm_field).to_be_focused()
        page.keyboard.type("Just between us")
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Send personally").first).to_be_focused()
        page.keyboard.press("Enter")
        personal = page.locator("#messages .message.personal", has_text="Just between us")
        expect(personal).to_contain_text("personal, to bob")
        bob.wait_for("Just between us")


def test_a_room_is_created_from_the_lobby_by_keyboard(world, person):
    page = alice_in(person).page
    name = page.get_by_label("Room name")
    press_tab_until(page, name)
    page.keyboard.type("pantry")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Private: invited people only")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Public: anyone here can join")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Invite", exact=True)).to_be_focused()
    page.keyboard.type("bob")
    page.keyboard.press("Enter")
    page.wait_for_url("**/chat/room/pantry/")
    expect(page.get_by_role("heading", name="pantry")).to_be_visible()
    expect(page.locator(".room-header .badge")).to_have_text("public")


FOCUS_STYLE = """element => {
  const style = getComputedStyle(element);
  return {
    outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(" "),
    shadow: style.boxShadow,
  };
}"""


def focus_style(target):
    """How the element's outline and shadow are drawn right now."""
    return target.evaluate(FOCUS_STYLE)


def draws_a_ring(style):
    """Whether an outline or a shadow is drawn."""
    return not style["outline"].startswith("none") or style["shadow"] != "none"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_keyboard_focus_is_visible_on_links_fields_and_buttons(world, person, scheme):
    page = alice_in(person, scheme).page
    targets = [
        page.get_by_role("navigation", name="Main").get_by_role("link", name="People"),
        page.get_by_label("Room name"),
        page.get_by_label("Private: invited people only"),
        page.get_by_role("button", name="Create room"),
    ]
    for target in targets:
        unfocused = focus_style(target)
        press_tab_until(page, target)
        assert target.evaluate("element => element.matches(':focus-visible')")
        focused = focus_style(target)
        assert focused != unfocused, f"{target} looks the same with the focus: {focused}"
        assert draws_a_ring(focused), f"{target} has no outline or shadow: {focused}"


# Nickname colours as drawn


CONTRAST_PAIRS = """() => {
  const opaque = colour => !/^rgba\\(.*, 0\\)$/.test(colour) && colour !== "transparent";
  const behind = element => {
    for (let at = element; at; at = at.parentElement) {
      const colour = getComputedStyle(at).backgroundColor;
      if (opaque(colour)) return colour;
    }
    return getComputedStyle(document.documentElement).backgroundColor;
  };
  return [...document.querySelectorAll(".message .nick, .present .nick")].map(nick => ({
    where: nick.closest("[id], [data-user-id]").outerHTML.slice(0, 80),
    text: nick.textContent,
    colour: getComputedStyle(nick).color,
    background: behind(nick),
  }));
}"""


def rgb(colour):
    """(r, g, b) of a computed CSS colour such as rgb(1, 2, 3)."""
    return tuple(int(part) for part in re.findall(r"[\d.]+", colour)[:3])


def luminance(colour):
    """The relative luminance of an (r, g, b) colour (WCAG 2)."""
    channels = [c / 255 for c in colour]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one, other):
    """The WCAG contrast ratio of two (r, g, b) colours."""
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nicknames_keep_a_contrast_of_4_5_against_what_is_behind_them(world, person, scheme):
    page = open_kitchen(alice_in(person, scheme))
    with connected(world.bob):
        expect(page.locator("#presence .present")).to_have_count(2)
        pairs = page.evaluate(CONTRAST_PAIRS)
    assert {pair["text"] for pair in pairs} >= {"alice", "bob"}
    low = [
        f"{pair['text']} {pair['colour']} on {pair['background']}: {ratio:.2f} ({pair['where']})"
        for pair in pairs
        if (ratio := contrast(rgb(pair["colour"]), rgb(pair["background"]))) < 4.5
    ]
    assert not low, "\n".join(low)
