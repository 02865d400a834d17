"""People: the directory, profiles, direct conversations, avatars, and my own account."""

from functools import partial

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

from chatapp import notify, roomchanges
from chatapp.access import user_or_404
from chatapp.avatars import InvalidAvatar, reencode_avatar
from chatapp.blueprints.auth import password_refusal, start_session
from chatapp.connections import closing
from chatapp.conversations import open_conversation
from chatapp.extensions import db, throttle
from chatapp.forms import ChangePasswordForm, DeleteAccountForm, ProfileForm, TokenForm
from chatapp.models import ApiToken, LoginSession, Room, User
from chatapp.offload import off_the_loop
from chatapp.responses import redirect_after_post, render

bp = Blueprint("users", __name__, url_prefix="/chat")

NAME_TAKEN = "That name is taken."


@bp.before_request
@login_required
def require_login():
    """Every page here is for logged-in users."""


@bp.get("/users/")
def directory():
    """Everyone, by name."""
    users = sorted(db.session.scalars(select(User)), key=lambda user: user.username.casefold())
    return render_template("users/directory.html", users=users)


@bp.get("/users/<username>/")
def profile(username):
    """One person's profile."""
    return render_template("users/profile.html", user=user_or_404(username))


@bp.post("/users/<username>/message")
def message(username):
    """Open my direct conversation with someone, starting it on first use."""
    other = user_or_404(username)
    if other.id == current_user.id:
        abort(400, "A conversation needs someone else: pick another person.")
    room, _ = open_conversation(current_user._get_current_object(), other)
    return redirect_after_post(url_for("chat.room", name=room.name))


@bp.get("/avatars/<int:user_id>/<digest>.webp")
def avatar(user_id, digest):
    """An avatar image; its URL changes with its content, so it is cached for good."""
    user = db.session.get(User, user_id, options=[undefer(User.avatar)])
    if user is None or user.avatar_digest != digest:
        abort(404)
    response = current_app.response_class(user.avatar, mimetype="image/webp")
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


@bp.route("/profile/", methods=("GET", "POST"))
def edit_profile():
    """Edit what others see of me."""
    form = ProfileForm(obj=current_user)
    if not form.validate_on_submit():
        return render_profile_form(form)
    other = User.find(form.username.data)
    if other is not None and other.id != current_user.id:
        form.username.errors = [NAME_TAKEN]
        return render_profile_form(form)
    if is_new_avatar(form):
        wait = throttle.avatar_upload(current_user.id)
        if wait:
            form.avatar_file.errors = [f"Too many new avatars. Try again in {wait} s."]
            body, _ = render_profile_form(form)
            return body, 429, {"Retry-After": str(wait)}
    try:
        apply_profile(form, current_user)
        db.session.commit()
    except InvalidAvatar as error:
        db.session.rollback()
        form.avatar_file.errors = [str(error)]
        return render_profile_form(form)
    except IntegrityError:
        db.session.rollback()
        form.username.errors = [NAME_TAKEN]
        return render_profile_form(form)
    notify.profile_changed(current_user.id)
    flash("Profile saved.")
    return redirect_after_post(url_for("users.edit_profile"))


def is_new_avatar(form):
    """Whether the form brings an image to decode."""
    return bool(form.avatar_file.data) and not form.drop_avatar.data


def apply_profile(form, user):
    """Copy the form onto the user, re-encoding any uploaded avatar."""
    user.rename(form.username.data)
    user.display_name = form.display_name.data or ""
    user.email = form.email.data or ""
    user.about = form.about.data or ""
    user.shares_read_state = form.shares_read_state.data
    user.shares_typing = form.shares_typing.data
    if form.drop_avatar.data:
        user.remove_avatar()
    elif form.avatar_file.data:
        config = current_app.config
        reencode = partial(
            reencode_avatar,
            form.avatar_file.data.stream,
            size=config["AVATAR_SIZE"],
            max_bytes=config["MAX_AVATAR_BYTES"],
            max_pixels=config["MAX_AVATAR_PIXELS"],
        )
        # Decoding takes a large image a fraction of a second: off the loop, so that no
        # socket waits for it.
        user.set_avatar(off_the_loop(reencode))


@bp.post("/profile/tokens")
def create_token():
    """Make an API token for a program; its secret is shown this once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return render_tokens(form)
    token, secret = ApiToken.issue(current_user, form.name.data)
    db.session.commit()
    body, status = render_tokens(
        TokenForm(formdata=None), new_token=secret, new_token_name=token.name
    )
    # The secret is in this page alone: no cache keeps a copy.
    return body, status, {"Cache-Control": "no-store"}


@bp.post("/profile/tokens/<int:token_id>/revoke")
def revoke_token(token_id):
    """Revoke one of my API tokens; programs using it are turned away at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    db.session.delete(token)
    db.session.commit()
    closing.close_token_sockets(current_user.id, token.id)
    return render_tokens(TokenForm(formdata=None), notice=f"The token {token.name} was revoked.")


@bp.post("/profile/password")
def change_password():
    """Change my password; my other sessions end."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_password_form(form)
    refusal = my_password_refusal(form.current_password.data)
    if refusal:
        form.current_password.errors = [refusal.message]
        return refusal.answer(render_password_form(form))
    session_id = session.get("sid")
    current_user.set_password(form.password.data)
    LoginSession.end_all_but(current_user.id, session_id)
    db.session.commit()
    # The new nonce ended every session, this one included: start it again. The real
    # object, not the current_user proxy, or current_user would end up pointing at itself.
    start_session(current_user._get_current_object(), session_id)
    closing.close_other_sessions(current_user.id, session_id, "Your password was changed.")
    flash("Password changed. Your other sessions were logged out.")
    return redirect_after_post(url_for("users.edit_profile"))


@bp.post("/profile/delete")
def delete_account():
    """Delete my account after one more look at the password."""
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return render_delete_form(form)
    refusal = my_password_refusal(form.confirm_password.data)
    if refusal:
        form.confirm_password.errors = [refusal.message]
        return refusal.answer(render_delete_form(form))
    user = current_user._get_current_object()
    user_id = user.id
    emptied = leave_owned_rooms(user)
    logout_user()
    session.clear()
    db.session.delete(user)
    db.session.commit()
    for room_id, room_name, was_public in emptied:
        roomchanges.deleted(room_id, room_name, [user_id], was_public, user_id)
    closing.close_user_sockets(user_id, "This account was deleted.")
    flash("Your account was deleted.")
    return redirect_after_post(url_for("auth.login"))


@bp.post("/profile/sessions/end")
def end_session():
    """Log out one of my sessions, in whichever browser it is."""
    session_id = request.form.get("session_id", "")
    if not LoginSession.end(current_user.id, session_id):
        abort(404, "That session has ended already.")
    db.session.commit()
    closing.close_session_sockets(current_user.id, session_id)
    if session_id == session.get("sid"):
        return logged_out("You logged out.")
    flash("That session was logged out.")
    return redirect_after_post(url_for("users.edit_profile"))


@bp.post("/profile/sessions/end-all")
def end_all_sessions():
    """Log out everywhere, this browser included."""
    user_id = current_user.id
    LoginSession.end_all_but(user_id, None)
    db.session.commit()
    closing.close_user_sockets(user_id, "You logged out everywhere.")
    return logged_out("You logged out everywhere.")


def logged_out(message):
    """Forget this browser's login and send it to the login page, saying why."""
    logout_user()
    session.clear()
    flash(message)
    return redirect_after_post(url_for("auth.login"))


def leave_owned_rooms(user):
    """Hand on each room the user owns, deleting those with nobody left; return those."""
    emptied = []
    for room in Room.owned_by(user):
        if not room.pass_on():
            emptied.append((room.id, room.name, room.is_public))
            db.session.delete(room)
    return emptied


def my_password_refusal(password):
    """Check my own password, counted like a login so that it cannot be guessed."""
    return password_refusal(current_user.username_key, current_user, password)


def render_profile_form(form):
    """The profile page, or just its details form for htmx."""
    return render_profile_page("users/_profile_form.html", form, profile_form=form)


def render_password_form(form):
    """The profile page, or just its password form for htmx."""
    return render_profile_page("users/_password_form.html", form, password_form=form)


def render_delete_form(form):
    """The profile page, or just its delete form for htmx."""
    return render_profile_page("users/_delete_form.html", form, delete_form=form)


def render_tokens(form, **context):
    """The profile page, or just its API tokens section for htmx."""
    return render_profile_page("users/_tokens.html", form, token_form=form, **context)


def render_profile_page(fragment, form, **context):
    """Render the page with all its forms, the submitted one carrying its errors."""
    context.setdefault("profile_form", ProfileForm(formdata=None, obj=current_user))
    context.setdefault("password_form", ChangePasswordForm(formdata=None))
    context.setdefault("delete_form", DeleteAccountForm(formdata=None))
    context.setdefault("token_form", TokenForm(formdata=None))
    status = 422 if form.errors else 200
    return render(
        "users/profile_edit.html",
        fragment,
        status,
        tokens=ApiToken.of(current_user),
        sessions=LoginSession.of(current_user.id),
        this_session=session.get("sid"),
        **context,
    )
