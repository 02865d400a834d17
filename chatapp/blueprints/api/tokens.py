"""Tokens: a program trades a username and password for one, and can give it back."""

from flask import g

from chatapp.apierrors import refuse
from chatapp.blueprints.api import shapes
from chatapp.blueprints.api.schemas import TokenRequestSchema, TokenSchema
from chatapp.blueprints.api.spec import Blueprint
from chatapp.blueprints.auth import password_refusal
from chatapp.connections import closing
from chatapp.extensions import db
from chatapp.models import ApiToken, User
from chatapp.names import name_key

bp = Blueprint("api_tokens", __name__, "Bearer tokens", url_prefix="/tokens")

REFUSAL_CODES = {401: "wrong_password", 429: "too_many_attempts"}


@bp.route("", methods=["POST"])
@bp.without_token
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
def create(data):
    """Trade a username and password for a new token; failures count as failed logins do."""
    user = User.find(data["username"])
    refusal = password_refusal(name_key(data["username"]), user, data["password"])
    if refusal:
        refuse(refusal.status, refusal.message, REFUSAL_CODES.get(refusal.status), headers(refusal))
    token, secret = ApiToken.issue(user, data["name"])
    db.session.commit()
    return shapes.token(token, secret)


def headers(refusal):
    """Retry-After once attempts are refused for a while; 401 names the scheme it wants."""
    if refusal.retry_after:
        return {"Retry-After": str(refusal.retry_after)}
    return {"WWW-Authenticate": 'Bearer realm="chatapp"'}


@bp.route("/current", methods=["DELETE"])
@bp.response(204)
def revoke_current():
    """Revoke the token this request carries; it stops working at once."""
    token = g.api_token
    db.session.delete(token)
    db.session.commit()
    closing.close_token_sockets(token.user_id, token.id)
