"""The lobby, creating rooms, and the owner's edit page."""

from pathlib import Path

import pytest
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import Invitation, Membership, Room
from tests.support import (
    HTMX,
    PASSWORD,
    accept_invitation,
    create_room,
    create_rooms_at_once,
    make_admin,
    pending_invitation_id,
    press,
    signed_up,
    submit,
    text,
)


def stored_room(app, name):
    """The room as the database holds it now, with its members' names and roles."""
    with app.app_context():
        room = Room.find(name)
        if room is None:
            return None
        members = {m.user.username: m.role for m in room.memberships}
        invited = sorted(i.invitee.username for i in room.pending_invitations())
        return {
            "name": room.name,
            "visibility": room.visibility,
            "members": members,
            "invited": invited,
        }


def room_count(app):
    """How many rooms exist."""
    with app.app_context():
        return len(db.session.scalars(select(Room)).all())


@pytest.fixture
def people(app):
    """alice, bob and carol, each logged in in a browser of their own."""
    return {name: signed_up(app, name) for name in ("alice", "bob", "carol")}


@pytest.fixture
def alice(people):
    """alice's browser."""
    return people["alice"]


def test_creating_a_room_opens_it_with_me_as_its_owner(app, alice):
    response = create_room(alice, "kitchen")
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/room/kitchen/"
    assert stored_room(app, "kitchen") == {
        "name": "kitchen",
        "visibility": "private",
        "members": {"alice": "owner"},
        "invited": [],
    }
    page = text(alice.get("/chat/room/kitchen/"))
    assert "<h1><bdi>kitchen</bdi></h1>" in page
    assert "Edit the room" in page


def test_htmx_creation_is_told_where_the_room_is(alice):
    response = create_room(alice, "kitchen", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/chat/room/kitchen/"


def test_creating_a_room_invites_everyone_named(app, alice):
    create_room(alice, "kitchen", invite="bob, @carol bob")
    assert stored_room(app, "kitchen")["invited"] == ["bob", "carol"]


def test_a_room_for_an_unknown_person_is_not_created(app, alice):
    response = create_room(alice, "kitchen", invite="bob zed yan", headers=HTMX)
    assert response.status_code == 422
    assert "There is no user named zed, yan." in text(response)
    assert 'id="create-room"' in text(response)
    assert "<html" not in text(response)
    assert stored_room(app, "kitchen") is None


def test_inviting_myself_at_creation_creates_nothing(app, alice):
    response = create_room(alice, "kitchen", invite="ALICE")
    assert response.status_code == 422
    assert "You cannot invite yourself." in text(response)
    assert room_count(app) == 0


@pytest.mark.parametrize(
    "name",
    ["", "   ", "../etc", "a/b", "a.b", "two words", "tab\there", "x" * 65, "semi;colon", "<b>"],
    ids=["empty", "spaces", "dotdot", "slash", "dot", "space", "tab", "too-long", "semi", "tag"],
)
def test_a_bad_room_name_is_refused_in_place(app, alice, name):
    response = create_room(alice, name)
    assert response.status_code == 422
    assert "letters, digits, _ or -" in text(response)
    assert room_count(app) == 0


def test_a_cyrillic_room_name_works_everywhere(app, alice):
    response = create_room(alice, "Кухня", invite="bob")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == "/chat/room/%D0%9A%D1%83%D1%85%D0%BD%D1%8F/"
    assert "<h1><bdi>Кухня</bdi></h1>" in text(alice.get(location))
    assert alice.get("/chat/room/кухня/").status_code == 200
    assert "Кухня" in text(alice.get("/chat/room/"))


def test_a_room_name_is_unique_in_any_letter_case(app, alice):
    create_room(alice, "kitchen")
    response = create_room(alice, "KITCHEN")
    assert response.status_code == 409
    assert "A room with that name exists already." in text(response)
    assert room_count(app) == 1


def test_two_creations_of_one_name_at_once_make_one_room(app):
    responses = create_rooms_at_once(app, "kitchen", ["alice", "bob"])
    assert sorted(r.status_code for r in responses) == [303, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "A room with that name exists already." in text(loser)
    assert room_count(app) == 1
    assert list(stored_room(app, "kitchen")["members"].values()) == ["owner"]


def test_the_lobby_lists_my_rooms_public_rooms_and_invitations(app, alice):
    bob = signed_up(app, "dave")
    create_room(alice, "kitchen", invite="dave")
    create_room(alice, "porch", visibility="public")
    create_room(alice, "attic")
    create_room(bob, "garage")
    page = text(bob.get("/chat/room/"))
    my_rooms, _, rest = page.partition('id="my-rooms"')[2].partition("</ul>")
    assert "garage" in my_rooms
    assert "1 member ·" in my_rooms
    assert "porch" in rest.partition('id="other-rooms"')[2]
    assert 'id="invitations"' in page
    assert "from <bdi>alice</bdi>" in page
    assert "attic" not in page


def test_an_admin_sees_every_room_in_the_lobby(app, alice):
    root = signed_up(app, "root")
    make_admin(app, "root")
    create_room(alice, "attic")
    page = text(root.get("/chat/room/"))
    assert "All other rooms" in page
    assert "attic" in page


def edit(client, name, new_name, visibility="private", headers=None):
    """Send the edit page's name and access form."""
    data = {"name": new_name, "visibility": visibility}
    return submit(client, f"/chat/room/{name}/edit/", data, headers=headers)


def log_file(app, name):
    """The path of a room's log file."""
    return Path(app.config["LOG_DIR"]) / f"chatroom{name}.txt"


LOG_LINE = "2026-11-22 20:11:20 alice: hello everyone\n"


def test_renaming_a_room_moves_its_log_file(app, alice):
    create_room(alice, "kitchen")
    log_file(app, "kitchen").write_text(LOG_LINE, encoding="utf-8")
    response = edit(alice, "kitchen", "Кладовка", visibility="public")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/edit/")
    assert alice.get(response.headers["Location"]).status_code == 200
    assert not log_file(app, "kitchen").exists()
    assert log_file(app, "Кладовка").read_text(encoding="utf-8") == LOG_LINE
    assert stored_room(app, "Кладовка")["visibility"] == "public"
    assert alice.get("/chat/room/kitchen/").status_code == 404


def test_renaming_onto_a_stale_log_file_keeps_both(app, alice):
    create_room(alice, "kitchen")
    log_file(app, "kitchen").write_text(LOG_LINE, encoding="utf-8")
    log_file(app, "pantry").write_text("an old room's line\n", encoding="utf-8")
    edit(alice, "kitchen", "pantry")
    assert log_file(app, "pantry").read_text(encoding="utf-8") == LOG_LINE
    (archived,) = Path(app.config["LOG_DIR"]).glob("chatroompantry.deleted-*.txt")
    assert archived.read_text(encoding="utf-8") == "an old room's line\n"


def test_a_change_of_letter_case_is_a_rename(app, alice):
    create_room(alice, "kitchen")
    assert edit(alice, "kitchen", "Kitchen").status_code == 303
    assert stored_room(app, "kitchen")["name"] == "Kitchen"


def test_renaming_onto_another_room_changes_nothing(app, alice):
    create_room(alice, "kitchen")
    create_room(alice, "pantry")
    response = edit(alice, "kitchen", "PANTRY", visibility="public", headers=HTMX)
    assert response.status_code == 409
    assert 'id="room-settings"' in text(response)
    assert "A room with that name exists already." in text(response)
    assert stored_room(app, "kitchen")["visibility"] == "private"


def test_a_bad_new_name_is_refused_in_place(app, alice):
    create_room(alice, "kitchen")
    response = edit(alice, "kitchen", "../kitchen", headers=HTMX)
    assert response.status_code == 422
    assert "letters, digits, _ or -" in text(response)
    assert stored_room(app, "kitchen")["name"] == "kitchen"


def invite(client, room, username, headers=HTMX):
    """Send the edit page's invite form."""
    return submit(
        client,
        f"/chat/room/{room}/edit/",
        {"username": username},
        action=f"/chat/room/{room}/edit/invite",
        headers=headers,
    )


def test_inviting_answers_htmx_with_the_people_section(app, alice):
    create_room(alice, "kitchen")
    response = invite(alice, "kitchen", "Bob")
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith('<section id="room-people"')
    assert "Invited bob." in page
    assert "Revoke the invitation of bob" in page
    assert stored_room(app, "kitchen")["invited"] == ["bob"]


def test_inviting_without_javascript_comes_back_to_the_edit_page(app, alice):
    create_room(alice, "kitchen")
    response = invite(alice, "kitchen", "bob", headers=None)
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/room/kitchen/edit/"
    assert "Invited bob." in text(alice.get("/chat/room/kitchen/edit/"))


@pytest.mark.parametrize(
    ("username", "status", "message"),
    [
        ("alice", 422, "You cannot invite yourself."),
        ("bob", 409, "bob is already a member."),
        ("carol", 409, "carol is already invited."),
        ("zed", 422, "There is no user named zed."),
        ("../zed", 422, "Only 1 to 64 letters, digits, _ or - are allowed."),
    ],
    ids=["myself", "member", "invited", "unknown", "bad-name"],
)
def test_a_refused_invitation_says_why_and_changes_nothing(
    app, people, alice, username, status, message
):
    create_room(alice, "kitchen", invite="bob carol")
    accept_invitation(app, people["bob"], "kitchen", "bob")
    before = stored_room(app, "kitchen")
    response = invite(alice, "kitchen", username)
    assert response.status_code == status
    assert message in text(response)
    assert 'id="room-people"' in text(response)
    assert stored_room(app, "kitchen") == before


def test_revoking_an_invitation_takes_it_off_both_lists(app, people, alice):
    create_room(alice, "kitchen", invite="bob")
    invitation_id = pending_invitation_id(app, "kitchen", "bob")
    response = press(
        alice, f"/chat/room/kitchen/edit/invitations/{invitation_id}/revoke", headers=HTMX
    )
    assert response.status_code == 200
    assert "The invitation of bob was revoked." in text(response)
    assert stored_room(app, "kitchen")["invited"] == []
    assert "kitchen" not in text(people["bob"].get("/chat/room/"))
    assert people["bob"].get("/chat/room/kitchen/").status_code == 404


def test_only_a_pending_invitation_into_this_room_can_be_revoked(app, people, alice):
    create_room(alice, "kitchen", invite="bob")
    create_room(alice, "pantry", invite="carol")
    into_pantry = pending_invitation_id(app, "pantry", "carol")
    into_kitchen = pending_invitation_id(app, "kitchen", "bob")
    press(people["bob"], f"/chat/invitations/{into_kitchen}/decline")
    revoke = "/chat/room/kitchen/edit/invitations/{}/revoke"
    for invitation_id in (into_pantry, into_kitchen, into_pantry + into_kitchen + 1):
        assert press(alice, revoke.format(invitation_id)).status_code == 404
    assert stored_room(app, "pantry")["invited"] == ["carol"]


def test_a_revoked_invitation_cannot_be_accepted(app, people, alice):
    create_room(alice, "kitchen", invite="bob")
    invitation_id = pending_invitation_id(app, "kitchen", "bob")
    press(alice, f"/chat/room/kitchen/edit/invitations/{invitation_id}/revoke")
    response = press(people["bob"], f"/chat/invitations/{invitation_id}/accept")
    assert response.status_code == 409
    assert "This invitation was taken back." in text(response)
    assert "bob" not in stored_room(app, "kitchen")["members"]


def test_removing_a_member_ends_their_access(app, people, alice):
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(app, people["bob"], "kitchen", "bob")
    response = press(alice, "/chat/room/kitchen/edit/members/bob/remove", headers=HTMX)
    assert response.status_code == 200
    assert "bob was removed." in text(response)
    assert stored_room(app, "kitchen")["members"] == {"alice": "owner"}
    assert people["bob"].get("/chat/room/kitchen/").status_code == 404


def test_the_owner_cannot_be_removed(app, alice):
    create_room(alice, "kitchen")
    response = press(alice, "/chat/room/kitchen/edit/members/alice/remove", headers=HTMX)
    assert response.status_code == 409
    assert "The owner cannot be removed" in text(response)
    assert stored_room(app, "kitchen")["members"] == {"alice": "owner"}


def test_removing_someone_who_is_not_a_member_changes_nothing(app, alice):
    create_room(alice, "kitchen")
    response = press(alice, "/chat/room/kitchen/edit/members/carol/remove", headers=HTMX)
    assert response.status_code == 409
    assert "carol is not a member." in text(response)


def test_handing_the_room_over_makes_the_old_owner_a_member(app, people, alice):
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(app, people["bob"], "kitchen", "bob")
    response = press(alice, "/chat/room/kitchen/edit/members/bob/owner")
    assert response.status_code == 303
    assert response.headers["Location"] == "/chat/room/kitchen/"
    assert stored_room(app, "kitchen")["members"] == {"alice": "member", "bob": "owner"}
    assert alice.get("/chat/room/kitchen/edit/").status_code == 404
    assert people["bob"].get("/chat/room/kitchen/edit/").status_code == 200
    assert press(alice, "/chat/room/kitchen/leave").status_code == 303


def test_an_admin_hands_a_room_over_and_stays_on_the_edit_page(app, people, alice):
    create_room(alice, "kitchen", invite="bob")
    accept_invitation(app, people["bob"], "kitchen", "bob")
    make_admin(app, "carol")
    response = press(people["carol"], "/chat/room/kitchen/edit/members/bob/owner", headers=HTMX)
    assert response.status_code == 200
    assert "bob owns kitchen now." in text(response)
    assert stored_room(app, "kitchen")["members"] == {"alice": "member", "bob": "owner"}


def delete(client, name, confirm_name, headers=None):
    """Send the edit page's delete form."""
    return submit(
        client,
        f"/chat/room/{name}/edit/",
        {"confirm_name": confirm_name},
        action=f"/chat/room/{name}/edit/delete",
        headers=headers,
    )


def test_deleting_asks_for_the_room_name(app, alice):
    create_room(alice, "kitchen")
    response = delete(alice, "kitchen", "kitchn", headers=HTMX)
    assert response.status_code == 422
    assert "Type kitchen to delete this room." in text(response)
    assert 'id="room-delete"' in text(response)
    assert stored_room(app, "kitchen") is not None


def test_deleting_a_room_removes_it_and_sets_its_log_aside(app, people, alice):
    create_room(alice, "kitchen", invite="carol")
    log_file(app, "kitchen").write_text(LOG_LINE, encoding="utf-8")
    response = delete(alice, "kitchen", "KITCHEN", headers=HTMX)
    assert response.headers["HX-Redirect"] == "/chat/room/"
    assert stored_room(app, "kitchen") is None
    assert "The room kitchen was deleted." in text(alice.get("/chat/room/"))
    assert "kitchen" not in text(people["carol"].get("/chat/room/"))
    (archived,) = Path(app.config["LOG_DIR"]).glob("chatroomkitchen.deleted-*.txt")
    assert archived.read_text(encoding="utf-8") == LOG_LINE
    with app.app_context():
        assert db.session.scalars(select(Membership)).all() == []
        assert db.session.scalars(select(Invitation)).all() == []
    assert create_room(alice, "kitchen").status_code == 303


def test_an_owner_who_deletes_the_account_hands_rooms_on_or_deletes_empty_ones(app, people, alice):
    create_room(alice, "kitchen", invite="bob carol")
    accept_invitation(app, people["carol"], "kitchen", "carol")
    accept_invitation(app, people["bob"], "kitchen", "bob")
    create_room(alice, "attic")
    log_file(app, "attic").write_text(LOG_LINE, encoding="utf-8")
    submit(alice, "/chat/profile/", {"confirm_password": PASSWORD}, action="/chat/profile/delete")
    assert stored_room(app, "kitchen")["members"] == {"carol": "owner", "bob": "member"}
    assert people["carol"].get("/chat/room/kitchen/edit/").status_code == 200
    assert stored_room(app, "attic") is None
    (archived,) = Path(app.config["LOG_DIR"]).glob("chatroomattic.deleted-*.txt")
    assert archived.read_text(encoding="utf-8") == LOG_LINE
