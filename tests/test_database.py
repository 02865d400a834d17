"""The database: SQLite tuned for concurrent writers, and migrations that match the models."""

import sqlite3
import threading
import time
from datetime import datetime

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, select, text, update

from chatapp import create_app, reading
from chatapp.database import BACKSTOP_CHECKPOINT_PAGES, Prepared, driver_transaction
from chatapp.extensions import db
from chatapp.models import Room, User
from tests.support import run_under_gevent


def pragma(name):
    return db.session.execute(text(f"PRAGMA {name}")).scalar()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(app):
    with app.app_context():
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") >= 5000
        assert pragma("foreign_keys") == 1
        # Not under gevent: no thread checkpoints, so commits do, as SQLite's default has it.
        assert pragma("wal_autocheckpoint") == 1000


def test_under_gevent_a_thread_beside_the_loop_copies_the_wal_into_the_database(tmp_path):
    path = tmp_path / "chat.sqlite"
    printed = run_under_gevent(
        f"""
        import os
        import time

        from sqlalchemy import text

        from chatapp import create_app
        from chatapp.extensions import db

        config = {{"SQLALCHEMY_DATABASE_URI": "sqlite:///{path}", "SECRET_KEY": "x"}}
        app = create_app({{**config, "LOG_DIR": "{tmp_path / "logs"}"}})
        with app.app_context():
            with db.engine.begin() as connection:
                print(connection.execute(text("PRAGMA wal_autocheckpoint")).scalar())
                connection.execute(text("CREATE TABLE filler (data BLOB)"))
            before = os.path.getsize("{path}")
            # About 100 pages into the WAL: far below what makes a commit copy it back.
            with db.engine.begin() as connection:
                for _ in range(100):
                    connection.execute(text("INSERT INTO filler VALUES (randomblob(4000))"))
            deadline = time.monotonic() + 5
            while os.path.getsize("{path}") - before < 400_000 and time.monotonic() < deadline:
                time.sleep(0.05)
            print(os.path.getsize("{path}") - before)
        """
    )
    backstop, grown = printed.split()
    assert int(backstop) == BACKSTOP_CHECKPOINT_PAGES
    # Only a checkpoint writes to the database file itself in WAL mode.
    assert int(grown) >= 400_000


def test_a_second_writer_waits_for_the_first_instead_of_failing(app):
    database = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holding = threading.Event()

    def hold_write_lock():
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO users (username, username_key, password_hash, session_nonce,"
            " display_name, email, about, is_admin, created_at)"
            " VALUES ('first', 'first', 'x', 'n', '', '', '', 0, '2026-01-01')"
        )
        holding.set()
        time.sleep(1.0)
        other.execute("COMMIT")
        other.close()

    writer = threading.Thread(target=hold_write_lock)
    writer.start()
    holding.wait(5)
    started = time.monotonic()
    with app.app_context():
        User.register("second", "a password")
        db.session.commit()
        waited = time.monotonic() - started
        assert {u.username for u in db.session.scalars(db.select(User))} == {"first", "second"}
    writer.join()
    assert waited >= 0.5


def test_migrations_create_exactly_the_schema_the_models_describe(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert compare_metadata(context, db.metadata) == []


def test_migrations_go_down_and_up_again(app):
    with app.app_context():
        flask_migrate.downgrade(revision="base")
        assert "users" not in db.inspect(db.engine).get_table_names()
        flask_migrate.upgrade()
        assert "users" in db.inspect(db.engine).get_table_names()


def test_the_derived_counts_migration_keeps_every_row_and_every_count(tmp_path, instance):
    path = tmp_path / "old.sqlite"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "x", "LOG_DIR": "logs"}
    )
    with app.app_context():
        flask_migrate.upgrade(revision="0005")
    with sqlite3.connect(path) as old:
        for user_id, name in [(1, "alice"), (2, "bob"), (3, "carol")]:
            old.execute(
                "INSERT INTO users (id, username, username_key, password_hash, session_nonce,"
                " display_name, email, about, is_admin, created_at, shares_read_state,"
                " shares_typing) VALUES (?, ?, ?, 'x', 'n', '', '', '', 0, '2026-01-01', 1, 1)",
                (user_id, name, name),
            )
        old.execute(
            "INSERT INTO rooms (id, name, name_key, visibility, is_direct, created_at,"
            " last_activity_at) VALUES (1, 'kitchen', 'kitchen', 'private', 0, '2026-01-01',"
            " '2026-01-01')"
        )
        # alice said 1, 2 and a personal 3 to bob; bob said 4; carol read up to 1.
        for message_id, author, recipient in [(1, 1, None), (2, 1, None), (3, 1, 2), (4, 2, None)]:
            old.execute(
                "INSERT INTO messages (id, room_id, author_id, recipient_id, is_personal, kind,"
                " body, color, created_at) VALUES (?, 1, ?, ?, ?, 'text', 'hi', 0, '2026-01-01')",
                (message_id, author, recipient, recipient is not None),
            )
        for user_id, mark in [(1, None), (2, None), (3, 1)]:
            old.execute(
                "INSERT INTO memberships (user_id, room_id, role, joined_at,"
                " last_read_message_id, unread_count) VALUES (?, 1, 'member', '2026-01-01', ?, 0)",
                (user_id, mark),
            )
    with app.app_context():
        flask_migrate.upgrade()
        assert [reading.total_unread(user_id) for user_id in (1, 2, 3)] == [1, 0, 2]
        assert db.session.scalar(text("SELECT count(*) FROM messages")) == 4
        db.session.execute(text("DELETE FROM messages WHERE id = 4"))
        db.session.execute(text("DELETE FROM rooms WHERE id = 1"))
        db.session.commit()
        room = Room(name="pantry", name_key="pantry")
        db.session.add(room)
        db.session.commit()
        assert room.id == 2
        db.engine.dispose()


def test_a_prepared_statement_stores_values_as_sqlalchemy_does_and_rolls_back_on_error(app):
    rooms = Room.__table__
    touch = Prepared(
        update(rooms)
        .where(rooms.c.name == bindparam("name"))
        .values(last_activity_at=bindparam("now"), message_count=bindparam("count"))
        .returning(rooms.c.message_count)
    )
    # A whole second: the driver on its own would write it without the fraction.
    moment = datetime(2026, 12, 1, 18, 0, 0)
    with app.app_context():
        Room.create("kitchen", User.register("alice", "a password"))
        db.session.commit()
        with driver_transaction() as cursor:
            returned = cursor.execute(touch, {"name": "kitchen", "now": moment, "count": 7})
            assert returned.fetchone() == (7,)
        try:
            with driver_transaction() as cursor:
                cursor.execute(touch, {"name": "kitchen", "now": datetime.now(), "count": 8})
                raise RuntimeError("after the update")
        except RuntimeError:
            pass
        stored = "SELECT last_activity_at, message_count FROM rooms WHERE name = 'kitchen'"
        assert db.session.execute(text(stored)).one() == ("2026-12-01 18:00:00.000000", 7)
        db.session.expire_all()
        assert Room.find("kitchen").last_activity_at == moment


def test_a_prepared_statement_sends_values_written_into_it_as_sqlalchemy_would(app):
    rooms = Room.__table__
    # The name is a value written into the statement, the time a processed one: the driver
    # on its own would compare the time without its fraction, and find nothing.
    moment = datetime(2026, 12, 1, 18, 0, 0)
    written = Prepared(
        select(rooms.c.message_count)
        .where(rooms.c.name == "kitchen", rooms.c.last_activity_at == moment)
        .limit(1)
    )
    with app.app_context():
        Room.create("kitchen", User.register("alice", "a password"))
        Room.create("pantry", User.register("bob", "a password"))
        db.session.execute(update(Room).values(last_activity_at=moment, message_count=3))
        db.session.execute(update(Room).where(Room.name == "kitchen").values(message_count=5))
        db.session.commit()
        with driver_transaction() as cursor:
            assert cursor.execute(written, {}).fetchall() == [(5,)]


@pytest.mark.parametrize(
    "where",
    [
        Room.__table__.c.name.in_(bindparam("names", expanding=True)),
        # A value that a caller might think to give by name, and would be ignored.
        Room.__table__.c.name == bindparam("name", value="kitchen"),
    ],
    ids=["a list", "a named value"],
)
def test_a_prepared_statement_refuses_values_not_given_by_name_or_written_in(app, where):
    refused = Prepared(select(Room.__table__.c.id).where(where))
    with (
        app.app_context(),
        driver_transaction() as cursor,
        pytest.raises(ValueError, match="named parameters only"),
    ):
        cursor.execute(refused, {"names": ["kitchen"], "name": "kitchen"})
