"""Saving messages: what arrives together is saved together, and nothing is lost."""

import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, select

from chatapp import messaging, roomlog
from chatapp.extensions import db
from chatapp.live.broker import get_broker, room_channel
from chatapp.models import Membership, Message, Room, User

SENDERS = 6


@pytest.fixture
def crowd(app):
    """A room with the owner and SENDERS members; their usernames."""
    names = [f"sender{number}" for number in range(SENDERS)]
    with app.app_context():
        owner = User.register("owner", "a password")
        room = Room.create("kitchen", owner)
        for name in names:
            room.join(User.register(name, "a password"))
        db.session.commit()
    return names


def post(app, username, text, room="kitchen"):
    """Post as a member would; the saved message's id."""
    with app.test_request_context():
        return messaging.post_message(Room.find(room), User.find(username), text).id


def test_messages_that_arrive_while_one_is_saved_are_saved_together(app, crowd, monkeypatch):
    batches = []
    first_saving, all_waiting = threading.Event(), threading.Event()
    store = messaging.store

    def store_holding_the_first(drafts):
        batches.append(len(drafts))
        if len(batches) == 1:
            first_saving.set()
            # Hold the first save until every other sender waits behind it.
            assert all_waiting.wait(10)
        return store(drafts)

    monkeypatch.setattr(messaging, "store", store_holding_the_first)
    with app.app_context():
        writer = messaging.get_writer()
    first = threading.Thread(target=post, args=(app, crowd[0], "first"))
    first.start()
    assert first_saving.wait(10)
    others = [threading.Thread(target=post, args=(app, name, f"from {name}")) for name in crowd[1:]]
    for thread in others:
        thread.start()
    while len(writer._queue) < len(others):
        threading.Event().wait(0.01)
    all_waiting.set()
    for thread in [first, *others]:
        thread.join(10)
    with app.app_context():
        saved = db.session.execute(select(Message.position).order_by(Message.id)).scalars()
        assert list(saved) == list(range(1, SENDERS + 1))
        assert Room.find("kitchen").message_count == SENDERS
    assert batches == [1, SENDERS - 1]
    log = Path(app.config["LOG_DIR"]) / "chatroomkitchen.txt"
    assert len(log.read_text(encoding="utf-8").splitlines()) == SENDERS


def test_a_removed_member_is_refused_and_nothing_is_saved(app, crowd):
    with app.test_request_context():
        room, sender = Room.find("kitchen"), User.find(crowd[0])
        room.remove(sender)
        db.session.commit()
        with pytest.raises(messaging.MessageRefused, match="no longer a member"):
            messaging.post_message(room, sender, "let me in")
        assert db.session.scalar(select(Message.id)) is None


@pytest.mark.parametrize("who", ["author", "recipient"])
def test_whoever_leaves_while_a_message_is_on_its_way_is_checked_as_it_is_saved(app, crowd, who):
    author, recipient = crowd[:2]
    leaving = author if who == "author" else recipient

    def leave_first(*connection):
        # Runs as the save takes its connection, after every check made before it.
        with app.app_context(), db.engine.begin() as other:
            other.execute(
                Membership.__table__.delete().where(
                    Membership.user_id
                    == select(User.id).where(User.username == leaving).scalar_subquery()
                )
            )

    with app.test_request_context():
        room, sender = Room.find("kitchen"), User.find(author)
        event.listen(db.engine.pool, "checkout", leave_first, once=True)
        with pytest.raises(messaging.MessageRefused, match="member"):
            messaging.post_message(room, sender, "psst", to=recipient)
        assert db.session.scalar(select(Message.id)) is None


def test_a_message_goes_out_only_once_it_is_saved(app, crowd, monkeypatch):
    published = []
    publish = messaging.publish

    def publish_if_saved(message, room_name):
        database = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        with sqlite3.connect(database) as elsewhere:
            query = "SELECT body FROM messages WHERE id = ?"
            published.append(elsewhere.execute(query, (message.id,)).fetchone())
        publish(message, room_name)

    monkeypatch.setattr(messaging, "publish", publish_if_saved)
    post(app, crowd[0], "saved first")
    assert published == [("saved first",)]


@pytest.mark.parametrize(
    "to, refusal",
    [
        ("nobody", "nobody is not a member of this room."),
        ("outsider", "outsider is not a member of this room."),
        ("sender0", "A personal message goes to someone else."),
    ],
)
def test_a_personal_message_goes_only_to_another_member(app, crowd, to, refusal):
    with app.app_context():
        User.register("outsider", "a password")
        db.session.commit()
    with pytest.raises(messaging.MessageRefused) as refused:
        post(app, crowd[0], f"/pm {to} psst")
    assert str(refused.value) == refusal


class Listener:
    """A subscriber of a room's channel, as a socket is: it keeps what is published."""

    def __init__(self):
        self.items = []

    def deliver(self, item):
        self.items.append(item)


def logged_errors(caplog):
    """What the operator reads in the error log, one line per error."""
    return [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]


def test_a_room_log_that_cannot_be_written_keeps_no_message_from_going_out(app, crowd, caplog):
    listener = Listener()
    with app.test_request_context():
        # A folder where the log file should be: opening it for writing fails.
        roomlog.log_path("kitchen").mkdir(parents=True)
        get_broker().subscribe(listener, [room_channel(Room.find("kitchen").id)])
    sent = post(app, crowd[0], "logged or not")
    assert [item.message_id for item in listener.items] == [sent]
    assert logged_errors(caplog) == ["could not log messages in kitchen"]


def test_a_published_message_carries_what_programs_are_told(app, crowd):
    listener = Listener()
    with app.app_context():
        get_broker().subscribe(listener, [room_channel(Room.find("kitchen").id)])
    sent = post(app, crowd[0], f"/pm {crowd[1]} for programs too")
    [frame] = listener.items
    told = frame.data["message"]
    assert frame.data["type"] == "message"
    assert (told["id"], told["room"], told["body"]) == (sent, "kitchen", "for programs too")
    assert (told["author"], told["recipient"]) == (crowd[0], crowd[1])


def test_a_message_that_cannot_be_saved_is_refused_and_the_next_one_is_saved(app, crowd, caplog):
    refuse = (
        "CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'full'); END"
    )
    with app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql(refuse)
    with pytest.raises(messaging.MessageRefused) as refused:
        post(app, crowd[0], "lost")
    with app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse")
    assert str(refused.value) == "The message could not be saved. Send it again."
    assert logged_errors(caplog) == ["saving 1 messages failed"]
    saved = post(app, crowd[0], "saved")
    with app.app_context():
        # The failed save counted nothing: the room's count went back with it.
        assert db.session.get(Message, saved).position == 1
        assert Room.find("kitchen").message_count == 1


def test_a_lone_message_is_saved_without_waiting_for_company(app, crowd):
    post(app, crowd[0], "warming up")  # the first one compiles templates
    started = time.monotonic()
    post(app, crowd[0], "alone")
    assert time.monotonic() - started < 0.9


def test_a_message_with_a_recipient_keeps_its_text_as_typed(app, crowd):
    with app.test_request_context():
        room, sender = Room.find("kitchen"), User.find(crowd[0])
        message = messaging.post_message(room, sender, f"/pm {crowd[2]} hi", to=crowd[1])
        assert (message.body, message.recipient.username) == (f"/pm {crowd[2]} hi", crowd[1])


def saved_bodies(app):
    """Every message body saved, oldest first."""
    with app.app_context():
        return db.session.scalars(select(Message.body).order_by(Message.id)).all()


@pytest.mark.parametrize(
    "text, refusal",
    [
        (" \r\n\t ", "Type a message first."),
        ("a\x00b", "A message may not contain NUL characters. Nothing was sent."),
        ("x" * 51, "That message is 51 characters long; the limit is 50. Nothing was sent."),
    ],
)
def test_a_message_refused_for_its_text_says_why_and_saves_nothing(make_app, text, refusal):
    app = make_app(MAX_MESSAGE_LENGTH=50)
    with app.app_context():
        Room.create("kitchen", User.register("owner", "a password"))
        db.session.commit()
    with pytest.raises(messaging.MessageRefused) as refused:
        post(app, "owner", text)
    assert str(refused.value) == refusal
    assert saved_bodies(app) == []


def test_sending_too_fast_is_refused_per_person_and_room(make_app):
    app = make_app(FLOOD_LIMIT="2/1m")
    with app.app_context():
        owner, other = User.register("owner", "a password"), User.register("other", "a password")
        Room.create("kitchen", owner).join(other)
        Room.create("pantry", owner)
        db.session.commit()
    post(app, "owner", "one")
    post(app, "owner", "two")
    with pytest.raises(messaging.MessageRefused) as refused:
        post(app, "owner", "three")
    assert re.fullmatch(
        r"You are sending too fast\. Wait \d+ s and send it again\.", str(refused.value)
    )
    post(app, "other", "someone else")
    post(app, "owner", "another room", room="pantry")
    assert saved_bodies(app) == ["one", "two", "someone else", "another room"]


def test_a_message_as_long_as_the_limit_is_saved(make_app):
    app = make_app(MAX_MESSAGE_LENGTH=50)
    with app.app_context():
        Room.create("kitchen", User.register("owner", "a password"))
        db.session.commit()
    post(app, "owner", "x" * 50)
    assert saved_bodies(app) == ["x" * 50]
