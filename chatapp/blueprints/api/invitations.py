"""My invitations: the list, and accepting or declining each."""

from flask_login import current_user

from chatapp import listings, notify
from chatapp.access import my_invitation_or_404
from chatapp.apierrors import refuse
from chatapp.blueprints.api import shapes
from chatapp.blueprints.api.schemas import InvitationsSchema, RoomDetailSchema
from chatapp.blueprints.api.spec import INVITATION_ID, Blueprint
from chatapp.blueprints.invitations import ANSWERED
from chatapp.extensions import db

bp = Blueprint("api_invitations", __name__, "Invitations addressed to me", "/invitations")


@bp.route("", methods=["GET"])
@bp.response(200, InvitationsSchema)
def index():
    """The invitations waiting for my answer, newest first."""
    found = listings.my_invitations(current_user)
    return {"invitations": [shapes.invitation(invitation) for invitation in found]}


@bp.route(f"/{INVITATION_ID}/accept", methods=["POST"])
@bp.response(200, RoomDetailSchema)
def accept(invitation_id):
    """Join the room I was invited to."""
    invitation = my_pending_invitation(invitation_id)
    invitation.accept()
    db.session.commit()
    notify.invitation_answered(invitation)
    return shapes.room_detail(invitation.room, current_user)


@bp.route(f"/{INVITATION_ID}/decline", methods=["POST"])
@bp.response(204)
def decline(invitation_id):
    """Say no to an invitation."""
    invitation = my_pending_invitation(invitation_id)
    invitation.decline()
    db.session.commit()
    notify.invitation_answered(invitation)


def my_pending_invitation(invitation_id):
    """My invitation by id, refused with 409 once it was answered."""
    invitation = my_invitation_or_404(invitation_id)
    if not invitation.is_pending:
        refuse(409, ANSWERED[invitation.status], "answered")
    return invitation
