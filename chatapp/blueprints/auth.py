"""Logging in by username first, and logging out."""

import hmac
from typing import NamedTuple

from flask import Blueprint, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from chatapp.connections import closing
from chatapp.extensions import db, login_manager, throttle
from chatapp.forms import PasswordForm, SetPasswordForm, UsernameForm
from chatapp.models import LoginSession, User
from chatapp.names import name_key
from chatapp.responses import local_url_or, redirect_after_post, render

bp = Blueprint("auth", __name__, url_prefix="/chat")

NAME_TAKEN = "That name was just taken. Choose another, or log in with it."


@login_manager.user_loader
def load_user(session_user_id):
    """Find the user a session names, while its login session has not been ended."""
    user_id, _, nonce = session_user_id.partition(":")
    session_id = session.get("sid")
    if not user_id.isdigit() or not isinstance(session_id, str):
        return None
    row = db.session.execute(
        select(User, LoginSession)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == int(user_id), LoginSession.id == session_id)
    ).first()
    if row is None or not hmac.compare_digest(row.User.session_nonce, nonce):
        return None
    mark_seen(row.LoginSession)
    return row.User


def mark_seen(login):
    """Note when a session was last used, at most every few minutes."""
    statement = login.touch_statement()
    if statement is not None:
        # Its own transaction: the request's session must not be committed from here.
        with db.engine.begin() as connection:
            connection.execute(statement)


@bp.route("/login/", methods=("GET", "POST"))
def login():
    """Ask for a username; then for a new password (unknown name) or the password."""
    if current_user.is_authenticated:
        return redirect(url_for("rooms.lobby"))
    if request.method == "GET":
        return render_login(UsernameForm(), "username")
    if "password_confirm" in request.form:
        return register()
    if "password" in request.form:
        return authenticate()
    return choose_password_step()


def choose_password_step():
    """A known name is asked for its password; an unknown one chooses a password."""
    form = UsernameForm()
    if not form.validate_on_submit():
        return render_login(form, "username", 422)
    user = User.find(form.username.data)
    if user is None:
        return render_login(SetPasswordForm(formdata=None, username=form.username.data), "new")
    return render_login(PasswordForm(formdata=None, username=user.username), "password")


def register():
    """Make the account for a new name and log it in."""
    form = SetPasswordForm()
    if not form.validate_on_submit():
        return render_login(form, "new", 422)
    wait = throttle.signup_attempt(request.remote_addr)
    if wait:
        form.password.errors = [f"Too many sign-ups from your address. Try again in {wait} s."]
        return Refusal("", 429, wait).answer(render_login(form, "new"))
    if User.find(form.username.data) is not None:
        return name_taken(form.username.data)
    user = User.register(form.username.data, form.password.data)
    try:
        db.session.commit()
    except IntegrityError:
        # Someone registered the same name between our check and our insert.
        db.session.rollback()
        return name_taken(form.username.data)
    return log_in(user)


def name_taken(username):
    """Send the visitor back to the first step, saying why."""
    form = UsernameForm(formdata=None, username=username)
    form.username.errors = [NAME_TAKEN]
    return render_login(form, "username", 409)


def authenticate():
    """Check the password for a known name, refusing after too many failures."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return render_login(form, "password", 422)
    user = User.find(form.username.data)
    refusal = password_refusal(name_key(form.username.data), user, form.password.data)
    if refusal:
        form.password.errors = [refusal.message]
        return refusal.answer(render_login(form, "password"))
    return log_in(user)


class Refusal(NamedTuple):
    """Why a password was not accepted, and the status that says so."""

    message: str
    status: int
    retry_after: int = 0

    def answer(self, rendered):
        """The rendered form with this refusal's status and Retry-After."""
        body, _ = rendered
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
        return body, self.status, headers


def password_refusal(username_key, user, password):
    """Refuse a wrong password, or any once too many have failed; None if it is right."""
    address = request.remote_addr
    # Counted before checking: the check yields to other requests, and guesses sent at
    # once must each be counted before any of them is let through.
    wait = throttle.login_attempt(username_key, address)
    if wait:
        return Refusal(f"Too many failed attempts. Try again in {wait} s.", 429, wait)
    if user is None or not user.check_password(password):
        return Refusal("Wrong password.", 401)
    throttle.login_succeeded(username_key, address)
    return None


def log_in(user):
    """Log the user in and go where they were heading."""
    start_session(user)
    return redirect_after_post(local_url_or(request.args.get("next"), url_for("rooms.lobby")))


def start_session(user, session_id=None):
    """Start a fresh session for the user, under a new id unless one is given."""
    # A new session at login: nothing planted in the old one carries over, its id neither.
    session.clear()
    login_user(user)
    session.permanent = True
    session["sid"] = session_id or record_login(user)


def record_login(user):
    """Record a new login session of the user on the server; return its id."""
    session_id = closing.new_session_id()
    LoginSession.start(session_id, user, request.user_agent.string, request.remote_addr)
    db.session.commit()
    return session_id


def render_login(form, step, status=200):
    """The login page, or just its form for htmx."""
    return render("auth/login.html", "auth/_login_form.html", status, form=form, step=step)


@bp.post("/logout/")
@login_required
def logout():
    """End the session and close its sockets."""
    user_id, session_id = current_user.id, session.get("sid")
    LoginSession.end(user_id, session_id)
    db.session.commit()
    logout_user()
    session.clear()
    closing.close_session_sockets(user_id, session_id)
    return redirect_after_post(url_for("auth.login"))
