"""Command-line tasks: flask --app wsgi <command>."""

import click
from flask.cli import with_appcontext

from chatapp.extensions import db
from chatapp.forms import MIN_PASSWORD_LENGTH
from chatapp.models import User
from chatapp.names import InvalidName, normalise_name


def register(app):
    """Add the chat's commands to the app's CLI."""
    app.cli.add_command(create_admin)


@click.command("create-admin")
@click.argument("username")
@click.option("--password", help="For a new user; asked for when not given.")
@with_appcontext
def create_admin(username, password):
    """Make USERNAME an admin, creating the account if it does not exist."""
    try:
        username = normalise_name(username)
    except InvalidName as error:
        raise click.BadParameter(str(error), param_hint="USERNAME") from None
    user = User.find(username)
    if user is None:
        user = User.register(username, new_password(password))
        message = f"Created admin: {user.username}"
    else:
        message = f"Promoted to admin: {user.username}"
        if password:
            message += "\nThe existing password was left unchanged."
    user.promote_to_admin()
    db.session.commit()
    click.echo(message)


def new_password(password):
    """The given password, or one asked for twice; refused when too short."""
    password = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    return password
