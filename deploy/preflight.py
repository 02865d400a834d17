"""What gunicorn checks before it forks workers: whether several of them can share the site.

`on_starting` is gunicorn's hook, run by the master before it binds or forks. With more
than one worker it reads the settings the app would run with (in a child process, so that
the master imports none of the app: gevent patches each worker as it starts, and the
master must stay as it is), and stops gunicorn with the reasons when they cannot work.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

# Run in a child: create the app as a worker would, and print what the check needs.
READ_SETTINGS = """
import json
from chatapp import create_app
config = create_app().config
print(json.dumps({
    "database": config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0].split("+", 1)[0],
    "redis": bool(config["REDIS_URL"]),
}))
"""


def on_starting(server):
    """gunicorn's hook: refuse to start several workers that could not share the site."""
    workers = server.cfg.workers
    if workers > 1:
        reasons = refusals(workers, **app_settings())
        if reasons:
            # gunicorn prints a RuntimeError as "Error: ..." and exits with 1.
            raise RuntimeError(refusal_message(workers, reasons))


def app_settings():
    """The app's database dialect and whether Redis is configured, read as a worker would."""
    result = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"could not read chatapp's settings:\n{result.stderr}")
    return json.loads(result.stdout.splitlines()[-1])


def refusals(workers, database, redis):
    """Why this many workers cannot serve with these settings: a list, empty when they can."""
    if workers <= 1:
        return []
    reasons = []
    if not redis:
        reasons.append(
            "CHATAPP_REDIS_URL is not set. Without Redis each worker keeps its own rooms, so "
            "people served by different workers would not see each other's messages or "
            "presence, and limits would count per worker. Set CHATAPP_REDIS_URL="
            "redis://host:6379/0."
        )
    if database == "sqlite":
        reasons.append(
            "the database is SQLite. While another process writes, SQLite's busy wait "
            "blocks a whole gevent worker, and with it every socket the worker serves. Use "
            "PostgreSQL: CHATAPP_DATABASE_URL=postgresql://user:password@host/chatapp."
        )
    return reasons


def refusal_message(workers, reasons):
    """The words gunicorn stops with."""
    listed = "\n".join(
        textwrap.fill(reason, 88, initial_indent="  - ", subsequent_indent="    ")
        for reason in reasons
    )
    return (
        f"chatapp will not start {workers} workers (WEB_CONCURRENCY or --workers):\n"
        f"{listed}\nOr run one worker: WEB_CONCURRENCY=1."
    )
