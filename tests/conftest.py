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
def make_app(tmp_path, migrated_database, monkeypatch):
    """Build apps on copies of the migrated database, with extra configuration."""
    monkeypatch.setenv("CHATAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    apps = []

    def make(**overrides):
        database_path = tmp_path / f"chatapp{len(apps)}.sqlite"
        shutil.copy(migrated_database, database_path)
        app = create_app({**make_test_config(tmp_path, database_path), **overrides})
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    """A fresh app on its own copy of the migrated database."""
    return make_app()


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
