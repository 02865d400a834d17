"""Engine tuning: SQLite waits for other writers instead of failing, in a private file."""

import contextlib
import os

from sqlalchemy import event

from chatapp.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 15_000


def configure_engine(app):
    """Turn on WAL, a busy timeout and foreign keys for every SQLite connection."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        create_private_file(engine.url.database)
        event.listen(engine, "connect", _tune_sqlite_connection)


def create_private_file(path):
    """Create the database file readable by its owner only; SQLite keeps its journal alike."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _tune_sqlite_connection(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer writes; busy_timeout makes a second
    # writer wait for the lock instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
