"""People: signing up, the directory, profiles, my own, and direct conversations."""

from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from chatapp import notify
from chatapp.access import user_or_404
from chatapp.apierrors import refuse
from chatapp.blueprints.api import shapes
from chatapp.blueprints.api.schemas import (
    MeSchema,
    ProfileSchema,
    RoomDetailSchema,
    SignUpSchema,
    UserSchema,
    UsersSchema,
)
from chatapp.blueprints.api.spec import Blueprint
from chatapp.conversations import open_conversation
from chatapp.extensions import db
from chatapp.live.presence import SITE, get_presence
from chatapp.models import User

bp = Blueprint("api_users", __name__, "People and my own profile")

NAME_TAKEN = "That name is taken."


def online_ids():
    """The ids of everyone with a page open."""
    return get_presence().in_room(SITE).keys()


def me():
    """The user the request's token belongs to."""
    return current_user._get_current_object()


@bp.route("/users", methods=["POST"])
@bp.without_token
@bp.arguments(SignUpSchema)
@bp.response(201, MeSchema)
def sign_up(data):
    """Make an account with a new username and a password; then ask for a token."""
    # The place for a per-address limit on new accounts, as the login form has.
    if User.find(data["username"]) is not None:
        refuse(409, NAME_TAKEN, "name_taken")
    user = User.register(data["username"], data["password"])
    try:
        db.session.commit()
    except IntegrityError:
        # Someone took the name between our check and our insert.
        db.session.rollback()
        refuse(409, NAME_TAKEN, "name_taken")
    return shapes.me(user, online=False)


@bp.route("/users", methods=["GET"])
@bp.response(200, UsersSchema)
def directory():
    """Everyone, by name, with who has a page open."""
    online = online_ids()
    users = db.session.scalars(select(User).order_by(User.username_key))
    return {"users": [shapes.user(user, user.id in online) for user in users]}


@bp.route("/users/<username>", methods=["GET"])
@bp.response(200, UserSchema)
def profile(username):
    """One person's profile."""
    user = user_or_404(username)
    return shapes.user(user, user.id in online_ids())


@bp.route("/users/<username>/conversation", methods=["POST"])
@bp.response(200, RoomDetailSchema)
@bp.alt_response(201, schema=RoomDetailSchema, description="Started just now")
def conversation(username):
    """Open my direct conversation with someone, starting it on first use."""
    other = user_or_404(username)
    if other.id == current_user.id:
        refuse(422, "A conversation needs someone else: pick another person.")
    room, started = open_conversation(me(), other)
    return shapes.room_detail(room, current_user), 201 if started else 200


@bp.route("/me", methods=["GET"])
@bp.response(200, MeSchema)
def show_me():
    """My own profile, with my privacy switches."""
    return shapes.me(current_user, current_user.id in online_ids())


@bp.route("/me", methods=["PATCH"])
@bp.arguments(ProfileSchema)
@bp.response(200, MeSchema)
def update_me(changes):
    """Change any of my display name, email, about text and privacy switches."""
    user = me()
    for field, value in changes.items():
        setattr(user, field, value)
    db.session.commit()
    notify.profile_changed(user.id)
    return shapes.me(user, user.id in online_ids())
