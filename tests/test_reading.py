"""Read marks, unread counts and receipts: derived from positions, never recounted."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from chatapp import messaging, reading
from chatapp.extensions import db
from chatapp.models import Membership, Message, Room, User
from chatapp.reading import Reader, Said


@pytest.fixture
def world(app):
    """alice (the owner), bob and carol in the room kitchen, and an empty room pantry."""
    with app.test_request_context():
        people = {name: User.register(name, "a password") for name in ("alice", "bob", "carol")}
        kitchen = Room.create("kitchen", people["alice"])
        for name in ("bob", "carol"):
            kitchen.join(people[name])
        Room.create("pantry", people["alice"])
        db.session.commit()
        ids = {name: user.id for name, user in people.items()}
    ids["kitchen"], ids["pantry"] = room_id(app, "kitchen"), room_id(app, "pantry")
    return ids


def room_id(app, name):
    """The id of the room with this name."""
    with app.app_context():
        return Room.find(name).id


def say(app, author, text, room="kitchen"):
    """Post a message as it comes from the composer; its id."""
    with app.test_request_context():
        message = messaging.post_message(Room.find(room), User.find(author), text)
        return message.id


def unread(app, world, name):
    """The user's unread count in the kitchen, and in all their rooms."""
    with app.app_context():
        user_id = world[name]
        return reading.unread_by_room(user_id)[world["kitchen"]], reading.total_unread(user_id)


def mark_of(app, world, name, room="kitchen"):
    """The user's saved read mark in a room."""
    with app.app_context():
        return db.session.scalar(
            select(Membership.last_read_message_id).where(
                Membership.user_id == world[name], Membership.room_id == world[room]
            )
        )


def test_each_member_counts_what_is_for_them_and_not_theirs(app, world):
    say(app, "alice", "one")
    say(app, "alice", "two")
    say(app, "alice", "/pm bob just for you")
    assert unread(app, world, "bob") == (3, 3)
    assert unread(app, world, "carol") == (2, 2)
    assert unread(app, world, "alice") == (0, 0)


def test_sending_marks_the_room_read_up_to_ones_own_message(app, world):
    say(app, "alice", "one")
    say(app, "carol", "/pm bob psst")
    assert unread(app, world, "bob") == (2, 2)
    mine = say(app, "bob", "I am here")
    assert unread(app, world, "bob") == (0, 0)
    assert mark_of(app, world, "bob") == mine
    assert unread(app, world, "alice") == (1, 1)


def test_a_newcomer_starts_with_what_was_said_before_as_read(app, world):
    said = say(app, "alice", "before dave")
    with app.app_context():
        dave = User.register("dave", "a password")
        Room.find("kitchen").join(dave)
        db.session.commit()
        dave_id = dave.id
    with app.app_context():
        assert reading.unread_by_room(dave_id) == {world["kitchen"]: 0}
    world["dave"] = dave_id
    assert mark_of(app, world, "dave") == said
    say(app, "alice", "after dave")
    assert unread(app, world, "dave") == (1, 1)


def test_reading_takes_personal_messages_afresh(app, world):
    first = say(app, "alice", "/pm bob one")
    say(app, "alice", "everyone")
    say(app, "carol", "/pm bob two")
    with app.app_context():
        move = reading.mark_read(world["kitchen"], world["bob"], first)
    assert move == reading.Move(world["kitchen"], world["bob"], 0, first)
    assert unread(app, world, "bob") == (2, 2)


@pytest.mark.parametrize(
    "wanted, lands_on, left_unread",
    [
        ("newest", "newest", 0),
        ("past the newest", "newest", 0),
        ("another room's", "before it", 1),
        ("back", None, 2),
    ],
)
def test_a_read_mark_moves_forward_only_and_lands_on_a_message_of_its_room(
    app, world, wanted, lands_on, left_unread
):
    old = say(app, "alice", "one")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["bob"], old)
    before_it = say(app, "alice", "two")
    elsewhere = say(app, "alice", "in the pantry", room="pantry")
    newest = say(app, "alice", "three")
    ids = {
        "newest": newest,
        "past the newest": newest + 1000,
        "another room's": elsewhere,
        "back": old - 1,
        "before it": before_it,
    }
    with app.app_context():
        move = reading.mark_read(world["kitchen"], world["bob"], ids[wanted])
    if lands_on is None:
        assert move is None
        assert mark_of(app, world, "bob") == old
    else:
        assert move.new == ids[lands_on] == mark_of(app, world, "bob")
    assert unread(app, world, "bob")[0] == left_unread


def test_many_marks_are_saved_in_one_transaction(app, world):
    for number in range(3):
        say(app, "alice", f"message {number}")
    with app.app_context():
        for number in range(40):
            user = User.register(f"reader{number}", "a password")
            Room.find("kitchen").join(user)
        db.session.commit()
        readers = db.session.scalars(select(User.id).where(User.username.like("reader%"))).all()
    newest = say(app, "alice", "read me")
    statements = []

    def trace(dbapi_connection, *rest):
        dbapi_connection.set_trace_callback(statements.append)

    with app.app_context():
        event.listen(db.engine.pool, "checkout", trace, once=True)
        moves = reading.save_read_marks({(world["kitchen"], r): newest for r in readers})
        assert len(moves) == 40
        assert {m.new for m in moves} == {newest}
        assert set(reading.totals_of(readers).values()) == {0}
    assert [statement.split()[0] for statement in statements].count("COMMIT") == 1


def test_marks_are_moved_in_the_same_order_whatever_order_they_were_noted_in(app, world):
    newest = say(app, "alice", "read me")
    statements = []

    def trace(dbapi_connection, *rest):
        dbapi_connection.set_trace_callback(statements.append)

    members = sorted(world[name] for name in ("alice", "bob", "carol"))
    with app.app_context():
        event.listen(db.engine.pool, "checkout", trace, once=True)
        reading.save_read_marks({(world["kitchen"], user): newest for user in reversed(members)})
    # Two processes that lock the same memberships in one order cannot deadlock.
    moved = [
        int(found[1])
        for statement in statements
        if statement.startswith("UPDATE memberships")
        and (found := re.search(r"memberships\.user_id = (\d+)", statement))
    ]
    assert moved == [user for user in members if user != world["alice"]]


def test_receipts_count_readers_who_share_and_never_the_author():
    readers = [
        Reader(user_id=1, last_read=30, read_position=0, personal_unread=0, shares_read_state=True),
        Reader(user_id=2, last_read=20, read_position=0, personal_unread=0, shares_read_state=True),
        Reader(
            user_id=3, last_read=30, read_position=0, personal_unread=0, shares_read_state=False
        ),
        Reader(user_id=4, last_read=10, read_position=0, personal_unread=0, shares_read_state=True),
    ]
    said = [
        Said(id=10, author_id=4, recipient_id=None, is_personal=False),
        Said(id=20, author_id=1, recipient_id=None, is_personal=False),
        Said(id=25, author_id=4, recipient_id=None, is_personal=False),
        Said(id=26, author_id=4, recipient_id=2, is_personal=True),
        Said(id=27, author_id=2, recipient_id=3, is_personal=True),
    ]
    assert reading.count_receipts(said, readers) == {10: 2, 20: 1, 25: 1, 26: 0, 27: 0}


def test_the_page_shows_receipts_from_the_same_counts(app, world):
    first = say(app, "alice", "one")
    second = say(app, "alice", "two")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["bob"], second)
        reading.mark_read(world["kitchen"], world["carol"], first)
        assert reading.receipts(world["kitchen"], [first, second]) == {first: 2, second: 1}
        assert db.session.get(Message, second).position == 2


def reader(user_id, last_read, shares=True):
    """A member as receipts see them: their read mark, and whether they share it."""
    return Reader(user_id, last_read, read_position=0, personal_unread=0, shares_read_state=shares)


def test_a_personal_message_counts_its_recipient_once_their_mark_reaches_it():
    said = [Said(id=26, author_id=4, recipient_id=2, is_personal=True)]
    assert reading.count_receipts(said, [reader(2, last_read=26)]) == {26: 1}


def test_no_mark_reads_nothing_not_even_the_first_message():
    first_to_all = [Said(id=1, author_id=2, recipient_id=None, is_personal=False)]
    first_to_two = [Said(id=1, author_id=1, recipient_id=2, is_personal=True)]
    # 1 has no mark yet (0); 2 keeps their reads to themselves.
    readers = [reader(1, last_read=0), reader(2, last_read=5, shares=False)]
    assert reading.count_receipts(first_to_all, readers) == {1: 0}
    assert reading.count_receipts(first_to_two, readers) == {1: 0}


def test_a_member_who_never_moved_their_mark_has_read_not_even_the_first_message(app, world):
    first = say(app, "alice", "the very first")
    assert first == 1  # the case at stake: a mark of "none" must not count as 1
    with app.app_context():
        assert mark_of(app, world, "bob") is None
        assert reading.receipts(world["kitchen"], [first]) == {first: 0}


def test_readers_carry_each_members_mark_position_and_personal_messages_since(app, world):
    first = say(app, "alice", "one")
    say(app, "alice", "/pm bob two")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["bob"], first)
        readers = {each.user_id: each for each in reading.readers_of(world["kitchen"])}
    assert readers[world["bob"]] == Reader(world["bob"], first, 1, 1, True)
    assert readers[world["carol"]] == Reader(world["carol"], 0, 0, 0, True)


def test_each_members_total_counts_their_own_unread_messages(app, world):
    first = say(app, "alice", "one")
    say(app, "alice", "two")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["bob"], first)
        totals = reading.totals_of([world["bob"], world["carol"]])
    assert totals == {world["bob"]: 1, world["carol"]: 2}


def test_only_marks_that_moved_are_returned_as_moves(app, world):
    first = say(app, "alice", "one")
    newest = say(app, "alice", "two")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["bob"], newest)
        # bob's tab is stale (first is behind his mark); carol reads for the first time.
        moves = reading.save_read_marks(
            {(world["kitchen"], world["bob"]): first, (world["kitchen"], world["carol"]): newest}
        )
    assert moves == [reading.Move(world["kitchen"], world["carol"], 0, newest)]


def test_one_batch_counts_personal_messages_around_the_recipients_own(app, world):
    # Saved together, in this order: a personal message to bob, then bob's own (which
    # marks the room read for him), then two more personal ones to him.
    with app.test_request_context():
        room_id, alice, bob = world["kitchen"], User.find("alice"), User.find("bob")
        drafts = [
            messaging.Draft(room_id, alice, bob, "before mine", 0),
            messaging.Draft(room_id, bob, None, "mine", 0),
            messaging.Draft(room_id, alice, bob, "after mine", 0),
            messaging.Draft(room_id, alice, bob, "and again", 0),
        ]
        messaging.store(drafts)
    assert unread(app, world, "bob") == (2, 2)
    assert unread(app, world, "carol") == (1, 1)


def test_one_batch_counts_every_personal_message_to_one_recipient(app, world):
    with app.test_request_context():
        room_id, alice, carol = world["kitchen"], User.find("alice"), User.find("carol")
        messaging.store(
            [
                messaging.Draft(room_id, alice, carol, "one for carol", 0),
                messaging.Draft(room_id, alice, carol, "two for carol", 0),
            ]
        )
    assert unread(app, world, "carol") == (2, 2)
    assert unread(app, world, "bob") == (0, 0)


def run_update(app, statement):
    """Change the database as another part of the app would, and commit."""
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def first_unread(app, world, name):
    """Where the user's "New messages" line goes in the kitchen: a message id, or None."""
    with app.app_context():
        membership = db.session.scalar(
            select(Membership).where(
                Membership.user_id == world[name], Membership.room_id == world["kitchen"]
            )
        )
        return reading.first_unread_id(membership)


def test_the_new_line_goes_above_the_oldest_message_the_reader_has_not_read(app, world):
    seen = say(app, "alice", "seen")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["bob"], seen)
    say(app, "alice", "/pm carol not for bob")
    say(app, "alice", "in another room", room="pantry")
    first = say(app, "carol", "new to bob")
    last = say(app, "alice", "also new")
    assert first_unread(app, world, "bob") == first
    with app.app_context():
        reading.mark_read(world["kitchen"], world["bob"], last)
    assert first_unread(app, world, "bob") is None


def test_the_new_line_skips_the_readers_own_messages_even_behind_their_mark(app, world):
    say(app, "bob", "mine")
    personal = say(app, "alice", "/pm bob for you")
    # As a mark never saved leaves it (NULL): everything after it is candidate.
    run_update(
        app,
        update(Membership)
        .where(Membership.user_id == world["bob"], Membership.room_id == world["kitchen"])
        .values(last_read_message_id=None),
    )
    assert first_unread(app, world, "bob") == personal


def test_receipts_on_the_page_count_a_personal_message_for_its_recipient_alone(app, world):
    personal = say(app, "alice", "/pm bob for you")
    later = say(app, "alice", "to everyone")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["carol"], later)
        assert reading.receipts(world["kitchen"], [personal]) == {personal: 0}
        reading.mark_read(world["kitchen"], world["bob"], personal)
        assert reading.receipts(world["kitchen"], [personal, later]) == {personal: 1, later: 1}


def test_receipts_answer_only_for_messages_of_the_room_asked_about(app, world):
    elsewhere = say(app, "alice", "in the pantry", room="pantry")
    here = say(app, "alice", "in the kitchen")
    with app.app_context():
        assert reading.receipts(world["kitchen"], [elsewhere, here]) == {here: 0}
        assert reading.receipts(world["kitchen"], []) == {}


def test_room_tallies_carry_each_rooms_name_kind_and_count(app, world):
    say(app, "alice", "one")
    say(app, "alice", "two")
    say(app, "alice", "/pm bob not counted for the room")
    with app.test_request_context():
        direct = Room.start_direct(User.find("alice"), User.find("bob"))
        db.session.commit()
        direct_id, direct_name = direct.id, direct.name
        tallies = reading.room_tallies([world["kitchen"], direct_id])
    assert tallies == {
        world["kitchen"]: reading.RoomTally("kitchen", False, 2),
        direct_id: reading.RoomTally(direct_name, True, 0),
    }
    with app.app_context():
        assert reading.room_tallies([]) == {}


def test_reading_counts_only_personal_messages_to_the_reader_in_that_room(app, world):
    with app.test_request_context():
        Room.find("pantry").join(User.find("bob"))
        db.session.commit()
    first = say(app, "alice", "one")
    say(app, "alice", "/pm bob for bob")
    say(app, "alice", "/pm carol for carol")
    say(app, "alice", "/pm bob in the pantry", room="pantry")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["bob"], first)
    assert unread(app, world, "bob") == (1, 2)


def test_the_new_line_may_go_above_the_very_first_message(app, world):
    first = say(app, "alice", "the very first")
    assert first == 1  # the case at stake: a mark of "none" must not count as 1
    assert mark_of(app, world, "bob") is None
    assert first_unread(app, world, "bob") == first


def test_the_new_line_goes_above_a_message_whose_author_is_gone(app, world):
    # An unsigned message, as a deleted account leaves it, must not pass for user 1's
    # (alice's) own.
    seen = say(app, "bob", "seen")
    with app.app_context():
        reading.mark_read(world["kitchen"], world["alice"], seen)
    orphan = say(app, "carol", "from someone gone")
    run_update(app, update(Message).where(Message.id == orphan).values(author_id=None))
    assert world["alice"] == 1
    assert first_unread(app, world, "alice") == orphan


def test_a_mark_another_process_moved_further_meanwhile_is_not_moved_back(app, world):
    ids = [say(app, "alice", f"message {number}") for number in range(3)]
    with app.app_context():
        engine = db.engine

    moved = []

    def move_further_in_another_process(statement):
        # This transaction has read bob's mark and begins to move it: another process
        # moves it further first.
        if statement.strip() == "BEGIN" and not moved:
            moved.append(True)
            with engine.begin() as elsewhere:
                elsewhere.execute(
                    update(Membership)
                    .where(Membership.user_id == world["bob"])
                    .values(last_read_message_id=ids[2], read_position=3)
                )

    watched = []

    def watch(dbapi_connection, *rest):
        if not watched:  # this transaction's connection, not the other process's
            watched.append(dbapi_connection)
            dbapi_connection.set_trace_callback(move_further_in_another_process)

    event.listen(engine.pool, "checkout", watch)
    try:
        with app.app_context():
            reading.mark_read(world["kitchen"], world["bob"], ids[1])
    finally:
        event.remove(engine.pool, "checkout", watch)
        for connection in watched:
            connection.set_trace_callback(None)
    assert moved
    assert mark_of(app, world, "bob") == ids[2]
    assert unread(app, world, "bob") == (0, 0)


def test_receipts_look_at_the_newest_messages_after_one_id_up_to_another(app, world):
    ids = [say(app, "alice", f"message {number}") for number in range(2)]
    say(app, "alice", "in the pantry", room="pantry")
    ids += [say(app, "alice", f"message {number}") for number in range(2, 5)]
    with app.app_context():
        between = reading.said_between(world["kitchen"], ids[1], ids[3], limit=10)
        newest_only = reading.said_between(world["kitchen"], ids[0], ids[3], limit=1)
    assert [each.id for each in between] == [ids[3], ids[2]]
    assert [each.id for each in newest_only] == [ids[3]]


def test_the_position_before_a_moment_counts_a_message_said_at_that_moment(app, world):
    first = say(app, "alice", "one")
    with app.app_context():
        said_at = db.session.get(Message, first).created_at
        assert reading.position_before(world["kitchen"], said_at) == 1
        assert reading.position_before(world["kitchen"], said_at - timedelta(seconds=1)) == 0
