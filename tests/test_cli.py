"""The create-admin command: make an admin account, or promote an existing one."""

import pytest

from chatapp.extensions import db
from chatapp.models import User
from chatapp.names import NAME_RULE
from tests.support import PASSWORD, AuthActions, stored_user

ADMIN_PASSWORD = "pw12345678"


def user_count(app):
    """How many accounts there are."""
    with app.app_context():
        return db.session.query(User).count()


def test_create_admin_makes_an_admin_who_can_log_in(app, client, runner):
    result = runner.invoke(args=["create-admin", "root", "--password", ADMIN_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Created admin: root" in result.output
    assert stored_user(app, "root").is_admin
    assert AuthActions(client).login("root", ADMIN_PASSWORD).status_code == 303
    assert "@<bdi>root</bdi> · admin" in client.get("/chat/users/root/").get_data(as_text=True)


def test_create_admin_asks_for_the_password_twice_when_not_given(app, client, runner):
    result = runner.invoke(
        args=["create-admin", "root"], input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Password:" in result.output
    assert "Repeat for confirmation:" in result.output
    assert ADMIN_PASSWORD not in result.output
    assert stored_user(app, "root").is_admin
    assert AuthActions(client).login("root", ADMIN_PASSWORD).status_code == 303


def test_create_admin_asks_again_when_the_two_passwords_differ(app, runner):
    result = runner.invoke(
        args=["create-admin", "root"],
        input=f"{ADMIN_PASSWORD}\nsomething else\n{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "The two entered values do not match." in result.output
    assert stored_user(app, "root").check_password(ADMIN_PASSWORD)


def test_create_admin_promotes_an_existing_user_without_asking(app, client, auth, runner):
    auth.signup("alice")
    result = runner.invoke(args=["create-admin", "ALICE"])
    assert result.exit_code == 0, result.output
    assert "Promoted to admin: alice" in result.output
    assert "Password" not in result.output
    alice = stored_user(app, "alice")
    assert alice.is_admin
    assert alice.check_password(PASSWORD)
    assert user_count(app) == 1


def test_create_admin_says_it_keeps_an_existing_users_password(app, auth, runner):
    auth.signup("alice")
    result = runner.invoke(args=["create-admin", "alice", "--password", ADMIN_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "The existing password was left unchanged." in result.output
    assert stored_user(app, "alice").check_password(PASSWORD)


def test_create_admin_stores_the_name_in_nfc(app, runner):
    decomposed = "Йоко".replace("Й", "И\u0306")
    result = runner.invoke(args=["create-admin", decomposed, "--password", ADMIN_PASSWORD])
    assert result.exit_code == 0, result.output
    assert stored_user(app, "Йоко").username == "Йоко"


@pytest.mark.parametrize("username", ["", "../x", "a b", "a/b", "a.b", "x" * 65])
def test_create_admin_refuses_a_bad_name_with_the_rule(app, runner, username):
    result = runner.invoke(args=["create-admin", username, "--password", ADMIN_PASSWORD])
    assert result.exit_code != 0
    assert NAME_RULE in result.output
    assert user_count(app) == 0


@pytest.mark.parametrize(
    ("args", "typed"),
    [
        (["--password", "short"], None),
        ([], "short\nshort\n"),
    ],
    ids=["option", "prompt"],
)
def test_create_admin_refuses_a_short_password(app, runner, args, typed):
    result = runner.invoke(args=["create-admin", "root", *args], input=typed)
    assert result.exit_code != 0
    assert "Use at least 8 characters." in result.output
    assert stored_user(app, "root") is None
