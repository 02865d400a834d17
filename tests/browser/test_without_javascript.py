"""The app with JavaScript switched off: every page is a plain form that posts and redirects,
so logging in, rooms, invitations, messages and the owner's edit page all still work."""

import pytest
from playwright.sync_api import expect

from tests.support import PASSWORD

LIMIT = 4000  # the default MAX_MESSAGE_LENGTH, which the live server keeps


@pytest.fixture
def visitor(person):
    """Make a person whose browser runs no JavaScript, signed up and in the lobby."""

    def make(username):
        return person(username, java_script_enabled=False).sign_up()

    return make


def log_in(page, username):
    """Log in with the username-first form as a known user."""
    page.goto("/chat/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"Welcome back, {username}.")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/chat/room/")


def create_room(page, name, *invitees):
    """Fill in the lobby's create form and send it; ends on the new room's page."""
    page.goto("/chat/room/")
    page.get_by_label("Room name").fill(name)
    page.get_by_label("Invite", exact=True).fill(" ".join(p.username for p in invitees))
    page.get_by_role("button", name="Create room").click()
    page.wait_for_url(f"**/chat/room/{name}/")


def invitation(page, room):
    """The invitation into room in the lobby's list."""
    page.goto("/chat/room/")
    return page.locator("#invitations .invitation", has_text=room)


def send(page, text):
    """Type into the composer and press Send."""
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def plain_post(path):
    """Match the browser's own form POST to path (htmx would add HX-Request)."""

    def matches(request):
        headers = request.headers
        return (
            request.method == "POST" and request.url.endswith(path) and "hx-request" not in headers
        )

    return matches


def messages(page):
    """The room's message list."""
    return page.get_by_role("log", name="Messages")


def room_with(visitor, room, owner_name, *member_names):
    """A room of the owner's with the members in it (each accepted from the lobby)."""
    owner = visitor(owner_name)
    members = [visitor(name) for name in member_names]
    create_room(owner.page, room, *members)
    for member in members:
        invitation(member.page, room).get_by_role("button", name="Accept").click()
        member.page.wait_for_url(f"**/chat/room/{room}/")
    return owner, *members


def test_signing_up_logging_out_and_logging_in_again_work_without_javascript(visitor):
    page = visitor("alice").page
    expect(page.get_by_role("heading", name="Rooms", exact=True)).to_be_visible()
    page.get_by_role("button", name="Log out alice").click()
    page.wait_for_url("**/chat/login/")
    log_in(page, "alice")
    expect(page.get_by_text("Hello, alice.")).to_be_visible()


def test_a_message_reaches_the_other_person_after_an_invitation_is_accepted(visitor):
    owner, guest = room_with(visitor, "porch", "olive", "gus")
    expect(guest.page.get_by_role("heading", name="porch")).to_be_visible()
    with guest.page.expect_request(plain_post("/chat/room/porch/messages")):
        send(guest.page, "Hello from a browser without scripts")
    expect(messages(guest.page)).to_contain_text("Hello from a browser without scripts")
    expect(guest.page.get_by_label("Message", exact=True)).to_have_value("")
    owner.page.reload()
    message = messages(owner.page).locator("article.message", has_text="without scripts")
    expect(message.locator(".nick")).to_have_text("gus")


def test_an_over_long_message_shows_the_error_in_place_and_keeps_the_text(visitor):
    (owner,) = room_with(visitor, "attic", "otto")
    page = owner.page
    too_long = "x" * (LIMIT + 1)
    with page.expect_response("**/chat/room/attic/messages") as sent:
        send(page, too_long)
    assert sent.value.status == 422
    status = page.locator("#composer #composer-status")
    expect(status).to_have_text(
        f"That message is {LIMIT + 1} characters long; the limit is {LIMIT}. Nothing was sent."
    )
    expect(page.get_by_label("Message", exact=True)).to_have_value(too_long)
    expect(messages(page).locator("article.message")).to_have_count(0)


def test_an_invitation_is_declined_from_the_lobby(visitor):
    owner, guest = visitor("dora"), visitor("dan")
    create_room(owner.page, "cellar", guest)
    invitation(guest.page, "cellar").get_by_role("button", name="Decline").click()
    guest.page.wait_for_url("**/chat/room/")
    expect(guest.page.get_by_text("No invitations are waiting for you.")).to_be_visible()
    expect(guest.page.locator("#my-rooms")).to_have_count(0)
    response = guest.page.goto("/chat/room/cellar/")
    assert response.status == 404


def test_the_owner_invites_revokes_and_removes_people_on_the_edit_page(visitor):
    owner, member = room_with(visitor, "study", "eve", "ed")
    newcomer = visitor("nell")
    page = owner.page
    page.get_by_role("link", name="Edit the room").click()
    page.wait_for_url("**/chat/room/study/edit/")
    people = page.locator("#room-people")

    page.get_by_label("Invite by username").fill("nell")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.get_by_text("Invited nell.")).to_be_visible()
    expect(people.get_by_text("nell", exact=True)).to_be_visible()
    expect(invitation(newcomer.page, "study")).to_have_count(1)

    page.get_by_role("button", name="Revoke the invitation of nell").click()
    expect(page.get_by_text("The invitation of nell was revoked.")).to_be_visible()
    expect(people.get_by_text("nell", exact=True)).to_have_count(0)
    expect(invitation(newcomer.page, "study")).to_have_count(0)

    page.get_by_role("button", name="Remove ed").click()
    expect(page.get_by_text("ed was removed.")).to_be_visible()
    expect(people.get_by_text("ed", exact=True)).to_have_count(0)
    expect(people.get_by_text("eve", exact=True)).to_be_visible()
    assert member.page.goto("/chat/room/study/").status == 404
