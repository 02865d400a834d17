"""chatapp: a self-hosted room chat for browsers."""

import os

from flask import Flask

from chatapp import (
    avatars,
    bookkeeping,
    cli,
    database,
    headers,
    incoming,
    messaging,
    roster,
    settings,
)
from chatapp.blueprints import api, auth, chat, errors, events, invitations, rooms, users
from chatapp.connections import apisocket, roomsocket, websocket
from chatapp.extensions import (
    api_rate_limit,
    csrf,
    db,
    flood_control,
    login_manager,
    migrate,
    sock,
    throttle,
)
from chatapp.live import broker, presence


def create_app(test_config=None):
    """Create and configure an instance of the chat application."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("CHATAPP_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    app.config.from_object("chatapp.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CHATAPP")
    if test_config is not None:
        app.config.from_mapping(test_config)
    settings.resolve(app)

    db.init_app(app)
    database.configure_engine(app)
    migrate.init_app(app, db, directory=settings.migrations_dir(app), render_as_batch=True)
    # Before CSRFProtect, which reads the form: its size cap and checks come first.
    incoming.init_app(app)
    avatars.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    throttle.init_app(app)
    flood_control.init_app(app)
    api_rate_limit.init_app(app)
    sock.init_app(app)
    websocket.init_app(app)
    roomsocket.init_app(app)
    apisocket.init_app(app)
    broker.init_app(app)
    presence.init_app(app, announce_gone=roster.announce_gone)
    messaging.init_app(app)
    bookkeeping.init_app(app)
    headers.init_app(app)

    for blueprint in (auth.bp, rooms.bp, chat.bp, invitations.bp, events.bp, users.bp, errors.bp):
        app.register_blueprint(blueprint)
    api.init_app(app)
    cli.register(app)
    return app
