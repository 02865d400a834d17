"""Configuration layers and the settings derived from them."""

import os
import stat

import pytest

from chatapp import create_app


def write_instance_config(instance, text):
    instance.mkdir(exist_ok=True)
    (instance / "config.py").write_text(text)


def test_defaults_apply_when_nothing_is_configured(instance):
    config = create_app().config
    assert config["HISTORY_SIZE"] == 30
    assert config["MAX_MESSAGE_LENGTH"] == 4000
    assert config["FLOOD_LIMIT"] == "10/10s"
    assert config["REDIS_URL"] is None
    assert config["WTF_CSRF_TIME_LIMIT"] is None


def test_instance_config_overrides_defaults(instance):
    write_instance_config(instance, 'HISTORY_SIZE = 50\nFLOOD_LIMIT = "off"\n')
    config = create_app().config
    assert config["HISTORY_SIZE"] == 50
    assert config["FLOOD_LIMIT"] == "off"


def test_environment_overrides_instance_config(instance, monkeypatch):
    write_instance_config(instance, "HISTORY_SIZE = 50\n")
    monkeypatch.setenv("CHATAPP_HISTORY_SIZE", "40")
    assert create_app().config["HISTORY_SIZE"] == 40


def test_test_config_overrides_everything(instance, monkeypatch):
    write_instance_config(instance, "HISTORY_SIZE = 50\n")
    monkeypatch.setenv("CHATAPP_HISTORY_SIZE", "40")
    assert create_app({"HISTORY_SIZE": 7}).config["HISTORY_SIZE"] == 7


def test_a_secret_key_is_generated_once_into_the_instance_folder(instance):
    first = create_app().config["SECRET_KEY"]
    key_file = instance / "secret_key"
    assert key_file.read_text() == first
    assert len(first) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_app().config["SECRET_KEY"] == first


def test_a_configured_secret_key_is_used_and_none_is_written(instance, monkeypatch):
    monkeypatch.setenv("CHATAPP_SECRET_KEY", "from the environment")
    assert create_app().config["SECRET_KEY"] == "from the environment"
    assert not (instance / "secret_key").exists()


def test_an_empty_secret_key_file_is_an_error_not_a_blank_key(instance):
    instance.mkdir()
    (instance / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="secret_key is empty"):
        create_app()


def test_the_database_defaults_to_sqlite_in_the_instance_folder(instance):
    uri = create_app().config["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{instance}/chatapp.sqlite"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://chat@db/chat", "postgresql+psycopg://chat@db/chat"),
        ("postgres://chat@db/chat", "postgresql+psycopg://chat@db/chat"),
        ("postgresql+psycopg://chat@db/chat", "postgresql+psycopg://chat@db/chat"),
        ("sqlite:////srv/chat.sqlite", "sqlite:////srv/chat.sqlite"),
    ],
)
def test_database_url_is_read_from_the_environment(instance, monkeypatch, url, expected):
    monkeypatch.setenv("CHATAPP_DATABASE_URL", url)
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == expected


def test_allowed_origins_can_be_a_comma_separated_list(instance, monkeypatch):
    monkeypatch.setenv("CHATAPP_ALLOWED_ORIGINS", "https://a.example, https://b.example/")
    origins = create_app().config["ALLOWED_ORIGINS"]
    assert origins == ["https://a.example", "https://b.example"]


def test_the_log_folder_is_created(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATAPP_LOG_DIR", str(tmp_path / "roomlogs"))
    assert create_app().config["LOG_DIR"] == str(tmp_path / "roomlogs")
    assert (tmp_path / "roomlogs").is_dir()


def test_a_relative_log_folder_is_relative_to_the_project(instance):
    app = create_app()
    assert app.config["LOG_DIR"] == os.path.join(os.path.dirname(app.root_path), "logs")


def test_the_upload_size_cap_follows_the_avatar_cap(instance, monkeypatch):
    monkeypatch.setenv("CHATAPP_MAX_AVATAR_BYTES", "1048576")
    config = create_app().config
    assert 1048576 < config["MAX_UPLOAD_BYTES"] <= 1048576 + 64 * 1024


def test_requests_without_a_file_are_capped_at_the_form_size(instance, monkeypatch):
    monkeypatch.setenv("CHATAPP_MAX_FORM_BYTES", "65536")
    assert create_app().config["MAX_CONTENT_LENGTH"] == 65536
