"""Whole journeys through the chat in Debian's chromium, as two or three people live them.

Each test signs up its own people (names unique to the test) against the module's live
gunicorn, and asserts only on what those people see: pages, notices, counts, the tab title.
The restart journey runs a server of its own, since it stops and starts it.
"""

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import GRACE, Person
from tests.live import Browser, start_server, unique

# A page reconnects after a restart with htmx's full-jitter backoff: a random wait up to
# 1 s, 2 s, 4 s, ... (to 64 s) after each failure, so after a 10 s outage up to 32 s.
RECONNECT_MS = 40_000
HTMX = "/static/vendor/htmx-2.0.11.min.js"
# How chromium reports a room socket that could not reach the server: refused, reset or
# never connected, as it was queued when the old server's listening socket closed. A
# network error only: a handshake answered with an HTTP status is no outage.
SOCKET_UNREACHABLE = (
    r"WebSocket connection to '(?P<url>[^']+)' failed: "
    r"(?:Error in connection establishment|Error during WebSocket handshake): net::ERR_[A-Z_]+"
)
# The same for the event stream, and for a stream cut as the server stopped.
STREAM_UNREACHABLE = r"Failed to load resource: net::ERR_[A-Z_]+"


def sign_up(person):
    """Sign up and wait in the lobby until its event stream is open (live from then on)."""
    with person.page.expect_response(events_stream):
        person.sign_up()
    return person


def events_stream(response):
    """Whether a response is the start of the page's event stream."""
    return response.url.endswith("/chat/events") and response.ok


def open_lobby(person):
    """Go to the lobby by the navigation and wait until it is live."""
    with person.page.expect_response(events_stream):
        person.page.get_by_role("navigation", name="Main").get_by_role("link", name="Rooms").click()
    expect(person.page).to_have_url(re.compile(r"/chat/room/$"))


def create_room(owner, name, *invitees):
    """Create a private room from the lobby's form, inviting people; ends in the room."""
    page = owner.page
    page.get_by_label("Room name").fill(name)
    page.get_by_label("Invite", exact=True).fill(" ".join(p.username for p in invitees))
    page.get_by_role("button", name="Create room").click()
    expect(page).to_have_url(re.compile(rf"/chat/room/{name}/$"))


def accept_invitation(person, room):
    """Accept the invitation into a room from the lobby; ends in the room."""
    invitation = person.page.locator("#invitations li", has_text=room)
    invitation.get_by_role("button", name="Accept").click()
    expect(person.page).to_have_url(re.compile(rf"/chat/room/{room}/$"))


def room_with(owner, *members):
    """A new room of the owner's with the members in it, everyone on the room page."""
    room = unique("room")
    create_room(owner, room, *members)
    for member in members:
        member.page.goto("/chat/room/")
        accept_invitation(member, room)
    for member in members:
        expect(notice(owner, f"{member.username} joined the room.")).to_be_visible()
    return room


def say(person, text):
    """Type a message into the composer and press Enter."""
    composer = person.page.locator("#composer-body")
    composer.fill(text)
    composer.press("Enter")
    expect(composer).to_have_value("")


def message(person, text):
    """The message with this text on the person's page."""
    return person.page.locator("#messages article").filter(has_text=text)


def notice(person, text):
    """A join or leave notice (or any other) in the person's message list."""
    return person.page.locator("#messages .notice").filter(has_text=text)


def message_ids(person):
    """The ids of the messages on the person's page, top to bottom."""
    articles = person.page.locator("#messages article")
    return articles.evaluate_all("all => all.map(article => Number(article.id.slice(4)))")


def nick_colour(article):
    """The computed colour of a message's nickname."""
    return article.locator(".nick").evaluate("nick => getComputedStyle(nick).color")


def mark_page(person):
    """Leave a mark on the page that a reload or navigation would wipe."""
    person.page.evaluate("window.journeyMark = true")


def assert_same_page(person):
    """The page was not reloaded since mark_page: what changed came live."""
    assert person.page.evaluate("window.journeyMark === true"), "the page was reloaded"


def assert_no_console_errors(*people):
    """Nobody's page logged an error or threw."""
    for person in people:
        assert person.console_errors == [], (person.username, person.console_errors)


def test_two_people_meet_in_a_private_room_and_talk(person):
    alice = sign_up(person(unique("alice"), color_scheme="dark"))
    bob = sign_up(person(unique("bob")))
    room = unique("kitchen")

    invitation = bob.page.locator("#invitations li", has_text=room)
    expect(invitation).to_have_count(0)
    mark_page(bob)
    create_room(alice, room, bob)
    expect(invitation).to_contain_text(f"from {alice.username}")
    expect(bob.page.locator("#invitation-badge")).to_be_visible()
    expect(bob.page.locator("#invitation-badge")).to_have_text("1 waiting")
    assert_same_page(bob)
    bob.screenshot("journey-lobby-with-invitation")
    accept_invitation(bob, room)
    expect(bob.page.locator("#invitation-badge")).to_be_hidden()
    expect(alice.page.locator("#live-notices")).to_contain_text(
        f"{bob.username} accepted your invitation to {room}."
    )
    expect(notice(alice, f"{bob.username} joined the room.")).to_be_visible()

    # Alice steps out to the lobby and back, so that bob sees her leave and come in.
    open_lobby(alice)
    expect(notice(bob, f"{alice.username} left the room.")).to_be_visible()
    alice.page.locator("#my-rooms").get_by_role("link", name=room, exact=True).click()
    expect(notice(bob, f"{alice.username} joined the room.")).to_be_visible()

    say(alice, "Hello bob, the kettle is on.")
    composer = bob.page.locator("#composer-body")
    composer.press_sequentially("Hi alice,")
    composer.press("Shift+Enter")
    composer.press_sequentially("milk, no sugar.")
    expect(composer).to_have_value("Hi alice,\nmilk, no sugar.")
    composer.press("Enter")
    expect(composer).to_have_value("")
    for each in (alice, bob):
        expect(message(each, "the kettle is on")).to_have_count(1)
        expect(message(each, "the kettle is on").locator(".nick")).to_have_text(alice.username)
        two_lines = message(each, "milk, no sugar")
        expect(two_lines).to_have_count(1)
        expect(two_lines.locator(".body")).to_have_text("Hi alice,\nmilk, no sugar.")
        expect(two_lines.locator(".nick")).to_have_text(bob.username)

    from_alice, from_bob = message(alice, "the kettle is on"), message(alice, "milk, no sugar")
    alice_nick = re.search(r"\bnick-\d+\b", from_alice.get_attribute("class")).group()
    bob_nick = re.search(r"\bnick-\d+\b", from_bob.get_attribute("class")).group()
    assert alice_nick != bob_nick
    assert nick_colour(from_alice) != nick_colour(from_bob)

    script = '<script>document.body.dataset.pwned = "yes"</script><b>not bold</b>'
    say(alice, script)
    for each in (alice, bob):
        expect(message(each, "not bold").locator(".body")).to_have_text(script)
        expect(each.page.locator("#messages script, #messages .body b")).to_have_count(0)
        assert each.page.locator("body").get_attribute("data-pwned") is None

    bob.screenshot("journey-room")
    alice.screenshot("journey-room-dark")
    assert_no_console_errors(alice, bob)


def test_a_personal_message_reaches_its_reader_and_nobody_else(person):
    alice, bob, carol = (sign_up(person(unique(name))) for name in ("alice", "bob", "carol"))
    room_with(alice, bob, carol)

    entry = alice.page.locator("#presence li", has_text=bob.username)
    entry.locator("summary").click()
    form = alice.page.get_by_label(f"Personal message to {bob.username}")
    form.fill("The cake is in the oven.")
    alice.page.get_by_role("button", name="Send personally").click()
    expect(form).to_be_hidden()
    say(alice, f"/pm {bob.username} Do not tell carol.")
    say(alice, "Tea for everyone at four.")

    for each in (alice, bob):
        for text in ("The cake is in the oven.", "Do not tell carol."):
            personal = message(each, text)
            expect(personal).to_have_count(1)
            expect(personal).to_have_class(re.compile(r"\bpersonal\b"))
            expect(personal.locator(".personal-badge")).to_have_text(f"personal, to {bob.username}")
        expect(message(each, "Tea for everyone")).not_to_have_class(re.compile("personal"))
    # The public message went out after the personal ones: carol had them by then if ever.
    expect(message(carol, "Tea for everyone at four.")).to_be_visible()
    for text in ("cake", "Do not tell"):
        expect(carol.page.locator("#messages")).not_to_contain_text(text)
    carol.page.reload()
    expect(message(carol, "Tea for everyone at four.")).to_be_visible()
    for text in ("cake", "Do not tell"):
        expect(carol.page.locator("#messages")).not_to_contain_text(text)
    bob.page.reload()
    expect(message(bob, "The cake is in the oven.")).to_have_class(re.compile(r"\bpersonal\b"))
    assert_no_console_errors(alice, bob, carol)


def test_unread_messages_are_counted_until_read_and_the_author_sees_the_receipt(person):
    alice, bob = sign_up(person(unique("alice"))), sign_up(person(unique("bob")))
    room = room_with(alice, bob)
    open_lobby(bob)
    mark_page(bob)
    expect(bob.page).not_to_have_title(re.compile(r"^\("))

    say(alice, "Are you there?")
    say(alice, "Lunch is ready.")
    link = bob.page.get_by_role("link", name=room, exact=True)
    entry = bob.page.locator("#my-rooms li", has=link)
    expect(entry.locator(".count-badge")).to_be_visible()
    expect(entry.locator(".count-badge")).to_have_text("2 unread")
    expect(bob.page).to_have_title(re.compile(r"^\(2\) "))
    assert_same_page(bob)

    entry.get_by_role("link", name=room, exact=True).click()
    expect(bob.page.locator("#new-line")).to_have_text("New messages")
    expect(bob.page.locator("#new-line + article")).to_contain_text("Are you there?")
    for text in ("Are you there?", "Lunch is ready."):
        expect(message(alice, text).locator(".receipt")).to_have_text("read by 1")
        expect(message(bob, text).locator(".receipt")).to_have_text("")
    expect(bob.page).not_to_have_title(re.compile(r"^\("))
    assert_no_console_errors(alice, bob)


class OutageErrors:
    """The console errors of a page that a server outage explains, told by their source."""

    def __init__(self, person, server_url, room):
        self.person = person
        self.socket = f"{server_url.replace('http://', 'ws://')}/chat/room/{room}/ws"
        self.stream = f"{server_url}/chat/events"
        self.messages = []
        person.page.on("console", self.keep)

    def keep(self, each):
        """Keep a console message with its source, for explained() to look at."""
        self.messages.append(each)

    def unexpected(self):
        """The page's console errors, less those of its socket and stream failing to connect."""
        left = list(self.person.console_errors)
        for each in self.messages:
            if each.type == "error" and self.explained(each) and each.text in left:
                left.remove(each.text)
        return left

    def explained(self, each):
        """Whether an error is the room socket or the event stream failing to reach the server."""
        socket_failed = re.fullmatch(SOCKET_UNREACHABLE, each.text)
        if socket_failed:
            return socket_failed["url"] == self.socket  # as the room socket tries to reconnect
        if re.fullmatch(STREAM_UNREACHABLE, each.text):
            return each.location["url"] == self.stream
        # htmx logs the error event of its socket (htmx:wsError) or stream (htmx:sseError) as
        # this string; its other errors (htmx:sendError, ...) log their names instead.
        return each.text == "[object Event]" and each.location["url"].endswith(HTMX)


def test_a_server_restart_loses_and_repeats_no_message(chromium, tmp_path, migrated_database):
    folder = tmp_path / "restarting"
    server = start_server(folder, migrated_database, PRESENCE_GRACE_SECONDS=GRACE)
    contexts = []
    try:

        def arrive(name):
            context = chromium.new_context(base_url=server.url)
            contexts.append(context)
            return sign_up(Person(context.new_page(), unique(name)))

        alice, bob = arrive("alice"), arrive("bob")
        carol = Browser(server.url).sign_up(unique("carol"))
        room = unique("room")
        create_room(alice, room, bob, carol)
        carol.accept_invitation(room)
        bob.page.goto("/chat/room/")
        accept_invitation(bob, room)
        outages = [OutageErrors(each, server.url, room) for each in (alice, bob)]
        expect(notice(alice, f"{bob.username} joined the room.")).to_be_visible()
        say(alice, "Before the restart.")
        expect(message(bob, "Before the restart.")).to_be_visible()

        started = time.monotonic()
        server.stop()
        stopping = time.monotonic() - started
        # Bob presses Enter while no server runs: the page keeps it until it reconnects.
        offline = "Typed while the server was down."
        bob.page.locator("#composer-body").fill(offline)
        bob.page.locator("#composer-body").press("Enter")
        server = start_server(
            folder, migrated_database, port=server.port, PRESENCE_GRACE_SECONDS=GRACE
        )
        # Posted at once, as a page without JavaScript does: most often before the pages'
        # backoff lets them back in, and shown once either way.
        meanwhile = "Sent while the pages were reconnecting."
        assert carol.post(f"/chat/room/{room}/messages", {"body": meanwhile})[0] == 200
        expect(message(alice, meanwhile)).to_be_visible(timeout=RECONNECT_MS)
        say(alice, "After the restart.")

        in_turn = ["Before the restart.", meanwhile, "After the restart."]
        for each in (bob, alice):
            for text in [*in_turn, offline]:
                expect(message(each, text)).to_have_count(1, timeout=RECONNECT_MS)
            shown = each.page.locator("#messages article .body").all_inner_texts()
            assert sorted(shown) == sorted([*in_turn, offline])
            assert [text for text in shown if text in in_turn] == in_turn
        expect(bob.page.locator("#composer-body")).to_have_value("")
        # Where bob's message falls depends on when his page got back: as saved, on both pages.
        alice_ids, bob_ids = message_ids(alice), message_ids(bob)
        assert alice_ids == bob_ids == sorted(bob_ids)
        for outage in outages:
            assert outage.unexpected() == [], outage.person.username
        # SIGTERM closes the sockets with 1012 and the old server exits by itself (in about
        # 3 s here), rather than at gunicorn's graceful_timeout (10 s), killed by its master.
        assert stopping < 7, f"the old server took {stopping:.1f} s to stop after SIGTERM"
    finally:
        for context in contexts:
            context.close()
        server.stop()


def rename_room(owner, room, new_name):
    """Rename a room on its edit page, from the room page the owner is on."""
    page = owner.page
    page.get_by_role("link", name="Edit the room").click()
    expect(page).to_have_url(re.compile(rf"/chat/room/{room}/edit/$"))
    owner.screenshot("journey-edit-room")
    page.get_by_label("Room name").fill(new_name)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/chat/room/{new_name}/edit/$"))


def test_a_renamed_room_moves_open_pages_and_says_so(person):
    alice, bob = sign_up(person(unique("alice"))), sign_up(person(unique("bob")))
    room = room_with(alice, bob)
    renamed = unique("pantry")

    rename_room(alice, room, renamed)
    expect(bob.page).to_have_url(re.compile(rf"/chat/room/{renamed}/\?renamed=$"))
    expect(bob.page.get_by_role("heading", level=1)).to_have_text(renamed)
    expect(bob.page.get_by_text(f"This room is now called {renamed}.")).to_be_visible()
    assert_no_console_errors(alice, bob)


def test_a_deleted_room_closes_open_pages_and_leaves_the_lobby(person):
    alice, bob = sign_up(person(unique("alice"))), sign_up(person(unique("bob")))
    room = room_with(alice, bob)
    renamed = unique("pantry")
    # Renamed first, so that the page bob has open is the one the rename moved him to.
    rename_room(alice, room, renamed)
    expect(bob.page).to_have_url(re.compile(rf"/chat/room/{renamed}/\?renamed=$"))

    alice.page.get_by_label("Type the room's name to confirm").fill(renamed)
    alice.page.get_by_role("button", name=f"Delete {renamed}").click()
    expect(alice.page).to_have_url(re.compile(r"/chat/room/$"))
    closed = bob.page.locator("#composer")
    expect(closed).to_contain_text(f"The room {renamed} was deleted.")
    expect(bob.page.locator("#composer-body")).to_have_count(0)
    closed.get_by_role("link", name="Back to the rooms").click()
    expect(bob.page).to_have_url(re.compile(r"/chat/room/$"))
    lists = bob.page.locator("#lobby-lists")
    expect(lists).to_contain_text("You are in no room yet.")
    expect(lists.get_by_role("link", name=renamed, exact=True)).to_have_count(0)
    expect(lists.get_by_role("link", name=room, exact=True)).to_have_count(0)
    assert_no_console_errors(alice, bob)


def test_leaving_is_announced_after_the_grace_but_a_reload_is_neither(person):
    alice, bob = sign_up(person(unique("alice"))), sign_up(person(unique("bob")))
    room_with(alice, bob)
    joined, left = f"{bob.username} joined the room.", f"{bob.username} left the room."

    bob.page.reload()
    say(bob, "Back after a reload.")
    expect(message(alice, "Back after a reload.")).to_be_visible()
    started = time.monotonic()
    bob.page.close()
    expect(notice(alice, left)).to_be_visible()
    assert time.monotonic() - started >= GRACE
    # The reload came before the close: had it counted, its notices would be here too.
    expect(notice(alice, left)).to_have_count(1)
    expect(notice(alice, joined)).to_have_count(1)
    presence = alice.page.locator("#presence")
    expect(presence).not_to_contain_text(bob.username)
    expect(presence).to_contain_text(alice.username)
    assert_no_console_errors(alice, bob)
