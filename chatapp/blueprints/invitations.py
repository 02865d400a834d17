"""My invitations: a list, and accepting or declining each."""

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user, login_required

from chatapp import listings, notify
from chatapp.access import my_invitation_or_404
from chatapp.extensions import db
from chatapp.responses import is_htmx, local_url_or, redirect_after_post, render

bp = Blueprint("invitations", __name__, url_prefix="/chat/invitations")

ANSWERED = {
    "accepted": "You accepted this invitation already.",
    "declined": "You declined this invitation already.",
    "revoked": "This invitation was taken back.",
}


@bp.before_request
@login_required
def require_login():
    """Invitations are for logged-in users."""


@bp.get("/")
def index():
    """The invitations waiting for my answer."""
    return render(
        "invitations/index.html",
        "invitations/_list.html",
        invitations=listings.my_invitations(current_user),
    )


@bp.post("/<int:invitation_id>/accept")
def accept(invitation_id):
    """Join the room I was invited to and open it."""
    invitation = my_pending_invitation(invitation_id)
    invitation.accept()
    db.session.commit()
    notify.invitation_answered(invitation)
    return redirect_after_post(url_for("chat.room", name=invitation.room.name))


@bp.post("/<int:invitation_id>/decline")
def decline(invitation_id):
    """Say no to an invitation; it disappears from my lists."""
    invitation = my_pending_invitation(invitation_id)
    invitation.decline()
    db.session.commit()
    notify.invitation_answered(invitation)
    if is_htmx():
        return ""
    return redirect(local_url_or(request.form.get("next"), url_for("invitations.index")), 303)


def my_pending_invitation(invitation_id):
    """My invitation by id, refused with a clear 409 once it was answered."""
    invitation = my_invitation_or_404(invitation_id)
    if not invitation.is_pending:
        abort(409, ANSWERED[invitation.status])
    return invitation
