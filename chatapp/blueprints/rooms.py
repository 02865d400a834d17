"""The lobby: where a logged-in user lands."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import login_required

bp = Blueprint("rooms", __name__)


@bp.get("/")
def index():
    """Send visitors to the lobby (which sends strangers on to log in)."""
    return redirect(url_for("rooms.lobby"))


@bp.get("/chat/room/")
@login_required
def lobby():
    """The lobby page."""
    return render_template("rooms/lobby.html")
