"""The event socket for programs: live events as JSON, opened with a bearer token.

Like every API request, the handshake goes through the API's checks first (chatapp.
blueprints.api.guard): without a valid token it is refused with 401 before the upgrade.
Cookies count for nothing here, so a page on another site cannot open it as its visitor.
"""

from flask import Blueprint, g, request
from flask_login import current_user

from chatapp.blueprints.api.spec import PREFIX
from chatapp.connections.apisocket import ApiSocket
from chatapp.connections.websocket import decline_extensions
from chatapp.extensions import sock

bp = Blueprint("api_socket", __name__, url_prefix=PREFIX)


@bp.before_request
def no_extensions():
    """Answer the handshake without extensions: frames are encoded once for every socket."""
    decline_extensions(request.environ)


@sock.route("/ws", bp=bp)
def socket(ws):
    """A program's live events, and its requests."""
    ApiSocket(ws, current_user._get_current_object(), g.api_token.id).serve()
