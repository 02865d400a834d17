"""Pages that list people cost the same number of queries however many people there are."""

import contextlib

import pytest
from sqlalchemy import event

from chatapp.extensions import db
from tests.support import accept_invitation, create_room, press, signed_up, submit


@contextlib.contextmanager
def counted_queries(app):
    """Count the SQL statements run inside the block."""
    with app.app_context():
        engine = db.engine
    statements = []

    def count(*_):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def room_of(app, size):
    """alice's browser, in a room "kitchen" of size members who each said something."""
    alice = signed_up(app, "alice")
    members = {f"member{n}": signed_up(app, f"member{n}") for n in range(size - 1)}
    create_room(alice, "kitchen", invite=" ".join(members))
    for name, member in members.items():
        accept_invitation(app, member, "kitchen", name)
        submit(member, "/chat/room/kitchen/", {"body": "hi"}, action="/chat/room/kitchen/messages")
    press(
        alice, "/chat/room/kitchen/edit/invite", {"username": signed_up(app, "guest") and "guest"}
    )
    return alice


@pytest.mark.parametrize(
    "path", ["/chat/room/kitchen/", "/chat/room/kitchen/edit/", "/chat/room/", "/chat/users/"]
)
def test_a_page_costs_the_same_queries_for_3_members_as_for_9(make_app, path):
    costs = []
    for size in (3, 9):
        app = make_app()
        alice = room_of(app, size)
        with counted_queries(app) as statements:
            assert alice.get(path).status_code == 200
        costs.append(len(statements))
    assert costs[0] == costs[1]
