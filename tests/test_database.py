"""The database: SQLite tuned for concurrent writers, and migrations that match the models."""

import sqlite3
import threading
import time

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from chatapp.extensions import db
from chatapp.models import User


def pragma(name):
    return db.session.execute(text(f"PRAGMA {name}")).scalar()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(app):
    with app.app_context():
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") >= 5000
        assert pragma("foreign_keys") == 1


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
