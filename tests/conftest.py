"""Fixtures shared by every test: an app on a migrated SQLite file, clients, logins."""

import shutil

import flask_migrate
import pytest

from chatapp import create_app
from chatapp.extensions import db
from tests.support import AuthActions

def make_test_config(tmp_path, database_path):
    """The configuration every test app starts from."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test secret key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database_path}",
        "LOG_DIR": str(tmp_path / "logs"),
    }


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """A SQLite file brought up to date by the migrations, copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "chatapp.sqlite"
    app = create_app(make_test_config(folder, path))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def app(tmp_path, migrated_database, monkeypatch):
    """A fresh app on its own copy of the migrated database."""
    monkeypatch.setenv("CHATAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    database_path = tmp_path / "chatapp.sqlite"
    shutil.copy(migrated_database, database_path)
    app = create_app(make_test_config(tmp_path, database_path))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A browser without JavaScript."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The flask command line."""
    return app.test_cli_runner()


@pytest.fixture
def auth(client):
    """Account actions for the default client."""
    return AuthActions(client)
