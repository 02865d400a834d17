"""The data model. Behaviour lives here as short verb methods; views only orchestrate."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from flask_login import UserMixin
from sqlalchemy import (
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from chatapp.extensions import db
from chatapp.names import lookup_key, name_key, normalise_name
from chatapp.offload import off_the_loop

PRIVATE, PUBLIC = "private", "public"
VISIBILITIES = (PRIVATE, PUBLIC)
# The largest id any table holds: ids are INTEGER, 32 bits on PostgreSQL. A larger one
# from a client is refused where it comes in, before a query fails on it.
MAX_ID = 2**31 - 1
OWNER, MEMBER = "owner", "member"
PENDING, ACCEPTED, DECLINED, REVOKED = "pending", "accepted", "declined", "revoked"
TEXT = "text"
# A token's last use is written at most this often, not on every request it makes.
TOKEN_USE_RECORDED_EVERY = timedelta(minutes=1)
TOKEN_PREFIX = "chatapp_"
MAX_TOKEN_LENGTH = 128


def utcnow():
    """Return the current time in UTC, without tzinfo, as the database stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def shown_name(display_name, username):
    """The display name with the @username beside it, or the username alone."""
    if not display_name:
        return username
    # The display name is isolated, as <bdi> would, so that right-to-left text in it
    # cannot move the username beside it.
    return f"\u2068{display_name}\u2069 (@{username})"


def new_session_nonce():
    """Return a fresh value that invalidates every session holding the old one."""
    return secrets.token_urlsafe(16)


class User(UserMixin, db.Model):
    """Someone who logs in by username."""

    __tablename__ = "users"
    # AUTOINCREMENT: a deleted row's id is never given again, so nothing meant for it
    # (a session, a socket's channel) can reach whoever would have inherited it.
    __table_args__ = ({"sqlite_autoincrement": True},)

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
    shares_read_state: Mapped[bool] = mapped_column(default=True, server_default=true())
    shares_typing: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        return f"<User {self.username}>"

    @classmethod
    def find(cls, username):
        """Return the user whose name looks like this one (in any letter case), or None."""
        key = lookup_key(username)
        if key is None:
            return None
        return db.session.scalar(select(cls).where(cls.username_key == key))

    @classmethod
    def find_all(cls, usernames):
        """The users with these names, by the key of each name, from one query."""
        keys = {key for key in map(lookup_key, usernames) if key is not None}
        users = db.session.scalars(select(cls).where(cls.username_key.in_(keys))) if keys else []
        return {user.username_key: user for user in users}

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
        """The name to show: the display name with the @username beside it, or the username."""
        return shown_name(self.display_name, self.username)

    @property
    def mailto_url(self):
        """A mailto: link to the email address, which no part of the address can extend."""
        # "?", "&", "#" and "%" may stand in an address, but would start a query or fragment.
        return "mailto:" + quote(self.email, safe="@")

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
        self.password_hash = off_the_loop(generate_password_hash, password)
        self.session_nonce = new_session_nonce()

    def check_password(self, password):
        """Whether the password matches the stored hash."""
        return off_the_loop(check_password_hash, self.password_hash, password)

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


class LoginSession(db.Model):
    """One login of a user in one browser: the session cookie is valid only while it exists."""

    __tablename__ = "login_sessions"

    # How often last_seen_at is written: a request is not worth a write to the database.
    TOUCH_EVERY = timedelta(minutes=5)
    MAX_USER_AGENT = 256

    # The session's "sid", also kept in the signed cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(MAX_USER_AGENT), default="")
    address: Mapped[str] = mapped_column(String(64), default="")

    @classmethod
    def start(cls, session_id, user, user_agent, address):
        """Record a new login session of the user and add it to the db session."""
        login = cls(
            id=session_id,
            user_id=user.id,
            user_agent=(user_agent or "")[: cls.MAX_USER_AGENT],
            address=(address or "")[:64],
        )
        db.session.add(login)
        return login

    @classmethod
    def of(cls, user_id):
        """The user's login sessions, the one seen last first."""
        query = select(cls).where(cls.user_id == user_id).order_by(cls.last_seen_at.desc())
        return db.session.scalars(query).all()

    @classmethod
    def end(cls, user_id, session_id):
        """End one of the user's sessions; whether there was one to end."""
        ended = db.session.execute(delete(cls).where(cls.user_id == user_id, cls.id == session_id))
        return ended.rowcount > 0

    @classmethod
    def end_all_but(cls, user_id, keep_session_id):
        """End every session of the user except one (None: every one)."""
        db.session.execute(delete(cls).where(cls.user_id == user_id, cls.id != keep_session_id))

    def touch_statement(self):
        """The UPDATE that marks this session seen now, or None when it was seen lately."""
        now = utcnow()
        if now - self.last_seen_at < self.TOUCH_EVERY:
            return None
        return update(LoginSession).where(LoginSession.id == self.id).values(last_seen_at=now)


class RoomRefusal(Exception):
    """Something a user asked of a room that cannot be done; the message says why."""

    def __init__(self, message, status=409):
        super().__init__(message)
        self.status = status


class Room(db.Model):
    """A place to talk: a named room, or the direct conversation of two people."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A direct conversation is named "@<id>-<id>": outside the room-name rule, so it
    # can never clash with a room, and unique per pair through name_key.
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(256), unique=True)
    visibility: Mapped[str] = mapped_column(String(16), default=PRIVATE)
    is_direct: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Messages said to everyone here so far, personal ones aside: unread counts are
    # derived from it, never recounted.
    message_count: Mapped[int] = mapped_column(default=0, server_default="0")

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="room",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Membership.joined_at",
    )

    __table_args__ = ({"sqlite_autoincrement": True},)

    def __repr__(self):
        return f"<Room {self.name}>"

    @classmethod
    def create(cls, name, owner, visibility=PRIVATE, invitees=()):
        """Add a new room with its owner as the first member, and invitations, to the session."""
        if any(invitee.id == owner.id for invitee in invitees):
            raise RoomRefusal("You cannot invite yourself.", 422)
        room = cls(visibility=visibility)
        room.rename(name)
        db.session.add(room)
        room.memberships.append(Membership(user=owner, role=OWNER))
        # A new room has no members or invitations to check against: no query per invitee.
        db.session.add_all(Invitation(room=room, invitee=i, inviter=owner) for i in invitees)
        return room

    @classmethod
    def joined_by(cls, user):
        """Rooms the user is a member of."""
        return select(cls).join(Membership).where(Membership.user_id == user.id)

    @classmethod
    def open_to(cls, user):
        """Rooms the user may open: theirs, public ones, ones they are invited to.

        An admin opens every room, direct conversations between others aside.
        """
        is_member = exists().where(Membership.room_id == cls.id, Membership.user_id == user.id)
        is_invited = exists().where(
            Invitation.room_id == cls.id,
            Invitation.invitee_id == user.id,
            Invitation.status == PENDING,
        )
        may_look = or_(cls.visibility == PUBLIC, is_invited, true() if user.is_admin else false())
        return select(cls).where(or_(is_member, and_(~cls.is_direct, may_look)))

    @classmethod
    def managed_by(cls, user):
        """Rooms the user may rename, invite to, clear out and delete."""
        if user.is_admin:
            return select(cls).where(~cls.is_direct)
        return cls.joined_by(user).where(Membership.role == OWNER, ~cls.is_direct)

    @classmethod
    def owned_by(cls, user):
        """The rooms the user owns."""
        query = cls.joined_by(user).where(Membership.role == OWNER, ~cls.is_direct)
        return db.session.scalars(query).all()

    @classmethod
    def find(cls, name):
        """Return the room with this name in any letter case, or None."""
        return db.session.scalar(select(cls).where(cls.named(name)))

    @classmethod
    def named(cls, name):
        """Narrow a query of rooms to the one whose name looks like this (any letter case)."""
        if name.startswith("@"):
            # A direct conversation's name is made by us, and is its own key.
            return cls.name_key == name
        key = lookup_key(name)
        return false() if key is None else cls.name_key == key

    @classmethod
    def direct_between(cls, one, other):
        """Return the direct conversation of two users, or None."""
        return db.session.scalar(select(cls).where(cls.name_key == direct_name(one, other)))

    @classmethod
    def start_direct(cls, one, other):
        """Add the direct conversation of two users to the session."""
        room = cls(name=direct_name(one, other), is_direct=True)
        room.name_key = room.name
        db.session.add(room)
        room.memberships.extend([Membership(user=one), Membership(user=other)])
        return room

    @property
    def is_public(self):
        """Whether anyone logged in may see and join the room."""
        return self.visibility == PUBLIC

    def membership_of(self, user):
        """The user's membership of this room, or None."""
        return db.session.scalar(
            select(Membership).where(Membership.room_id == self.id, Membership.user_id == user.id)
        )

    def is_managed_by(self, user):
        """Whether the user may rename, invite, remove and delete here."""
        return db.session.scalar(self.managed_by(user).where(Room.id == self.id).exists().select())

    def rename(self, name):
        """Take a new name, checked against the naming rule."""
        self.name = normalise_name(name)
        self.name_key = name_key(self.name)

    def set_visibility(self, visibility):
        """Make the room private (invite only) or public."""
        if visibility not in VISIBILITIES:
            raise RoomRefusal("A room is either private or public.", 422)
        self.visibility = visibility

    def invite(self, invitee, inviter):
        """Invite someone who is neither a member nor invited already."""
        if self.is_direct:
            raise RoomRefusal("A direct conversation is for its two people only.")
        if invitee == inviter:
            raise RoomRefusal("You cannot invite yourself.", 422)
        if self.membership_of(invitee) is not None:
            raise RoomRefusal(f"{invitee.username} is already a member.")
        if self.pending_invitation_for(invitee) is not None:
            raise RoomRefusal(f"{invitee.username} is already invited.")
        invitation = Invitation(room=self, invitee=invitee, inviter=inviter)
        db.session.add(invitation)
        return invitation

    def pending_invitation_for(self, user):
        """The invitation waiting for the user's answer, or None."""
        return db.session.scalar(
            select(Invitation).where(
                Invitation.room_id == self.id,
                Invitation.invitee_id == user.id,
                Invitation.status == PENDING,
            )
        )

    def pending_invitations(self):
        """Invitations not answered yet, oldest first."""
        return db.session.scalars(
            select(Invitation)
            .where(Invitation.room_id == self.id, Invitation.status == PENDING)
            .order_by(Invitation.created_at, Invitation.id)
        ).all()

    def join(self, user):
        """Make the user a member (a no-op for a member) and return the membership."""
        membership = self.membership_of(user)
        if membership is None:
            # A newcomer starts with what was said before them counted as read.
            newest = db.session.scalar(
                select(func.max(Message.id)).where(Message.room_id == self.id)
            )
            membership = Membership(
                room=self, user=user, last_read_message_id=newest, read_position=self.message_count
            )
            db.session.add(membership)
        invitation = self.pending_invitation_for(user)
        if invitation is not None:
            invitation.answer(ACCEPTED)
        return membership

    def leave(self, user):
        """End the user's membership; an owner hands the room on or deletes it first."""
        if self.is_direct:
            raise RoomRefusal("A direct conversation cannot be left.")
        membership = self.member(user)
        if membership.role == OWNER:
            raise RoomRefusal("You own this room: hand it to a member or delete it first.")
        db.session.delete(membership)

    def remove(self, member):
        """Take a member out of the room; the owner cannot be removed."""
        membership = self.member(member)
        if membership.role == OWNER:
            raise RoomRefusal("The owner cannot be removed: hand the room to someone else first.")
        db.session.delete(membership)

    def pass_on(self):
        """Hand the room to its longest-standing other member; False when there is none."""
        owner = next(m for m in self.memberships if m.role == OWNER)
        heirs = [m for m in self.memberships if m is not owner]
        if not heirs:
            return False
        heirs[0].role = OWNER
        return True

    def member(self, user):
        """The user's membership, or a refusal saying they are not a member."""
        membership = self.membership_of(user)
        if membership is None:
            raise RoomRefusal(f"{user.username} is not a member.")
        return membership

    def hand_over(self, new_owner):
        """Make a member the owner; the owner so far stays as a member."""
        membership = self.member(new_owner)
        for each in self.memberships:
            if each.role == OWNER:
                each.role = MEMBER
        membership.role = OWNER


class Membership(db.Model):
    """A user's place in a room: one row per user and room."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=MEMBER)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_read_message_id: Mapped[int | None]
    # The position (see Message.position) of the last message read, and how many personal
    # messages to this member came after it: unread = room.message_count - read_position +
    # personal_unread, with no scan of the messages.
    read_position: Mapped[int] = mapped_column(default=0, server_default="0")
    personal_unread: Mapped[int] = mapped_column(default=0, server_default="0")

    # Members are shown with their names and avatars: loaded with the membership.
    user: Mapped[User] = relationship(lazy="joined")
    room: Mapped[Room] = relationship(back_populates="memberships")

    @property
    def unread_count(self):
        """Messages for this member that they have not read yet."""
        return self.room.message_count - self.read_position + self.personal_unread

    __table_args__ = (
        Index("uq_memberships_user_id_room_id", "user_id", "room_id", unique=True),
        {"sqlite_autoincrement": True},
    )


class Invitation(db.Model):
    """An invitation into a room, from its inviter to its invitee."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    invitee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]

    room: Mapped[Room] = relationship()
    invitee: Mapped[User] = relationship(foreign_keys=[invitee_id], lazy="joined")
    inviter: Mapped[User | None] = relationship(foreign_keys=[inviter_id], lazy="joined")

    # One pending invitation per person and room, even when two owners invite at once.
    __table_args__ = (
        Index(
            "uq_invitations_pending",
            "room_id",
            "invitee_id",
            unique=True,
            sqlite_where=text(f"status = '{PENDING}'"),
            postgresql_where=text(f"status = '{PENDING}'"),
        ),
        {"sqlite_autoincrement": True},
    )

    @property
    def is_pending(self):
        """Whether the invitee has yet to answer."""
        return self.status == PENDING

    def answer(self, status):
        """Close the invitation as accepted, declined or revoked."""
        self.status = status
        self.answered_at = utcnow()

    def accept(self):
        """Join the room the invitation is for."""
        return self.room.join(self.invitee)

    def decline(self):
        """Say no; the room stays as it was."""
        self.answer(DECLINED)

    def revoke(self):
        """Take the invitation back before it is answered."""
        self.answer(REVOKED)


class Message(db.Model):
    """Something said in a room: to everyone in it, or personally to one member."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    # Both stay nullable: a deleted account leaves its messages, "from a deleted user".
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept apart from recipient_id, so that a personal message stays personal when the
    # recipient's account is deleted.
    is_personal: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[str] = mapped_column(String(16), default=TEXT)
    body: Mapped[str] = mapped_column(Text)
    color: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The room's message_count once this message was said (unchanged by a personal one).
    position: Mapped[int] = mapped_column(default=0, server_default="0")

    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="joined")
    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_id], lazy="joined")

    __table_args__ = (
        Index("ix_messages_room_id_id", "room_id", "id"),
        # Personal messages to one member: their unread count after a read is taken here.
        Index(
            "ix_messages_personal",
            "recipient_id",
            "room_id",
            "id",
            sqlite_where=text("is_personal"),
            postgresql_where=text("is_personal"),
        ),
        {"sqlite_autoincrement": True},
    )

    def __repr__(self):
        return f"<Message {self.id} in room {self.room_id}>"

    @classmethod
    def seen_by(cls, user_id):
        """Narrow a query to messages this user may read: all but others' personal ones."""
        return or_(~cls.is_personal, cls.author_id == user_id, cls.recipient_id == user_id)

    @classmethod
    def page_for(cls, room_id, user_id, *, before=None, after=None, limit=None):
        """Messages of a room the user may read, oldest first.

        With after, the oldest ones newer than it; else the newest ones (older than before).
        """
        query = select(cls).where(cls.room_id == room_id, cls.seen_by(user_id))
        if before is not None:
            query = query.where(cls.id < before)
        if after is not None:
            return db.session.scalars(
                query.where(cls.id > after).order_by(cls.id).limit(limit)
            ).all()
        newest = db.session.scalars(query.order_by(cls.id.desc()).limit(limit)).all()
        return newest[::-1]


class ApiToken(db.Model):
    """A named bearer token with which a program acts as its user; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")

    def __repr__(self):
        return f"<ApiToken {self.id} of user {self.user_id}>"

    @classmethod
    def issue(cls, user, name):
        """Add a new token for the user to the session; return it and its secret, shown once."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, secret_hash=hash_secret(secret))
        db.session.add(token)
        return token, secret

    @classmethod
    def find(cls, secret):
        """The token with this secret, or None."""
        if not secret or len(secret) > MAX_TOKEN_LENGTH:
            return None
        return db.session.scalar(select(cls).where(cls.secret_hash == hash_secret(secret)))

    @classmethod
    def of(cls, user):
        """The user's tokens, newest first."""
        query = select(cls).where(cls.user_id == user.id).order_by(cls.id.desc())
        return db.session.scalars(query).all()

    def record_use(self):
        """Note that the token was used now, unless that was noted less than a minute ago."""
        now = utcnow()
        due = now - TOKEN_USE_RECORDED_EVERY
        if self.last_used_at is not None and self.last_used_at > due:
            return False
        # Conditional, so that requests arriving together write it once between them.
        db.session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == self.id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= due),
            )
            .values(last_used_at=now)
        )
        self.last_used_at = now
        return True


def hash_secret(secret):
    """The stored form of a token: its secret is random enough that one SHA-256 suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


def direct_name(one, other):
    """The name of the direct conversation between two users."""
    low, high = sorted((one.id, other.id))
    return f"@{low}-{high}"
