"""Engine tuning: SQLite waits for other writers instead of failing, in a private file,
and under gevent its WAL is copied back into that file by a thread beside the loop."""

import contextlib
import functools
import os
import sqlite3
import sys
import threading

from sqlalchemy import event

from chatapp import offload
from chatapp.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Under gevent a thread of its own copies the WAL into the database file this often...
CHECKPOINT_SECONDS = 0.2
# ...and a commit does it only once the WAL has grown by this many pages (40 MB) since it
# was last started afresh: should that thread fail, or fall behind. Elsewhere commits do it
# every 1,000 pages, as SQLite does by default.
BACKSTOP_CHECKPOINT_PAGES = 10_000

_checkpointed_files = set()
_checkpointed_lock = threading.Lock()


def configure_engine(app):
    """Turn on WAL, a busy timeout and foreign keys for every SQLite connection."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        create_private_file(path)
        aside = is_plain_file(path) and offload.serving_gevent() is not None
        event.listen(engine, "connect", functools.partial(_tune_sqlite_connection, aside))
        if aside:
            checkpoint_aside(path)


def is_plain_file(path):
    """Whether a SQLite database path names a file, not memory or a URI."""
    return bool(path) and path != ":memory:" and not path.startswith("file:")


def create_private_file(path):
    """Create the database file readable by its owner only; SQLite keeps its journal alike."""
    if not is_plain_file(path):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _tune_sqlite_connection(checkpointed_aside, dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer writes; busy_timeout makes a second
    # writer wait for the lock instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if checkpointed_aside:
        cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
    cursor.close()


def checkpoint_aside(path):
    """Copy the file's WAL into it every CHECKPOINT_SECONDS, in a thread beside the loop."""
    # A checkpoint syncs the file to disk: 5 ms, twice a second under load, which the commit
    # that ran it held every socket of the worker for. In a thread of the system's, SQLite
    # does it without the interpreter lock, and the loop goes on meanwhile.
    key = (os.getpid(), os.path.realpath(path))
    with _checkpointed_lock:
        if key in _checkpointed_files:
            return
        _checkpointed_files.add(key)
    offload.start_system_thread(checkpoint_regularly, path)


def checkpoint_regularly(path):
    """Copy what the WAL holds into the database file, waiting for no reader or writer."""
    sleep = offload.unpatched_sleep()
    connection, failing = None, False
    while True:
        sleep(CHECKPOINT_SECONDS)
        try:
            connection = connection or sqlite3.connect(path, isolation_level=None)
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            failing = False
        except sqlite3.Error as error:
            # Said once a failing streak, and not through logging, whose locks are the
            # loop's. Commits checkpoint themselves past the backstop meanwhile.
            if not failing:
                sys.stderr.write(f"checkpointing {path} failed, trying on: {error}\n")
            failing = True


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's own cursor.

    Every message runs the same few statements: SQLAlchemy's execution machinery around
    each costs several times what SQLite itself does for them, so that path goes around it.
    """

    def __init__(self, statement):
        self.statement = statement
        self._compiled = {}

    def compiled_for(self, dialect):
        """(SQL, a function turning a dict of parameters into the driver's) for the dialect."""
        key = (dialect.name, dialect.driver)
        if key not in self._compiled:
            self._compiled[key] = self._compile(dialect)
        return self._compiled[key]

    def _compile(self, dialect):
        """The statement's SQL for the dialect, and its function for parameters."""
        compiled = self.statement.compile(dialect=dialect)
        processors, constants = {}, {}
        for bind, name in compiled.bind_names.items():
            # Given by name, or a value written into the statement, as limit(1) or
            # coalesce(x, 0) make; not a list, a computed value or a column's default.
            written = bind.unique and not bind.required and bind.callable is None
            if bind.expanding or bind.literal_execute or not (bind.required or written):
                raise ValueError(f"{name}: a Prepared statement takes named parameters only")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if written:
                constants[name] = process(bind.value) if process else bind.value
            elif process is not None:
                processors[name] = process
        names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())

        def driver_parameters(params):
            values = [
                constants[name]
                if name in constants
                else processors[name](params[name])
                if name in processors
                else params[name]
                for name in names
            ]
            return tuple(values) if compiled.positional else dict(zip(names, values, strict=True))

        return str(compiled), driver_parameters


class DriverCursor:
    """A driver cursor that runs Prepared statements; rows come back as plain tuples."""

    def __init__(self, cursor, dialect):
        self.cursor = cursor
        self.dialect = dialect

    def execute(self, prepared, params):
        """Run the statement once; return the cursor, to fetch what it returns."""
        sql, driver_parameters = prepared.compiled_for(self.dialect)
        self.cursor.execute(sql, driver_parameters(params))
        return self.cursor

    def executemany(self, prepared, rows):
        """Run the statement once for each dict of parameters."""
        sql, driver_parameters = prepared.compiled_for(self.dialect)
        self.cursor.executemany(sql, [driver_parameters(row) for row in rows])


@contextlib.contextmanager
def driver_transaction():
    """A DriverCursor on a pooled connection: committed at the end, rolled back on error."""
    engine = db.engine
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            yield DriverCursor(cursor, engine.dialect)
            connection.commit()
        except BaseException as error:
            end_failed_transaction(engine, connection, cursor, error)
            raise
        finally:
            with contextlib.suppress(Exception):
                cursor.close()
    finally:
        connection.close()


def read_rows(prepared, params):
    """The rows a Prepared query returns, read in the session's own transaction."""
    # The session's connection, not one of its own: a page that reads receipts holds one
    # already, and under load a second for each would empty the pool.
    connection = db.session.connection()
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        return DriverCursor(cursor, connection.dialect).execute(prepared, params).fetchall()
    finally:
        cursor.close()


def end_failed_transaction(engine, connection, cursor, error):
    """Roll back; when the database was lost, let go of every pooled connection to it."""
    dialect = engine.dialect
    lost = isinstance(error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
        error, connection.dbapi_connection, cursor
    )
    if lost:
        # After a restart the other pooled connections are dead too. SQLAlchemy's own path
        # then recycles them all (privately); dispose() is the public way to that end.
        connection.invalidate(error)
        engine.dispose()
        return
    try:
        connection.rollback()
    except Exception:
        connection.invalidate(error)  # a rollback that fails must not hide the error
