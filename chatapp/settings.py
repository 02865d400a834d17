"""Settings derived from the loaded configuration: secret key, database, folders, proxies."""

import os
import secrets

from flask import request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

SECRET_KEY_FILE = "secret_key"
FORM_OVERHEAD_BYTES = 64 * 1024  # the fields and multipart framing around an avatar
PRIVATE_FOLDER = 0o700


def resolve(app):
    """Fill in what the configuration leaves to be derived, and create the folders."""
    # Folders only their owner may enter: they hold the database, the key and the logs.
    os.makedirs(app.instance_path, mode=PRIVATE_FOLDER, exist_ok=True)
    config = app.config
    config["SECRET_KEY"] = config.get("SECRET_KEY") or load_or_create_secret_key(app.instance_path)
    config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    config["LOG_DIR"] = os.path.join(project_root(app), config["LOG_DIR"])
    config["ALLOWED_ORIGINS"] = origin_list(config["ALLOWED_ORIGINS"])
    config["MAX_CONTENT_LENGTH"] = config["MAX_FORM_BYTES"]
    config["MAX_UPLOAD_BYTES"] = config["MAX_AVATAR_BYTES"] + FORM_OVERHEAD_BYTES
    os.makedirs(config["LOG_DIR"], mode=PRIVATE_FOLDER, exist_ok=True)
    app.session_interface = HttpsAwareSessionInterface()
    if config["PROXY_COUNT"]:
        count = int(config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def project_root(app):
    """The folder that holds wsgi.py, chatapp/ and logs/."""
    return os.path.dirname(app.root_path)


def migrations_dir(app):
    """The Alembic folder, found the same way whatever the working directory."""
    return os.path.join(project_root(app), "migrations")


def load_or_create_secret_key(instance_path):
    """Read the instance's secret key, generating it once on first start."""
    path = os.path.join(instance_path, SECRET_KEY_FILE)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret_key(path)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32))
    return _read_secret_key(path)


def _read_secret_key(path):
    with open(path) as file:
        key = file.read().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to have a new key generated")
    return key


def database_uri(app):
    """The SQLAlchemy URL: explicit, from DATABASE_URL, or SQLite in the instance folder."""
    config = app.config
    url = config.get("SQLALCHEMY_DATABASE_URI") or config.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + os.path.join(app.instance_path, "chatapp.sqlite")
    # psycopg (version 3) is the driver we ship; SQLAlchemy would assume psycopg2.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def origin_list(value):
    """Accept a list, or a string of origins separated by commas or spaces."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [origin.rstrip("/") for origin in value]


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app):
        return app.config["SESSION_COOKIE_SECURE"] or request.is_secure
