"""The JSON API for programs, under /api/v1: the pages' rules, with a bearer token."""

from chatapp.blueprints.api import (
    docs,
    guard,
    invitations,
    messages,
    rooms,
    socket,
    tokens,
    users,
)
from chatapp.blueprints.api.spec import create_api
from chatapp.extensions import csrf

DOCUMENTED = (tokens.bp, users.bp, rooms.bp, invitations.bp, messages.bp)


def init_app(app):
    """Register the API's blueprints, its document, and the checks every request goes through."""
    api = create_api(app)
    for blueprint in DOCUMENTED:
        api.register_blueprint(blueprint)
        # Tokens, not cookies, say who is calling: there is no session to forge a request in.
        csrf.exempt(blueprint)
    app.register_blueprint(docs.bp)
    app.register_blueprint(socket.bp)
    guard.init_app(app)
