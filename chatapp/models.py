"""The data model. Behaviour lives here as short verb methods; views only orchestrate."""

import hashlib
import secrets
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import LargeBinary, String, Text, select
from sqlalchemy.orm import Mapped, deferred, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from chatapp.extensions import db
from chatapp.names import name_key, normalise_name


def utcnow():
    """Return the current time in UTC, without tzinfo, as the database stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_session_nonce():
    """Return a fresh value that invalidates every session holding the old one."""
    return secrets.token_urlsafe(16)


class User(UserMixin, db.Model):
    """Someone who logs in by username."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    # casefold() can lengthen a name ("ß" -> "ss"), hence the wider column.
    username_key: Mapped[str] = mapped_column(String(256), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    session_nonce: Mapped[str] = mapped_column(String(32), default=new_session_nonce)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    about: Mapped[str] = mapped_column(Text, default="")
    avatar: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    avatar_digest: Mapped[str | None] = mapped_column(String(16))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        return f"<User {self.username}>"

    @classmethod
    def find(cls, username):
        """Return the user with this name in any letter case, or None."""
        return db.session.scalar(select(cls).where(cls.username_key == name_key(username)))

    @classmethod
    def register(cls, username, password):
        """Add a new user with this name and password to the session."""
        user = cls()
        user.rename(username)
        user.set_password(password)
        db.session.add(user)
        return user

    @property
    def shown_name(self):
        """The name to show: the display name when set, else the username."""
        return self.display_name or self.username

    @property
    def has_avatar(self):
        """Whether an avatar image has been uploaded."""
        return self.avatar_digest is not None

    def get_id(self):
        """Identify the user in the session; a new nonce logs out every old session."""
        return f"{self.id}:{self.session_nonce}"

    def rename(self, username):
        """Take a new username, checked against the naming rule."""
        self.username = normalise_name(username)
        self.username_key = name_key(self.username)

    def set_password(self, password):
        """Store a hash of the password and end every other session."""
        self.password_hash = generate_password_hash(password)
        self.session_nonce = new_session_nonce()

    def check_password(self, password):
        """Whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def set_avatar(self, image_bytes):
        """Store an already re-encoded avatar image; its digest versions its URL."""
        self.avatar = image_bytes
        self.avatar_digest = hashlib.sha256(image_bytes).hexdigest()[:16]

    def remove_avatar(self):
        """Go back to the initials shown in place of an avatar."""
        self.avatar = None
        self.avatar_digest = None

    def promote_to_admin(self):
        """Let this user do on every room what its owner can."""
        self.is_admin = True
