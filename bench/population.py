"""People and rooms for the benchmarks: written straight into a fresh database, then each
person logs in through the real form, as a browser does, for a session of their own."""

import concurrent.futures
import re
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from typing import NamedTuple

from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import OWNER, Membership, Room, User, new_session_nonce, utcnow
from chatapp.names import name_key

PASSWORD = "bench password"
CSRF_FIELD = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
LOGINS_AT_ONCE = 8


class Person(NamedTuple):
    """Someone signed up and logged in: their name and their browser's Cookie header."""

    username: str
    cookie: str


class Crowd(NamedTuple):
    """A room of the benchmark and its people, logged in."""

    room: str
    people: list


def populate(database_url, log_dir, plan):
    """Make the planned rooms, [(room name, [usernames])], and their people."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "LOG_DIR": log_dir})
    # One round of PBKDF2: logging in stays real but costs the benchmark nothing.
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    with app.app_context():
        now = utcnow()
        usernames = [name for _, names in plan for name in names]
        db.session.execute(
            insert(User),
            [
                {
                    "username": name,
                    "username_key": name_key(name),
                    "password_hash": password_hash,
                    "session_nonce": new_session_nonce(),
                    "created_at": now,
                }
                for name in usernames
            ],
        )
        ids = dict(db.session.execute(select(User.username, User.id)).all())
        for room_name, names in plan:
            room = Room(name=room_name, name_key=name_key(room_name), created_at=now)
            db.session.add(room)
            db.session.flush()
            db.session.execute(
                insert(Membership),
                [
                    {
                        "room_id": room.id,
                        "user_id": ids[name],
                        "role": OWNER if index == 0 else "member",
                        "joined_at": now,
                    }
                    for index, name in enumerate(names)
                ],
            )
        db.session.commit()
        db.engine.dispose()


def log_in(base_url, username):
    """Log in through the form as a new browser; the Cookie header it then sends."""
    cookies = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    with opener.open(f"{base_url}/chat/login/", timeout=30) as response:
        token = CSRF_FIELD.search(response.read().decode()).group(1)
    form = {"csrf_token": token, "username": username, "password": PASSWORD}
    data = urllib.parse.urlencode(form).encode()
    with opener.open(f"{base_url}/chat/login/", data, timeout=30) as response:
        if not response.url.endswith("/chat/room/"):
            raise RuntimeError(f"{username} could not log in: {response.url}")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in cookies)


def log_everyone_in(base_url, plan):
    """[Crowd] with each person logged in, a few at a time."""
    with concurrent.futures.ThreadPoolExecutor(LOGINS_AT_ONCE) as pool:
        crowds = []
        for room_name, names in plan:
            cookies = pool.map(lambda name: log_in(base_url, name), names)
            people = [Person(name, cookie) for name, cookie in zip(names, cookies, strict=True)]
            crowds.append(Crowd(room_name, people))
        return crowds
